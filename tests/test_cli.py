"""The ``radarcore`` command line: simulate, replay, bad input, bundled data.

Most tests call :func:`radarcore.cli.main` in-process; one runs the command
as a subprocess end to end.  Expected values come from the files themselves
(read back with the :mod:`csv` module), from docs/formats.md and from the
README, never from the code under test.
"""
import csv
import io
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from radarcore.cli import main

REPO = Path(__file__).resolve().parent.parent

# docs/formats.md, tracks.csv
TRACKS_HEADER = ("time_s,track_id,status,east_m,north_m,up_m,v_east_mps,v_north_mps,v_up_mps,"
                 "lat_deg,lon_deg,alt_m,sigma_pos_m")
# README, Commands
SCENARIO_NAMES = ("sparse", "crossing", "swarm", "birds", "large")
# README, Rejected plots
REJECT_REASONS = ("malformed", "non_finite", "unknown_radar", "out_of_range", "late", "time_jump")


# --------------------------------------------------------------------------
# helpers


def simulate_into(out_dir, name="crossing", seed=3, *extra):
    assert main(["simulate", name, "--out", str(out_dir), "--seed", str(seed), *extra]) == 0
    return Path(out_dir)


def replay_into(plots, site, out_dir, *extra):
    return main(["replay", str(plots), "--site", str(site), "--out", str(out_dir), "--quiet", *extra])


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def count_data_lines(path):
    with open(path) as f:
        return sum(1 for line in f) - 1


def load_summary(out_dir):
    with open(Path(out_dir) / "summary.json") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def crossing(tmp_path_factory):
    """A simulated ``crossing`` scenario (seed 3) and its clean replay."""
    base = tmp_path_factory.mktemp("crossing")
    scenario = simulate_into(base / "scenario")
    assert replay_into(scenario / "plots.csv", scenario / "site.toml", base / "clean") == 0
    return scenario, base / "clean"


# --------------------------------------------------------------------------
# simulate


def test_simulate_writes_the_three_files(tmp_path, capsys):
    out = simulate_into(tmp_path / "sim")
    stdout = capsys.readouterr().out
    for name in ("site.toml", "plots.csv", "truth.csv"):
        assert (out / name).is_file()
        assert name in stdout
    with open(out / "plots.csv") as f:
        assert f.readline().rstrip("\n") == ("time_s,radar_id,range_m,azimuth_deg,elevation_deg,"
                                             "radial_velocity_mps,snr_db")
    with open(out / "truth.csv") as f:
        assert f.readline().rstrip("\n") == ("time_s,target_id,east_m,north_m,up_m,"
                                             "v_east_mps,v_north_mps,v_up_mps,kind")
    plots = read_rows(out / "plots.csv")
    truth = read_rows(out / "truth.csv")
    assert len(plots) > 1000 and len(truth) > 100
    assert all(np.isfinite(float(row["range_m"])) for row in plots)
    # crossing: 6 pairs of drones (simulate docstring)
    assert len({row["target_id"] for row in truth}) == 12
    with open(out / "site.toml", "rb") as f:
        site = tomllib.load(f)
    assert len(site["radar"]) == 2
    assert {int(row["radar_id"]) for row in plots} <= {radar["id"] for radar in site["radar"]}


def test_simulate_unknown_scenario_exits_2_and_lists_the_names(tmp_path, capsys):
    assert main(["simulate", "no-such-scenario", "--out", str(tmp_path / "x")]) == 2
    captured = capsys.readouterr()
    assert "no-such-scenario" in captured.err
    for name in SCENARIO_NAMES:
        assert name in captured.err
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------
# replay


def test_replay_writes_tracks_and_summary(crossing, tmp_path, capsys):
    scenario, _ = crossing
    out = tmp_path / "out"
    assert main(["replay", str(scenario / "plots.csv"), "--site", str(scenario / "site.toml"),
                 "--out", str(out)]) == 0
    stdout = capsys.readouterr().out

    with open(out / "tracks.csv") as f:
        assert f.readline() == TRACKS_HEADER + "\n"
    rows = read_rows(out / "tracks.csv")
    assert rows
    assert {row["status"] for row in rows} <= {"tentative", "confirmed", "coasting"}
    summary = load_summary(out)

    # the printed summary agrees with summary.json and with the input file
    n_plots = count_data_lines(scenario / "plots.csv")
    plots_read = re.search(r"plots read\s+([\d,]+)", stdout)
    assert plots_read and int(plots_read.group(1).replace(",", "")) == n_plots
    assert summary["plots_read"] == n_plots
    assert re.search(r"plots rejected\s+none", stdout)
    assert all(summary["plots_rejected"][reason] == 0 for reason in REJECT_REASONS)
    confirmed = re.search(r"tracks confirmed\s+([\d,]+)", stdout)
    assert confirmed and int(confirmed.group(1).replace(",", "")) == summary["tracks_confirmed"]
    # the crossing drones are all tracked (12 targets), and no track is output unconfirmed
    assert summary["tracks_confirmed"] >= 12
    output_ids = {row["track_id"] for row in rows if row["status"] != "tentative"}
    assert summary["tracks_output"] == len(output_ids)
    wall = re.search(r"wall time\s+([\d.]+) s", stdout)
    assert wall and float(wall.group(1)) > 0.0
    assert abs(float(wall.group(1)) - summary["wall_time_s"]) <= 0.006
    rate = re.search(r"throughput\s+([\d,]+) plots/s", stdout)
    assert rate and int(rate.group(1).replace(",", "")) > 0
    assert summary["plots_per_s"] == pytest.approx(n_plots / summary["wall_time_s"], rel=1e-9)
    assert f"wrote {out / 'tracks.csv'}" in stdout


def test_replay_is_deterministic(crossing, tmp_path):
    scenario, clean = crossing
    assert replay_into(scenario / "plots.csv", scenario / "site.toml", tmp_path / "again") == 0
    assert (tmp_path / "again" / "tracks.csv").read_bytes() == (clean / "tracks.csv").read_bytes()


def test_replay_output_period(crossing, tmp_path):
    scenario, _ = crossing
    out = tmp_path / "period2"
    assert replay_into(scenario / "plots.csv", scenario / "site.toml", out,
                       "--output-period", "2") == 0
    times = np.unique([float(row["time_s"]) for row in read_rows(out / "tracks.csv")])
    assert times.size > 10
    np.testing.assert_array_equal(np.diff(times), 2.0)
    np.testing.assert_array_equal(times % 2.0, 0.0)


@pytest.mark.parametrize("period", ["0", "-1", "nan", "inf", "1e-9"])
def test_replay_rejects_a_bad_output_period(crossing, tmp_path, capsys, period):
    scenario, _ = crossing
    out = tmp_path / "out"
    assert replay_into(scenario / "plots.csv", scenario / "site.toml", out,
                       "--output-period", period) == 2
    assert "--output-period" in capsys.readouterr().err
    assert not (out / "tracks.csv").exists()


def _inject(header, data, injected):
    """Insert ``(k, fields, malformed)`` lines right after data line ``k``.

    Returns the text and the 1-based line numbers (header = 1) of the
    malformed lines.
    """
    out_lines = [header]
    bad_line_numbers = []
    k = 0
    for after, fields, malformed in sorted(injected, key=lambda item: item[0]):
        out_lines.extend(data[k:after + 1])
        k = after + 1
        out_lines.append(",".join(fields) + "\n")
        if malformed:
            bad_line_numbers.append(len(out_lines))
    out_lines.extend(data[k:])
    return "".join(out_lines), bad_line_numbers


def test_replay_drops_bad_plots_and_nothing_else(crossing, tmp_path, capsys):
    scenario, clean = crossing
    lines = (scenario / "plots.csv").read_text().splitlines(keepends=True)
    header, data = lines[0], lines[1:]
    n = len(data)
    with open(scenario / "site.toml", "rb") as f:
        last_radar = str(max(radar["id"] for radar in tomllib.load(f)["radar"]))

    def fields(k):
        return data[k].rstrip("\n").split(",")

    def strong_plot(start):
        """The highest-SNR plot of the last radar (highest id) among 400 lines from ``start``."""
        candidates = [k for k in range(start, start + 400) if fields(k)[1] == last_radar]
        return max(candidates, key=lambda k: float(fields(k)[6]))

    def shifted(k, dt_s=0.3):
        """Line ``k`` a few frames later: had it been accepted, it would update a track."""
        copy = fields(k)
        copy[0] = f"{float(copy[0]) + dt_s:.6f}"
        return copy

    k_few, k_garbage, k_nan, k_unknown, k_late = (
        n // 5, strong_plot(n // 4), strong_plot(n // 2), strong_plot(3 * n // 5), 4 * n // 5)
    too_few = fields(k_few)[:4]
    garbage = shifted(k_garbage)
    garbage[2] = "41x0.5"
    nan_range = shifted(k_nan)
    nan_range[2] = "nan"
    unknown = shifted(k_unknown)
    unknown[1] = "99"
    late = fields(k_late)
    late[0] = f"{float(late[0]) - 1000.0:.6f}"
    assert float(late[0]) < min(float(line.split(",")[0]) for line in data) - 800.0

    text, bad_line_numbers = _inject(header, data, [
        (k_few, too_few, True), (k_garbage, garbage, True), (k_nan, nan_range, False),
        (k_unknown, unknown, False), (k_late, late, False)])
    dirty = tmp_path / "dirty.csv"
    dirty.write_text(text)
    out = tmp_path / "out"
    assert replay_into(dirty, scenario / "site.toml", out) == 0
    stdout = capsys.readouterr().out
    summary = load_summary(out)
    expected = {"malformed": 2, "non_finite": 1, "unknown_radar": 1, "out_of_range": 0,
                "late": 1, "time_jump": 0}
    assert {reason: summary["plots_rejected"][reason] for reason in REJECT_REASONS} == expected
    assert summary["plots_read"] == n + 5
    assert summary["first_bad_lines"] == bad_line_numbers
    assert re.search(r"plots rejected\s+malformed 2, non_finite 1, unknown_radar 1, late 1", stdout)
    assert (out / "tracks.csv").read_bytes() == (clean / "tracks.csv").read_bytes()

    # The check has teeth: the same extra plot from the known radar changes the tracks.
    text, _ = _inject(header, data, [(k_unknown, shifted(k_unknown), False)])
    twin = tmp_path / "twin.csv"
    twin.write_text(text)
    assert replay_into(twin, scenario / "site.toml", tmp_path / "twin") == 0
    assert (tmp_path / "twin" / "tracks.csv").read_bytes() != (clean / "tracks.csv").read_bytes()


def _edit_first(text, pattern, replacement):
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, pattern
    return edited


@pytest.mark.parametrize("case, key", [
    ("wrong_type", r"radar\[0\](\(id=\d+\))?\.sigma_range_m"),
    ("missing_key", r"radar\[0\](\(id=\d+\))?\.sigma_range_m"),
    ("unknown_key", r"radar\[0\](\(id=\d+\))?\.colour"),
    ("tracker_type", r"tracker\.confirm_hits"),
], ids=["wrong_type", "missing_key", "unknown_key", "tracker_type"])
def test_replay_bad_site_exits_2_naming_file_and_key(crossing, tmp_path, capsys, case, key):
    scenario, _ = crossing
    text = (scenario / "site.toml").read_text()
    if case == "wrong_type":
        text = _edit_first(text, r"^sigma_range_m = .*$", 'sigma_range_m = "7.5 m"')
    elif case == "missing_key":
        text = _edit_first(text, r"^sigma_range_m = .*\n", "")
    elif case == "unknown_key":
        text = _edit_first(text, r"^sigma_range_m = ", "colour = \"red\"\nsigma_range_m = ")
    else:
        text += "\n[tracker]\nconfirm_hits = 2.5\n"
    site = tmp_path / "bad site.toml"
    site.write_text(text)
    out = tmp_path / "out"
    assert replay_into(scenario / "plots.csv", site, out) == 2
    err = capsys.readouterr().err
    assert str(site) in err
    assert re.search(key, err), err
    assert "Traceback" not in err
    assert not (out / "tracks.csv").exists()


def test_replay_missing_files_exit_2(crossing, tmp_path, capsys):
    scenario, _ = crossing
    missing = tmp_path / "no_plots.csv"
    out = tmp_path / "out"
    assert replay_into(missing, scenario / "site.toml", out) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no such file" in err
    assert not (out / "tracks.csv").exists()

    missing_site = tmp_path / "no_site.toml"
    assert replay_into(scenario / "plots.csv", missing_site, out) == 2
    err = capsys.readouterr().err
    assert str(missing_site) in err and "not found" in err
    assert not (out / "tracks.csv").exists()


# --------------------------------------------------------------------------
# end to end, in a fresh interpreter


def test_end_to_end_subprocess(crossing, tmp_path):
    scenario, clean = crossing
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "radarcore.cli"]
    sim = subprocess.run(command + ["simulate", "crossing", "--out", str(tmp_path / "sim"),
                                    "--seed", "3"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert sim.returncode == 0, sim.stderr
    for name in ("site.toml", "plots.csv", "truth.csv"):
        assert (tmp_path / "sim" / name).read_bytes() == (scenario / name).read_bytes()
    out = tmp_path / "out"
    run = subprocess.run(command + ["replay", str(tmp_path / "sim" / "plots.csv"),
                                    "--site", str(tmp_path / "sim" / "site.toml"),
                                    "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "plots read" in run.stdout and "throughput" in run.stdout
    assert (out / "tracks.csv").read_bytes() == (clean / "tracks.csv").read_bytes()
    timing = ("wall_time_s", "plots_per_s")
    fresh = {k: v for k, v in load_summary(out).items() if k not in timing}
    in_process = {k: v for k, v in load_summary(clean).items() if k not in timing}
    assert fresh == in_process


#: Modules ``radarcore replay`` must not import (issue 15: start-up): the analysis
#: tools, plotting, Dask, SciPy's special functions and linear algebra (0.3 s of
#: array-API set-up), and tqdm when no progress bar is shown.
REPLAY_MUST_NOT_IMPORT = ("radarcore.analysis", "scipy.special", "scipy.linalg", "scipy.stats",
                          "matplotlib", "dask", "tqdm")


def test_replay_imports_only_what_it_runs(tmp_path):
    data = REPO / "replay_data" / "crossing"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    script = ("import json, sys\n"
              "from radarcore.cli import main\n"
              "status = main(sys.argv[1:])\n"
              "print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))\n")
    run = subprocess.run([sys.executable, "-c", script, "replay", str(data / "plots.csv"),
                          "--site", str(data / "site.toml"), "--out", str(tmp_path), "--quiet"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["status"] == 0 and (tmp_path / "tracks.csv").stat().st_size > 100
    imported = [m for m in report["modules"]
                if any(m == banned or m.startswith(banned + ".") for banned in REPLAY_MUST_NOT_IMPORT)]
    assert imported == []


# --------------------------------------------------------------------------
# the bundled demo data


def test_bundled_swarm_replay_follows_the_truth(tmp_path):
    data = REPO / "replay_data" / "swarm"
    out = tmp_path / "swarm"
    assert replay_into(data / "plots.csv", data / "site.toml", out) == 0
    summary = load_summary(out)
    assert summary["plots_read"] == count_data_lines(data / "plots.csv")
    assert all(summary["plots_rejected"][reason] == 0 for reason in REJECT_REASONS)
    assert summary["tracks_confirmed"] >= 10

    truth = {}
    for row in read_rows(data / "truth.csv"):
        truth.setdefault(int(row["target_id"]), []).append(
            [float(row[k]) for k in ("time_s", "east_m", "north_m", "up_m")])
    truth = {target: np.array(sorted(samples)) for target, samples in truth.items()}

    last_confirmed = {}
    for row in read_rows(out / "tracks.csv"):
        if row["status"] == "confirmed":
            last_confirmed[int(row["track_id"])] = row
    assert len(last_confirmed) >= 10

    for track_id, row in last_confirmed.items():
        t = float(row["time_s"])
        position = np.array([float(row[k]) for k in ("east_m", "north_m", "up_m")])
        distances = []
        for samples in truth.values():
            if samples[0, 0] <= t <= samples[-1, 0]:
                at_t = np.array([np.interp(t, samples[:, 0], samples[:, c]) for c in (1, 2, 3)])
                distances.append(np.linalg.norm(position - at_t))
        assert distances, f"track {track_id} at {t} s: no truth target alive"
        assert min(distances) < 100.0, (track_id, t, min(distances))


@pytest.mark.parametrize("content", ["", "a,b\n1,2\n"], ids=["empty", "missing-columns"])
def test_replay_unreadable_plots_file_exits_2(crossing, tmp_path, capsys, content):
    scenario, _ = crossing
    plots = tmp_path / "plots.csv"
    plots.write_text(content)
    out = tmp_path / "out"
    assert replay_into(plots, scenario / "site.toml", out) == 2
    err = capsys.readouterr().err
    assert str(plots) in err
    assert not (out / "tracks.csv").exists()


def test_replay_plots_path_that_is_a_folder_exits_2(crossing, tmp_path, capsys):
    scenario, _ = crossing
    out = tmp_path / "out"
    assert replay_into(tmp_path, scenario / "site.toml", out) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (out / "tracks.csv").exists()


# --------------------------------------------------------------------------
# input format by the first bytes; a closed stdout


@pytest.fixture(scope="module")
def crossing_inputs(crossing, tmp_path_factory):
    """The crossing plots as a recording and as ASTERIX CAT048, each under a
    name that says so and under one that does not."""
    from ingest.asterix import RadarMap, encode_cat048
    from ingest.codec import encode_plots
    from ingest.csvio import read_plots_csv
    from ingest.recording import RecordingWriter
    from radarcore.core.config import load_site

    scenario, _ = crossing
    d = tmp_path_factory.mktemp("inputs")
    plots = read_plots_csv(scenario / "plots.csv").plots
    second = np.floor(plots["time_s"]).astype(int)
    with RecordingWriter(d / "plots.rcrec") as writer:
        for seq, k in enumerate(np.unique(second)):
            for radar_id in np.unique(plots["radar_id"]):
                batch = plots[(second == k) & (plots["radar_id"] == radar_id)]
                writer.write(float(k) + 1.0, encode_plots(int(radar_id), seq, batch))
    radars = RadarMap.from_site(load_site(scenario / "site.toml"))
    (d / "plots.ast").write_bytes(b"".join(encode_cat048(plots[i:i + 40], radars)
                                           for i in range(0, plots.size, 40)))
    (d / "recording.dat").write_bytes((d / "plots.rcrec").read_bytes())
    (d / "asterix.bin").write_bytes((d / "plots.ast").read_bytes())
    (d / "text.rcrec").write_bytes((scenario / "plots.csv").read_bytes())
    return d


@pytest.mark.parametrize("named, unnamed, key", [("plots.rcrec", "recording.dat", "frames_read"),
                                                 ("plots.ast", "asterix.bin", "asterix_records")])
def test_replay_tells_the_format_by_the_first_bytes(crossing, crossing_inputs, tmp_path, named, unnamed, key):
    scenario, _ = crossing
    site = scenario / "site.toml"
    assert replay_into(crossing_inputs / named, site, tmp_path / "named") == 0
    assert replay_into(crossing_inputs / unnamed, site, tmp_path / "unnamed") == 0
    assert load_summary(tmp_path / "unnamed")[key] > 0
    assert load_summary(tmp_path / "unnamed")["tracks_confirmed"] >= 2
    assert (tmp_path / "unnamed" / "tracks.csv").read_bytes() == (tmp_path / "named" / "tracks.csv").read_bytes()


def test_replay_reads_a_plots_csv_whatever_its_name_and_format_forces(crossing, crossing_inputs, tmp_path,
                                                                      capsys):
    scenario, clean = crossing
    site = scenario / "site.toml"
    assert replay_into(crossing_inputs / "text.rcrec", site, tmp_path / "a") == 0
    assert (tmp_path / "a" / "tracks.csv").read_bytes() == (clean / "tracks.csv").read_bytes()
    capsys.readouterr()
    # --format overrides what the bytes say: a recording read as csv has no header
    assert replay_into(crossing_inputs / "recording.dat", site, tmp_path / "b", "--format", "csv") == 2
    assert str(crossing_inputs / "recording.dat") in capsys.readouterr().err


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"\x00\x01binary\xff\xfe"], ids=["bytes", "short"])
def test_replay_of_a_file_of_no_known_format_exits_2_with_a_readable_message(crossing, tmp_path, capsys,
                                                                              content):
    scenario, _ = crossing
    plots = tmp_path / "plots.rcrec"
    plots.write_bytes(content)
    assert replay_into(plots, scenario / "site.toml", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "not a plots.csv, a recording or an ASTERIX" in err and str(plots) in err
    assert err.rstrip("\n").isprintable()
    assert not (tmp_path / "out" / "tracks.csv").exists()


@pytest.mark.parametrize("head, kind", [
    (b"time_s,radar_id,range_m\n", "csv"),
    (b'"time_s","radar_id"\n', "csv"),                   # a quote is CAT034's byte
    (b"0.5,1,4210.5,87.2\n", "csv"),                    # a zero is CAT048's byte
    ("time_s,note\n1,caf\u00e9\n".encode(), "csv"),
    (b"RCREC\x00\x00\x01" + bytes(8), "recording"),
    (b"RCREC\x00\x00\x09" + bytes(8), "recording"),      # another version: the reader says which
    (bytes([48, 0, 3]), "asterix"),                      # an empty data block
    (bytes([34, 0, 10, 0xE0]) + bytes(6), "asterix"),
    (bytes([48, 0, 200, 0xFD]) + bytes(6), None),        # LEN past the end of the file
    (b"\x00\x01\x02", None),
])
def test_sniff_format(head, kind):
    from radarcore.core.replay import sniff_format

    assert sniff_format(head, len(head)) == kind


def test_a_closed_stdout_ends_the_command_quietly(crossing, tmp_path):
    scenario, _ = crossing
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-m", "radarcore.cli", "replay", str(scenario / "plots.csv"),
                             "--site", str(scenario / "site.toml"), "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()                 # like `| head` that has read all it wants, before the first line
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 141, err.decode()
    assert b"Traceback" not in err and b"BrokenPipeError" not in err
    assert (tmp_path / "out" / "tracks.csv").exists()


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_replay_progress_bar_only_on_a_terminal(crossing, tmp_path, capsys, monkeypatch):
    scenario, _ = crossing
    command = ["replay", str(scenario / "plots.csv"), "--site", str(scenario / "site.toml")]
    assert main(command + ["--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().err == ""                 # stderr is not a terminal here
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(command + ["--out", str(tmp_path / "b")]) == 0
    bar = terminal.getvalue()
    assert "replay: 100%" in bar and f"{count_data_lines(scenario / 'plots.csv'):,} plots" in bar, bar
    terminal.seek(0)
    terminal.truncate(0)
    assert main(command + ["--out", str(tmp_path / "c"), "--quiet"]) == 0
    assert terminal.getvalue() == ""


def test_bench_comes_from_the_checkouts_benchmarks():
    from radarcore.cli import _checkout_root, build_parser

    assert _checkout_root() == str(REPO)
    args = build_parser().parse_args(["bench", "--quick", "--no-serve"])
    assert args.func.__module__ == "benchmarks.bench" and args.quick and args.no_serve
