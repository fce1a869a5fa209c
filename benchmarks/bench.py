"""``radarcore bench`` (also ``python -m benchmarks``): the end-to-end figures.

    radarcore bench [--quick] [--json FILE] [--out DIR] [--sizes N ...] [--no-serve] [--no-startup]
                    [--core-only] [--no-extras] [--no-cold-start] [--density fixed constant]

For each size (live targets: 100, 1,000, 10,000 and 100,000; ``--quick``
stops at 10,000) the ``large`` scenario (:func:`radarcore.sim.simulate.simulate`,
four rotating radars at 2 s, one protected asset with zones and alerts) is
simulated, shortened for the big sizes (:data:`DURATION_S`); above 10,000
targets twice (``--density``, :func:`large_scene`): in the scenario's one
9 km disc (``fixed``: 100,000 targets ten times as dense as 10,000) and in
tiles of 10,000 targets with their own radars (``constant``: the area grows
with the targets), and the cost per plot of each against 10,000 targets is
reported.  Each scene is written as
site.toml, plots.csv and a native recording (``plots.rcrec``: the plots cut
into per-radar bursts by :func:`radarcore.service.emulate.plan_bursts`, each burst
one :func:`ingest.codec.encode_plots` frame written with
:class:`ingest.recording.RecordingWriter`).  Then, every kernel compiled
(or loaded from the Numba cache) beforehand:

* **replay, plots.csv** and **replay, recording**:
  :func:`radarcore.core.replay.replay_file` on each file, end to end (reading,
  parsing or frame decoding, engine, tracks.csv and alerts.jsonl written);
  up to :data:`EQUIVALENCE_MAX_TARGETS` targets each replay's tracks.csv must
  equal, to its 0.01 m, the tracks of the engine fed the same plots in the
  same order (above it, every plot must have been read);
* **engine core**: :meth:`radarcore.core.engine.Engine.process` on the plots
  already in memory, in batches of :data:`CORE_BATCH`, then ``flush``.  Its
  tracks are first scored against truth (:func:`radarcore.analysis.scores.score`):
  fewer than 95 % of the targets tracked stops the benchmark, since a
  throughput of a tracker that does not track means nothing;
* **memory per live track**: ``TrackTable.nbytes() / capacity`` (the
  table's bytes per slot), and, on a separate run under :mod:`tracemalloc`,
  the peak traced bytes of the engine divided by the most live tracks (NumPy
  allocations are traced; the kernels' temporary arrays are not), and the
  resident-set growth of the process over that run per live track.

Throughputs are plots/s of wall time and of process CPU time (the
difference shows how much other work on the machine took from the run);
cost per plot is the CPU time per plot.  Every input path (plots.csv
parser, recording frames) is compiled on a tiny scenario before timing.  A scaling plot (``scaling.png``)
gives the cost per plot against the live tracks.

Beside the sizes (``--no-extras`` skips them):

* **replay, birdlarge**: the scene of issue 15 (``birdlarge``, 8 radars,
  3,000 targets, 200 clutter plots per scan per radar, :data:`BIRDLARGE_DURATION_S`)
  replayed end to end from plots.csv twice, with the CPU share of each stage
  (:class:`StageTimers`); both runs must write the same tracks.csv and
  alerts.jsonl bytes;
* **engine core, IMM and CV** at :data:`MODEL_TARGETS` targets, with the
  protected asset (zones, classification, alerts) and tracking only;
* **alert lifecycle**: ``AlertManager.update`` per epoch with 1,000 and
  10,000 tracks inside the zones (:func:`alert_scene`), the compiled zone
  evaluation and the Python lifecycle apart.

Every scene is simulated with seed :data:`SEED`.

Start-up time cold (empty Numba cache) and warm comes from
``benchmarks/startup.py``; live-service throughput and latency over ZeroMQ
from ``benchmarks/serve.py`` (a subprocess), both skipped with a note when
the repository's ``benchmarks/`` is not there.  The table is printed and, with
the machine (platform, CPU model, cores), the versions and the date, saved as
JSON (``--json``, default ``DIR/bench.json``).
"""
import argparse
import datetime
import gc
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

#: Live-target sizes of a full run; ``--quick`` stops at :data:`QUICK_MAX_TARGETS`.
SIZES = (100, 1_000, 10_000, 100_000)
QUICK_MAX_TARGETS = 10_000
#: Scenario length (s) per size: long enough to settle, short enough for the big ones.
DURATION_S = {100: 120.0, 1_000: 60.0, 10_000: 30.0, 100_000: 20.0}
#: Plots per ``Engine.process`` call in the engine-core run (a replay chunk's size).
CORE_BATCH = 65_536
#: Scored rows start this long after the first plot (track initiation excluded).
SETTLE_S = 10.0
#: Fraction of the truth targets the engine must track for its figures to count.
MIN_TRACKED = 0.95
#: Up to this size each replay's tracks are compared with an engine run on the same plots.
EQUIVALENCE_MAX_TARGETS = 10_000
#: Targets per tile of the constant-density ``large`` scene (:func:`large_scene`): the
#: density of the 10,000-target scene, whose targets fill a disc of 9 km radius.
TILE_TARGETS = 10_000
#: Distance between tile centres (m): tiles' discs and radar coverages (10 km) stay apart.
TILE_SPACING_M = 30_000.0
#: Target ids of tile ``t`` are the tile scene's plus ``t`` times this.
TILE_TARGET_ID_STRIDE = 1_000_000
#: Seed of every simulated scene (docs/behaviours.md: seeds 1000 and up are for reported figures).
SEED = 1000
#: The scene of issue 15: ``birdlarge`` (8 radars, 3,000 targets, 200 clutter plots per
#: scan per radar), this long (s): about 480,000 plots.
BIRDLARGE_DURATION_S = 40.0
#: Tracks inside the zones for the alert-lifecycle figure, and its epochs.
ALERT_TRACKS = (1_000, 10_000)
ALERT_EPOCHS = 20
#: Targets and length of the IMM-versus-CV engine-core figure.
MODEL_TARGETS = 10_000
MODEL_DURATION_S = 30.0
#: Repository root (for ``benchmarks/``, present in a source checkout).
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BenchmarkCheckError(RuntimeError):
    """A benchmark's correctness check failed; its figures are not reported."""


# ---------------------------------------------------------------------------
# Machine and versions
# ---------------------------------------------------------------------------

def cpu_model():
    """The CPU model name from /proc/cpuinfo, else :func:`platform.processor`."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    """Platform, CPU model, cores, versions and the date, as a dict."""
    import numba

    from radarcore import __version__
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "numba_threads": int(numba.config.NUMBA_NUM_THREADS),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "radarcore": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def rss_bytes():
    """Resident set size of this process (bytes), 0 where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Clock:
    """Wall and process CPU time of a block."""

    def __enter__(self):
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc_info):
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = time.process_time() - self._cpu


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def bursts_of(plots):
    """The per-radar bursts (frames) of a plot array, in send order."""
    from radarcore.service.emulate import plan_bursts

    return plan_bursts(plots)


def write_recording(plots, path):
    """Write the plots as per-radar burst frames into a new recording.

    Parameters
    ----------
    plots : ndarray of PLOT_DTYPE, shape (n_plots,)
    path : str

    Returns
    -------
    int
        Frames written.
    """
    from ingest.codec import encode_plots
    from ingest.recording import RecordingWriter

    seq = {}
    bursts = bursts_of(plots)
    with RecordingWriter(path, flush_interval_s=60.0) as writer:
        for burst in bursts:
            n = seq.get(burst.radar_id, 0)
            seq[burst.radar_id] = n + 1
            writer.write(float(burst.send_time_s), encode_plots(burst.radar_id, n, plots[burst.index]))
    return len(bursts)


def _moved(frame, tile_frame, lat_deg, lon_deg, alt_m):
    """Geodetic position of the point at ``(lat, lon, alt)`` in ``frame``, carried to the
    same local coordinates in ``tile_frame``."""
    enu = frame.from_geodetic(np.atleast_1d(lat_deg), np.atleast_1d(lon_deg), np.atleast_1d(alt_m))
    return tile_frame.to_geodetic(enu)


def large_scene(n_targets, duration_s, density="fixed", seed=SEED):
    """The ``large`` scenario with ``n_targets`` targets, at fixed area or constant density.

    ``density="fixed"``: the scenario itself, every target inside one disc
    of 9 km radius watched by four radars, so 100,000 targets are ten
    times as dense as 10,000.  ``density="constant"``: above
    :data:`TILE_TARGETS` targets, that many targets per tile, each tile a
    ``large`` scene of its own (seed ``seed + tile``, its own four radars
    and protected asset) placed :data:`TILE_SPACING_M` apart on a square
    grid, so the area grows with the target count and the density is the
    10,000-target scene's.  Each tile's radars, asset and truth keep their
    local coordinates around a tile origin (the scene's plots, range and
    angles from each radar, are unchanged); radar ids are numbered on
    (``4 * tile + id``), asset ids get ``-tile``, target ids ``+ tile *
    TILE_TARGET_ID_STRIDE``; the plots are merged in time order.
    """
    import dataclasses

    from kernels.geodesy import LocalFrame
    from radarcore.sim.simulate import Scenario, simulate

    if density not in ("fixed", "constant"):
        raise ValueError(f"density must be 'fixed' or 'constant', got {density!r}")
    if density == "fixed" or n_targets <= TILE_TARGETS:
        return simulate("large", seed=seed, n_targets=n_targets, duration_s=duration_s)
    n_tiles = -(-n_targets // TILE_TARGETS)
    columns = math.ceil(math.sqrt(n_tiles))
    counts = [n_targets // n_tiles + (t < n_targets % n_tiles) for t in range(n_tiles)]
    radars, assets, plots, truth, kind = [], [], [], [], {}
    frame = None
    for t, count in enumerate(counts):
        tile = simulate("large", seed=seed + t, n_targets=count, duration_s=duration_s)
        site = tile.site
        if frame is None:
            origin = site.origin
            frame = LocalFrame(origin.lat_deg, origin.lon_deg, origin.alt_m)
        east = (t % columns - (columns - 1) / 2) * TILE_SPACING_M
        north = (t // columns - (columns - 1) / 2) * TILE_SPACING_M
        # the tile's origin on the ellipsoid (at the site origin's height), not on the
        # site's tangent plane, which rises above it away from the origin
        lat0, lon0, _ = frame.to_geodetic([[east, north, 0.0]])[0]
        tile_frame = LocalFrame(lat0, lon0, origin.alt_m)
        radar_ids = {}
        for radar in site.radars:
            lat, lon, _ = _moved(frame, tile_frame, radar.lat_deg, radar.lon_deg, radar.alt_m)[0]
            radar_ids[radar.id] = 4 * t + radar.id
            radars.append(dataclasses.replace(radar, id=4 * t + radar.id, sic=4 * t + radar.id,
                                              lat_deg=float(lat), lon_deg=float(lon)))
        for asset in site.assets:
            lat, lon, _ = _moved(frame, tile_frame, asset.lat_deg, asset.lon_deg, asset.alt_m)[0]
            zones = []
            for zone in asset.zones:
                if zone.polygon is not None:
                    corners = np.array(zone.polygon, dtype=float)
                    moved = _moved(frame, tile_frame, corners[:, 0], corners[:, 1], np.zeros(len(corners)))
                    zone = dataclasses.replace(zone, polygon=tuple((float(a), float(b)) for a, b, _ in moved))
                zones.append(zone)
            assets.append(dataclasses.replace(asset, id=f"{asset.id}-{t}", lat_deg=float(lat), lon_deg=float(lon),
                                              zones=tuple(zones)))
        p = tile.plots.copy()
        p["radar_id"] = [radar_ids[r] for r in p["radar_id"].tolist()]
        plots.append(p)
        r = tile.truth.copy()
        lla = tile_frame.to_geodetic(np.column_stack([r["east_m"], r["north_m"], r["up_m"]]))
        enu = frame.from_geodetic(lla[:, 0], lla[:, 1], lla[:, 2])
        r["east_m"], r["north_m"], r["up_m"] = enu[:, 0], enu[:, 1], enu[:, 2]
        r["target_id"] += t * TILE_TARGET_ID_STRIDE
        truth.append(r)
        kind.update({target + t * TILE_TARGET_ID_STRIDE: k for target, k in tile.info.get("kind", {}).items()})
    plots = np.concatenate(plots)
    plots = plots[np.argsort(plots["time_s"], kind="stable")]
    truth = np.concatenate(truth)
    truth = truth[np.lexsort((truth["target_id"], truth["time_s"]))]
    site = dataclasses.replace(site, radars=tuple(radars), assets=tuple(assets))
    info = {"scenario": "large", "density": "constant", "tiles": n_tiles, "seed": seed,
            "duration_s": duration_s, "n_targets": n_targets, "kind": kind}
    return Scenario(site=site, plots=plots, truth=truth, info=info)


def prepare(n_targets, work_dir, seed=SEED, density="fixed"):
    """Simulate the ``large`` scenario (:func:`large_scene`) and write its plots.csv and recording."""
    from radarcore.sim.simulate import write_scenario

    scenario = large_scene(n_targets, DURATION_S[n_targets], density=density, seed=seed)
    write_scenario(scenario, work_dir)
    frames = write_recording(scenario.plots, os.path.join(work_dir, "plots.rcrec"))
    return scenario, frames


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------

def run_core(site, plots):
    """Feed the in-memory plots to a new engine; rows, engine, clock, most live tracks."""
    from radarcore.core.engine import Engine

    engine = Engine(site)
    rows, live = [], 0
    with Clock() as clock:
        for i in range(0, plots.size, CORE_BATCH):
            rows.append(engine.process(plots[i:i + CORE_BATCH]))
            live = max(live, engine.tracks.n_live)
        rows.append(engine.flush())
        engine.pop_alerts()
    return np.concatenate(rows), engine, clock, live


def check_tracks(scenario, rows, engine):
    """Score the rows against truth; raise :class:`BenchmarkCheckError` if too few are tracked."""
    from radarcore.analysis.scores import score

    settled = rows[rows["time_s"] >= scenario.plots["time_s"].min() + SETTLE_S]
    s = score(scenario.truth, settled, coverage=(engine.radar_pos, engine.radar_max_range))
    if s.targets_confirmed < MIN_TRACKED * s.truth_targets:
        raise BenchmarkCheckError(f"only {s.targets_confirmed} of {s.truth_targets} targets tracked; "
                                  "the throughput would mean nothing")
    return {"truth_targets": int(s.truth_targets), "targets_tracked": int(s.targets_confirmed),
            "false_tracks": int(s.false_tracks), "position_rmse_m": float(s.position_rmse_m)}


def measure_memory(site, plots):
    """Traced peak and RSS growth of one engine run, and the table's bytes per slot."""
    from radarcore.core.engine import Engine

    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    engine = Engine(site)
    live = 0
    for i in range(0, plots.size, CORE_BATCH):
        engine.process(plots[i:i + CORE_BATCH])
        live = max(live, engine.tracks.n_live)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = rss_bytes()
    table = engine.tracks
    return {"table_bytes_per_slot": table.nbytes() / max(table.capacity, 1),
            "table_capacity": int(table.capacity),
            "traced_peak_bytes_per_live_track": peak / max(live, 1),
            "rss_growth_bytes_per_live_track": max(rss_after - rss_before, 0) / max(live, 1),
            "live_tracks_max": int(live)}


def measure_size(n_targets, work_dir, log, core_only=False, density="fixed"):
    """Every per-size figure: replay from both files, engine core, memory (``core_only``:
    the engine core and its check only); ``density`` as in :func:`large_scene`."""
    from radarcore.core.replay import replay_file

    os.makedirs(work_dir, exist_ok=True)
    with Clock() as clock:
        scenario, frames = prepare(n_targets, work_dir, density=density)
    plots = scenario.plots
    log(f"  {n_targets:,} targets ({density} density): {plots.size:,} plots over {DURATION_S[n_targets]:g} s "
        f"({frames:,} recording frames, {len(scenario.site.radars)} radars), prepared in {clock.wall_s:.1f} s")
    site = scenario.site
    out = {"targets": n_targets, "density": density, "radars": len(site.radars),
           "plots": int(plots.size), "duration_s": DURATION_S[n_targets],
           "recording_frames": frames,
           "plots_csv_bytes": os.path.getsize(os.path.join(work_dir, "plots.csv")),
           "recording_bytes": os.path.getsize(os.path.join(work_dir, "plots.rcrec"))}

    rows, engine, clock, live = run_core(site, plots)
    out["check"] = check_tracks(scenario, rows, engine)
    out["live_tracks_max"] = int(live)
    out["core"] = {"wall_s": clock.wall_s, "cpu_s": clock.cpu_s,
                   "plots_per_s": plots.size / clock.wall_s,
                   "plots_per_cpu_s": plots.size / clock.cpu_s}
    del engine
    out["core"]["us_per_plot_cpu"] = 1e6 * out["core"]["cpu_s"] / plots.size
    if core_only:
        return out

    for label, name in (("replay_csv", "plots.csv"), ("replay_recording", "plots.rcrec")):
        with Clock() as clock:
            result = replay_file(os.path.join(work_dir, name), site, os.path.join(work_dir, label),
                                 progress=False)
        if result.summary["plots_read"] != plots.size:
            raise BenchmarkCheckError(f"{label} read {result.summary['plots_read']} plots, "
                                      f"not {plots.size}")
        out[label] = {"wall_s": clock.wall_s, "cpu_s": clock.cpu_s,
                      "plots_per_s": plots.size / clock.wall_s,
                      "plots_per_cpu_s": plots.size / clock.cpu_s}
    # each replay must give the tracks of the engine fed the same plots in the same order
    # (to the 0.01 m of tracks.csv):
    # plots.csv holds the file order, the recording the order of its burst frames
    # (plots.csv rounds the values: its engine run reads them back)
    from ingest.csvio import read_plots_csv, read_tracks_csv
    from_csv = read_plots_csv(os.path.join(work_dir, "plots.csv")).plots
    in_frame_order = plots[np.concatenate([b.index for b in bursts_of(plots)])]
    for label, order in (("replay_csv", from_csv), ("replay_recording", in_frame_order)):
        if n_targets > EQUIVALENCE_MAX_TARGETS:
            break                   # two more engine runs: too long at this size
        expected = run_core(site, order)[0]
        written = read_tracks_csv(os.path.join(work_dir, label, "tracks.csv"))
        written = written[np.lexsort((written["track_id"], written["time_s"]))]
        expected = expected[np.lexsort((expected["track_id"], expected["time_s"]))]
        if (written.size != expected.size or not np.array_equal(written["track_id"], expected["track_id"])
                or np.max(np.abs(written["east_m"] - expected["east_m"]), initial=0.0) > 0.01):
            raise BenchmarkCheckError(f"{label} wrote {written.size} track rows that differ from the "
                                      f"{expected.size} of the engine fed the same plots")
    out["memory"] = measure_memory(site, plots)
    for label in ("replay_csv", "replay_recording"):
        out[label]["us_per_plot_cpu"] = 1e6 * out[label]["cpu_s"] / plots.size
    return out


def cpu_timed(function, totals, key):
    """``function`` wrapped to add the CPU time of each call to ``totals[key]``."""
    def timed(*args, **kwargs):
        t0 = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + time.process_time() - t0
    return timed


class StageTimers:
    """CPU time per stage of a replay, by wrapping the functions each stage calls.

    Stages: the compiled plan (``kernels.tracker.run_plan``), the alert
    lifecycle (``AlertManager.update``, zone evaluation included), writing
    tracks.csv and alerts.jsonl, reading plots.csv, polar to ENU conversion
    and the rows' ENU to geodetic conversion; the rest of the replay is
    "other" (the engine's Python per batch, sorting, the summary).  The
    wrappers are removed on exit.
    """

    def __init__(self):
        import kernels.tracker as tracker
        import radarcore.core.engine as engine
        import radarcore.core.replay as replay
        from radarcore.core.alerts import AlertJsonlWriter, AlertManager
        from ingest.csvio import TrackCsvWriter

        self.cpu_s = {}
        self._targets = [
            (tracker, "run_plan", "plan kernel (run_plan)", False),
            (AlertManager, "update", "alert lifecycle (AlertManager.update)", False),
            (TrackCsvWriter, "write", "tracks.csv writing", False),
            (AlertJsonlWriter, "write", "alerts.jsonl writing", False),
            (replay, "iter_plots_csv", "reading plots.csv", True),
            (engine, "polar_to_enu", "polar to ENU", False),
            (engine, "enu_to_geodetic", "rows ENU to geodetic", False),
        ]
        self._saved = []

    def _add(self, stage, t0):
        self.cpu_s[stage] = self.cpu_s.get(stage, 0.0) + time.process_time() - t0

    def _wrap(self, function, stage, generator):
        timers = self

        if generator:
            def wrapped(*args, **kwargs):
                iterator = iter(function(*args, **kwargs))
                while True:
                    t0 = time.process_time()
                    try:
                        item = next(iterator)
                    except StopIteration:
                        timers._add(stage, t0)
                        return
                    timers._add(stage, t0)
                    yield item
        else:
            wrapped = cpu_timed(function, self.cpu_s, stage)
        return wrapped

    def __enter__(self):
        for owner, name, stage, generator in self._targets:
            function = owner.__dict__[name]
            self._saved.append((owner, name, function))
            setattr(owner, name, self._wrap(function, stage, generator))
        return self

    def __exit__(self, *exc_info):
        for owner, name, function in reversed(self._saved):
            setattr(owner, name, function)
        self._saved = []

    def shares(self, total_cpu_s):
        """``{stage: (cpu_s, share)}`` with "other" for the rest, largest first."""
        out = {k: (v, v / total_cpu_s) for k, v in self.cpu_s.items()}
        rest = total_cpu_s - sum(self.cpu_s.values())
        out["other"] = (rest, rest / total_cpu_s)
        return dict(sorted(out.items(), key=lambda kv: -kv[1][0]))


def measure_birdlarge(work_dir, log, duration_s=BIRDLARGE_DURATION_S):
    """End-to-end replay of the issue-15 scene with stage timers, twice (same bytes both times)."""
    from radarcore.core.replay import replay_file
    from radarcore.sim.simulate import simulate, write_scenario

    scenario = simulate("birdlarge", seed=SEED, duration_s=duration_s)
    write_scenario(scenario, work_dir)
    plots_path = os.path.join(work_dir, "plots.csv")
    n = int(scenario.plots.size)
    log(f"  birdlarge: {n:,} plots over {duration_s:g} s, 8 radars, 3,000 targets")
    runs = []
    for k in range(2):
        out_dir = os.path.join(work_dir, f"out{k}")
        with StageTimers() as timers, Clock() as clock:
            result = replay_file(plots_path, scenario.site, out_dir, progress=False)
        if result.summary["plots_read"] != n:
            raise BenchmarkCheckError(f"birdlarge replay read {result.summary['plots_read']} of {n} plots")
        outputs = tuple(open(os.path.join(out_dir, name), "rb").read()
                        for name in ("tracks.csv", "alerts.jsonl"))
        runs.append((clock, timers, outputs, result.summary))
    if runs[0][2] != runs[1][2]:
        raise BenchmarkCheckError("two replays of the birdlarge scene wrote different tracks.csv or alerts.jsonl")
    clock, timers, _, summary = runs[0]
    return {"plots": n, "duration_s": duration_s, "wall_s": clock.wall_s, "cpu_s": clock.cpu_s,
            "plots_per_s": n / clock.wall_s, "plots_per_cpu_s": n / clock.cpu_s,
            "second_run_plots_per_cpu_s": n / runs[1][0].cpu_s,
            "tracks_initiated": summary["tracks_initiated"], "tracks_confirmed": summary["tracks_confirmed"],
            "alert_events": sum(summary["alert_events"].values()),
            "stages": {k: {"cpu_s": v, "share": f} for k, (v, f) in timers.shares(clock.cpu_s).items()},
            "outputs_identical_run_to_run": True}


def measure_models(log, n_targets=MODEL_TARGETS, duration_s=MODEL_DURATION_S):
    """Engine core at ``n_targets`` with the IMM and with constant velocity, with and without
    the protected asset (zones, classification, alerts); each checked against truth."""
    import dataclasses

    from radarcore.sim.simulate import simulate

    scenario = simulate("large", seed=SEED, n_targets=n_targets, duration_s=duration_s)
    plots = scenario.plots
    log(f"  engine core, IMM and CV: {n_targets:,} targets, {plots.size:,} plots")
    # the tentative tracks' filter the figures were run with ([tracker] tentative_filter)
    out = {"targets": n_targets, "plots": int(plots.size),
           "tentative_filter": scenario.site.tracker.tentative_filter}
    for model in ("imm", "cv"):
        tracker = dataclasses.replace(scenario.site.tracker, motion_model=model)
        full = dataclasses.replace(scenario.site, tracker=tracker)
        for label, site in (("full", full), ("tracking", dataclasses.replace(full, assets=()))):
            run_core(site, plots[:2000])                # load this model's kernels
            rows, engine, clock, live = run_core(site, plots)
            figure = {"wall_s": clock.wall_s, "cpu_s": clock.cpu_s, "plots_per_s": plots.size / clock.wall_s,
                      "plots_per_cpu_s": plots.size / clock.cpu_s, "live_tracks_max": int(live)}
            if label == "full":
                figure["check"] = check_tracks(scenario, rows, engine)
            out[f"{model}_{label}"] = figure
    return out


def alert_scene(n_tracks, epochs, seed=SEED):
    """One asset with warning (6 km), alert (3 km) and critical (1 km) circles and ``n_tracks``
    confirmed tracks over a 6.5 km disc around it (most inside a zone), moving straight;
    half drones, 30 % birds, 20 % of unsettled class; 1 % of the tracks replaced each epoch
    (dropped alerts wait for a successor).  Returns ``(site, [(t, rows, P, class_p), ...])``."""
    from ingest.schema import TRACK_ROW_DTYPE
    from radarcore.core.config import AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig

    zones = (ZoneConfig(level="warning", radius_m=6000.0, floor_m=0.0, ceiling_m=1500.0),
             ZoneConfig(level="alert", radius_m=3000.0, floor_m=0.0, ceiling_m=1000.0),
             ZoneConfig(level="critical", radius_m=1000.0, floor_m=0.0, ceiling_m=500.0))
    site = SiteConfig(origin=Origin(31.3, 120.62, 0.0), radars=(RadarConfig(
        id=1, lat_deg=31.3, lon_deg=120.62, alt_m=0.0, sigma_range_m=10.0, sigma_azimuth_deg=0.5,
        sigma_elevation_deg=0.5, scan_period_s=1.0, max_range_m=10000.0),),
        assets=(AssetConfig(id="plant-1", lat_deg=31.3, lon_deg=120.62, zones=zones),))
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n_tracks + 1)
    radius = 6500.0 * np.sqrt(rng.random(n_tracks))
    bearing = rng.uniform(0.0, 2.0 * np.pi, n_tracks)
    position = np.column_stack([radius * np.sin(bearing), radius * np.cos(bearing),
                                rng.uniform(50.0, 400.0, n_tracks)])
    velocity = np.column_stack([rng.normal(0.0, 10.0, (n_tracks, 2)), np.zeros(n_tracks)])
    kind = rng.choice(3, n_tracks, p=[0.5, 0.3, 0.2])
    next_id = n_tracks + 1
    epochs_out = []
    for e in range(epochs):
        replaced = rng.random(n_tracks) < 0.01
        ids = ids.copy()
        ids[replaced] = np.arange(next_id, next_id + replaced.sum())
        next_id += int(replaced.sum())
        position = position + velocity
        order = np.argsort(ids)
        rows = np.zeros(n_tracks, TRACK_ROW_DTYPE)
        rows["time_s"] = float(e + 1)
        rows["track_id"] = ids[order]
        rows["status"] = 2
        for a, name in enumerate(("east_m", "north_m", "up_m", "v_east_mps", "v_north_mps", "v_up_mps")):
            rows[name] = (position if a < 3 else velocity)[order, a % 3]
        P = np.zeros((n_tracks, 6, 6))
        P[:, [0, 1, 2], [0, 1, 2]] = 400.0
        P[:, [3, 4, 5], [3, 4, 5]] = 4.0
        class_p = np.full((n_tracks, 4), 0.1)
        k = kind[order]
        class_p[k == 0, 0] = 0.7
        class_p[k == 1, 1] = 0.7
        class_p[k == 2] = 0.25
        epochs_out.append((float(e + 1), rows, P, class_p))
    return site, epochs_out


def measure_alert_lifecycle(n_tracks, epochs=ALERT_EPOCHS):
    """CPU per epoch of ``AlertManager.update`` on :func:`alert_scene`: zone evaluation
    (compiled kernels) and the lifecycle (Python) apart."""
    from radarcore.core.alerts import AlertManager
    from radarcore.core.zones import build_zone_table

    site, frames = alert_scene(n_tracks, epochs)
    zones = build_zone_table(site)
    AlertManager(zones, site.alerts).update(*frames[0])        # load the kernels
    manager = AlertManager(zones, site.alerts)
    evaluate_cpu = {"evaluate": 0.0}
    manager.evaluate = cpu_timed(manager.evaluate, evaluate_cpu, "evaluate")
    events = 0
    with Clock() as clock:
        for frame in frames:
            events += len(manager.update(*frame))
    lifecycle = clock.cpu_s - evaluate_cpu["evaluate"]
    return {"tracks": n_tracks, "epochs": epochs, "events": events, "open_alerts": len(manager.alerts),
            "ms_per_epoch": 1e3 * clock.cpu_s / epochs, "evaluate_ms_per_epoch": 1e3 * evaluate_cpu["evaluate"] / epochs,
            "lifecycle_ms_per_epoch": 1e3 * lifecycle / epochs,
            "lifecycle_ns_per_track": 1e9 * lifecycle / epochs / n_tracks}


def warm_inputs():
    """Compile the input paths (plots.csv parser, recording frames) on a tiny scenario."""
    from radarcore.core.replay import replay_file
    from radarcore.sim.simulate import simulate, write_scenario

    work_dir = tempfile.mkdtemp(prefix="radarcore-bench-warm-")
    try:
        scenario = simulate("sparse", seed=0, duration_s=5.0)
        write_scenario(scenario, work_dir)
        write_recording(scenario.plots, os.path.join(work_dir, "plots.rcrec"))
        for name in ("plots.csv", "plots.rcrec"):
            replay_file(os.path.join(work_dir, name), scenario.site, os.path.join(work_dir, "out"),
                        progress=False)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def measure_startup(log, cold=True):
    """Cold and warm start-up of ``radarcore replay`` (benchmarks/startup.py); warm only
    without ``cold`` or when the cold run fails (a busy machine)."""
    startup = _benchmarks_module("startup")
    if startup is None:
        return {"skipped": "benchmarks/startup.py is not in this installation"}
    for with_cold in ((True, False) if cold else (False,)):
        work_dir = tempfile.mkdtemp(prefix="radarcore-startup-")
        try:
            log("  start-up: " + ("one cold and " if with_cold else "") + "three warm replays")
            return startup.measure(work_dir, warm_runs=3, cold=with_cold)
        except SystemExit as e:          # startup.py's way of saying a run failed
            log(f"  start-up: {e}")
            failure = str(e)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    return {"skipped": failure}


def measure_serve(quick, work_dir, log, timeout_s=900.0):
    """Live-service throughput and latency (benchmarks/serve.py, a subprocess)."""
    path = os.path.join(REPO, "benchmarks", "serve.py")
    if not os.path.exists(path):
        return {"skipped": "benchmarks/serve.py is not in this installation"}
    json_path = os.path.join(work_dir, "serve.json")
    sizes = (["--plots-1", "10000", "--plots-100", "100000", "--latency-s", "3"] if quick
             else ["--plots-1", "50000", "--plots-100", "500000", "--latency-s", "10"])
    command = [sys.executable, path, "--targets", "2000", *sizes, "--json", json_path]
    log("  live service: " + " ".join(command[1:]))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"skipped": f"benchmarks/serve.py ran past {timeout_s:.0f} s"}
    if done.returncode != 0 or not os.path.exists(json_path):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"skipped": f"benchmarks/serve.py exited {done.returncode}: " + " | ".join(tail)}
    with open(json_path) as f:
        return json.load(f)


def measure_live_latency(quick, log):
    """Live mode's true latencies (benchmarks/live.py): 100-plot frames at 50,000 plots/s,
    per plot to its published track update, per alert event to its publication."""
    live = _benchmarks_module("live")
    if live is None:
        return {"skipped": "benchmarks/live.py is not in this installation"}
    work_dir = tempfile.mkdtemp(prefix="radarcore-bench-live-")
    try:
        seconds = 3.0 if quick else 10.0
        log(f"  live mode: 100-plot frames at 50,000 plots/s for {seconds:g} s, 2,000 targets")
        result = live.stream(50_000.0, seconds, 2000, work_dir, alert_interval_s=1.0, log=log)
        result.pop("site")
        result.pop("rss_samples")
        return result
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _benchmarks_module(name):
    import importlib

    if os.path.isdir(os.path.join(REPO, "benchmarks")) and REPO not in sys.path:
        sys.path.insert(0, REPO)
    try:
        return importlib.import_module(f"benchmarks.{name}")
    except ImportError:
        return None


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def table_rows(figures):
    """``(figure, size, value, unit, note)`` rows of the printed table."""
    rows = []
    for r in figures["sizes"]:
        size = f"{r['targets']:,} targets" + (", constant density" if r.get("density") == "constant" else "")
        live = f"{r['live_tracks_max']:,} live tracks, {r['plots']:,} plots"
        for label, name in (("core", "engine core"), ("replay_recording", "replay, recording"),
                            ("replay_csv", "replay, plots.csv")):
            m = r.get(label)
            if m is None:
                continue
            rows.append((name, size, f"{m['plots_per_s']:,.0f}", "plots/s",
                         f"{m['plots_per_cpu_s']:,.0f} per CPU s, {m['us_per_plot_cpu']:.2f} us/plot; {live}"))
        mem = r.get("memory")
        if mem is not None:
            rows.append(("memory per live track", size, f"{mem['traced_peak_bytes_per_live_track']:,.0f}",
                         "bytes", f"table {mem['table_bytes_per_slot']:,.0f} B/slot, "
                                  f"RSS growth {mem['rss_growth_bytes_per_live_track']:,.0f} B/track"))
        c = r["check"]
        rows.append(("check", size, f"{c['targets_tracked']}/{c['truth_targets']}", "tracked",
                     f"RMSE {c['position_rmse_m']:.1f} m, {c['false_tracks']} false tracks"))
    b = figures.get("birdlarge")
    if b:
        rows.append(("replay, birdlarge", f"{b['plots']:,} plots", f"{b['plots_per_s']:,.0f}", "plots/s",
                     f"{b['plots_per_cpu_s']:,.0f} per CPU s (2nd run {b['second_run_plots_per_cpu_s']:,.0f}); "
                     f"8 radars, 3,000 targets, 200 clutter/scan; same bytes run to run"))
        for stage, v in b["stages"].items():
            rows.append((f"  share: {stage}", "birdlarge", f"{100 * v['share']:.1f}", "% CPU",
                         f"{v['cpu_s']:.2f} s"))
    m = figures.get("models")
    if m:
        for model in ("imm", "cv"):
            for label, what in (("full", "zones, classes, alerts"), ("tracking", "tracking only")):
                f = m[f"{model}_{label}"]
                rows.append((f"engine core, {model.upper()}, {label}", f"{m['targets']:,} targets",
                             f"{f['plots_per_cpu_s']:,.0f}", "plots/CPU s",
                             f"{f['plots_per_s']:,.0f} per wall s; {what}; {f['live_tracks_max']:,} live"
                             + (f"; tentative_filter {m['tentative_filter']}"
                                if model == "imm" and "tentative_filter" in m else "")
                             + (f"; {f['check']['targets_tracked']}/{f['check']['truth_targets']} tracked"
                                if "check" in f else "")))
    for a in figures.get("alerts", []):
        rows.append(("alert lifecycle", f"{a['tracks']:,} tracks in zones", f"{a['lifecycle_ms_per_epoch']:.2f}",
                     "ms/epoch", f"{a['lifecycle_ns_per_track']:,.0f} ns/track in Python; zone evaluation "
                                 f"{a['evaluate_ms_per_epoch']:.2f} ms; {a['events']:,} events in {a['epochs']} epochs"))
    for label, name in (("core", "engine core"), ("replay_recording", "replay, recording")):
        g = figures.get("scaling", {}).get(label)
        if g:
            rows.append((f"scaling, {name}", f"{g['from']:,} -> {g['to']:,}", f"{g['cost_ratio']:.2f}",
                         "x cost/plot", f"log-linear would be {g['log_linear_ratio']:.2f}x "
                                        f"(live tracks {g['live_from']:,} -> {g['live_to']:,})"))
    for density, by_label in figures.get("scaling_from_tile", {}).items():
        for label, name in (("core", "engine core"), ("replay_recording", "replay, recording")):
            g = by_label.get(label)
            if g:
                area = ("constant density: area grows with the targets" if density == "constant"
                        else "fixed 9 km disc: density grows with the targets")
                rows.append((f"scaling, {name}, {density}", f"{g['from']:,} -> {g['to']:,}",
                             f"{g['cost_ratio']:.2f}", "x cost/plot",
                             f"issue 15 target at most 1.5x; {area} (live tracks {g['live_from']:,} -> "
                             f"{g['live_to']:,})"))
    s = figures.get("startup", {})
    if "skipped" in s:
        rows.append(("start-up", "-", "-", "", s["skipped"]))
    elif s:
        if s.get("cold_s") is not None:
            rows.append(("start-up, cold", "sparse 10 s", f"{s['cold_s']:.2f}", "s", "empty Numba cache"))
        rows.append(("start-up, warm", "sparse 10 s", f"{s['warm_s']:.2f}", "s",
                     f"median of {len(s['warm_runs_s'])}, best {s['warm_best_s']:.2f} s"
                     + (f"; {s['warm_cpu_s']:.2f} s of CPU" if "warm_cpu_s" in s else "")))
    v = figures.get("serve", {})
    if "skipped" in v:
        rows.append(("live service", "-", "-", "", v["skipped"]))
    elif v:
        for t in v.get("throughput", []):
            rows.append((f"live service, {t['frame_plots']}-plot frames", f"{v['targets']:,} targets",
                         f"{t['processed_plots_per_s']:,.0f}", "plots/s",
                         f"received {t['received_plots_per_s']:,.0f}/s, shed {t['shed']}"))
        for t in v.get("latency", []):
            rows.append((f"live latency, {t['frame_plots']}-plot frames", f"{t['offered_plots_per_s']:,.0f}/s",
                         f"{t['p50_ms']:.2f} / {t['p99_ms']:.2f}", "ms p50/p99",
                         "worst 1 s p99 " + ("-" if t["worst_1s_p99_ms"] is None else f"{t['worst_1s_p99_ms']:.1f}")
                         + " ms; p99.9 not reported by serve"))
    w = figures.get("live_latency", {})
    if "skipped" in w:
        rows.append(("live mode", "-", "-", "", w["skipped"]))
    elif w:
        for key, name in (("update_latency_ms", "plot to track update"), ("alert_latency_ms", "plot to alert")):
            q = w[key]
            value = "-" if q["p99"] is None else f"{q['p50']:.2f} / {q['p99']:.2f}"
            rows.append((f"live mode, {name}", f"{w['offered_plots_per_s']:,.0f}/s", value, "ms p50/p99",
                         f"{q['plots']:,} counted, 100-plot frames, {w['targets']:,} targets, "
                         f"alert_interval_s {w['alert_interval_s']:g}, shed {w['plots_shed']}"))
    return rows


def format_table(figures):
    rows = table_rows(figures)
    header = ("figure", "size", "value", "unit", "note")
    widths = [max(len(str(row[k])) for row in rows + [header]) for k in range(4)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)) + "  note"]
    for row in rows:
        lines.append("  ".join([str(row[0]).ljust(widths[0]), str(row[1]).ljust(widths[1]),
                                str(row[2]).rjust(widths[2]), str(row[3]).ljust(widths[3]), row[4]]))
    return "\n".join(lines)


def scaling(sizes):
    """CPU cost per plot at the largest size over that at 1,000 targets (or the smallest),
    against the log-linear ratio ``log(live_to) / log(live_from)``; fixed-density scenes only."""
    sizes = [r for r in sizes if r.get("density", "fixed") == "fixed"]
    if len(sizes) < 2:
        return {}
    base = next((r for r in sizes if r["targets"] == 1_000), sizes[0])
    top = sizes[-1]
    if top is base:
        return {}
    out = {}
    for label in ("core", "replay_recording", "replay_csv"):
        if label not in base or label not in top:
            continue
        out[label] = {"from": base["targets"], "to": top["targets"],
                      "live_from": base["live_tracks_max"], "live_to": top["live_tracks_max"],
                      "cost_ratio": top[label]["us_per_plot_cpu"] / base[label]["us_per_plot_cpu"],
                      "log_linear_ratio": (math.log(max(top["live_tracks_max"], 2))
                                           / math.log(max(base["live_tracks_max"], 2)))}
    return out


def scaling_from_tile(sizes):
    """Cost per plot at each size above :data:`TILE_TARGETS` over that at :data:`TILE_TARGETS`
    (the issue-15 figure, 10,000 -> 100,000 targets), per density: ``{density: {label: ...}}``."""
    base = next((r for r in sizes if r["targets"] == TILE_TARGETS), None)
    if base is None:
        return {}
    out = {}
    for top in sizes:
        if top["targets"] <= TILE_TARGETS:
            continue
        density = top.get("density", "fixed")
        for label in ("core", "replay_recording", "replay_csv"):
            if label in base and label in top:
                out.setdefault(density, {})[label] = {
                    "from": base["targets"], "to": top["targets"],
                    "live_from": base["live_tracks_max"], "live_to": top["live_tracks_max"],
                    "cost_ratio": top[label]["us_per_plot_cpu"] / base[label]["us_per_plot_cpu"]}
    return out


def scaling_plot(figures, path):
    """Cost per plot (CPU us) against live tracks, log-log; returns the path or None."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for density in ("fixed", "constant"):
        sizes = [r for r in figures["sizes"]
                 if r.get("density", "fixed") == density or r["targets"] <= TILE_TARGETS]
        if density == "constant" and len(sizes) == len([r for r in figures["sizes"] if r["targets"] <= TILE_TARGETS]):
            continue
        for label, name in (("core", "engine core"), ("replay_recording", "replay, recording"),
                            ("replay_csv", "replay, plots.csv")):
            points = [(r["live_tracks_max"], r[label]["us_per_plot_cpu"]) for r in sizes if label in r]
            if points:
                ax.plot(*zip(*points), marker="o" if density == "fixed" else "s",
                        linestyle="-" if density == "fixed" else "--", label=f"{name}, {density} density")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("live tracks")
    ax.set_ylabel("CPU time per plot (µs)")
    ax.set_title(f"radarcore {figures['machine']['radarcore']}: cost per plot, large scenario")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_bench(sizes, out_dir, serve=True, startup=True, quick=False, stream=sys.stdout, core_only=False,
              extras=True, cold_start=True, densities=("fixed", "constant")):
    """Measure every figure; return them as a dict (also see :func:`format_table`)."""
    from radarcore.core.engine import Engine

    def log(message):
        print(message, file=stream, flush=True)

    os.makedirs(out_dir, exist_ok=True)
    figures = {"machine": machine_info(), "quick": bool(quick), "sizes": []}
    Engine.warmup()
    warm_inputs()
    for n in sizes:
        # at TILE_TARGETS or fewer both densities are the one scene
        for density in (densities if n > TILE_TARGETS else ("fixed",)):
            work_dir = tempfile.mkdtemp(prefix=f"radarcore-bench-{n}-")
            try:
                figures["sizes"].append(measure_size(n, work_dir, log, core_only=core_only, density=density))
            finally:
                shutil.rmtree(work_dir, ignore_errors=True)
            gc.collect()
    if extras:
        work_dir = tempfile.mkdtemp(prefix="radarcore-bench-birdlarge-")
        try:
            figures["birdlarge"] = measure_birdlarge(work_dir, log)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        figures["models"] = measure_models(log)
        log("  alert lifecycle: " + ", ".join(f"{n:,}" for n in ALERT_TRACKS) + " tracks in zones")
        figures["alerts"] = [measure_alert_lifecycle(n) for n in ALERT_TRACKS]
        gc.collect()
    if startup:
        figures["startup"] = measure_startup(log, cold=cold_start)
    if serve:
        work_dir = tempfile.mkdtemp(prefix="radarcore-bench-serve-")
        try:
            figures["serve"] = measure_serve(quick, work_dir, log)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        figures["live_latency"] = measure_live_latency(quick, log)
    figures["scaling"] = scaling(figures["sizes"])
    figures["scaling_from_tile"] = scaling_from_tile(figures["sizes"])
    figures["scaling_png"] = scaling_plot(figures, os.path.join(out_dir, "scaling.png"))
    return figures


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def configure(parser):
    parser.add_argument("--quick", action="store_true",
                        help=f"stop at {QUICK_MAX_TARGETS:,} targets and shorten the live-service runs")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N",
                        help=f"live-target sizes, from {', '.join(map(str, SIZES))} (default: all)")
    parser.add_argument("--out", default="out/bench", metavar="DIR",
                        help="directory for bench.json and scaling.png (default out/bench)")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="where to save the figures (default DIR/bench.json)")
    parser.add_argument("--density", nargs="+", choices=("fixed", "constant"), default=["fixed", "constant"],
                        help="sizes above 10,000 targets: in the one 9 km disc of the large scenario (fixed: "
                             "denser as targets grow) and/or in tiles of 10,000 targets with their own radars "
                             "(constant density: the area grows); default both")
    parser.add_argument("--no-serve", action="store_true", help="skip the live-service figures")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up figures")
    parser.add_argument("--no-cold-start", action="store_true",
                        help="start-up: warm runs only (a cold run compiles every kernel: minutes on a busy machine)")
    parser.add_argument("--core-only", action="store_true",
                        help="per size, the engine core only (no replays, memory or equivalence check)")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the birdlarge replay with its stage shares, the IMM-versus-CV engine "
                             "core and the alert lifecycle")
    return parser


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "bench", help="end-to-end benchmark figures (throughput, scaling, start-up, memory, live service)",
        description=__doc__.split("\n\n")[0])
    configure(parser)
    parser.set_defaults(func=run)
    return parser


def run(args):
    sizes = args.sizes or [n for n in SIZES if not args.quick or n <= QUICK_MAX_TARGETS]
    unknown = [n for n in sizes if n not in DURATION_S]
    if unknown:
        print(f"radarcore bench: sizes must be among {', '.join(map(str, SIZES))}, got {unknown}",
              file=sys.stderr)
        return 2
    try:
        figures = run_bench(sizes, args.out, serve=not args.no_serve, startup=not args.no_startup,
                            quick=args.quick, core_only=args.core_only, extras=not args.no_extras,
                            cold_start=not args.no_cold_start, densities=tuple(args.density))
    except BenchmarkCheckError as e:
        print(f"radarcore bench: check failed: {e}", file=sys.stderr)
        return 1
    m = figures["machine"]
    print(f"\nradarcore {m['radarcore']} on {m['cpu_model']} ({m['cores']} cores), "
          f"Python {m['python']}, NumPy {m['numpy']}, Numba {m['numba']}, {m['date']}")
    print(format_table(figures))
    path = args.json or os.path.join(args.out, "bench.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(figures, f, indent=2)
    print(f"wrote {path}" + (f" and {figures['scaling_png']}" if figures["scaling_png"] else ""))
    return 0


def main(argv=None):
    parser = configure(argparse.ArgumentParser(prog="python -m benchmarks",
                                               description=__doc__.split("\n\n")[0]))
    return run(parser.parse_args(argv))
