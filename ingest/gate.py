"""The gate between received plot messages and the engine.

A received message is decoded (the native plot frame of ``ingest.codec`` or
raw ASTERIX datagrams of ``ingest.asterix``) and admitted or rejected under
exactly one counted reason.  The live service and the replay of a recording
pass every message through the same gate, so a replay feeds the engine
exactly the plots the service fed it.
"""
import collections
import logging
import math
import time

import numpy as np

from ingest.codec import REJECT_REASONS_WIRE, FrameError, PlotFrame, decode_plots
from ingest.schema import PLOT_DTYPE

log = logging.getLogger("ingest.gate")

#: Reasons a whole frame is rejected before it reaches the engine (counted in frames).
FRAME_REJECT_REASONS = REJECT_REASONS_WIRE + ("duplicate_seq",)
#: The largest plot count of one frame.
MAX_FRAME_PLOTS = 1_000_000
#: A radar whose frames come with this many increasing sequence numbers in a
#: row, all at or below its last accepted one, has restarted its counter:
#: the last of them is accepted and the radar's sequence follows it.
SEQ_RESYNC_FRAMES = 20
#: A log line per rejection reason at most this often.
LOG_INTERVAL_S = 10.0


class RateLimitedLog:
    """Log lines keyed by reason, at most one per reason per ``interval_s``.

    Lines suppressed in between are counted and the count is given with the
    next line of the same reason.
    """

    def __init__(self, logger, interval_s=LOG_INTERVAL_S, clock=time.monotonic):
        self.logger = logger
        self.interval_s = float(interval_s)
        self.clock = clock
        self._last = {}
        self._suppressed = collections.Counter()

    def __call__(self, reason, message):
        """Log ``message`` under ``reason`` unless one was logged in the last ``interval_s``.

        Returns
        -------
        bool
            Whether a line was written.
        """
        now = self.clock()
        last = self._last.get(reason)
        if last is not None and now - last < self.interval_s:
            self._suppressed[reason] += 1
            return False
        self._last[reason] = now
        more = self._suppressed.pop(reason, 0)
        suffix = f" ({more} more since the last report)" if more else ""
        self.logger.warning("rejected (%s): %s%s", reason, message, suffix)
        return True


class FrameGate:
    """Decodes received plot frames and rejects what must not reach the engine.

    A frame is rejected, and counted under exactly one reason of
    :data:`FRAME_REJECT_REASONS`, when it does not decode (the reason of the
    codec's :class:`~ingest.codec.FrameError`) or when its sequence number is
    at or below the last accepted sequence number of its radar
    (``duplicate_seq``).  Sequence numbers are kept for the site's radars
    only (a bounded table); frames of other radars pass, and the engine
    counts their plots as ``unknown_radar``.

    A radar that restarts its counter (or one whose counter was thrown far
    ahead once) would otherwise be refused for ever: when
    :data:`SEQ_RESYNC_FRAMES` frames in a row of one radar are refused with
    strictly increasing sequence numbers, the last of them is accepted and
    the radar's sequence follows it (counted in ``seq_resyncs``); the frames
    before it stay rejected.  Duplicates and replays of old frames do not
    form such a run.

    The live service and the replay of a recording use the same gate, so a
    replay feeds the engine exactly the plots the service fed it.

    Parameters
    ----------
    radar_ids : iterable of int
        The site's radars.
    max_plots : int
        The largest plot count of one frame (``too_large`` above it).

    Attributes
    ----------
    frames_accepted, plots_accepted : int
    frames_rejected : dict
        Reason -> frames, every reason of :data:`FRAME_REJECT_REASONS` present.
    last_seq : dict
        Radar id -> last accepted sequence number.
    last_error : tuple or None
        ``(reason, message)`` of the latest rejection.
    """

    def __init__(self, radar_ids, max_plots=MAX_FRAME_PLOTS):
        self.radar_ids = frozenset(int(r) for r in radar_ids)
        self.max_plots = int(max_plots)
        self.frames_accepted = 0
        self.plots_accepted = 0
        self.frames_rejected = dict.fromkeys(FRAME_REJECT_REASONS, 0)
        self.last_seq = {}
        self.seq_resyncs = 0
        self._behind = {}           # radar id -> (run length, last refused seq)
        self.last_error = None

    def decode(self, frames):
        """Decode one received message; the PlotFrame, or None when it is rejected."""
        try:
            item = decode_plots(frames, self.max_plots)
        except FrameError as error:
            item = error
        return self.admit(item)

    def admit(self, item):
        """Count a decoded frame or a decoding error; the PlotFrame if accepted, else None.

        Parameters
        ----------
        item : ingest.codec.PlotFrame or ingest.codec.FrameError
        """
        if isinstance(item, FrameError):
            self.frames_rejected[item.reason] += 1
            self.last_error = (item.reason, item.message)
            return None
        radar_id = item.radar_id
        if radar_id in self.radar_ids:
            last = self.last_seq.get(radar_id)
            if last is not None and item.seq <= last:
                run, previous = self._behind.get(radar_id, (0, None))
                run = run + 1 if previous is not None and item.seq > previous else 1
                if run < SEQ_RESYNC_FRAMES:
                    self._behind[radar_id] = (run, item.seq)
                    self.frames_rejected["duplicate_seq"] += 1
                    self.last_error = ("duplicate_seq", f"radar {radar_id} frame seq {item.seq}, "
                                                        f"last accepted {last}")
                    return None
                self.seq_resyncs += 1
                log.warning("radar %d restarted its frame sequence: now at %d (was %d)",
                            radar_id, item.seq, last)
            self._behind.pop(radar_id, None)
            self.last_seq[radar_id] = item.seq
        self.frames_accepted += 1
        self.plots_accepted += item.plots.size
        return item

    def reset_counters(self):
        """Zero the counters; the sequence numbers are kept."""
        self.frames_accepted = 0
        self.plots_accepted = 0
        self.frames_rejected = dict.fromkeys(FRAME_REJECT_REASONS, 0)
        self.seq_resyncs = 0
        self.last_error = None


class AsterixGate:
    """The :class:`FrameGate` of a plot stream of raw ASTERIX datagrams.

    Each part of a received message is one datagram of CAT048 target
    reports and CAT034 service messages (``ingest.asterix``); radars are
    found by their ``sac``/``sic`` in site.toml and the time of day is
    unwrapped across midnight.  Records the decoder refuses are counted per
    reason in ``records_rejected``; a message that yields no plot and whose
    records were all refused counts as a ``malformed`` frame.  A message of
    service messages only (north markers) passes with no plots.
    """

    def __init__(self, site):
        from ingest.asterix import RadarMap, TimeOfDayUnwrapper

        self.radars = RadarMap.from_site(site)
        self.unwrapper = TimeOfDayUnwrapper()
        self.frames_accepted = 0
        self.plots_accepted = 0
        self.frames_rejected = dict.fromkeys(FRAME_REJECT_REASONS, 0)
        self.records_rejected = {}
        self.seq_resyncs = 0
        self.last_error = None

    def decode(self, frames):
        """Decode one received message; a PlotFrame (radar_id -1), or None when rejected."""
        from ingest.asterix import decode_datagram

        plots, records, refused = [], 0, 0
        for part in frames:
            result = decode_datagram(part, self.radars, self.unwrapper)
            records += result.records
            for reason, n in result.rejected.items():
                if n:
                    self.records_rejected[reason] = self.records_rejected.get(reason, 0) + int(n)
                    refused += int(n)
            if result.plots.size:
                plots.append(result.plots)
        if not plots and (refused or not records):
            self.frames_rejected["malformed"] += 1
            self.last_error = ("malformed", f"an ASTERIX message of {len(frames)} part(s) gave no "
                                            f"plot ({refused} records refused)")
            return None
        plots = np.concatenate(plots) if plots else np.zeros(0, PLOT_DTYPE)
        self.frames_accepted += 1
        self.plots_accepted += plots.size
        return PlotFrame(radar_id=-1, seq=0, t_first=float(plots["time_s"][0]) if plots.size else math.nan,
                         plots=plots)

    def reset_counters(self):
        self.frames_accepted = 0
        self.plots_accepted = 0
        self.frames_rejected = dict.fromkeys(FRAME_REJECT_REASONS, 0)
        self.records_rejected = {}
        self.last_error = None
