"""Replay of ASTERIX CAT048 files and the CAT062 track output."""
import json

import numpy as np
import pytest

from ingest.asterix import RadarMap, decode_datagram, encode_cat048
from ingest.csvio import read_tracks_csv, write_plots_csv
from radarcore.cli import main
from radarcore.core.config import dump_site
from radarcore.sim.simulate import simulate


@pytest.fixture(scope="module")
def ast_scenario(tmp_path_factory):
    """A simulated scenario as a .ast file, and the same plots as ASTERIX quantises them."""
    d = tmp_path_factory.mktemp("ast")
    scenario = simulate("sparse", seed=1, duration_s=60)
    radars = RadarMap.from_site(scenario.site)
    assert len(radars.entries) == len(scenario.site.radars)   # every radar has sac/sic
    data = b"".join(encode_cat048(scenario.plots[i:i + 50], radars)
                    for i in range(0, scenario.plots.size, 50))
    (d / "plots.ast").write_bytes(data)
    (d / "site.toml").write_text(dump_site(scenario.site))
    quantised = decode_datagram(data, radars).plots
    write_plots_csv(d / "quantised.csv", quantised)
    return d, scenario, quantised


def test_ast_replay_equals_csv_replay_of_the_quantised_plots(ast_scenario, tmp_path):
    d, scenario, quantised = ast_scenario
    assert quantised.size == scenario.plots.size
    # quantisation: 1/256 NM range, 360/2^16 deg azimuth
    assert np.max(np.abs(quantised["range_m"] - scenario.plots["range_m"])) <= 1852.0 / 256
    assert main(["replay", str(d / "plots.ast"), "--site", str(d / "site.toml"),
                 "--out", str(tmp_path / "ast"), "--quiet"]) == 0
    assert main(["replay", str(d / "quantised.csv"), "--site", str(d / "site.toml"),
                 "--out", str(tmp_path / "csv"), "--quiet"]) == 0
    a = read_tracks_csv(tmp_path / "ast" / "tracks.csv")
    b = read_tracks_csv(tmp_path / "csv" / "tracks.csv")
    assert a.size > 0 and a.size == b.size
    # plots.csv rounds to its printed digits: equal to well under a metre
    np.testing.assert_allclose(a["east_m"], b["east_m"], atol=0.5)
    np.testing.assert_allclose(a["north_m"], b["north_m"], atol=0.5)
    assert np.array_equal(a["track_id"], b["track_id"])


def test_ast_replay_tracks_match_the_unquantised_replay(ast_scenario, tmp_path):
    d, scenario, _ = ast_scenario
    write_plots_csv(d / "exact.csv", scenario.plots)
    main(["replay", str(d / "plots.ast"), "--site", str(d / "site.toml"), "--out", str(tmp_path / "a"), "--quiet"])
    main(["replay", str(d / "exact.csv"), "--site", str(d / "site.toml"), "--out", str(tmp_path / "b"), "--quiet"])
    a = read_tracks_csv(tmp_path / "a" / "tracks.csv")
    b = read_tracks_csv(tmp_path / "b" / "tracks.csv")
    last = a["time_s"].max()
    pa = np.column_stack([a["east_m"], a["north_m"]])[a["time_s"] == last]
    pb = np.column_stack([b["east_m"], b["north_m"]])[b["time_s"] == last]
    assert len(pa) == len(pb)
    d_min = np.linalg.norm(pa[:, None] - pb[None], axis=2).min(axis=1)
    assert np.all(d_min < 10.0)


def test_cat062_output_has_one_block_per_epoch(ast_scenario, tmp_path):
    d, _, _ = ast_scenario
    out = tmp_path / "out"
    assert main(["replay", str(d / "plots.ast"), "--site", str(d / "site.toml"), "--out", str(out),
                 "--quiet", "--cat062-out", str(out / "tracks.cat062"), "--cat062-sac", "7",
                 "--cat062-sic", "9"]) == 0
    data = (out / "tracks.cat062").read_bytes()
    rows = read_tracks_csv(out / "tracks.csv")
    blocks, offset = 0, 0
    while offset < len(data):
        assert data[offset] == 62
        length = int.from_bytes(data[offset + 1:offset + 3], "big")
        assert length > 3
        offset += length
        blocks += 1
    assert offset == len(data)
    assert blocks == np.unique(rows["time_s"]).size


def test_garbage_ast_file_is_counted_not_fatal(ast_scenario, tmp_path, capsys):
    d, _, _ = ast_scenario
    bad = tmp_path / "bad.ast"
    good = (d / "plots.ast").read_bytes()
    bad.write_bytes(good[:1000] + bytes(range(256)) * 4 + good[1000:])
    assert main(["replay", str(bad), "--site", str(d / "site.toml"), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert sum(summary["asterix_rejected"].values()) > 0
    assert summary["plots_associated"] > 0
