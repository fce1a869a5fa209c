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
    assert set(metrics) == {"inputs", "gospa", "tracks", "per_truth", "alerts", "birds"}
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


# --------------------------------------------------------------------------
# Bird and drone figures, advisories, class tables
# --------------------------------------------------------------------------

from ingest.schema import TRACK_ROW_DTYPE, TRUTH_BEHAVIOUR_DTYPE  # noqa: E402
from radarcore.analysis import birds as birds_module  # noqa: E402
from radarcore.analysis.birds import (  # noqa: E402
    CLASS_DTYPE, bird_drone_scores, classes_from_events, read_classes_csv,
    run_engine_with_classes, write_classes_csv)
from radarcore.analysis.evaluate import evaluate, read_alerts_jsonl  # noqa: E402

#: Stationary targets 1 km apart: (target_id, kind, behaviour, east, north).
STILL = ((1, "bird", "soaring", 0.0, 0.0), (2, "bird", "soaring", 1000.0, 0.0),
         (3, "bird", "commuter", 2000.0, 0.0), (4, "bird", "commuter", 3000.0, 0.0),
         (5, "drone", "multirotor", 4000.0, 0.0))


def still_truth(duration_s=100.0):
    t = np.arange(0.0, duration_s + 1.0, 1.0)
    parts = []
    for target_id, kind, behaviour, east, north in STILL:
        rows = np.zeros(t.size, TRUTH_BEHAVIOUR_DTYPE)
        rows["time_s"], rows["target_id"] = t, target_id
        rows["east_m"], rows["north_m"], rows["up_m"] = east, north, 100.0
        rows["kind"], rows["behaviour"] = kind, behaviour
        parts.append(rows)
    truth = np.concatenate(parts)
    return truth[np.lexsort((truth["target_id"], truth["time_s"]))]


def raise_at(t, alert_id, level, east, north, kind="raise"):
    return {"time_s": t, "alert_id": alert_id, "event": kind, "asset_id": "plant-1",
            "level": level, "track_id": 100 + alert_id, "east_m": east + 20.0,
            "north_m": north - 30.0}


def test_birds_that_alert_by_level_and_behaviour():
    events = [
        raise_at(10.0, 1, "warning", 0.0, 0.0),
        raise_at(20.0, 1, "alert", 0.0, 0.0, kind="escalate"),
        raise_at(30.0, 2, "warning", 2000.0, 0.0),
        raise_at(40.0, 3, "warning", -5000.0, 7000.0),          # no target within 150 m
        raise_at(45.0, 4, "critical", 4000.0, 0.0),              # the drone
        {"time_s": 50.0, "event": "advisory", "track_id": 7, "east_m": 1010.0, "north_m": 0.0},
        {"time_s": 60.0, "event": "acknowledge", "alert_id": 1},
    ]
    b = bird_drone_scores(still_truth(), None, events)
    assert b["behaviour_column"]
    birds = b["birds"]
    assert (birds["birds"], birds["with_alert"]) == (4, 2)
    assert birds["share_any"] == 0.5
    assert birds["share_warning_or_higher"] == 0.5
    assert birds["share_alert_or_higher"] == 0.25
    assert birds["share_critical_or_higher"] == 0.0
    assert birds["share_with_advisory"] == 0.25
    assert birds["by_behaviour"]["soaring"]["share_alert_or_higher"] == 0.5
    assert birds["by_behaviour"]["commuter"]["share_any"] == 0.5
    assert birds["by_behaviour"]["commuter"]["share_alert_or_higher"] == 0.0
    hours = 100.0 / 3600.0
    assert birds["raises"] == {"bird": 2, "none": 1}
    assert birds["raises_per_hour"]["bird"]["total"] == pytest.approx(2 / hours)
    assert birds["raises_per_hour"]["bird"]["warning"] == pytest.approx(2 / hours)
    assert birds["raises_per_hour"]["bird"]["alert"] == 0.0
    assert birds["raises_per_hour"]["none"]["total"] == pytest.approx(1 / hours)
    assert birds["raises_per_hour_by_behaviour"] == {
        "commuter": pytest.approx(1 / hours), "soaring": pytest.approx(1 / hours)}
    assert birds["advisories"] == 1


def test_drone_class_timing_confusion_and_calibration():
    truth = still_truth()
    tracks_t = np.arange(3.0, 101.0, 1.0)
    rows, classes = [], []
    for target_id, kind, behaviour, east, north in STILL:
        part = np.zeros(tracks_t.size, TRACK_ROW_DTYPE)
        part["time_s"], part["track_id"], part["status"] = tracks_t, 10 + target_id, 2
        part["east_m"], part["north_m"], part["up_m"] = east, north, 100.0
        part["sigma_pos_m"] = 5.0
        rows.append(part)
        c = np.zeros(tracks_t.size, CLASS_DTYPE)
        c["time_s"], c["track_id"] = tracks_t, 10 + target_id
        if kind == "drone":
            # Unsure (top 0.5, below 0.6: unknown) until 9 s, then sure.
            c["p"] = np.where((tracks_t < 9.0)[:, None], [0.5, 0.3, 0.1, 0.1], [0.92, 0.04, 0.02, 0.02])
        elif behaviour == "soaring":
            c["p"] = [0.75, 0.15, 0.05, 0.05]      # called drone: wrong
        else:
            c["p"] = [0.05, 0.85, 0.05, 0.05]      # called bird: right
        classes.append(c)
    tracks = np.concatenate(rows)
    tracks = tracks[np.lexsort((tracks["track_id"], tracks["time_s"]))]
    classes = np.concatenate(classes)
    metrics = evaluate(truth, tracks, classes=classes).metrics["birds"]
    assert metrics["class_source"] == "table"
    dc = metrics["drone_class"]
    assert dc["drones_confirmed"] == 1 and not dc["upper_bound"]
    assert dc["per_drone"][5]["delay_s"] == pytest.approx(6.0)
    assert dc["within_share"] == 1.0 and dc["never"] == 0
    n = tracks_t.size
    confusion = metrics["confusion"]
    assert confusion["multirotor"] == {"drone": n - 6, "bird": 0, "aircraft": 0, "unknown": 6}
    assert confusion["soaring"] == {"drone": 2 * n, "bird": 0, "aircraft": 0, "unknown": 0}
    assert confusion["commuter"] == {"drone": 0, "bird": 2 * n, "aircraft": 0, "unknown": 0}
    r = metrics["reliability"]
    assert r["rows"] == 5 * n
    by_bin = {round(b["low"], 1): b for b in r["bins"] if b["count"]}
    assert by_bin[0.7]["count"] == 2 * n and by_bin[0.7]["frequency"] == 0.0
    assert by_bin[0.8]["count"] == 2 * n and by_bin[0.8]["frequency"] == 1.0
    assert by_bin[0.9]["count"] == n - 6 and by_bin[0.9]["frequency"] == 1.0
    expected_ece = (2 * n * 0.75 + 2 * n * 0.15 + 6 * 0.5 + (n - 6) * 0.08) / (5 * n)
    assert r["ece"] == pytest.approx(expected_ece)


def test_reliability_against_a_naive_loop():
    rng = np.random.default_rng(3)
    confidence = rng.random(500)
    outcome = rng.random(500) < confidence ** 2
    r = birds_module._reliability(confidence, outcome)
    ece = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        mine = [(c, o) for c, o in zip(confidence, outcome)
                if lo <= c < hi or (b == 9 and c == 1.0)]
        assert r["bins"][b]["count"] == len(mine)
        if mine:
            conf = sum(c for c, _ in mine) / len(mine)
            freq = sum(o for _, o in mine) / len(mine)
            assert r["bins"][b]["confidence"] == pytest.approx(conf)
            assert r["bins"][b]["frequency"] == pytest.approx(freq)
            ece += len(mine) / 500 * abs(freq - conf)
    assert r["ece"] == pytest.approx(ece)


def test_classes_csv_formats_and_errors(tmp_path):
    table = np.zeros(3, CLASS_DTYPE)
    table["time_s"] = [1.0, 1.0, 2.0]
    table["track_id"] = [4, 5, 4]
    table["p"] = [[0.7, 0.2, 0.1, 0.0], [0.1, 0.6, 0.1, 0.2], [0.25, 0.25, 0.25, 0.25]]
    write_classes_csv(tmp_path / "c.csv", table)
    back = read_classes_csv(tmp_path / "c.csv")
    assert back["track_id"].tolist() == [4, 5, 4]
    assert np.allclose(back["p"], table["p"], atol=1e-4)
    (tmp_path / "d.csv").write_text("track_id,time_s,class,class_confidence\n3,2.5,bird,0.7\n")
    named = read_classes_csv(tmp_path / "d.csv")
    assert named["p"][0].tolist() == pytest.approx([0.1, 0.7, 0.1, 0.1])
    (tmp_path / "e.csv").write_text("time_s,track_id,class\n1,2,bird\n")
    with pytest.raises(ValueError, match="missing column"):
        read_classes_csv(tmp_path / "e.csv")
    (tmp_path / "f.csv").write_text("time_s,track_id,class,class_confidence\n1,2,owl,0.5\n")
    with pytest.raises(ValueError, match="line 2.*unknown class 'owl'"):
        read_classes_csv(tmp_path / "f.csv")
    (tmp_path / "g.csv").write_text("time_s,track_id,p_drone,p_bird,p_aircraft\n1,2,0.5,0.2,0.1\n")
    assert read_classes_csv(tmp_path / "g.csv")["p"][0].tolist() == pytest.approx([0.5, 0.2, 0.1, 0.2])


def test_alerts_reader_takes_advisories_and_acknowledgements(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_text(
        '{"time_s": 1.0, "alert_id": 1, "event": "raise", "asset_id": "a", "level": "warning", '
        '"track_id": 1, "east_m": 0, "north_m": 0}\n'
        '{"time_s": 2.0, "event": "advisory", "track_id": 2, "east_m": 5, "north_m": 6}\n'
        '{"time_s": 3.0, "event": "acknowledge", "alert_id": 1}\n')
    events = read_alerts_jsonl(path)
    assert [e["event"] for e in events] == ["raise", "advisory", "acknowledge"]
    path.write_text('{"time_s": 2.0, "event": "advisory", "east_m": 5, "north_m": 6}\n')
    with pytest.raises(ValueError, match="line 1: missing key.*track_id"):
        read_alerts_jsonl(path)
    path.write_text('{"time_s": 2.0, "event": "snooze", "alert_id": 1}\n')
    with pytest.raises(ValueError, match="unknown event 'snooze'"):
        read_alerts_jsonl(path)


def test_engine_with_classes_gives_the_engine_tracks():
    scenario = simulate("sparse", seed=3, duration_s=40.0)
    engine = Engine(scenario.site)
    plain = np.concatenate([engine.process(scenario.plots), engine.flush()])
    tracks, events, classes = run_engine_with_classes(scenario.site, scenario.plots)
    assert tracks.tobytes() == plain.tobytes()
    assert classes.size == tracks.size
    assert np.array_equal(classes["time_s"], tracks["time_s"])
    assert np.array_equal(classes["track_id"], tracks["track_id"])
    assert np.allclose(classes["p"].sum(axis=1), 1.0, atol=1e-6)


def test_cli_with_classes_writes_the_class_figure(run_dir, tmp_path, capsys):
    events = read_alerts_jsonl(run_dir / "alerts.jsonl")
    write_classes_csv(tmp_path / "classes.csv", classes_from_events(events))
    report = tmp_path / "report"
    code, out, err = evaluate_cli(capsys, "--truth", run_dir / "truth.csv", "--tracks",
                                  run_dir / "tracks.csv", "--site", run_dir / "site.toml",
                                  "--alerts", run_dir / "alerts.jsonl", "--classes",
                                  tmp_path / "classes.csv", "--report", report)
    assert code == 0, err
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["birds"]["class_source"] == "table"
    assert metrics["birds"]["drone_alerts"]["all"]["entries"] >= 1
    assert (report / "classes.png").stat().st_size > 10_000
    assert 'src="classes.png"' in (report / "index.html").read_text()
    assert "drones called drone" in out


def test_sweep_spec_takes_bird_scene_options():
    from radarcore.analysis.sweep import parse_spec
    from radarcore.core.config import ConfigError

    spec = parse_spec({"seeds": [0, 1], "scenarios": [
        {"name": "birdrich", "n_targets": 60, "n_radars": 3, "clutter_per_scan": 10,
         "exclude_behaviours": ["soaring"]}]})
    task = spec.tasks()[0]
    assert dict(task.options) == {"n_radars": 3, "clutter_per_scan": 10.0,
                                  "exclude_behaviours": ("soaring",)}
    assert "n_radars=3" in task.label
    for item, message in (({"name": "sparse", "n_radars": 3}, "bird scenes only"),
                          ({"name": "birdmix", "n_radars": 12}, "radars must be 2 to 8"),
                          ({"name": "birdmix", "behaviours": "soaring"}, "list of behaviour"),
                          ({"name": "birdmix", "behaviours": ["owl"]}, "unknown behaviour")):
        with pytest.raises(ConfigError, match=message):
            parse_spec({"seeds": [0], "scenarios": [item]})
