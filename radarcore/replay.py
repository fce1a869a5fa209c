"""``radarcore replay``: recorded plots through the engine, as fast as the CPU allows."""
import dataclasses
import itertools
import json
import os
import sys
import time

import numpy as np

from ingest.csvio import TrackCsvWriter, iter_plots_csv
from ingest.schema import TRACK_STATUS_NAMES
from radarcore.alerts import AlertJsonlWriter
from radarcore.config import ConfigError, load_site
from radarcore.engine import Engine


class PlotFileError(ValueError):
    """The plots file cannot be read at all (no header, a missing column)."""


MIN_OUTPUT_PERIOD_S = 0.05
MAX_OUTPUT_PERIOD_S = 3600.0


class Progress:
    """A one-line progress bar on stderr for long inputs (silent when not a terminal)."""

    def __init__(self, total_bytes, stream=None, min_bytes=16 << 20):
        self.stream = stream or sys.stderr
        self.total = max(int(total_bytes), 1)
        self.enabled = total_bytes >= min_bytes and getattr(self.stream, "isatty", lambda: False)()
        self.t0 = time.perf_counter()

    def update(self, done_bytes, n_plots):
        if not self.enabled:
            return
        frac = min(done_bytes / self.total, 1.0)
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        rate = n_plots / max(time.perf_counter() - self.t0, 1e-9)
        self.stream.write(f"\rreplay [{bar}] {frac * 100:5.1f}%  {n_plots:,} plots  {rate:,.0f} plots/s")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


@dataclasses.dataclass
class ReplayResult:
    summary: dict
    tracks_path: str
    track_stats: dict
    alerts_path: str
    alert_events: list


def replay_file(plots_path, site, out_dir, output_period_s=None, progress=True):
    """Replay a plots.csv through a new engine; write ``out_dir/tracks.csv``.

    Returns a :class:`ReplayResult` whose ``summary`` holds the counters also
    written to ``out_dir/summary.json``.
    """
    if output_period_s is not None:
        site = dataclasses.replace(
            site, tracker=dataclasses.replace(site.tracker, output_period_s=float(output_period_s)))
    t0 = time.perf_counter()
    chunks = iter_plots_csv(plots_path)
    try:
        first = next(chunks)    # a bad header raises here, before any output exists
    except ValueError as e:
        raise PlotFileError(str(e)) from e
    engine = Engine(site)
    os.makedirs(out_dir, exist_ok=True)
    tracks_path = os.path.join(out_dir, "tracks.csv")
    alerts_path = os.path.join(out_dir, "alerts.jsonl")
    malformed = 0
    first_bad_lines = []
    n_read = 0
    track_stats = _TrackStats()
    bar = Progress(os.path.getsize(plots_path)) if progress else None
    alert_log = []
    with TrackCsvWriter(tracks_path) as writer, AlertJsonlWriter(alerts_path) as alert_writer:
        for chunk in itertools.chain([first], chunks):
            malformed += chunk.malformed
            if len(first_bad_lines) < 10:
                first_bad_lines.extend(chunk.first_bad_lines[:10 - len(first_bad_lines)])
            n_read += chunk.plots.size
            rows = engine.process(chunk.plots)
            writer.write(rows)
            events = engine.pop_alerts()
            alert_writer.write(events)
            alert_log.extend(events)
            track_stats.add(rows)
            if bar:
                bar.update(chunk.bytes_done, n_read)
        rows = engine.flush()
        writer.write(rows)
        events = engine.pop_alerts()
        alert_writer.write(events)
        alert_log.extend(events)
        track_stats.add(rows)
    if bar:
        bar.close()
    wall = time.perf_counter() - t0
    summary = engine.summary()
    summary["plots_read"] = n_read + malformed
    summary["plots_rejected"]["malformed"] = malformed
    summary["first_bad_lines"] = first_bad_lines
    summary["wall_time_s"] = wall
    summary["plots_per_s"] = (n_read + malformed) / wall if wall > 0 else 0.0
    summary.update(track_stats.summary())
    summary["alert_events"] = {kind: sum(1 for e in alert_log if e["event"] == kind)
                               for kind in ("raise", "escalate", "deescalate", "clear")}
    summary["alerts"] = len({e["alert_id"] for e in alert_log})
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
    return ReplayResult(summary, tracks_path, track_stats.per_track, alerts_path, alert_log)


class _TrackStats:
    """Per-track figures gathered from the output rows as they are written."""

    def __init__(self):
        self.per_track = {}

    def add(self, rows):
        if rows.size == 0:
            return
        confirmed = rows[rows["status"] != 1]
        if confirmed.size == 0:
            return
        ids, inverse = np.unique(confirmed["track_id"], return_inverse=True)
        speed = np.hypot(confirmed["v_east_mps"], confirmed["v_north_mps"])
        t = confirmed["time_s"]
        epochs = np.bincount(inverse)
        speed_sum = np.bincount(inverse, weights=speed)
        alt_sum = np.bincount(inverse, weights=confirmed["alt_m"])
        first = np.full(ids.size, np.inf)
        last = np.full(ids.size, -np.inf)
        np.minimum.at(first, inverse, t)
        np.maximum.at(last, inverse, t)
        for k, track_id in enumerate(ids.tolist()):
            s = self.per_track.get(track_id)
            if s is None:
                self.per_track[track_id] = {"first_s": float(first[k]), "last_s": float(last[k]),
                                            "epochs": int(epochs[k]), "speed_sum": float(speed_sum[k]),
                                            "alt_sum": float(alt_sum[k])}
            else:
                s["last_s"] = max(s["last_s"], float(last[k]))
                s["epochs"] += int(epochs[k])
                s["speed_sum"] += float(speed_sum[k])
                s["alt_sum"] += float(alt_sum[k])

    def summary(self):
        return {"tracks_output": len(self.per_track)}

    def table(self, limit=20):
        items = sorted(self.per_track.items(), key=lambda kv: -kv[1]["epochs"])[:limit]
        lines = ["  track   first_s    last_s  epochs  speed_mps   alt_m"]
        for track_id, s in items:
            n = max(s["epochs"], 1)
            lines.append(f"  {track_id:5d}  {s['first_s']:8.1f}  {s['last_s']:8.1f}  {s['epochs']:6d}"
                         f"  {s['speed_sum'] / n:9.1f}  {s['alt_sum'] / n:6.0f}")
        return "\n".join(lines)


def alert_table(events, limit=30):
    """One line per alert: raise time, asset, track, highest level, class, lead figures."""
    from radarcore.config import ZONE_LEVELS

    by_alert = {}
    for e in events:
        a = by_alert.setdefault(e["alert_id"], {"first": e, "max_level": -1, "cleared_s": None,
                                                "tracks": []})
        if e["level"] is not None:
            a["max_level"] = max(a["max_level"], ZONE_LEVELS.index(e["level"]))
        if e["event"] == "clear":
            a["cleared_s"] = e["time_s"]
        if e["track_id"] not in a["tracks"]:
            a["tracks"].append(e["track_id"])
    lines = ["  alert  raised_s  asset        tracks      max_level  class     tte_s   cpa_m  cleared_s"]
    for alert_id, a in list(by_alert.items())[:limit]:
        f = a["first"]
        tte = "-" if f["time_to_entry_s"] is None else f"{f['time_to_entry_s']:.0f}"
        cleared = "-" if a["cleared_s"] is None else f"{a['cleared_s']:.0f}"
        tracks = ",".join(str(t) for t in a["tracks"])
        lines.append(f"  {alert_id:5d}  {f['time_s']:8.0f}  {f['asset_id']:<11.11s}  {tracks:<10.10s}  "
                     f"{ZONE_LEVELS[a['max_level']] if a['max_level'] >= 0 else '-':<9s}  "
                     f"{f['class']:<8s}  {tte:>5s}  {f['cpa_m'] if f['cpa_m'] is not None else 0:6.0f}  {cleared:>9s}")
    if len(by_alert) > limit:
        lines.append(f"  ... {len(by_alert) - limit} more")
    return "\n".join(lines)


def format_summary(summary):
    rejected = ", ".join(f"{k} {v}" for k, v in summary["plots_rejected"].items() if v) or "none"
    return "\n".join([
        f"plots read        {summary['plots_read']:,}",
        f"plots rejected    {rejected}",
        f"plots associated  {summary['plots_associated']:,}",
        f"tracks initiated  {summary['tracks_initiated']:,}",
        f"tracks confirmed  {summary['tracks_confirmed']:,}",
        f"tracks output     {summary['tracks_output']:,}",
        f"alerts            {summary['alerts']:,} ("
        + ", ".join(f"{n} {k}" for k, n in summary["alert_events"].items()) + ")",
        f"wall time         {summary['wall_time_s']:.2f} s",
        f"throughput        {summary['plots_per_s']:,.0f} plots/s",
    ])


def add_parser(subparsers):
    p = subparsers.add_parser("replay", help="replay recorded plots through the engine",
                              description="Replay a plots.csv through the engine and write "
                                          "DIR/tracks.csv, DIR/alerts.jsonl and DIR/summary.json.")
    p.add_argument("plots", help="plots.csv (interfaces.md)")
    p.add_argument("--site", required=True, help="site.toml")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--output-period", type=float, default=None, metavar="S",
                   help="seconds between output epochs (default: the site's, 1 s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or track table")
    p.set_defaults(func=run)


def run(args):
    try:
        site = load_site(args.site)
    except ConfigError as e:
        print(f"radarcore replay: {e}", file=sys.stderr)
        return 2
    if not os.path.isfile(args.plots):
        print(f"radarcore replay: {args.plots}: no such file", file=sys.stderr)
        return 2
    if args.output_period is not None and not MIN_OUTPUT_PERIOD_S <= args.output_period <= MAX_OUTPUT_PERIOD_S:
        print(f"radarcore replay: --output-period must be between {MIN_OUTPUT_PERIOD_S} and "
              f"{MAX_OUTPUT_PERIOD_S} seconds, got {args.output_period}", file=sys.stderr)
        return 2
    try:
        result = replay_file(args.plots, site, args.out, args.output_period, progress=not args.quiet)
    except PlotFileError as e:    # a missing column, an empty file
        print(f"radarcore replay: {e}", file=sys.stderr)
        return 2
    print(format_summary(result.summary))
    if not args.quiet and result.track_stats:
        print("confirmed tracks (longest first):")
        stats = _TrackStats()
        stats.per_track = result.track_stats
        print(stats.table())
    if not args.quiet and result.alert_events:
        print("alerts (first event of each alert, then its highest level):")
        print(alert_table(result.alert_events))
    print(f"wrote {result.tracks_path}")
    print(f"wrote {result.alerts_path}")
    return 0


__all__ = ["replay_file", "ReplayResult", "format_summary", "TRACK_STATUS_NAMES"]
