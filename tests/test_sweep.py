"""``radarcore sweep``: tasks on a two-worker LocalCluster against the same
tasks run serially, failures kept apart, the spec checked before anything runs.

One LocalCluster (two worker processes) serves the whole module.
"""
import csv
import io
import json
import math
import tomllib

import dask.distributed    # noqa: F401  a test dependency (extra tests): fail, never skip, without it
import numpy as np
import pytest

from radarcore.cli import main
from radarcore.core.config import ConfigError
from radarcore.analysis.sweep import TIMING_FIGURES, load_spec, parse_spec, run_sweep, run_task

SPEC = """
seeds = [1, 2]
duration_s = 20.0
scenarios = ["crossing",
             {name = "sparse", n_targets = 3},
             {name = "intrusion", n_targets = 1, label = "broken"}]

[tracker]
output_period_s = 1.0

[grid]
confirm_hits = [2, 4]
"""


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster
    import logging

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "spec.toml"
    path.write_text(SPEC)
    return path


class Terminal(io.StringIO):
    """A stream that says it is a terminal (the progress bar shows only on one)."""

    def isatty(self):
        return True


@pytest.fixture(scope="module")
def serial(spec_path):
    stream = io.StringIO()
    result = run_sweep(load_spec(spec_path), client=None, progress=True, stream=stream)
    # not a terminal: the failures, and no progress bar
    assert stream.getvalue().count("sweep: task failed") == 4
    assert "12/12" not in stream.getvalue() and "%|" not in stream.getvalue()
    return result


@pytest.fixture(scope="module")
def distributed(spec_path, client):
    stream = Terminal()
    result = run_sweep(load_spec(spec_path), client=client, progress=True, stream=stream)
    return result, stream.getvalue()


def without_timing(run):
    out = {k: v for k, v in run.items() if k not in ("metrics", "traceback")}
    if "metrics" in run:
        out["metrics"] = {k: v for k, v in run["metrics"].items() if k not in TIMING_FIGURES}
    return out


def same(a, b):
    """Equal, NaN equal to NaN; floats to 1e-12 relative.

    The tracks of a task are bit-identical wherever it runs, but NumPy's
    vectorised sums of the metrics may round differently in the last bit
    with the alignment of their arrays, which differs between processes.
    """
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def test_cluster_runs_match_serial_runs(serial, distributed):
    result, _ = distributed
    assert len(result.runs) == len(serial.runs) == 3 * 2 * 2
    for a, b in zip(result.runs, serial.runs):
        a, b = without_timing(a), without_timing(b)
        assert a.keys() == b.keys()
        for key in a:
            if key == "metrics":
                assert a[key].keys() == b[key].keys()
                assert all(same(a[key][k], b[key][k]) for k in a[key]), (a, b)
            else:
                assert a[key] == b[key]


def test_a_task_is_deterministic_by_seed(spec_path):
    spec = load_spec(spec_path)
    task = spec.tasks()[0]
    first, again = without_timing(run_task(task)), without_timing(run_task(task))
    assert first["metrics"].keys() == again["metrics"].keys()
    assert all(same(first["metrics"][k], again["metrics"][k]) for k in first["metrics"])
    other_seed = next(t for t in spec.tasks() if t.seed != task.seed and t.label == task.label)
    assert run_task(other_seed)["metrics"]["gospa_mean"] != first["metrics"]["gospa_mean"]


def test_failed_tasks_are_reported_with_their_parameters(distributed):
    result, log = distributed
    failed = result.failures
    assert len(failed) == 4                              # the broken entry, 2 configurations x 2 seeds
    assert all(r["scenario"] == "broken" and "n_targets" in r["error"] for r in failed)
    assert {(r["config"], r["seed"]) for r in failed} == {(0, 1), (0, 2), (1, 1), (1, 2)}
    assert {r["params"]["confirm_hits"] for r in failed} == {2, 4}
    assert log.count("task failed") == 4 and "confirm_hits=4" in log
    ok = [r for r in result.runs if r["status"] == "ok"]
    assert len(ok) == 8 and all(r["metrics"]["n_epochs"] > 0 for r in ok)
    assert "12/12" in log and "4 failed" in log              # the progress bar, on a terminal


def test_summary_is_the_mean_and_standard_error_of_the_seeds(distributed):
    result, _ = distributed
    rows = {(r["scenario"], r["config"]): r for r in result.summary}
    assert len(rows) == 6
    for (label, config), row in rows.items():
        runs = [r for r in result.runs if r["scenario"] == label and r["config"] == config]
        ok = [r for r in runs if r["status"] == "ok"]
        assert (row["runs"], row["failed"]) == (len(ok), len(runs) - len(ok))
        assert row["confirm_hits"] == (2, 4)[config]
        if not ok:
            assert math.isnan(row["gospa_mean_mean"])
            continue
        values = np.array([r["metrics"]["gospa_mean"] for r in ok])
        assert row["gospa_mean_mean"] == pytest.approx(values.mean())
        assert row["gospa_mean_se"] == pytest.approx(values.std(ddof=1) / math.sqrt(values.size))


def test_command_on_the_cluster_writes_csv_json_and_figure(spec_path, client, serial, tmp_path, capsys):
    from matplotlib.image import imread

    out = tmp_path / "results"
    code = main(["sweep", str(spec_path), "--scheduler", client.scheduler.address, "--out", str(out),
                 "--quiet"])
    captured = capsys.readouterr()
    assert code == 1                                     # some tasks failed; results written anyway
    assert "8 of 12 tasks succeeded" in captured.out
    assert "task failed" in captured.err and "broken" in captured.err
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["scenario"], r["config"]) for r in rows] == [
        (label, str(k)) for label in ("crossing", "sparse(n_targets=3)", "broken") for k in (0, 1)]
    for row, reference in zip(rows, serial.summary):
        assert row["confirm_hits"] == str(reference["confirm_hits"])
        if reference["runs"]:
            assert float(row["gospa_mean_mean"]) == pytest.approx(reference["gospa_mean_mean"], rel=1e-12)
            assert float(row["completeness_se"]) == pytest.approx(reference["completeness_se"], rel=1e-9)
        else:
            assert row["gospa_mean_mean"] == "" and row["failed"] == "2"
    document = json.loads((out / "results.json").read_text())
    assert len(document["runs"]) == 12 and len(document["failures"]) == 4
    assert document["failures"][0]["params"] == {"confirm_hits": 2}
    assert document["configurations"] == [{"config": 0, "params": {"confirm_hits": 2}},
                                          {"config": 1, "params": {"confirm_hits": 4}}]
    image = imread(str(out / "comparison.png"))
    assert image.shape[0] > 300 and image[..., :3].std() > 0.03


def test_serial_command(spec_path, tmp_path, capsys):
    spec = tmp_path / "small.toml"
    spec.write_text('seeds = [3]\nscenarios = [{name = "crossing", duration_s = 10.0}]\n')
    code = main(["sweep", str(spec), "--workers", "0", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "small-results" / "results.csv").is_file()


@pytest.mark.parametrize("text, key", [
    ('seeds = [1]\nscenarios = ["crossing"]\nbogus = 1\n', "bogus"),
    ('seeds = [1]\nscenarios = ["nowhere"]\n', "scenarios[0].name"),
    ('seeds = [1.5]\nscenarios = ["crossing"]\n', "seeds[0]"),
    ('scenarios = ["crossing"]\n', "seeds"),
    ('seeds = [1]\nscenarios = ["crossing"]\n[grid]\nconfirm_hits = [3, 0]\n', "grid[1].confirm_hits"),
    ('seeds = [1]\nscenarios = ["crossing"]\n[grid]\nno_such_key = [1]\n', "grid[0].no_such_key"),
    ('seeds = [1]\nscenarios = ["crossing"]\n[grid]\nconfirm_hits = 3\n', "grid.confirm_hits"),
    ('seeds = [1]\nscenarios = ["crossing"]\n[tracker]\nconfirm_hits = 3\n[grid]\nconfirm_hits = [2]\n',
     "grid.confirm_hits"),
    ('seeds = [1]\nscenarios = ["crossing", "crossing"]\n', "scenarios[1].label"),
])
def test_spec_errors_name_the_key(text, key):
    with pytest.raises(ConfigError) as info:
        parse_spec(tomllib.loads(text), "spec.toml")
    assert info.value.key_path == key


def test_bad_spec_exits_2_before_running(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('seeds = [1]\nscenarios = ["crossing"]\n[grid]\ngate_probability = [2.0]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "grid[0].gate_probability" in err
    assert not (tmp_path / "out").exists()


def test_grid_is_the_product_of_its_lists():
    spec = parse_spec(tomllib.loads(
        'seeds = [1, 2, 3]\nscenarios = ["crossing", "swarm"]\n'
        '[grid]\nconfirm_hits = [2, 3]\ngate_probability = [0.99, 0.999, 0.9995]\n'))
    assert len(spec.configurations) == 6
    assert spec.configurations[4] == {"confirm_hits": 3, "gate_probability": 0.999}
    tasks = spec.tasks()
    assert len(tasks) == 2 * 6 * 3
    assert len({(t.label, t.config, t.seed) for t in tasks}) == len(tasks)
