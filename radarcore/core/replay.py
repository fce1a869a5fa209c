"""``radarcore replay``: recorded plots through the engine, as fast as the CPU allows.

The input is a plots.csv (docs/formats.md), a recording of the live service
(``radarcore serve --record``, ``radarcore record``; :mod:`ingest.recording`)
or a file of ASTERIX CAT048/CAT034 data blocks, told apart by their first
bytes whatever the file's name (:func:`sniff_format`), or named by
``--format``.  A recording is replayed through the same frame gate as the live service
(:class:`ingest.gate.FrameGate`): frames that do not decode and frames
with a repeated sequence number are dropped and counted per reason
(``frames_rejected`` in the summary), so the engine sees exactly the plots
the service fed it (unless the service shed plots under overload, which its
``plots_shed`` counter tells).  A recording cut short (a crash) replays every
whole record before the cut.
"""
import contextlib
import dataclasses
import itertools
import json
import os
import sys
import time

import numpy as np

from ingest.csvio import TrackCsvWriter, iter_plots_csv
from ingest.recording import RECORDING_MAGIC
from ingest.schema import PLOT_DTYPE, TRACK_STATUS_NAMES
from radarcore.core.alerts import EVENTS as ALERT_EVENTS, AlertJsonlWriter
from radarcore.core.config import ConfigError, load_site
from radarcore.core.engine import Engine


class PlotFileError(ValueError):
    """The plots file cannot be read at all (no header, a missing column, not a recording)."""


#: Input formats of :func:`replay_file`.
INPUT_FORMATS = ("csv", "recording", "asterix")
#: Plots handed to the engine at once when replaying a recording.
RECORDING_BATCH_PLOTS = 65536
#: Bytes read from the start of a file to tell its format.
SNIFF_BYTES = 4096
#: ASTERIX categories that start a file of data blocks replay reads.
ASTERIX_INPUT_CATEGORIES = (34, 48)


def sniff_format(head, file_size):
    """The format of a file whose first bytes are ``head``: recording, asterix, csv, or None.

    A recording starts with the recording magic (its version is checked
    when it is read).  A file of ASTERIX data blocks starts with a CAT048
    or CAT034 block whose LEN fits in the file and, if the block holds a
    record, whose first FSPEC octet marks FRN 1 (I048/010, I034/010: the
    data source, in every record replay can use), an octet of 0x80 or more
    that a CSV file does not have after a quote or a zero.  Text (no NUL
    byte, valid UTF-8) is taken for a plots.csv; anything else is None.
    """
    if head.startswith(RECORDING_MAGIC[:5]):
        return "recording"
    if len(head) >= 3 and head[0] in ASTERIX_INPUT_CATEGORIES:
        length = int.from_bytes(head[1:3], "big")
        if 3 <= length <= file_size and (length == 3 or (len(head) > 3 and head[3] & 0x80)):
            return "asterix"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3 or len(head) < SNIFF_BYTES:    # not just a character cut by the sample
            return None
    return "csv"


def input_format_of(path, input_format=None):
    """``input_format`` if given, else the format its first bytes show (:func:`sniff_format`).

    Raises
    ------
    PlotFileError
        For a file that is none of the formats.
    """
    if input_format is not None:
        if input_format not in INPUT_FORMATS:
            raise ValueError(f"input format must be one of {INPUT_FORMATS}, got {input_format!r}")
        return input_format
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES)
        size = os.fstat(file.fileno()).st_size
    kind = sniff_format(head, size) if size else None
    if kind is None:
        # ASTERIX has no magic: an empty or damaged file named .ast is taken
        # as meant to be one, and the ASTERIX reader says what is wrong
        if os.path.splitext(os.fspath(path))[1].lower() == ".ast":
            kind = "asterix"
    if kind is None and size == 0:
        kind = "csv"
    if kind is None:
        raise PlotFileError(f"{os.fspath(path)}: not a plots.csv, a recording or an ASTERIX CAT048/CAT034 "
                            f"file (it starts with bytes {head[:8].hex(' ')})")
    return kind


@dataclasses.dataclass
class _Chunk:
    """A batch of plots from any input, with the reader's progress."""

    plots: np.ndarray
    bytes_done: int
    malformed: int = 0
    first_bad_lines: tuple = ()
    frame_sizes: list = None     # the frames as received (a recording): the engine's live-mode units


class RecordingSource:
    """Plot batches of a recording, through the live service's frame gate.

    Iterating yields :class:`_Chunk` batches of about
    :data:`RECORDING_BATCH_PLOTS` plots.  Afterwards ``gate`` holds the
    frame counters and ``reader`` the record counters (``records_read``,
    ``torn_bytes``).

    Raises
    ------
    PlotFileError
        At construction, for a file whose header is not a recording's.
    """

    def __init__(self, path, radar_ids):
        from ingest.recording import read_recording
        from ingest.gate import FrameGate

        try:
            self.reader = read_recording(path)
        except ValueError as e:
            raise PlotFileError(str(e)) from e
        self.gate = FrameGate(radar_ids)

    def __iter__(self):
        batch, n_batch, done = [], 0, 16
        for _, frames in self.reader:
            done += 18 + sum(4 + len(part) for part in frames)    # record and body headers, parts
            frame = self.gate.decode(frames)
            if frame is None or frame.plots.size == 0:
                continue
            batch.append(frame.plots)
            n_batch += frame.plots.size
            if n_batch >= RECORDING_BATCH_PLOTS:
                yield _Chunk(np.concatenate(batch), done, frame_sizes=[p.size for p in batch])
                batch, n_batch = [], 0
        yield _Chunk(np.concatenate(batch) if batch else np.zeros(0, PLOT_DTYPE), done,
                     frame_sizes=[p.size for p in batch])

    def summary(self):
        """Frame and record counters for the replay summary."""
        reader = self.reader
        return {"frames_read": reader.records_read,
                "frames_rejected": dict(self.gate.frames_rejected),
                "recording_torn_bytes": reader.torn_bytes,
                "recording_tail": reader.stop_reason,
                "recording_corrupt_stretches": reader.corrupt_stretches,
                "recording_corrupt_bytes": reader.corrupt_bytes,
                "recording_corrupt": [{"offset": offset, "bytes": n} for offset, n in reader.corrupt]}


class AsterixSource:
    """Plot batches of a file of concatenated ASTERIX CAT048/CAT034 data blocks.

    Radars are found by the ``sac``/``sic`` of their site.toml entries; the
    time of day (UTC seconds since midnight) is unwrapped across midnight.
    Afterwards ``rejected`` counts the decoder's rejections by reason.
    """

    def __init__(self, path, site, chunk_bytes=1 << 22):
        from ingest.asterix import AsterixError, RadarMap, TimeOfDayUnwrapper

        try:
            self.radars = RadarMap.from_site(site)
        except AsterixError as e:
            raise PlotFileError(f"{site.source}: {e}") from e
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.unwrapper = TimeOfDayUnwrapper()
        self.rejected = {}
        self.records = 0
        self.blocks = 0

    def __iter__(self):
        from ingest.asterix import iter_ast_file

        done = 0
        total = os.path.getsize(self.path)
        for result in iter_ast_file(self.path, self.radars, chunk_bytes=self.chunk_bytes,
                                    unwrapper=self.unwrapper):
            for reason, n in result.rejected.items():
                if n:
                    self.rejected[reason] = self.rejected.get(reason, 0) + int(n)
            self.records += result.records
            self.blocks += result.blocks
            done = min(done + self.chunk_bytes, total)
            yield _Chunk(result.plots, done)

    def summary(self):
        return {"asterix_records": self.records, "asterix_blocks": self.blocks,
                "asterix_rejected": dict(self.rejected)}


class Cat062Writer:
    """Appends each output epoch's tracks to a file as a CAT062 data block."""

    def __init__(self, path, site, sac=0, sic=0):
        self._file = open(path, "wb")
        self.site = site
        self.sac, self.sic = sac, sic
        self.blocks_written = 0

    def write(self, rows):
        from ingest.asterix import encode_cat062

        if rows.size == 0:
            return
        o = self.site.origin
        bounds = np.flatnonzero(np.diff(rows["time_s"])) + 1
        for epoch in np.split(rows, bounds):
            self._file.write(encode_cat062(epoch, self.sac, self.sic, o.lat_deg, o.lon_deg, o.alt_m))
            self.blocks_written += 1

    def close(self):
        if not self._file.closed:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


MIN_OUTPUT_PERIOD_S = 0.05
MAX_OUTPUT_PERIOD_S = 3600.0


class _NoBar:
    """What replay_file calls on a progress bar, doing nothing (no terminal, or ``--quiet``)."""

    n = 0

    def set_postfix_str(self, text, refresh=True):
        pass

    def update(self, n):
        self.n += n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _progress_bar(total_bytes, progress):
    """A tqdm bar on stderr when ``progress`` and stderr is a terminal, else a :class:`_NoBar`
    (tqdm is imported only then: 50 ms of every start)."""
    isatty = getattr(sys.stderr, "isatty", None)
    if not progress or isatty is None or not isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total_bytes, desc="replay", unit="B", unit_scale=True, file=sys.stderr)


@dataclasses.dataclass
class ReplayResult:
    summary: dict
    tracks_path: str
    track_stats: dict
    alerts_path: str
    alert_events: list


def replay_file(plots_path, site, out_dir, output_period_s=None, progress=True, input_format=None,
                cat062_out=None, cat062_sac=0, cat062_sic=0):
    """Replay a plots.csv or a recording through a new engine; write ``out_dir/tracks.csv``.

    Parameters
    ----------
    plots_path : str
    site : radarcore.core.config.SiteConfig
    out_dir : str
    output_period_s : float or None
    progress : bool
    input_format : {"csv", "recording", "asterix"} or None
        None: by its first bytes (see :func:`sniff_format`).
    cat062_out : str or None
        Also write every output epoch's tracks to this file as ASTERIX
        CAT062 data blocks (system area/identification ``cat062_sac``,
        ``cat062_sic``).

    Returns a :class:`ReplayResult` whose ``summary`` holds the counters also
    written to ``out_dir/summary.json``; for a recording also
    ``frames_read``, ``frames_rejected`` (by reason) and
    ``recording_torn_bytes``.
    """
    if output_period_s is not None:
        site = dataclasses.replace(
            site, tracker=dataclasses.replace(site.tracker, output_period_s=float(output_period_s)))
    t0 = time.perf_counter()
    recording = None
    kind = input_format_of(plots_path, input_format)
    if kind == "recording":
        recording = RecordingSource(plots_path, site.radar_ids)
        chunks = iter(recording)
    elif kind == "asterix":
        recording = AsterixSource(plots_path, site)
        chunks = iter(recording)
    else:
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
    alert_log = []
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(TrackCsvWriter(tracks_path))
        alert_writer = stack.enter_context(AlertJsonlWriter(alerts_path))
        cat062 = (stack.enter_context(Cat062Writer(cat062_out, site, cat062_sac, cat062_sic))
                  if cat062_out else None)
        bar = stack.enter_context(_progress_bar(os.path.getsize(plots_path), progress))

        def output(rows):
            writer.write(rows)
            if cat062 is not None:
                cat062.write(rows)
            events = engine.pop_alerts()
            alert_writer.write(events)
            alert_log.extend(events)
            track_stats.add(rows)

        for chunk in itertools.chain([first], chunks):
            malformed += chunk.malformed
            if len(first_bad_lines) < 10:
                first_bad_lines.extend(chunk.first_bad_lines[:10 - len(first_bad_lines)])
            n_read += chunk.plots.size
            output(engine.process(chunk.plots, frame_sizes=getattr(chunk, "frame_sizes", None)))
            bar.set_postfix_str(f"{n_read:,} plots", refresh=False)
            bar.update(chunk.bytes_done - bar.n)
        output(engine.flush())
    wall = time.perf_counter() - t0
    summary = engine.summary()
    summary["plots_read"] = n_read + malformed
    summary["plots_rejected"]["malformed"] = malformed
    summary["first_bad_lines"] = first_bad_lines
    summary["wall_time_s"] = wall
    summary["plots_per_s"] = (n_read + malformed) / wall if wall > 0 else 0.0
    summary.update(track_stats.summary())
    summary["alert_events"] = {kind: sum(1 for e in alert_log if e["event"] == kind) for kind in ALERT_EVENTS}
    summary["alerts"] = len({e["alert_id"] for e in alert_log if e["event"] == "raise"})
    if recording is not None:
        summary.update(recording.summary())
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
    """One line per raised alert: raise time, asset, tracks, highest level, class, lead figures.

    Advisories count towards nothing here; those of tracks never raised are
    summed in a last line.
    """
    from radarcore.core.config import ZONE_LEVELS

    by_alert = {}
    for e in events:
        if e["event"] not in ("raise", "escalate", "deescalate", "clear"):
            continue
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
    advised = {e["alert_id"] for e in events if e["event"] == "advisory"} - set(by_alert)
    if advised:
        lines.append(f"  advisories on {len(advised)} track(s) never alerted")
    return "\n".join(lines)


def format_summary(summary):
    rejected = ", ".join(f"{k} {v}" for k, v in summary["plots_rejected"].items() if v) or "none"
    frame_lines = []
    if "frames_read" in summary:
        frames_rejected = ", ".join(f"{k} {v}" for k, v in summary["frames_rejected"].items() if v) or "none"
        tail = "torn" if summary.get("recording_tail") == "torn" else "corrupt"
        frame_lines = [f"frames read       {summary['frames_read']:,}"
                       + (f" ({tail} tail of {summary['recording_torn_bytes']:,} bytes ignored)"
                          if summary["recording_torn_bytes"] else ""),
                       f"frames rejected   {frames_rejected}"]
        if summary.get("recording_corrupt_stretches"):
            where = ", ".join(f"offset {c['offset']:,} ({c['bytes']:,} bytes)"
                              for c in summary["recording_corrupt"][:5])
            more = summary["recording_corrupt_stretches"] - min(len(summary["recording_corrupt"]), 5)
            frame_lines.append(f"corrupt records   {summary['recording_corrupt_stretches']:,} damaged "
                               f"stretch(es) skipped, {summary['recording_corrupt_bytes']:,} bytes: "
                               f"{where}" + (f" and {more} more" if more > 0 else ""))
    if summary.get("asterix_rejected"):
        frame_lines.append("asterix rejected  " + (", ".join(
            f"{k} {v}" for k, v in summary["asterix_rejected"].items() if v) or "none"))
    return "\n".join(frame_lines + [
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
                              description="Replay a plots.csv, a recording (.rcrec) or an ASTERIX "
                                          "CAT048/CAT034 file (.ast) through the engine and write "
                                          "DIR/tracks.csv, DIR/alerts.jsonl and DIR/summary.json.")
    p.add_argument("plots", help="plots.csv (docs/formats.md), a recording (FILE.rcrec) or "
                                 "concatenated ASTERIX data blocks (FILE.ast)")
    p.add_argument("--format", choices=INPUT_FORMATS, default=None, dest="input_format",
                   help="input format (default: told by the file's first bytes, whatever its name)")
    p.add_argument("--site", required=True, help="site.toml")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--output-period", type=float, default=None, metavar="S",
                   help="seconds between output epochs (default: the site's, 1 s)")
    p.add_argument("--cat062-out", default=None, metavar="FILE",
                   help="also write each output epoch as an ASTERIX CAT062 data block")
    p.add_argument("--cat062-sac", type=int, default=0, help="SAC of the CAT062 output (default 0)")
    p.add_argument("--cat062-sic", type=int, default=0, help="SIC of the CAT062 output (default 0)")
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
    if not (0 <= args.cat062_sac <= 255 and 0 <= args.cat062_sic <= 255):
        print("radarcore replay: --cat062-sac and --cat062-sic must be in 0..255", file=sys.stderr)
        return 2
    if args.output_period is not None and not MIN_OUTPUT_PERIOD_S <= args.output_period <= MAX_OUTPUT_PERIOD_S:
        print(f"radarcore replay: --output-period must be between {MIN_OUTPUT_PERIOD_S} and "
              f"{MAX_OUTPUT_PERIOD_S} seconds, got {args.output_period}", file=sys.stderr)
        return 2
    try:
        result = replay_file(args.plots, site, args.out, args.output_period, progress=not args.quiet,
                             input_format=args.input_format, cat062_out=args.cat062_out,
                             cat062_sac=args.cat062_sac, cat062_sic=args.cat062_sic)
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
    if args.cat062_out:
        print(f"wrote {args.cat062_out}")
    return 0


__all__ = ["replay_file", "ReplayResult", "format_summary", "TRACK_STATUS_NAMES"]
