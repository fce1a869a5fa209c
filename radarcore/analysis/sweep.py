"""``radarcore sweep``: Monte Carlo runs of tracker configurations on Dask.

::

    radarcore sweep SPEC.toml [--scheduler ADDRESS] [--workers N] [--out DIR]

Every (scenario, seed, tracker configuration) of the spec is one task:
simulate the scenario with that seed (:func:`radarcore.sim.simulate.simulate`),
run it through an :class:`radarcore.core.engine.Engine` with the configuration's
``[tracker]`` table, in memory, and score tracks and alerts against the
truth (:func:`radarcore.analysis.evaluate.evaluate`, the figures of ``radarcore
evaluate``).  Tasks run on ``dask.distributed``: a ``LocalCluster`` of
``N`` worker processes (default 2) unless ``--scheduler`` gives the address
of a running scheduler (its workers need radarcore installed); ``--workers
0`` runs them one after the other in this process, without Dask.

A task is deterministic: the same scenario, seed and configuration give the
same figures on any worker.  A failing task is reported on stderr with its
scenario, seed and parameters and recorded in the results; the others are
kept.  A progress bar (tqdm) is shown on stderr while the tasks run, when
stderr is a terminal.

SPEC.toml::

    seeds = [1, 2, 3]                  # required: integers
    scenarios = ["crossing",           # required: names, or tables with name and
                 {name = "swarm", duration_s = 60.0, n_targets = 12}]   # optional label,
                                       # duration_s, n_targets; the bird scenes also
                                       # n_drones, n_radars, clutter_per_scan,
                                       # behaviours, exclude_behaviours (lists of names)
    duration_s = 120.0                 # optional: default length of every scenario
    cutoff_m = 50.0                    # optional: GOSPA cut-off (m)

    [tracker]                          # optional: tracker keys every configuration shares
    output_period_s = 1.0

    [grid]                             # optional: tracker keys, each a list of values;
    confirm_hits = [2, 3]              # every combination is one configuration
    gate_probability = [0.999, 0.9995]

Every configuration is checked with :func:`radarcore.core.config.parse_tracker`
before anything runs; errors name the key (``grid[3].confirm_hits`` for
configuration 3).  Unknown keys are errors.

Output in ``DIR`` (default ``SPEC-results`` beside the spec):

``results.csv``
    One row per (scenario, configuration): its parameters, the runs that
    succeeded and failed, and for every figure its mean over the seeds
    (``NAME_mean``) and standard error (``NAME_se``, ``std / sqrt(n)`` with
    ``ddof = 1``; empty with fewer than two finite values).
``results.json``
    The same rows, the configurations, every run's figures and the failures.
``comparison.png``
    Headline figures per configuration and scenario, with standard errors.
"""
from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from radarcore.core.config import ConfigError, parse_tracker, read_toml

__all__ = ["SweepSpec", "SweepTask", "SweepResult", "load_spec", "parse_spec", "run_task",
           "run_sweep", "summarise", "write_results", "comparison_figure", "add_parser", "run"]

_SPEC_KEYS = ("seeds", "scenarios", "duration_s", "cutoff_m", "tracker", "grid")
_SCENARIO_KEYS = ("name", "label", "duration_s", "n_targets", "n_drones", "n_radars",
                  "clutter_per_scan", "behaviours", "exclude_behaviours")
#: Options of the bird scenes (radarcore.sim.simulate.simulate keywords).
_BIRD_OPTIONS = ("n_drones", "n_radars", "clutter_per_scan", "behaviours", "exclude_behaviours")

#: Figures drawn in comparison.png (those present in the results).
COMPARISON_FIGURES = (
    ("gospa_mean", "GOSPA mean (m)"),
    ("ospa_mean", "OSPA mean (m)"),
    ("completeness", "completeness"),
    ("false_tracks_per_hour", "false tracks per hour"),
    ("position_rmse_m", "position RMSE (m)"),
    ("id_switches", "track-id switches"),
    ("track_breaks", "track breaks"),
    ("missed_intrusions", "missed intrusions"),
)

#: Per-task figures that are not properties of the tracks (not compared across runs).
TIMING_FIGURES = ("run_time_s",)


@dataclass(frozen=True)
class SweepTask:
    """One (scenario, seed, configuration) run; picklable, sent to a worker.

    Attributes
    ----------
    scenario : str
        Scenario name (:data:`radarcore.sim.simulate.SCENARIOS`).
    label : str
        The scenario entry's label in the results (unique in the spec).
    seed : int
    config : int
        Configuration number (position in the grid).
    params : tuple of (str, value)
        The grid values of this configuration.
    tracker : tuple of (str, value)
        The whole ``[tracker]`` table (shared keys and grid values).
    duration_s, n_targets : float or int or None
        Scenario options (None: the scenario's default).
    cutoff_m : float
    options : tuple of (str, value)
        Bird-scene options for :func:`radarcore.sim.simulate.simulate`
        (``n_drones``, ``n_radars``, ``clutter_per_scan``, ``behaviours``,
        ``exclude_behaviours``).
    """

    scenario: str
    label: str
    seed: int
    config: int
    params: tuple
    tracker: tuple
    duration_s: float | None = None
    n_targets: int | None = None
    cutoff_m: float = 50.0
    options: tuple = ()

    def describe(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.params) or "defaults"
        return f"scenario {self.label}, seed {self.seed}, configuration {self.config} ({params})"


@dataclass
class SweepSpec:
    """A validated SPEC.toml."""

    seeds: tuple
    scenarios: tuple             # dicts: name, label, duration_s, n_targets
    configurations: tuple        # dicts: grid values of each configuration
    tracker: dict                # shared [tracker] keys
    cutoff_m: float = 50.0
    parameters: tuple = ()       # the grid's keys, in file order
    source: str = "<memory>"

    def tasks(self):
        """Every (scenario, configuration, seed) task, in that nesting order."""
        out = []
        for scenario in self.scenarios:
            for k, params in enumerate(self.configurations):
                for seed in self.seeds:
                    out.append(SweepTask(
                        scenario=scenario["name"], label=scenario["label"], seed=int(seed), config=k,
                        params=tuple(params.items()),
                        tracker=tuple({**self.tracker, **params}.items()),
                        duration_s=scenario["duration_s"], n_targets=scenario["n_targets"],
                        cutoff_m=self.cutoff_m, options=tuple(scenario.get("options", {}).items())))
        return out


def _positive_number(value, source, path):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        raise ConfigError(source, path, f"expected a positive number, got {value!r}")
    return float(value)


def _integer(value, source, path, minimum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(source, path, f"expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(source, path, f"expected an integer >= {minimum}, got {value!r}")
    return value


def parse_spec(data, source="<memory>"):
    """Validate a sweep spec read from TOML.

    Returns
    -------
    SweepSpec

    Raises
    ------
    ConfigError
        Naming the file and the key.
    """
    from radarcore.sim.simulate import SCENARIOS

    if not isinstance(data, dict):
        raise ConfigError(source, "(file)", "expected a table")
    unknown = [k for k in data if k not in _SPEC_KEYS]
    if unknown:
        raise ConfigError(source, unknown[0], f"unknown key (expected one of: {', '.join(_SPEC_KEYS)})")
    for key in ("seeds", "scenarios"):
        if key not in data:
            raise ConfigError(source, key, "missing required key")
    seeds = data["seeds"]
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(source, "seeds", f"expected a non-empty list of integers, got {seeds!r}")
    seeds = tuple(_integer(s, source, f"seeds[{k}]", 0) for k, s in enumerate(seeds))
    if len(set(seeds)) != len(seeds):
        raise ConfigError(source, "seeds", "duplicate seeds")
    default_duration = None
    if "duration_s" in data:
        default_duration = _positive_number(data["duration_s"], source, "duration_s")
    cutoff_m = _positive_number(data.get("cutoff_m", 50.0), source, "cutoff_m")
    if not isinstance(data["scenarios"], list) or not data["scenarios"]:
        raise ConfigError(source, "scenarios", "expected a non-empty list of scenario names or tables")
    scenarios = []
    for k, item in enumerate(data["scenarios"]):
        path = f"scenarios[{k}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise ConfigError(source, path, f"expected a scenario name or a table, got {item!r}")
        bad = [key for key in item if key not in _SCENARIO_KEYS]
        if bad:
            raise ConfigError(source, f"{path}.{bad[0]}",
                              f"unknown key (expected one of: {', '.join(_SCENARIO_KEYS)})")
        name = item.get("name")
        if name not in SCENARIOS:
            raise ConfigError(source, f"{path}.name",
                              f"unknown scenario {name!r} (choose from: {', '.join(SCENARIOS)})")
        duration = item.get("duration_s", default_duration)
        if duration is not None:
            duration = _positive_number(duration, source, f"{path}.duration_s")
        n_targets = item.get("n_targets")
        if n_targets is not None:
            n_targets = _integer(n_targets, source, f"{path}.n_targets", 1)
        bird_options = {}
        for key in _BIRD_OPTIONS:
            if key not in item:
                continue
            from radarcore.sim.scenarios import SPECS

            if SPECS[name].mix is None:
                raise ConfigError(source, f"{path}.{key}",
                                  f"applies to the bird scenes only, not to {name!r}")
            value = item[key]
            if key in ("behaviours", "exclude_behaviours"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(source, f"{path}.{key}",
                                      f"expected a list of behaviour names, got {value!r}")
                value = tuple(value)
            elif key == "clutter_per_scan":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ConfigError(source, f"{path}.{key}",
                                      f"expected a non-negative number, got {value!r}")
                value = float(value)
            else:
                value = _integer(value, source, f"{path}.{key}", 0)
            bird_options[key] = value
        if bird_options:
            from radarcore.sim.scenarios import SPECS

            try:
                SPECS[name].mix.with_options(n_targets=n_targets, **bird_options)
            except ValueError as exc:
                raise ConfigError(source, path, str(exc)) from None
        label = item.get("label")
        if label is None:
            options = [f"{key}={item[key]}" for key in ("duration_s", "n_targets") + _BIRD_OPTIONS
                       if key in item]
            label = f"{name}({', '.join(options)})" if options else name
        if not isinstance(label, str) or not label:
            raise ConfigError(source, f"{path}.label", f"expected a non-empty string, got {label!r}")
        if any(s["label"] == label for s in scenarios):
            raise ConfigError(source, f"{path}.label",
                              f"two scenario entries are both labelled {label!r}; give them a label")
        scenarios.append({"name": name, "label": label, "duration_s": duration, "n_targets": n_targets,
                          "options": bird_options})
    tracker = data.get("tracker", {})
    if not isinstance(tracker, dict):
        raise ConfigError(source, "tracker", "expected a table [tracker]")
    parse_tracker(tracker, source, "tracker")
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError(source, "grid", "expected a table [grid]")
    for key, values in grid.items():
        if key in tracker:
            raise ConfigError(source, f"grid.{key}", "also set in [tracker]; give it in one place")
        if not isinstance(values, list) or not values:
            raise ConfigError(source, f"grid.{key}", f"expected a non-empty list of values, got {values!r}")
    parameters = tuple(grid)
    configurations = []
    for k, combination in enumerate(itertools.product(*(grid[key] for key in parameters))):
        params = dict(zip(parameters, combination))
        parse_tracker({**tracker, **params}, source, f"grid[{k}]")
        configurations.append(params)
    return SweepSpec(seeds=seeds, scenarios=tuple(scenarios), configurations=tuple(configurations),
                     tracker=dict(tracker), cutoff_m=cutoff_m, parameters=parameters, source=source)


def load_spec(path):
    """Read and validate SPEC.toml (see the module docstring)."""
    return parse_spec(read_toml(path), str(path))


# --------------------------------------------------------------------------
# One task


def _identity(task):
    return {"scenario": task.label, "seed": task.seed, "config": task.config,
            "params": dict(task.params)}


def run_task(task):
    """Simulate, track and score one task; never raises.

    Returns
    -------
    dict
        ``scenario`` (the entry's label), ``seed``, ``config``, ``params``,
        ``status`` (``"ok"`` or ``"failed"``), and either ``metrics`` (the scalar figures of
        :func:`radarcore.analysis.evaluate.flat_metrics` plus ``run_time_s``) or
        ``error`` (the exception) and ``traceback``.
    """
    out = _identity(task)
    try:
        from radarcore.core.engine import Engine
        from radarcore.analysis.evaluate import evaluate, flat_metrics
        from radarcore.sim.simulate import simulate

        t0 = time.perf_counter()
        scenario = simulate(task.scenario, seed=task.seed, duration_s=task.duration_s,
                            n_targets=task.n_targets, **dict(task.options))
        tracker = parse_tracker(dict(task.tracker), "<sweep>", f"grid[{task.config}]")
        site = dataclasses.replace(scenario.site, tracker=tracker)
        engine = Engine(site)
        rows = np.concatenate([engine.process(scenario.plots), engine.flush()])
        events = engine.pop_alerts()
        evaluation = evaluate(scenario.truth, rows, site, events if site.assets else None,
                              task.cutoff_m)
        metrics = flat_metrics(evaluation.metrics)
        metrics["run_time_s"] = time.perf_counter() - t0
        out.update(status="ok", metrics=metrics)
    except Exception as exc:    # a task's failure is a result, reported with its parameters
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc())
    return out


# --------------------------------------------------------------------------
# Running


@dataclass
class SweepResult:
    """Runs of a sweep, in task order, and their summary."""

    spec: SweepSpec
    runs: list                   # run_task results, in spec.tasks() order
    summary: list = field(default_factory=list)   # rows of results.csv (dicts)

    @property
    def failures(self):
        return [r for r in self.runs if r["status"] != "ok"]


def _report_failure(result, stream):
    params = ", ".join(f"{k}={v!r}" for k, v in result["params"].items()) or "defaults"
    stream.write(f"sweep: task failed: scenario {result['scenario']}, seed {result['seed']}, "
                 f"configuration {result['config']} ({params}): {result['error']}\n")
    stream.flush()


def _finished_runs(tasks, client):
    """``(k, result of task k)`` as the tasks finish: here in order, or on ``client``."""
    if client is None:
        for k, task in enumerate(tasks):
            yield k, run_task(task)
        return
    from dask.distributed import as_completed

    futures = client.map(run_task, tasks, pure=False)
    index = {future.key: k for k, future in enumerate(futures)}
    for future in as_completed(futures):
        k = index[future.key]
        if future.status == "finished":
            yield k, future.result()
        else:                       # the task raised outside run_task, or its worker died
            try:
                exc = future.exception()
            except BaseException as cancelled:    # CancelledError: no exception to fetch
                exc = cancelled
            yield k, {**_identity(tasks[k]), "status": "failed",
                      "error": f"{type(exc).__name__}: {exc}", "traceback": ""}
        future.release()


def run_sweep(spec, client=None, progress=True, stream=None):
    """Run every task of a spec.

    Parameters
    ----------
    spec : SweepSpec
    client : dask.distributed.Client, optional
        Where to run the tasks; None runs them here, one after the other.
    progress : bool
        Show a progress bar on ``stream`` (only if it is a terminal).
    stream : file, optional
        Progress and failures (default stderr).

    Returns
    -------
    SweepResult
        Runs in task order whatever order they finished in; a task lost
        with its worker is recorded as failed, like one that raised.
    """
    stream = stream or sys.stderr
    tasks = spec.tasks()
    runs = [None] * len(tasks)
    n_failed = 0
    # on ``stream``, and only on a terminal (disable=None), unless progress is off
    with tqdm(total=len(tasks), desc="sweep", unit="task", file=stream,
              disable=None if progress else True) as bar:
        for k, run in _finished_runs(tasks, client):
            runs[k] = run
            if run["status"] != "ok":
                n_failed += 1
                bar.clear()
                _report_failure(run, stream)
            bar.set_postfix_str(f"{n_failed} failed", refresh=False)
            bar.update()
    result = SweepResult(spec, runs)
    result.summary = summarise(spec, runs)
    return result


def _metric_names(runs):
    names = []
    for r in runs:
        if r["status"] == "ok":
            for name, value in r["metrics"].items():
                if name not in names and isinstance(value, (int, float)) and not isinstance(value, bool):
                    names.append(name)
    return names


def summarise(spec, runs):
    """Mean and standard error of every figure per (scenario, configuration).

    Returns
    -------
    list of dict
        One per (scenario, configuration) in spec order: ``scenario``,
        ``config``, the grid parameters, ``runs``, ``failed``, then
        ``NAME_mean`` and ``NAME_se`` of each figure (NaN where undefined).
    """
    names = _metric_names(runs)
    rows = []
    for scenario in spec.scenarios:
        for k, params in enumerate(spec.configurations):
            mine = [r for r in runs if r is not None and r["scenario"] == scenario["label"]
                    and r["config"] == k]
            ok = [r for r in mine if r["status"] == "ok"]
            row = {"scenario": scenario["label"], "config": k, **params,
                   "runs": len(ok), "failed": len(mine) - len(ok)}
            for name in names:
                values = np.array([float(r["metrics"].get(name, math.nan))
                                   if r["metrics"].get(name) is not None else math.nan for r in ok])
                values = values[np.isfinite(values)]
                row[f"{name}_mean"] = float(values.mean()) if values.size else math.nan
                row[f"{name}_se"] = (float(values.std(ddof=1) / math.sqrt(values.size))
                                     if values.size >= 2 else math.nan)
            rows.append(row)
    return rows


# --------------------------------------------------------------------------
# Output


def _csv_value(value):
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return str(value)


def comparison_figure(result, path):
    """Bars of headline figures per configuration (groups) and scenario
    (colours), with +-1 standard error."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    spec = result.spec
    present = [(name, label) for name, label in COMPARISON_FIGURES
               if any(math.isfinite(row.get(f"{name}_mean", math.nan)) for row in result.summary)]
    if not present:
        present = [("gospa_mean", "GOSPA mean (m)")]
    n_cols = 2
    n_rows = math.ceil(len(present) / n_cols)
    n_configs = len(spec.configurations)
    fig = Figure(figsize=(max(9.0, 1.2 * n_configs * n_cols + 3), 2.8 * n_rows + 1.0), dpi=100,
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    names = [s["label"] for s in spec.scenarios]
    width = 0.8 / max(len(names), 1)
    x = np.arange(n_configs)

    def label(params):
        return "\n".join(f"{k}={v}" for k, v in params.items()) or "defaults"

    for ax, (metric, title) in zip(axes, present):
        for s, name in enumerate(names):
            rows = [r for r in result.summary if r["scenario"] == name]
            mean = np.array([r.get(f"{metric}_mean", math.nan) for r in rows], float)
            se = np.array([r.get(f"{metric}_se", math.nan) for r in rows], float)
            ax.bar(x + (s - (len(names) - 1) / 2) * width, np.nan_to_num(mean), width,
                   yerr=np.where(np.isfinite(se), se, 0.0), capsize=3, label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(x)
        ax.set_xticklabels([f"#{k}\n{label(p)}" for k, p in enumerate(spec.configurations)],
                           fontsize=7)
        ax.grid(True, axis="y", lw=0.3)
    for ax in axes[len(present):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=8)
    fig.suptitle(f"Sweep: mean over seeds {', '.join(str(s) for s in spec.seeds)} "
                 f"(error bars: one standard error)")
    fig.savefig(path, format="png")
    return path


def write_results(result, out_dir):
    """Write results.csv, results.json and comparison.png into ``out_dir``.

    Returns
    -------
    dict
        File name -> path.
    """
    from radarcore.analysis.tables import json_safe

    os.makedirs(out_dir, exist_ok=True)
    spec = result.spec
    names = _metric_names(result.runs)
    columns = (["scenario", "config", *spec.parameters, "runs", "failed"]
               + [f"{n}_{s}" for n in names for s in ("mean", "se")])
    csv_path = os.path.join(out_dir, "results.csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in result.summary:
            writer.writerow([_csv_value(row.get(c, math.nan)) for c in columns])
    json_path = os.path.join(out_dir, "results.json")
    document = {
        "spec": spec.source,
        "seeds": list(spec.seeds),
        "scenarios": list(spec.scenarios),
        "tracker": spec.tracker,
        "parameters": list(spec.parameters),
        "configurations": [{"config": k, "params": p} for k, p in enumerate(spec.configurations)],
        "cutoff_m": spec.cutoff_m,
        "summary": result.summary,
        "runs": [{k: v for k, v in r.items() if k != "traceback"} for r in result.runs],
        "failures": [{k: r[k] for k in ("scenario", "seed", "config", "params", "error", "traceback")}
                     for r in result.failures],
    }
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(json_safe(document), f, indent=2, allow_nan=False)
        f.write("\n")
    figure_path = comparison_figure(result, os.path.join(out_dir, "comparison.png"))
    return {"results.csv": csv_path, "results.json": json_path, "comparison.png": figure_path}


# --------------------------------------------------------------------------
# Command line


def add_parser(subparsers):
    """Add the ``sweep`` command to an ``argparse`` sub-parser set."""
    p = subparsers.add_parser(
        "sweep", help="Monte Carlo runs of tracker configurations on Dask",
        description="Run every (scenario, seed, tracker configuration) of SPEC.toml through "
                    "simulate -> engine -> evaluate on dask.distributed and write results.csv, "
                    "results.json and comparison.png (see radarcore/analysis/sweep.py for the spec).")
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep: seeds, scenarios, [tracker], [grid]")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (default: a LocalCluster)")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="worker processes of the LocalCluster (default 2; 0: run here without Dask)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default: SPEC-results beside the spec)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)
    return p


def run(args):
    """Run ``radarcore sweep``; 0 when every task succeeded, 1 when some
    failed (the results are written anyway), 2 on a bad spec or option."""
    try:
        spec = load_spec(args.spec)
    except ConfigError as e:
        print(f"radarcore sweep: {e}", file=sys.stderr)
        return 2
    if args.workers < 0:
        print(f"radarcore sweep: --workers must be >= 0, got {args.workers}", file=sys.stderr)
        return 2
    out_dir = args.out
    if out_dir is None:
        stem = os.path.splitext(os.path.basename(args.spec))[0]
        out_dir = os.path.join(os.path.dirname(args.spec) or ".", f"{stem}-results")
    n_tasks = len(spec.tasks())
    if args.scheduler is None and args.workers == 0:
        print(f"sweep: {n_tasks} tasks in this process", file=sys.stderr)
        result = run_sweep(spec, None, progress=not args.quiet)
    else:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            print("radarcore sweep: dask.distributed is not installed "
                  "(pip install 'radarcore[analysis]', or --workers 0)", file=sys.stderr)
            return 2
        import logging

        if args.scheduler is not None:
            try:
                client = Client(args.scheduler, timeout="20s")
            except (OSError, TimeoutError) as e:
                print(f"radarcore sweep: cannot reach the scheduler {args.scheduler}: {e}",
                      file=sys.stderr)
                return 2
            cluster = None
            where = f"scheduler {args.scheduler}"
        else:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
            where = f"a LocalCluster of {args.workers} worker processes"
        print(f"sweep: {n_tasks} tasks on {where}", file=sys.stderr)
        try:
            result = run_sweep(spec, client, progress=not args.quiet)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    written = write_results(result, out_dir)
    failed = len(result.failures)
    print(f"{n_tasks - failed} of {n_tasks} tasks succeeded; "
          f"{len(result.summary)} (scenario, configuration) rows")
    for name, path in written.items():
        print(f"wrote {path}")
    return 1 if failed else 0
