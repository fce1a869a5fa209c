"""``radarcore evaluate`` and its report, end to end on files.

The GOSPA of the command is checked against an independent computation from
the files themselves: rows read with the csv module, truth interpolated with
``numpy.interp``, radar positions from pymap3d, and a dense SciPy assignment
of the padded GOSPA cost matrix.  The report is checked for what a reader
needs: PNG files that are real, non-blank images, and an index.html that
shows them with the table.
"""
import csv
import json
import math
import os

import numpy as np
import pymap3d
import pytest
from scipy.optimize import linear_sum_assignment

from ingest.csvio import TrackCsvWriter
from radarcore.core.alerts import AlertJsonlWriter
from radarcore.cli import main
from radarcore.core.engine import Engine
from radarcore.sim.simulate import simulate, write_scenario

FIGURES = ("map.png", "gospa.png", "errors.png", "truths.png", "alerts.png")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """An intrusion scenario, tracked: site.toml, truth.csv, tracks.csv, alerts.jsonl."""
    out = tmp_path_factory.mktemp("intrusion")
    scenario = simulate("intrusion", seed=1, duration_s=150.0)
    write_scenario(scenario, out)
    engine = Engine(scenario.site)
    rows = np.concatenate([engine.process(scenario.plots), engine.flush()])
    with TrackCsvWriter(str(out / "tracks.csv")) as writer:
        writer.write(rows)
    with AlertJsonlWriter(str(out / "alerts.jsonl")) as writer:
        writer.write(engine.pop_alerts())
    return out


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def reference_gospa_mean(run_dir, c=50.0):
    """GOSPA (p = 2) per track epoch from the files, independently of radarcore."""
    import tomllib

    site = tomllib.loads((run_dir / "site.toml").read_text())
    o = site["origin"]
    radars = [(np.array(pymap3d.geodetic2enu(r["lat_deg"], r["lon_deg"], r["alt_m"],
                                             o["lat_deg"], o["lon_deg"], o.get("alt_m", 0.0))),
               r["max_range_m"]) for r in site["radar"]]
    truth = read_rows(run_dir / "truth.csv")
    by_target = {}
    for r in truth:
        by_target.setdefault(int(r["target_id"]), []).append(
            [float(r[k]) for k in ("time_s", "east_m", "north_m", "up_m")])
    tracks = [r for r in read_rows(run_dir / "tracks.csv") if r["status"] in ("confirmed", "coasting")]
    epochs = sorted({float(r["time_s"]) for r in read_rows(run_dir / "tracks.csv")})
    assert np.allclose(np.diff(epochs), 1.0)          # periodic output, no gap to fill
    values = []
    for t in epochs:
        X = []
        for samples in by_target.values():
            a = np.array(samples)
            a = a[np.argsort(a[:, 0])]
            if a[0, 0] <= t <= a[-1, 0]:
                p = np.array([np.interp(t, a[:, 0], a[:, k]) for k in (1, 2, 3)])
                if any(np.linalg.norm(p - pos) <= rng for pos, rng in radars):
                    X.append(p)
        Y = [[float(r[k]) for k in ("east_m", "north_m", "up_m")] for r in tracks
             if float(r["time_s"]) == t]
        n, m = len(X), len(Y)
        big = np.zeros((n + m, n + m))
        if n and m:
            d = np.linalg.norm(np.array(X)[:, None] - np.array(Y)[None], axis=2)
            big[:n, :m] = np.minimum(d, c) ** 2
        big[:n, m:] = c ** 2 / 2
        big[n:, :m] = c ** 2 / 2
        r, k = linear_sum_assignment(big)
        values.append(math.sqrt(big[r, k].sum()))
    return float(np.mean(values)), len(epochs)


def evaluate_cli(capsys, *args):
    code = main(["evaluate", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_table_and_metrics_json_beside_the_tracks(run_dir, capsys):
    code, out, err = evaluate_cli(capsys, "--truth", run_dir / "truth.csv", "--tracks",
                                  run_dir / "tracks.csv", "--site", run_dir / "site.toml",
                                  "--alerts", run_dir / "alerts.jsonl")
    assert code == 0, err
    for text in ("GOSPA", "OSPA", "completeness", "track-id switches", "false tracks per hour",
                 "missed intrusions", "false alerts", "level changes"):
        assert text in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics) == {"inputs", "gospa", "tracks", "per_truth", "alerts"}
    gospa_mean, n_epochs = reference_gospa_mean(run_dir)
    assert metrics["gospa"]["n_epochs"] == n_epochs
    assert metrics["gospa"]["gospa_mean"] == pytest.approx(gospa_mean, rel=1e-9)
    g = metrics["gospa"]
    assert g["gospa_localisation_mean"] >= 0 and g["gospa_missed_mean"] >= 0
    assert metrics["inputs"]["statuses"] == ["confirmed", "coasting"]
    t = metrics["tracks"]
    assert 0.0 < t["completeness"] <= 1.0 and t["ambiguity"] >= 1.0
    assert t["truth_targets"] == len(metrics["per_truth"])
    assert t["nees_mean"] is not None and t["nees_mean"] > 0
    a = metrics["alerts"]
    assert a["expected_intrusions"] == a["alerted_before_entry"] + a["missed_intrusions"]
    assert a["alerts"] >= 1 and a["raises"] >= 1


def test_report_renders(run_dir, tmp_path, capsys):
    from matplotlib.image import imread

    report = tmp_path / "report"
    code, out, err = evaluate_cli(capsys, "--truth", run_dir / "truth.csv", "--tracks",
                                  run_dir / "tracks.csv", "--site", run_dir / "site.toml",
                                  "--alerts", run_dir / "alerts.jsonl", "--report", report)
    assert code == 0, err
    page = (report / "index.html").read_text()
    for name in FIGURES:
        path = report / name
        assert path.is_file() and path.stat().st_size > 10_000, name
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        image = imread(str(path))
        assert image.shape[0] >= 250 and image.shape[1] >= 600, (name, image.shape)
        rgb = image[..., :3]
        assert rgb.std() > 0.03, name                          # not a blank canvas
        assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50, name
        assert f'src="{name}"' in page
    metrics = json.loads((report / "metrics.json").read_text())
    assert "GOSPA" in page and "completeness" in page and "Intrusions" in page
    gospa_text = f"{metrics['gospa']['gospa_mean']:.2f}"
    assert gospa_text in page and gospa_text in out
    epochs = read_rows(report / "epochs.csv")
    assert len(epochs) == metrics["gospa"]["n_epochs"]
    assert np.mean([float(r["gospa"]) for r in epochs]) == pytest.approx(
        metrics["gospa"]["gospa_mean"], rel=1e-5)
    assert not (run_dir / "report").exists()


def write_foreign_tracks(run_dir, path, status=None):
    """The same states as another tracker might write them: columns in another
    order, no lat/lon/alt/sigma, an extra column, upper-case statuses."""
    rows = read_rows(run_dir / "tracks.csv")
    columns = ["track_id", "time_s", "north_m", "east_m", "up_m", "v_north_mps", "v_east_mps",
               "v_up_mps", "status", "quality"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([r[c] for c in columns[:-1]] + ["0.9"])
    if status is not None:
        text = open(path).read()
        for name in ("tentative", "confirmed", "coasting"):
            text = text.replace("," + name + ",", "," + status + ",")
        open(path, "w").write(text)
    else:
        text = open(path).read().replace(",confirmed,", ",CONFIRMED,")
        open(path, "w").write(text)


def test_tracks_from_another_tracker(run_dir, tmp_path, capsys):
    foreign = tmp_path / "other" / "tracks.csv"
    foreign.parent.mkdir()
    write_foreign_tracks(run_dir, foreign)
    code, _, err = evaluate_cli(capsys, "--truth", run_dir / "truth.csv", "--tracks", foreign,
                                "--site", run_dir / "site.toml")
    assert code == 0, err
    theirs = json.loads((foreign.parent / "metrics.json").read_text())
    code, _, err = evaluate_cli(capsys, "--truth", run_dir / "truth.csv", "--tracks",
                                run_dir / "tracks.csv", "--site", run_dir / "site.toml",
                                "--report", tmp_path / "ours")
    assert code == 0, err
    ours = json.loads((tmp_path / "ours" / "metrics.json").read_text())
    assert theirs["tracks"]["nees_mean"] is None          # no sigma_pos_m column
    assert ours["tracks"]["nees_mean"] is not None
    assert theirs["alerts"] is None
    assert theirs["gospa"] == ours["gospa"]
    for key in ("completeness", "id_switches", "track_breaks", "false_tracks", "position_rmse_m"):
        assert theirs["tracks"][key] == ours["tracks"][key]


def test_only_tentative_rows_are_all_scored(run_dir, tmp_path, capsys):
    """A tracker that writes no confirmed or coasting rows: every row counts."""
    path = tmp_path / "tracks.csv"
    write_foreign_tracks(run_dir, path, status="tentative")
    code, _, err = evaluate_cli(capsys, "--truth", run_dir / "truth.csv", "--tracks", path)
    assert code == 0, err
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["inputs"]["statuses"] == ["tentative", "confirmed", "coasting"]
    assert metrics["inputs"]["track_rows_scored"] == metrics["inputs"]["track_rows"]
    n_rows = len(read_rows(path))
    assert metrics["inputs"]["track_rows"] == n_rows
    assert metrics["tracks"]["completeness"] > 0.5


def test_coverage_only_with_a_site(run_dir, tmp_path, capsys):
    """A truth target 100 km away counts without --site, not with it."""
    truth = (run_dir / "truth.csv").read_text().splitlines()
    far = [f"{t:.1f},999,100000.0,0.0,100.0,0.0,0.0,0.0,drone" for t in np.arange(0.0, 150.0, 1.0)]
    path = tmp_path / "truth.csv"
    path.write_text("\n".join(truth + far) + "\n")
    results = {}
    for label, extra in (("all", []), ("site", ["--site", run_dir / "site.toml"])):
        report = tmp_path / label
        code, _, err = evaluate_cli(capsys, "--truth", path, "--tracks", run_dir / "tracks.csv",
                                    "--report", report, *extra)
        assert code == 0, err
        results[label] = json.loads((report / "metrics.json").read_text())
    assert results["all"]["tracks"]["truth_targets"] == results["site"]["tracks"]["truth_targets"] + 1
    assert results["all"]["inputs"]["coverage"] == "all truths"
    assert not (tmp_path / "all" / "alerts.png").exists()       # no alerts given


def test_cutoff_option(run_dir, tmp_path, capsys):
    code, out, _ = evaluate_cli(capsys, "--truth", run_dir / "truth.csv", "--tracks",
                                run_dir / "tracks.csv", "--cutoff", "20", "--report", tmp_path)
    assert code == 0 and "c = 20 m" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["gospa"]["cutoff_m"] == 20.0
    assert metrics["gospa"]["gospa_mean"] <= 20.0 * math.sqrt(metrics["tracks"]["truth_targets"] + 20)


@pytest.mark.parametrize("case, message", [
    ("alerts_without_site", "--alerts needs --site"),
    ("missing_truth", "no such file"),
    ("bad_alert_line", "line 2"),
    ("bad_cutoff", "--cutoff must be a positive"),
])
def test_bad_input_exits_2(run_dir, tmp_path, capsys, case, message):
    truth, tracks = run_dir / "truth.csv", run_dir / "tracks.csv"
    site, alerts = run_dir / "site.toml", run_dir / "alerts.jsonl"
    if case == "alerts_without_site":
        args = ["--truth", truth, "--tracks", tracks, "--alerts", alerts]
    elif case == "missing_truth":
        args = ["--truth", tmp_path / "nope.csv", "--tracks", tracks]
    elif case == "bad_alert_line":
        bad = tmp_path / "alerts.jsonl"
        bad.write_text('{"time_s": 1.0, "alert_id": 1, "event": "raise", "asset_id": "a", '
                       '"level": "warning", "track_id": 1, "east_m": 0, "north_m": 0}\n{oops\n')
        args = ["--truth", truth, "--tracks", tracks, "--site", site, "--alerts", bad]
    else:
        args = ["--truth", truth, "--tracks", tracks, "--cutoff", "0"]
    code, _, err = evaluate_cli(capsys, *args)
    assert code == 2 and message in err and "radarcore evaluate" in err
    assert not os.path.exists(tmp_path / "metrics.json")
