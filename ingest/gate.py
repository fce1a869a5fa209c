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
from ingest.recording import record_size_problem
from ingest.schema import PLOT_DTYPE

log = logging.getLogger("ingest.gate")

#: Reasons a whole frame is rejected before it reaches the engine (counted in
#: frames): the codec's (:data:`ingest.codec.REJECT_REASONS_WIRE`),
#: ``duplicate_seq`` (a sequence number at or below the radar's last one),
#: ``seq_jump`` (a sequence number more than :data:`SEQ_WINDOW` ahead of it)
#: and ``decode_error`` (the decoder failed in a way it does not document: a
#: fault of radarcore, logged with its traceback; the frame is dropped and
#: the service goes on).
FRAME_REJECT_REASONS = REJECT_REASONS_WIRE + ("duplicate_seq", "seq_jump", "decode_error")
#: The largest plot count of one frame.
MAX_FRAME_PLOTS = 1_000_000
#: A frame is accepted when its sequence number is above the radar's last
#: accepted one by at most this much (frames lost in transit leave gaps).
SEQ_WINDOW = 10_000
#: A radar whose refused frames form a run this long, each within
#: :data:`SEQ_WINDOW` above the one before, has restarted (or jumped) its
#: counter: the last frame of the run is accepted and the radar's sequence
#: follows it.
SEQ_RESYNC_FRAMES = 20
#: Candidate runs kept per radar while its frames are refused.
SEQ_RESYNC_RUNS = 4
#: A log line per rejection reason at most this often.
LOG_INTERVAL_S = 10.0


_last_fault_log = [-math.inf]


def _decoder_fault(what, error):
    """Log a decoder's undocumented exception (with its traceback, at most once per
    :data:`LOG_INTERVAL_S`); the one-line message to count it under."""
    now = time.monotonic()
    if now - _last_fault_log[0] >= LOG_INTERVAL_S:
        _last_fault_log[0] = now
        log.error("%s decoder failed (a fault of radarcore; the frame is dropped)", what,
                  exc_info=error)
    return f"{type(error).__name__}: {error}"


class RateLimitedLog:
    """Log lines keyed by reason, at most one per reason per ``interval_s``.

    Lines suppressed in between are counted and the count is given with the
    next line of the same reason.  ``template`` formats a line from the reason
    and the message.
    """

    def __init__(self, logger, interval_s=LOG_INTERVAL_S, clock=time.monotonic,
                 template="rejected ({reason}): {message}"):
        self.logger = logger
        self.template = template
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
        self.logger.warning("%s%s", self.template.format(reason=reason, message=message), suffix)
        return True


class FrameGate:
    """Decodes received plot frames and rejects what must not reach the engine.

    A frame is rejected, and counted under exactly one reason of
    :data:`FRAME_REJECT_REASONS`, when it does not decode (the reason of the
    codec's :class:`~ingest.codec.FrameError`, or ``decode_error`` for any
    other exception of the decoder) or when its sequence number does not
    follow its radar's.  Sequence numbers are kept for the site's radars
    only (a bounded table); frames of other radars pass, and the engine
    counts their plots as ``unknown_radar``.

    The sequence rule, per radar, with ``last`` its last accepted number:

    - the radar's first frame is accepted;
    - a frame with ``last < seq <= last + SEQ_WINDOW`` is accepted;
    - ``seq <= last`` is refused as ``duplicate_seq`` (a duplicate, a
      replayed or a reordered frame), ``seq > last + SEQ_WINDOW`` as
      ``seq_jump``.  One forged frame far ahead (``seq = 2**64 - 1``) is
      therefore refused and moves nothing;
    - resynchronisation: a radar that restarted its counter (or whose
      counter really jumped) would otherwise be refused for ever.  Its
      refused frames are followed as runs: a refused frame extends a run
      when its number is above the run's last by at most ``SEQ_WINDOW``,
      else it starts a new run (at most :data:`SEQ_RESYNC_RUNS` are kept;
      the least recently extended one gives way).  When a run reaches
      :data:`SEQ_RESYNC_FRAMES` frames its last frame is accepted and the
      radar's sequence follows it (``seq_resyncs``); the frames before it
      stay rejected.  An accepted frame ends every run.  So a steady
      stream of the radar's real frames resynchronises after 20 frames
      even with forged or duplicated frames between them, exact
      duplicates and replays of old frames never form a run (their numbers
      do not increase), and forged frames interleaved with a healthy stream
      never take it over.  (A sender that knows the radar's current number
      can forge accepted frames: authenticate radars with CurveZMQ.)

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
        self._resync_log = RateLimitedLog(log, template="radar {reason} restarted its frame sequence: {message}")
        self._runs = {}             # radar id -> list of [last refused seq, length, last used]
        self._refused = 0           # refused frames so far (orders the runs by last use)
        self.last_error = None

    def decode(self, frames):
        """Decode one received message; the PlotFrame, or None when it is rejected."""
        try:
            item = decode_plots(frames, self.max_plots)
        except FrameError as error:
            item = error
        except Exception as error:      # a decoder fault: count it, keep the service alive
            return self.reject("decode_error", _decoder_fault("plot frame", error))
        return self.admit(item)

    def screen(self, frames):
        """Refuse (``too_large``, counted) a message a recording cannot hold; whether it may go on.

        The live service screens every message before it records and
        decodes it, with or without a recording, so that it feeds the engine
        the same frames either way and a replay of its recording sees every
        frame it accepted.
        """
        problem = record_size_problem(frames)
        if problem is None:
            return True
        self.reject("too_large", problem)
        return False

    def reject(self, reason, message):
        """Count one frame rejected under ``reason``; returns None."""
        self.frames_rejected[reason] += 1
        self.last_error = (reason, message)
        return None

    def admit(self, item):
        """Count a decoded frame or a decoding error; the PlotFrame if accepted, else None.

        Parameters
        ----------
        item : ingest.codec.PlotFrame or ingest.codec.FrameError
        """
        if isinstance(item, FrameError):
            return self.reject(item.reason, item.message)
        radar_id = item.radar_id
        if radar_id in self.radar_ids:
            last = self.last_seq.get(radar_id)
            seq = item.seq
            if last is not None and not last < seq <= last + SEQ_WINDOW:
                if not self._resync(radar_id, seq):
                    reason = "duplicate_seq" if seq <= last else "seq_jump"
                    return self.reject(reason, f"radar {radar_id} frame seq {seq}, last accepted {last}")
                self.seq_resyncs += 1
                self._resync_log(radar_id, f"now at {seq} (was {last})")
            self._runs.pop(radar_id, None)
            self.last_seq[radar_id] = seq
        self.frames_accepted += 1
        self.plots_accepted += item.plots.size
        return item

    def _resync(self, radar_id, seq):
        """Add a refused frame to the radar's runs; whether a run is now long enough."""
        self._refused += 1
        runs = self._runs.setdefault(radar_id, [])
        best = None
        for run in runs:
            if run[0] < seq <= run[0] + SEQ_WINDOW and (best is None or run[1] > best[1]):
                best = run
        if best is None:
            if len(runs) >= SEQ_RESYNC_RUNS:
                runs.remove(min(runs, key=lambda run: run[2]))
            best = [seq, 0, 0]
            runs.append(best)
        best[0] = seq
        best[1] += 1
        best[2] = self._refused
        return best[1] >= SEQ_RESYNC_FRAMES

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
        try:
            results = [decode_datagram(part, self.radars, self.unwrapper) for part in frames]
        except TypeError as error:      # a part that is not a byte buffer
            return self._reject("malformed", f"an ASTERIX message part is not bytes ({error})")
        except Exception as error:      # a decoder fault: count it, keep the service alive
            return self._reject("decode_error", _decoder_fault("ASTERIX", error))
        for result in results:
            records += result.records
            for reason, n in result.rejected.items():
                if n:
                    self.records_rejected[reason] = self.records_rejected.get(reason, 0) + int(n)
                    refused += int(n)
            if result.plots.size:
                plots.append(result.plots)
        if not plots and (refused or not records):
            return self._reject("malformed", f"an ASTERIX message of {len(frames)} part(s) gave no "
                                             f"plot ({refused} records refused)")
        plots = np.concatenate(plots) if plots else np.zeros(0, PLOT_DTYPE)
        self.frames_accepted += 1
        self.plots_accepted += plots.size
        return PlotFrame(radar_id=-1, seq=0, t_first=float(plots["time_s"][0]) if plots.size else math.nan,
                         plots=plots)

    def _reject(self, reason, message):
        self.frames_rejected[reason] += 1
        self.last_error = (reason, message)
        return None

    screen = FrameGate.screen
    reject = _reject

    def reset_counters(self):
        self.frames_accepted = 0
        self.plots_accepted = 0
        self.frames_rejected = dict.fromkeys(FRAME_REJECT_REASONS, 0)
        self.records_rejected = {}
        self.last_error = None
