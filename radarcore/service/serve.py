"""``radarcore serve``: the live service over ZeroMQ.

Plots come in as plot frames (:mod:`ingest.codec`) on a PULL socket (or a SUB
socket subscribed to everything); tracks, alerts and counters go out on a PUB
socket under the topics ``tracks`` (one message per output epoch, the rows of
tracks.csv; in live mode, ``tracker.history_s`` > 0, also one track-update
message per received frame that updated tracks, published as soon as the
frame is processed), ``alerts`` (the alert events of alerts.jsonl) and
``stats`` (the counters, once a second).

Threads
-------
receiver
    Owns the plot socket.  Every received message is first written to the
    recording (``--record``) with its receive time, *before* it is decoded,
    so that a replay of the recording reproduces the service's input
    exactly (a message no record can hold is refused first, ``too_large``).
    Then :class:`FrameGate` decodes it and drops what must not reach the
    engine: frames that do not decode (the codec's reasons ``malformed``,
    ``wrong_version``, ``length_mismatch``, ``too_large``, or
    ``decode_error``) and frames whose sequence number does not follow the
    radar's (``duplicate_seq``: a duplicate, a replayed or a reordered
    frame; ``seq_jump``: too far ahead; the rule is
    :class:`ingest.gate.FrameGate`'s).  Accepted plot batches go onto a :class:`PlotQueue`
    bounded in plots; a batch that does not fit is dropped and counted
    (``shed``).  The receiver never waits for the engine.
engine
    The only writer of the track table.  It takes the batches waiting in the
    queue at once (up to :data:`ENGINE_STEP_PLOTS` plots; when only a few
    wait, it gives more up to :data:`ENGINE_GATHER_S` to gather, since every
    engine step has a fixed cost), runs
    :meth:`radarcore.core.engine.Engine.process` on them (the
    engine validates each plot and counts ``non_finite``, ``unknown_radar``,
    ``out_of_range``, ``late`` and ``time_jump``), and publishes the track
    rows (one ``tracks`` message per epoch) and alert events through the
    :class:`Publisher`, which owns the PUB socket and sends without ever
    blocking (a refused send is counted, never waited for).  Once a second it
    publishes the counters (``stats``).
main
    Signals, the Prometheus endpoint (:mod:`radarcore.service.prometheus`), start
    and stop.

All sockets share one ``zmq.Context``; each thread polls with a timeout and
checks its stop event.  Stopping (SIGINT, SIGTERM, :meth:`Service.stop`):
the receiver stops taking input, closes its socket (linger 0) and flushes
and closes the recording; then the engine thread drains: it processes
everything already accepted (logging its progress every
:data:`DRAIN_LOG_INTERVAL_S`), flushes the engine (:meth:`Engine.flush`),
publishes the last epochs and a final ``stats`` message (``"final": true``)
and closes its outputs.  Draining is bounded (``drain_timeout_s``): plots
still queued at the bound are dropped and counted (``plots_unprocessed``,
also ``plots_rejected["unprocessed"]``), the final stats are published all
the same, and ``radarcore serve`` exits 1.  The ZeroMQ context is terminated
and the output files closed only once the engine thread has ended; an
engine thread that does not end (a fault) is reported, its outputs are left
to the operating system, and the exit status is 1.  A stop signal during
start-up (compiling, a warm restart) ends start-up at the next check, within
one engine step.

Bad input never stops the service: every rejected frame or plot is counted
under its reason, logged at most once per reason every 10 s, and dropped.
A message a recording cannot hold (more than
:data:`ingest.recording.MAX_RECORD_PARTS` parts or
:data:`ingest.recording.MAX_RECORD_BODY_BYTES` bytes) is refused as
``too_large`` before it is recorded or decoded, with or without
``--record``; an exception of a decoder is counted as ``decode_error``.

Health: the engine thread marks every pass of its loop (at least every
0.1 s while it runs); the stats and ``/metrics`` carry the time of the last
pass (``engine_heartbeat_time``), the seconds since it
(``engine_heartbeat_age_s``, computed when read, so a stuck engine shows a
growing age and never stale healthy figures) and the time of the last
engine step that processed plots (``engine_last_step_time``).

Processing latency is measured per plot from the receipt of its frame to the
end of the engine step that processed it, publication included (queueing,
engine and publishing time).  It does not include the reorder window the
engine holds plots for before they reach a track (``reorder_window_s``).
In live mode the true latencies are measured too: per plot, from the
receipt of its frame to the publication of the track update that carries
it (``update_latency_ms``), and per alert event, from the receipt of the
frame whose track update caused it to the publication of the event
(``alert_latency_ms``); an event of an output epoch is not counted.

Security: with a server secret key and a directory of authorised client
public keys, both sockets are CurveZMQ servers and a ZAP handler
(``zmq.auth.thread.ThreadAuthenticator``) admits only the clients whose
public key is in the directory: a radar or a subscriber without an
authorised key gets no connection, and no data flows either way.
"""
import collections
import contextlib
import json
import io
import logging
import math
import os
import sys
import threading
import time

import numpy as np
import zmq

from ingest.codec import encode_alerts, encode_stats, encode_tracks
from ingest.codec import encode_cat062 as encode_cat062_message
from ingest.recording import RecordError, RecordingWriter, read_recording, recording_time_span
from ingest.gate import AsterixGate, FrameGate, RateLimitedLog
from radarcore.core.alerts import EVENTS as ALERT_EVENTS
from radarcore.core.engine import REJECT_REASONS, Engine
from radarcore.service.latency import LatencyHistogram
from radarcore.service.signals import stop_on_signals

log = logging.getLogger("radarcore.service.serve")

#: Reasons single plots are dropped (counted in plots): the engine's own
#: (``malformed`` is a CSV reason and never happens here), ``shed`` (the
#: queue was full) and ``unprocessed`` (accepted, still queued when draining
#: at stop ran out of time, or in an engine step that failed).
PLOT_REJECT_REASONS = tuple(r for r in REJECT_REASONS if r != "malformed") + ("shed", "unprocessed")
#: Default bound of draining at stop (seconds): with the rest of a stop, well
#: within a minute.
DEFAULT_DRAIN_TIMEOUT_S = 45.0
#: After the drain bound, how long stop waits more for the engine thread to
#: flush, publish the final stats and close its outputs (seconds).
ENGINE_EXIT_GRACE_S = 10.0
#: Seconds between progress lines while draining.
DRAIN_LOG_INTERVAL_S = 2.0
#: Defaults of the ``[service]`` table.
DEFAULT_QUEUE_PLOTS = 1_000_000
DEFAULT_HIGH_WATER_MARK = 100_000
#: How long the PUB socket may keep delivering the last messages after stop
#: (milliseconds): long enough for the flushed epochs and the final stats to
#: reach connected subscribers, short enough that stop stays bounded.
PUBLISH_LINGER_MS = 1000
#: Plots the engine takes from the queue per step at most: steps of this
#: size run at the engine's full speed, larger ones no faster and with a
#: longer wait for the plots that arrive meanwhile.
ENGINE_STEP_PLOTS = 16384
#: Once plots wait, the engine waits up to this long (seconds) for
#: :data:`ENGINE_GATHER_PLOTS` of them: an engine step has a fixed cost of
#: about 0.1-0.4 ms, which many tiny steps would pay over and over.
ENGINE_GATHER_S = 0.001
ENGINE_GATHER_PLOTS = 1000


# live mode: frames remembered for the plot -> track update latency until their first update
LIVE_FRAMES_KEPT = 4096

class PlotQueue:
    """A hand-over of plot batches between two threads, bounded in plots.

    :meth:`put` never waits: a batch that does not fit is refused (the
    caller counts it as shed).  :meth:`get_all` takes every waiting batch at
    once, so the engine processes whatever gathered while it was busy in one
    step.

    Parameters
    ----------
    capacity_plots : int
        The most plots waiting at any time.
    """

    def __init__(self, capacity_plots):
        if isinstance(capacity_plots, bool) or not isinstance(capacity_plots, int) or capacity_plots < 1:
            raise ValueError(f"capacity_plots must be an integer >= 1, got {capacity_plots!r}")
        self.capacity_plots = capacity_plots
        self._items = collections.deque()
        self._plots = 0
        self._ready = threading.Condition(threading.Lock())

    @property
    def depth_plots(self):
        """Plots waiting now."""
        return self._plots

    def put(self, item, n_plots):
        """Append ``item`` holding ``n_plots`` plots; False (nothing queued) if it does not fit."""
        with self._ready:
            if self._plots + n_plots > self.capacity_plots:
                return False
            self._items.append((item, n_plots))
            self._plots += n_plots
            self._ready.notify()
        return True

    def drop_all(self):
        """Empty the queue; returns (items, plots) dropped."""
        with self._ready:
            dropped = (len(self._items), self._plots)
            self._items.clear()
            self._plots = 0
        return dropped

    def get_all(self, timeout_s, max_plots=None, gather_s=0.0, gather_plots=None):
        """The waiting items, in order; waits up to ``timeout_s`` for the first.

        Parameters
        ----------
        timeout_s : float
        max_plots : int or None
            Stop taking items once this many plots are taken (at least one
            item is taken); None: take them all.
        gather_s : float
            Once there is an item, wait up to this long more for
            ``gather_plots`` plots to gather (fewer, larger steps).
        gather_plots : int or None

        Returns
        -------
        list of items
        """
        with self._ready:
            if not self._items and timeout_s > 0:
                self._ready.wait(timeout_s)
            if self._items and gather_s > 0 and gather_plots is not None and self._plots < gather_plots:
                self._ready.wait_for(lambda: self._plots >= gather_plots, gather_s)
            if max_plots is None or self._plots <= max_plots:
                items = [item for item, _ in self._items]
                self._items.clear()
                self._plots = 0
                return items
            items = []
            taken = 0
            while self._items and (not items or taken < max_plots):
                item, n_plots = self._items.popleft()
                items.append(item)
                taken += n_plots
            self._plots -= taken
        return items


class Publisher:
    """The PUB side of the service: tracks, alerts and stats, and the ``--out`` files.

    Owned by the engine thread.  Sends with ``zmq.NOBLOCK``; a refused send
    is counted in ``messages_dropped`` and never retried.  (A PUB socket
    itself drops, silently, messages for a subscriber past its high-water
    mark; ZeroMQ does not report those.)

    Parameters
    ----------
    socket : zmq.Socket
        A bound PUB socket.
    out_dir : str or None
        Also write ``tracks.csv`` and ``alerts.jsonl`` there, as published.
    """

    def __init__(self, socket, out_dir=None, cat062=None, cot=None):
        from radarcore.service.ack import AckBook

        self.socket = socket
        self.cat062 = cat062        # (site, sac, sic): also publish each epoch as CAT062
        self.cot = cot              # a radarcore.service.cot.CotSender, or None
        self.ack_book = AckBook()   # the open alerts, for acknowledgements
        self.messages_sent = 0
        self.messages_dropped = 0
        self.alert_events = dict.fromkeys(ALERT_EVENTS, 0)
        self.epochs_published = 0
        self.updates_published = 0
        self._tracks_file = self._tracks_writer = self._alerts_writer = None
        if out_dir is not None:
            from ingest.csvio import TrackCsvWriter
            from radarcore.core.alerts import AlertJsonlWriter

            os.makedirs(out_dir, exist_ok=True)
            self._tracks_file = open(os.path.join(out_dir, "tracks.csv"), "wb")
            self._tracks_writer = TrackCsvWriter(self._tracks_file)
            self._alerts_writer = AlertJsonlWriter(os.path.join(out_dir, "alerts.jsonl"))

    def send(self, message):
        """Send one multipart message without blocking; whether it was taken."""
        try:
            self.socket.send_multipart(message, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.messages_dropped += 1
            return False
        self.messages_sent += 1
        return True

    def tracks(self, rows):
        """Publish track rows, one ``tracks`` message per output epoch."""
        if rows.size == 0:
            return
        t = rows["time_s"]
        cuts = np.flatnonzero(t[1:] != t[:-1]) + 1
        for lo, hi in zip(np.concatenate(([0], cuts)).tolist(), np.concatenate((cuts, [t.size])).tolist()):
            self.send(encode_tracks(rows[lo:hi]))
            if self.cat062 is not None:
                from ingest.asterix import encode_cat062

                site, sac, sic = self.cat062
                o = site.origin
                self.send(encode_cat062_message(encode_cat062(rows[lo:hi], sac, sic, o.lat_deg,
                                                              o.lon_deg, o.alt_m)))
            self.epochs_published += 1
        self.ack_book.observe_time(float(t[-1]))
        if self.cot is not None:
            self.cot.offer_tracks(rows)
        if self._tracks_writer is not None:
            self._tracks_writer.write(rows)

    def track_update(self, rows):
        """Publish a live track update (one ``tracks`` message with the update flag).

        Not written to tracks.csv, which holds the periodic epochs.
        """
        if rows.size == 0:
            return
        self.send(encode_tracks(rows, update=True))
        self.updates_published += 1

    def alerts(self, events):
        """Publish alert events (one ``alerts`` message)."""
        if not events:
            return
        for event in events:
            kind = event.get("event")
            self.alert_events[kind] = self.alert_events.get(kind, 0) + 1
        self.send(encode_alerts(events))
        self.ack_book.observe(events)
        if self.cot is not None:
            self.cot.offer_alerts(events)
        if self._alerts_writer is not None:
            self._alerts_writer.write(events)

    def acknowledge(self, requests):
        """Answer acknowledgements (:mod:`radarcore.service.ack`): publish and write each new one."""
        for request in requests:
            event, answer = self.ack_book.acknowledge(request)
            if event is not None:
                self.alerts([event])
            request.finish(answer)

    def stats(self, stats):
        """Publish the counters (one ``stats`` message)."""
        self.send(encode_stats(stats))

    def flush(self):
        """Hand the ``--out`` files' written lines to the operating system."""
        if self._tracks_file is not None:
            self._tracks_file.flush()
            # AlertJsonlWriter has no flush of its own; its file is the one to flush.
            self._alerts_writer.flush()

    def close(self):
        """Close the ``--out`` files (the socket belongs to the caller)."""
        if self._tracks_writer is not None:
            self._tracks_writer.close()
            self._tracks_file.close()
            self._alerts_writer.close()
            self._tracks_writer = self._tracks_file = self._alerts_writer = None


def _load_curve_server(secret_key_file):
    from radarcore.service.keys import load_key_pair

    return load_key_pair(secret_key_file)


class StartCancelled(BaseException):
    """A stop was asked for (a signal) while the service was starting.

    A BaseException, like KeyboardInterrupt: raised from a signal handler in
    the middle of a compilation, it must not be taken for an error of the
    code it interrupts.
    """


def _never():
    return False


def warm_up(site, cancelled=_never):
    """Compile (or load) every kernel an engine of this site runs, before taking traffic.

    Runs :meth:`Engine.warmup` and then a throw-away engine of ``site`` over
    two steady synthetic targets seen by its first radar for 12 scans, so
    that the site's own paths (zones, alerts) are compiled too.  Raises
    :class:`StartCancelled` between the two when ``cancelled()`` is true.
    """
    Engine.warmup()
    if cancelled():
        raise StartCancelled("while compiling")
    from ingest.schema import empty_plots

    radar = min(site.radars, key=lambda r: r.id)
    n_scans = 12
    plots = empty_plots(2 * n_scans)
    plots["time_s"] = np.repeat(np.arange(n_scans) * radar.scan_period_s, 2)
    plots["radar_id"] = radar.id
    plots["range_m"] = np.tile([0.2, 0.4], n_scans) * radar.max_range_m + 5.0 * plots["time_s"]
    plots["azimuth_deg"] = np.tile([10.0, 200.0], n_scans)
    plots["elevation_deg"] = 2.0
    engine = Engine(site)
    rows = np.concatenate([engine.process(plots), engine.flush()])
    engine.pop_alerts()
    # the tracks.csv formatter (``--out``) is compiled too: a live service measured
    # compiling it at its first output epoch, frames queued behind it
    from ingest.csvio import TrackCsvWriter

    TrackCsvWriter(io.BytesIO()).write(rows)


class Service:
    """The live service: a receiver thread, an engine thread and a publisher.

    Parameters
    ----------
    site : radarcore.core.config.SiteConfig
    plots_endpoint, publish_endpoint : str
        Endpoints to bind (``tcp://HOST:PORT``, ``tcp://HOST:*`` for a port
        chosen by the system, ``ipc://PATH``, ``inproc://NAME``); the bound
        endpoints are :attr:`plots_address` and :attr:`publish_address`
        after :meth:`start`.
    plots_socket : {"pull", "sub"}
        A PULL socket (radars PUSH), or a SUB socket subscribed to every
        message (radars PUB).
    record_path : str or None
        Write every received message to this recording (appended to if it
        exists).
    out_dir : str or None
        Also write ``tracks.csv``, ``alerts.jsonl`` (as published) and, on
        stop, ``summary.json`` there.
    metrics_port : int or None
        Serve Prometheus metrics on this port (0: a port chosen by the
        system, see :attr:`metrics_port`); None: no metrics endpoint.
    metrics_addr : str
        Address the metrics endpoint listens on.
    curve_secret_key : str or None
        The server's secret key file (``radarcore keys generate``); with
        ``curve_authorized_dir``, both sockets require CurveZMQ.
    curve_authorized_dir : str or None
        Directory of the authorised clients' public key files (``*.key``).
    queue_plots : int
        Capacity of the queue between receiver and engine, in plots.
    high_water_mark : int
        ZeroMQ high-water mark (messages) of both sockets.
    warm_restart_s : float or None
        Before going live, replay the last this many seconds (by receive
        time) of the existing recording at ``record_path`` through the
        engine, publishing nothing for them.
    stats_interval_s : float
        Seconds between ``stats`` messages.
    context : zmq.Context or None
        A shared context (needed for ``inproc://`` endpoints used by the
        caller); by default the service makes and terminates its own.
    drain_timeout_s : float
        At stop, the longest time (seconds) the engine drains the plots
        already accepted; what is still queued then is dropped and counted
        (``plots_unprocessed``).
    ack_endpoint : str or None
        Bind a REP socket here for alert acknowledgements
        (:mod:`radarcore.service.ack`); the bound one is :attr:`ack_address`.
    ack_token : str or None
        The token an acknowledgement must carry; None: none.
    cot_url : str or None
        Also send tracks and alerts as Cursor on Target (:mod:`radarcore.service.cot`).
    cot_stale_s : float
        Stale time of the CoT track events, seconds after sending.
    """

    def __init__(self, site, plots_endpoint, publish_endpoint, *, plots_socket="pull",
                 record_path=None, out_dir=None, metrics_port=None, metrics_addr="127.0.0.1",
                 curve_secret_key=None, curve_authorized_dir=None,
                 queue_plots=DEFAULT_QUEUE_PLOTS, high_water_mark=DEFAULT_HIGH_WATER_MARK,
                 warm_restart_s=None, stats_interval_s=1.0, context=None, plots_format="native",
                 cat062_sac=None, cat062_sic=None, drain_timeout_s=DEFAULT_DRAIN_TIMEOUT_S,
                 ack_endpoint=None, ack_token=None, cot_url=None, cot_stale_s=15.0):
        for name, value in (("plots_endpoint", plots_endpoint), ("publish_endpoint", publish_endpoint)):
            if not isinstance(value, str) or "://" not in value:
                raise ValueError(f"{name} must be a ZeroMQ endpoint such as tcp://127.0.0.1:5555, "
                                 f"got {value!r}")
        if plots_format not in ("native", "asterix"):
            raise ValueError(f'plots_format must be "native" or "asterix", got {plots_format!r}')
        if (cat062_sac is None) != (cat062_sic is None) or any(
                v is not None and not 0 <= v <= 255 for v in (cat062_sac, cat062_sic)):
            raise ValueError("cat062_sac and cat062_sic go together, each in 0..255")
        if plots_socket not in ("pull", "sub"):
            raise ValueError(f'plots_socket must be "pull" or "sub", got {plots_socket!r}')
        if (curve_secret_key is None) != (curve_authorized_dir is None):
            raise ValueError("curve_secret_key and curve_authorized_dir go together "
                             "(the server's secret key and the authorised clients' public keys)")
        if curve_authorized_dir is not None and not os.path.isdir(curve_authorized_dir):
            raise ValueError(f"curve_authorized_dir {curve_authorized_dir!r} is not a directory")
        for name, value in (("queue_plots", queue_plots), ("high_water_mark", high_water_mark)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if metrics_port is not None and (isinstance(metrics_port, bool) or not isinstance(metrics_port, int)
                                         or not 0 <= metrics_port <= 65535):
            raise ValueError(f"metrics_port must be an integer in [0, 65535] or None, got {metrics_port!r}")
        if warm_restart_s is not None:
            if not (isinstance(warm_restart_s, (int, float)) and not isinstance(warm_restart_s, bool)
                    and math.isfinite(warm_restart_s) and warm_restart_s > 0):
                raise ValueError(f"warm_restart_s must be a positive number of seconds, "
                                 f"got {warm_restart_s!r}")
            if record_path is None:
                raise ValueError("warm_restart_s needs a recording (record_path) to replay")
        if not (isinstance(stats_interval_s, (int, float)) and stats_interval_s > 0):
            raise ValueError(f"stats_interval_s must be a positive number, got {stats_interval_s!r}")
        if not (isinstance(drain_timeout_s, (int, float)) and not isinstance(drain_timeout_s, bool)
                and 0 <= drain_timeout_s < math.inf):
            raise ValueError(f"drain_timeout_s must be a finite number >= 0, got {drain_timeout_s!r}")
        if cot_url is not None:
            from radarcore.service.cot import parse_url

            parse_url(cot_url)                        # a bad URL is an error before start
        self.ack_endpoint, self.ack_token, self.ack_address, self._ack = ack_endpoint, ack_token, None, None
        self.cot_url, self.cot_stale_s, self._cot = cot_url, cot_stale_s, None
        self.site = site
        self.plots_endpoint = plots_endpoint
        self.publish_endpoint = publish_endpoint
        self.plots_socket_type = plots_socket
        self.record_path = None if record_path is None else os.fspath(record_path)
        self.out_dir = None if out_dir is None else os.fspath(out_dir)
        self.metrics_port = metrics_port
        self.metrics_addr = metrics_addr
        self.curve_secret_key = curve_secret_key
        self.curve_authorized_dir = curve_authorized_dir
        self.queue_plots = queue_plots
        self.high_water_mark = high_water_mark
        self.warm_restart_s = None if warm_restart_s is None else float(warm_restart_s)
        self.stats_interval_s = float(stats_interval_s)
        self.drain_timeout_s = float(drain_timeout_s)
        self._context = context
        self._own_context = context is None

        self.engine = None
        self.plots_format = plots_format
        self.cat062 = None if cat062_sac is None else (site, int(cat062_sac), int(cat062_sic))
        self.gate = FrameGate(site.radar_ids) if plots_format == "native" else AsterixGate(site)
        self.queue = PlotQueue(queue_plots)
        self.latency = LatencyHistogram()
        self.update_latency = LatencyHistogram()    # live mode: receipt -> track update published
        self.alert_latency = LatencyHistogram()     # live mode: receipt -> alert event published
        # live mode: unit -> (receipt time, plots) of frames not yet in a published update
        # (frames held until the clock starts reach an update in a later step)
        self._live_frames = {}
        self._step_receipt = {}     # live mode: unit -> receipt time of the current step's frames
        self.plots_address = self.publish_address = None
        self.warm_restart = {"frames": 0, "plots": 0, "records_skipped": 0}
        self._log = RateLimitedLog(log)
        self._stop_input = threading.Event()
        self._stop_engine = threading.Event()
        self._threads = []
        self._started = self._stopped = False
        self._auth = self._metrics = None
        self._recorder = None
        self._publisher = None
        self._t_start = None
        # receiver-thread counters (written by the receiver only)
        self.frames_received = 0
        self.frames_shed = 0
        self.plots_shed = 0
        self.recording_error = None
        # engine-thread state: plain values written by the engine thread only
        self.plots_unprocessed = 0
        self.engine_error = None
        self.engine_stuck = False
        self._drain_deadline = math.inf
        self._heartbeat_wall = self._heartbeat_mono = self._last_step_wall = None
        # engine-thread state, published to other threads as whole snapshots
        self._engine_base = None
        self._engine_snapshot = {}
        self._logged_engine_rejects = {}
        self._final_stats = None

    # ------------------------------------------------------------- life cycle
    def start(self, cancel=None):
        """Compile, warm-restart if asked, bind, and start the threads; returns self.

        Parameters
        ----------
        cancel : threading.Event or None
            A stop request (a signal): checked between the stages of
            start-up and between the engine steps of a warm restart.

        Raises
        ------
        StartCancelled
            When ``cancel`` was set before the service went live (nothing is
            left bound or open).
        zmq.ZMQError
            When an endpoint cannot be bound.
        ValueError
            For unreadable key files or a recording that cannot be appended to.
        """
        if self._started:
            raise RuntimeError("the service was already started")
        self._started = True
        cancelled = _never if cancel is None else cancel.is_set
        self._stopped = True            # until live: stop() has nothing to stop
        # compiling and a warm restart hold no socket or output: a signal may end them at once
        with (cancel.raising(StartCancelled) if hasattr(cancel, "raising") else contextlib.nullcontext()):
            warm_up(self.site, cancelled)
            self.engine = Engine(self.site)
            if self.warm_restart_s is not None:
                self._warm_restart(cancelled)
        if cancelled():
            raise StartCancelled("before binding")
        self.engine.keep_updates = True     # (live mode: published per frame)
        if self.engine.live:
            self.engine.on_unit = self._publish_live    # (as soon as each frame is processed)
        self._stopped = False
        self._engine_base = self._engine_counters()
        self._engine_snapshot = self._engine_state()
        context = self._context = self._context or zmq.Context()
        receiver = publisher = None
        try:
            if self.record_path is not None:
                self._recorder = RecordingWriter(self.record_path, flush_interval_s=1.0)
            server_keys = None
            if self.curve_secret_key is not None:
                from zmq.auth.thread import ThreadAuthenticator

                server_keys = _load_curve_server(self.curve_secret_key)
                self._auth = ThreadAuthenticator(context, log=logging.getLogger("radarcore.service.serve.zap"))
                self._auth.start()
                self._auth.configure_curve(domain="*", location=os.fspath(self.curve_authorized_dir))
            receiver = context.socket(zmq.PULL if self.plots_socket_type == "pull" else zmq.SUB)
            receiver.setsockopt(zmq.LINGER, 0)
            receiver.setsockopt(zmq.RCVHWM, self.high_water_mark)
            if self.plots_socket_type == "sub":
                receiver.setsockopt(zmq.SUBSCRIBE, b"")
            publisher = context.socket(zmq.PUB)
            publisher.setsockopt(zmq.LINGER, PUBLISH_LINGER_MS)
            publisher.setsockopt(zmq.SNDHWM, self.high_water_mark)
            for sock in (receiver, publisher):
                if server_keys is not None:
                    sock.curve_publickey, sock.curve_secretkey = server_keys
                    sock.curve_server = True
            receiver.bind(self.plots_endpoint)
            publisher.bind(self.publish_endpoint)
            self.plots_address = receiver.getsockopt_string(zmq.LAST_ENDPOINT)
            self.publish_address = publisher.getsockopt_string(zmq.LAST_ENDPOINT)
            if self.cot_url is not None:
                from radarcore.service.cot import CotSender

                self._cot = CotSender(self.cot_url, self.site, stale_s=self.cot_stale_s).start()
            self._publisher = Publisher(publisher, self.out_dir, self.cat062, self._cot)
            if self.ack_endpoint is not None:
                from radarcore.service.ack import AckReceiver

                self._ack = AckReceiver(context, self.ack_endpoint, self.ack_token, server_keys)
                self._ack.start()
                self.ack_address = self._ack.address
            if self.metrics_port is not None:
                from radarcore.service.prometheus import start_metrics_server

                self._metrics = start_metrics_server(self.metrics_state, self.metrics_port, self.metrics_addr)
                self.metrics_port = self._metrics.port
        except BaseException:
            for sock in (receiver, publisher):
                if sock is not None:
                    sock.close(linger=0)
            self._release()
            raise
        self._t_start = time.monotonic()
        self._heartbeat_wall, self._heartbeat_mono = time.time(), self._t_start
        self._threads = [
            threading.Thread(target=self._receive_loop, args=(receiver,), name="radarcore-receiver",
                             daemon=True),
            threading.Thread(target=self._engine_loop, name="radarcore-engine", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def healthy(self):
        """Whether every thread of a started, not yet stopped service is running."""
        return self._started and not self._stopped and all(t.is_alive() for t in self._threads)

    def stop(self, drain_timeout_s=None):
        """Stop taking input, process what was accepted, flush and close everything.

        The engine drains the accepted plots for at most ``drain_timeout_s``
        (default: the service's); plots still queued then are dropped and
        counted in ``plots_unprocessed``.  The context and the outputs are
        closed only after the engine thread has ended; if it does not end
        within :data:`ENGINE_EXIT_GRACE_S` after the bound, ``engine_stuck``
        is set and they are left open.  Idempotent.  Returns the final
        summary (:meth:`summary`).
        """
        if not self._started or self._stopped:
            return self.summary()
        self._stopped = True
        drain_s = self.drain_timeout_s if drain_timeout_s is None else float(drain_timeout_s)
        t0 = time.monotonic()
        self._stop_input.set()
        if self._threads:
            self._threads[0].join(drain_s + ENGINE_EXIT_GRACE_S)
        self._drain_deadline = t0 + drain_s
        self._stop_engine.set()
        if len(self._threads) > 1:
            engine_thread = self._threads[1]
            engine_thread.join(max(self._drain_deadline - time.monotonic(), 0.0) + ENGINE_EXIT_GRACE_S)
            if engine_thread.is_alive():
                self.engine_stuck = True
                log.error("the engine thread did not end within %.0f s of the stop; its outputs are "
                          "left to the operating system (last engine pass %.1f s ago)",
                          drain_s + ENGINE_EXIT_GRACE_S, self.heartbeat_age_s())
        if self._threads and self._threads[0].is_alive():
            self.engine_stuck = True
            log.error("the receiver thread did not end")
        if self.engine_stuck:
            self._release(engine_running=True)
        else:
            self._release()
        summary = self.summary()
        if self.out_dir is not None:
            with open(os.path.join(self.out_dir, "summary.json"), "w") as f:
                json.dump(summary, f, indent=2, sort_keys=True)
        return summary

    def clean_stop(self):
        """Whether the service stopped with every accepted plot processed and every thread ended."""
        return (self._stopped and not self.engine_stuck and self.engine_error is None
                and self.plots_unprocessed == 0)

    def _release(self, engine_running=False):
        """Close what the threads left: metrics, recording, files, ZAP and the context.

        With ``engine_running`` (a thread that did not end) only the metrics
        endpoint is closed: the outputs and the context belong to the
        running thread, and terminating the context under it would block.
        """
        if self._ack is not None:
            self._ack.stop()
            self._ack = None
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        if engine_running:
            return
        if self._cot is not None:
            self._cot.close()
            self._cot = None
        if self._recorder is not None and not self._recorder.closed:
            self._recorder.close()
        if self._publisher is not None:
            self._publisher.close()
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._own_context and self._context is not None:
            self._context.term()
            self._context = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # ------------------------------------------------------------ warm restart
    def _warm_restart(self, cancelled=_never):
        """Replay the last ``warm_restart_s`` seconds of the recording, publishing nothing.

        Raises :class:`StartCancelled` as soon as ``cancelled()`` is true
        (checked every 1000 records and between engine steps).
        """
        path = self.record_path
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            log.info("warm restart: no recording at %s yet, starting cold", path)
            return
        _, last = recording_time_span(path)
        if math.isnan(last):
            log.info("warm restart: %s holds no whole record, starting cold", path)
            return
        since = last - self.warm_restart_s
        log.info("warm restart: replaying the last %g s of %s", self.warm_restart_s, path)
        batch, n_batch, skipped = [], 0, 0
        for k, (receive_time, frames) in enumerate(read_recording(path)):
            if k % 1000 == 0 and cancelled():
                raise StartCancelled("during the warm restart")
            if not receive_time >= since:
                skipped += 1
                continue
            frame = self.gate.decode(frames)
            if frame is not None and frame.plots.size:
                batch.append(frame.plots)
                n_batch += frame.plots.size
            if n_batch >= 4 * ENGINE_STEP_PLOTS:
                if cancelled():
                    raise StartCancelled("during the warm restart")
                self.engine.process(np.concatenate(batch), frame_sizes=[p.size for p in batch])
                self.engine.pop_alerts()
                batch, n_batch = [], 0
        if batch:
            self.engine.process(np.concatenate(batch), frame_sizes=[p.size for p in batch])
        self.engine.pop_alerts()
        self.warm_restart = {"frames": self.gate.frames_accepted, "plots": self.gate.plots_accepted,
                             "records_skipped": skipped}
        log.info("warm restart: replayed %d frames (%d plots) of the last %g s of %s; %d live tracks",
                 self.gate.frames_accepted, self.gate.plots_accepted, self.warm_restart_s, path,
                 self.engine.tracks.n_live)
        self.gate.reset_counters()

    # ---------------------------------------------------------------- receiver
    def _receive_loop(self, sock):
        gate, queue, recorder = self.gate, self.queue, self._recorder
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        recorded_at_flush = 0
        try:
            while not self._stop_input.is_set():
                if not poller.poll(100):
                    if recorder is not None and recorder.records_written != recorded_at_flush:
                        try:
                            if recorder.flush_if_due():
                                recorded_at_flush = recorder.records_written
                        except OSError as error:
                            recorder = self._recording_failed(error)
                    continue
                for _ in range(10_000):
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    t_received = time.perf_counter()
                    self.frames_received += 1
                    if not gate.screen(frames):         # a message no record can hold
                        self._log(*gate.last_error)
                        continue
                    if recorder is not None:
                        try:
                            recorder.write(time.time(), frames)
                        except RecordError as error:    # screened above; never fatal all the same
                            gate.reject(error.reason, str(error))
                            self._log(*gate.last_error)
                            continue
                        except OSError as error:
                            recorder = self._recording_failed(error)
                    frame = gate.decode(frames)
                    if frame is None:
                        self._log(*gate.last_error)
                        continue
                    n = frame.plots.size
                    if n == 0:
                        continue
                    if not queue.put((frame.plots, t_received), n):
                        self.frames_shed += 1
                        self.plots_shed += n
                        self._log("shed", f"queue full ({queue.depth_plots} of {queue.capacity_plots} "
                                          f"plots), dropped a frame of {n} plots from radar "
                                          f"{frame.radar_id}")
        finally:
            sock.close(linger=0)
            if self._recorder is not None:
                try:
                    self._recorder.close()
                except OSError as error:
                    self.recording_error = self.recording_error or str(error)
                    log.error("cannot close the recording %s: %s", self.record_path, error)

    def _recording_failed(self, error):
        """A full or failing disk ends the recording, never the service; returns None."""
        self.recording_error = str(error)
        log.error("recording to %s stopped: %s (the service goes on without it)", self.record_path, error)
        return None

    # ------------------------------------------------------------------ engine
    def _engine_loop(self):
        engine, publisher, queue = self.engine, self._publisher, self.queue
        interval = self.stats_interval_s
        next_stats = time.monotonic() + interval
        next_snapshot = 0.0
        next_drain_log = None
        interval_counts = self.latency.counts.copy()
        try:
            while True:
                now = time.monotonic()
                self._heartbeat_wall, self._heartbeat_mono = time.time(), now
                draining = self._stop_engine.is_set()
                if draining:
                    if now >= self._drain_deadline:
                        frames_left, plots_left = queue.drop_all()
                        if plots_left:
                            self.plots_unprocessed += plots_left
                            log.error("stop: draining ran out of time; dropped %d accepted plots "
                                      "(%d frames) still queued", plots_left, frames_left)
                        break
                    if next_drain_log is None or now >= next_drain_log:
                        log.info("stop: draining, %d accepted plots left to process",
                                 queue.depth_plots)
                        next_drain_log = now + DRAIN_LOG_INTERVAL_S
                items = queue.get_all(0.0 if draining else min(0.1, max(next_stats - now, 0.0)),
                                      ENGINE_STEP_PLOTS, 0.0 if draining else ENGINE_GATHER_S,
                                      ENGINE_GATHER_PLOTS)
                if items:
                    plots = (items[0][0] if len(items) == 1
                             else np.concatenate([plots for plots, _ in items]))
                    sizes = [p.size for p, _ in items]
                    if engine.live:
                        self._expect_units(items, sizes)
                    try:
                        rows = engine.process(plots, frame_sizes=sizes)
                    except Exception:
                        self.plots_unprocessed += plots.size
                        raise
                    self._last_step_wall = time.time()
                    if engine.live:
                        self._publish_live()        # (what the frames' own calls left)
                        publisher.tracks(rows)
                    else:
                        publisher.tracks(rows)
                        publisher.alerts(engine.pop_alerts())
                    t_done = time.perf_counter()
                    self.latency.add([t_done - t for _, t in items], sizes)
                elif draining:
                    break
                if self._ack is not None:
                    publisher.acknowledge(self._ack.take())
                now = time.monotonic()
                if now >= next_snapshot:
                    self._engine_snapshot = self._engine_state()
                    next_snapshot = now + 0.1
                if now >= next_stats:
                    stats = self.stats(interval_counts=interval_counts)
                    interval_counts = self.latency.counts.copy()
                    publisher.stats(stats)
                    publisher.flush()
                    self._log_engine_rejects(stats["plots_rejected"])
                    next_stats = max(next_stats + interval, now)
            if next_drain_log is not None:
                log.info("stop: drained; flushing the engine")
            publisher.tracks(engine.flush())
            for _, update in engine.pop_updates():
                publisher.track_update(update)
            publisher.alerts(engine.pop_alerts())
        except Exception as error:
            # a fault of the engine or an output: what is still queued is lost; say so
            self.engine_error = f"{type(error).__name__}: {error}"
            log.exception("the engine thread failed")
            self.plots_unprocessed += queue.drop_all()[1]
        finally:
            try:
                self._heartbeat_wall, self._heartbeat_mono = time.time(), time.monotonic()
                self._engine_snapshot = self._engine_state()
                stats = self.stats(interval_counts=interval_counts)
                stats["final"] = True
                self._final_stats = stats
                publisher.stats(stats)
                publisher.flush()
            finally:
                publisher.close()
                publisher.socket.close()      # with PUBLISH_LINGER_MS, so the last messages leave

    def _expect_units(self, items, sizes):
        """Before an engine step (live mode): the receipt time and plots of each of its frames,
        by the unit number the engine gives it (see ``Engine.pop_updates``)."""
        first_unit = self.engine.next_unit
        pending = self._live_frames
        for k, item in enumerate(items):
            pending[first_unit + k] = (item[1], sizes[k])
        self._step_receipt = {first_unit + k: item[1] for k, item in enumerate(items)}
        # frames that made no update (every plot rejected or late) are forgotten
        # after LIVE_FRAMES_KEPT newer units
        if len(pending) > LIVE_FRAMES_KEPT:
            oldest = first_unit + len(items) - LIVE_FRAMES_KEPT
            for u in [u for u in pending if u < oldest]:
                del pending[u]

    def _publish_live(self):
        """Publish the alert events, then the track updates the engine has made since the last
        call (live mode), timing both: called after each frame's processing
        (``Engine.on_unit``) and at the end of a step.

        A frame's plots can make more than one update, and the first frames,
        held until the clock starts, make theirs in a later step: a frame
        counts once, at its first published update; an alert event counts
        from the receipt of the frame that caused it, when that frame is one
        of the current step's.
        """
        engine, publisher = self.engine, self._publisher
        events, units = engine.pop_alerts(with_units=True)
        updates = engine.pop_updates()
        if not events and not updates:
            return
        pending = self._live_frames
        if events:
            publisher.alerts(events)
            t_alerts = time.perf_counter()
            caused = [self._step_receipt[u] for u in units if u in self._step_receipt]
            if caused:
                self.alert_latency.add([t_alerts - t for t in caused], np.ones(len(caused), np.int64))
        published = {}
        for unit, rows in updates:
            publisher.track_update(rows)
            if unit in pending:
                published[unit] = time.perf_counter()
        if published:
            units = list(published)
            self.update_latency.add([published[u] - pending[u][0] for u in units],
                                    [pending[u][1] for u in units])
            for u in units:
                del pending[u]

    def _engine_counters(self):
        stats = self.engine.stats
        return {"plots_received": stats.plots_received, "plots_accepted": stats.plots_accepted,
                "rejected": dict(stats.rejected)}

    def _engine_state(self):
        """A snapshot of the engine's figures, taken by the thread that owns the engine."""
        counters = self._engine_counters()
        base = self._engine_base
        rejected = {reason: counters["rejected"].get(reason, 0) - base["rejected"].get(reason, 0)
                    for reason in PLOT_REJECT_REASONS if reason not in ("shed", "unprocessed")}
        publisher = self._publisher
        return {
            "plots_processed": counters["plots_received"] - base["plots_received"],
            "plots_accepted": counters["plots_accepted"] - base["plots_accepted"],
            "plots_rejected": rejected,
            "tracks_live": int(self.engine.tracks.n_live),
            "alerts": dict(publisher.alert_events) if publisher else dict.fromkeys(ALERT_EVENTS, 0),
            "epochs_published": publisher.epochs_published if publisher else 0,
            "messages_sent": publisher.messages_sent if publisher else 0,
            "messages_dropped": publisher.messages_dropped if publisher else 0,
            "latency_counts": self.latency.counts.copy(),
            "latency_buckets": self.latency.bucket_counts.copy(),
            "latency_sum_s": self.latency.sum_s,
            "latency_total": self.latency.total,
            "updates_published": publisher.updates_published if publisher else 0,
            "update_latency": self.update_latency.snapshot(),
            "alert_latency": self.alert_latency.snapshot(),
        }

    def _log_engine_rejects(self, rejected):
        for reason, n in rejected.items():
            before = self._logged_engine_rejects.get(reason, 0)
            if n > before and reason != "shed":
                self._log(reason, f"{n - before} plots since the last report ({n} in all)")
            self._logged_engine_rejects[reason] = n

    # ------------------------------------------------------------------- stats
    def stats(self, interval_counts=None):
        """The service counters (the ``stats`` message), from any thread.

        Frames: ``frames_received`` = ``frames_accepted`` + the sum of
        ``frames_rejected`` (by :data:`FRAME_REJECT_REASONS`); accepted
        frames that did not fit the queue are ``frames_shed``.  Plots:
        ``plots_received`` are the plots of accepted frames;
        ``plots_rejected`` counts plots by :data:`PLOT_REJECT_REASONS`
        (``late`` is also ``plots_late``, ``shed`` also ``plots_shed``,
        ``unprocessed`` also ``plots_unprocessed``).  Health:
        ``engine_heartbeat_time`` (epoch seconds of the engine thread's last
        loop pass), ``engine_heartbeat_age_s`` (seconds since, when this
        was computed), ``engine_last_step_time`` (epoch seconds of the last
        step that processed plots; None before the first) and
        ``engine_error`` (None, or why the engine thread failed).
        Latency quantiles are in milliseconds, over the whole run
        (``latency_ms``) and over the last stats interval
        (``latency_interval_ms``).
        """
        gate = self.gate
        engine_state = self._engine_snapshot
        plots_rejected = dict(engine_state.get("plots_rejected", {}))
        plots_rejected["shed"] = self.plots_shed
        plots_rejected["unprocessed"] = self.plots_unprocessed
        counts = engine_state.get("latency_counts")
        stats = {
            "time": time.time(),
            "uptime_s": 0.0 if self._t_start is None else time.monotonic() - self._t_start,
            "frames_received": self.frames_received,
            "frames_accepted": gate.frames_accepted,
            "frames_rejected": dict(gate.frames_rejected),
            "asterix_records_rejected": dict(getattr(gate, "records_rejected", {})),
            "frames_shed": self.frames_shed,
            "seq_resyncs": gate.seq_resyncs,
            "plots_received": gate.plots_accepted,
            "plots_processed": engine_state.get("plots_processed", 0),
            "plots_accepted": engine_state.get("plots_accepted", 0),
            "plots_rejected": plots_rejected,
            "plots_late": plots_rejected.get("late", 0),
            "plots_shed": self.plots_shed,
            "tracks_live": engine_state.get("tracks_live", 0),
            "alerts": engine_state.get("alerts", dict.fromkeys(ALERT_EVENTS, 0)),
            "queue_depth_plots": self.queue.depth_plots,
            "queue_capacity_plots": self.queue.capacity_plots,
            "epochs_published": engine_state.get("epochs_published", 0),
            "messages_sent": engine_state.get("messages_sent", 0),
            "messages_dropped": engine_state.get("messages_dropped", 0),
            "plots_unprocessed": self.plots_unprocessed,
            "latency_ms": self._quantiles_ms(counts),
            "updates_published": engine_state.get("updates_published", 0),
            "update_latency_ms": self._live_quantiles_ms(engine_state.get("update_latency")),
            "alert_latency_ms": self._live_quantiles_ms(engine_state.get("alert_latency")),
            "warm_restart": dict(self.warm_restart),
            "engine_heartbeat_time": self._heartbeat_wall,
            "engine_heartbeat_age_s": self.heartbeat_age_s(),
            "engine_last_step_time": self._last_step_wall,
            "engine_error": self.engine_error,
        }
        if interval_counts is not None and counts is not None:
            stats["latency_interval_ms"] = self._quantiles_ms(counts - interval_counts)
        if self._recorder is not None:
            stats["recording"] = {"path": self.record_path, "records": self._recorder.records_written,
                                  "bytes": self._recorder.bytes_written, "error": self.recording_error}
        return stats

    def heartbeat_age_s(self):
        """Seconds since the engine thread's last loop pass (0 before it starts)."""
        last = self._heartbeat_mono
        return 0.0 if last is None else max(time.monotonic() - last, 0.0)

    def _quantiles_ms(self, counts):
        if counts is None:
            return {"p50": None, "p90": None, "p99": None, "plots": 0}
        out = {}
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            value = self.latency.quantile(q, counts)
            out[name] = None if math.isnan(value) else value * 1e3
        out["plots"] = int(counts.sum())
        return out

    def _live_quantiles_ms(self, snapshot):
        """p50/p90/p99 (ms) and the count of a live-latency snapshot (``LatencyHistogram.snapshot``)."""
        counts = None if snapshot is None else snapshot["counts"]
        return self._quantiles_ms(counts)

    def metrics_state(self):
        """What the Prometheus collector reads: :meth:`stats` plus the latency histogram."""
        stats = self.stats()
        state = self._engine_snapshot
        stats["latency_buckets"] = state.get("latency_buckets")
        stats["latency_sum_s"] = state.get("latency_sum_s", 0.0)
        stats["latency_total"] = state.get("latency_total", 0)
        stats["update_latency"] = state.get("update_latency")
        stats["alert_latency"] = state.get("alert_latency")
        return stats

    def summary(self):
        """The final counters (after :meth:`stop`) or the current ones, with the engine's summary."""
        summary = dict(self._final_stats) if self._final_stats is not None else self.stats()
        if self.engine is not None and not any(t.is_alive() for t in self._threads):
            summary["engine"] = self.engine.summary()
        summary["final"] = self._final_stats is not None
        summary["engine_stuck"] = self.engine_stuck
        return summary


# --------------------------------------------------------------------------
# command line

def add_parser(subparsers):
    """Add the ``serve`` command to an ``argparse`` sub-parser set."""
    p = subparsers.add_parser(
        "serve", help="run the live service: plots in, tracks and alerts out over ZeroMQ",
        description="Receive plot frames over ZeroMQ, fuse them, publish tracks, alerts and stats. "
                    "Endpoints and the other options may also come from the [service] table of "
                    "site.toml; options given here win.  Stops cleanly on SIGINT or SIGTERM.")
    p.add_argument("--site", required=True, help="site.toml")
    p.add_argument("--plots", metavar="ENDPOINT", help="endpoint to bind for plots "
                   "(e.g. tcp://*:5555; tcp://127.0.0.1:* picks a free port)")
    p.add_argument("--publish", metavar="ENDPOINT", help="endpoint to bind for tracks, alerts, stats")
    p.add_argument("--plots-socket", choices=("pull", "sub"), default=None,
                   help="PULL (radars PUSH; the default) or SUB (radars PUB)")
    p.add_argument("--plots-format", choices=("native", "asterix"), default="native",
                   help="plot frames: the native frames of ingest.codec (default) or raw ASTERIX "
                        "CAT048/CAT034 datagrams (radars found by sac/sic in site.toml)")
    p.add_argument("--cat062-sac", type=int, default=None, metavar="N",
                   help="also publish each epoch as ASTERIX CAT062 on topic cat062, with this SAC")
    p.add_argument("--cat062-sic", type=int, default=None, metavar="N", help="... and this SIC")
    p.add_argument("--record", metavar="FILE", help="append every received frame to this recording")
    p.add_argument("--out", metavar="DIR", help="also write tracks.csv, alerts.jsonl, summary.json here")
    p.add_argument("--metrics-port", type=int, default=None, metavar="N",
                   help="serve Prometheus /metrics on this port (0: off)")
    p.add_argument("--metrics-addr", default="127.0.0.1", metavar="ADDR",
                   help="address of the metrics endpoint (default 127.0.0.1)")
    p.add_argument("--curve-secret", metavar="FILE", help="the server's secret key file (CurveZMQ)")
    p.add_argument("--curve-authorized", metavar="DIR",
                   help="directory of the authorised clients' public key files")
    p.add_argument("--warm-restart-s", type=float, default=None, metavar="S",
                   help="replay the last S seconds of the recording before going live")
    p.add_argument("--stats-interval", type=float, default=1.0, metavar="S",
                   help="seconds between stats messages (default 1)")
    p.add_argument("--drain-timeout", type=float, default=DEFAULT_DRAIN_TIMEOUT_S, metavar="S",
                   help="on SIGINT/SIGTERM, process the accepted plots for at most S seconds; drop "
                        f"and count what is left, and exit 1 (default {DEFAULT_DRAIN_TIMEOUT_S:g})")
    p.add_argument("--ack", metavar="ENDPOINT",
                   help="bind this endpoint for alert acknowledgements from radarcore console "
                        "(e.g. tcp://127.0.0.1:5557)")
    p.add_argument("--ack-token-file", metavar="FILE",
                   help="acknowledgements must carry the token on this file's first line")
    p.add_argument("--cot", metavar="URL",
                   help="also send tracks and alerts as Cursor on Target to udp://HOST:PORT "
                        "(e.g. the multicast udp://239.2.3.1:6969) or tcp://HOST:PORT")
    p.add_argument("--cot-stale", type=float, default=15.0, metavar="S",
                   help="CoT stale time of a track, seconds after it is sent (default 15)")
    p.set_defaults(func=run)
    return p


def service_from_args(args, site):
    """A :class:`Service` from command-line options over the site's ``[service]`` table."""
    config = site.service
    base = os.path.dirname(os.path.abspath(site.source)) if os.path.exists(site.source) else os.getcwd()

    def from_site(path):
        # relative paths in site.toml are relative to the file's directory
        return None if path is None else os.path.join(base, path)

    metrics_port = args.metrics_port if args.metrics_port is not None else config.metrics_port
    for option, key, value in (("--plots", "plots_endpoint", args.plots or config.plots_endpoint),
                               ("--publish", "publish_endpoint", args.publish or config.publish_endpoint)):
        if value is None:
            raise ValueError(f"no {key}: give {option} ENDPOINT or set {key} in the [service] "
                             f"table of {site.source}")
    return Service(
        site,
        args.plots or config.plots_endpoint,
        args.publish or config.publish_endpoint,
        plots_socket=args.plots_socket or config.plots_socket,
        record_path=args.record or from_site(config.record),
        out_dir=args.out,
        metrics_port=metrics_port or None,
        metrics_addr=args.metrics_addr,
        curve_secret_key=args.curve_secret or from_site(config.curve_secret_key),
        curve_authorized_dir=args.curve_authorized or from_site(config.curve_authorized_dir),
        queue_plots=config.queue_plots,
        high_water_mark=config.high_water_mark,
        warm_restart_s=args.warm_restart_s,
        stats_interval_s=args.stats_interval,
        plots_format=args.plots_format,
        cat062_sac=args.cat062_sac,
        cat062_sic=args.cat062_sic,
        drain_timeout_s=args.drain_timeout,
        ack_endpoint=args.ack,
        ack_token=_ack_token(args.ack_token_file),
        cot_url=args.cot,
        cot_stale_s=args.cot_stale,
    )


def _ack_token(path):
    if path is None:
        return None
    from radarcore.service.console import read_token

    try:
        return read_token(path)
    except OSError as e:
        raise ValueError(f"--ack-token-file: {e}") from None


def format_summary(summary):
    """Lines for the terminal at the end of a run."""
    frames_rejected = ", ".join(f"{k} {v}" for k, v in summary["frames_rejected"].items() if v) or "none"
    plots_rejected = ", ".join(f"{k} {v}" for k, v in summary["plots_rejected"].items() if v) or "none"
    latency = summary["latency_ms"]
    lat = ("-" if latency["p50"] is None
           else f"p50 {latency['p50']:.2f} ms, p90 {latency['p90']:.2f} ms, p99 {latency['p99']:.2f} ms")
    return "\n".join([
        f"frames received   {summary['frames_received']:,}",
        f"frames rejected   {frames_rejected}",
        f"plots received    {summary['plots_received']:,}",
        f"plots rejected    {plots_rejected}",
        f"plots unprocessed {summary.get('plots_unprocessed', 0):,}",
        f"epochs published  {summary['epochs_published']:,}",
        "alerts            " + ", ".join(f"{n} {k}" for k, n in summary["alerts"].items()),
        f"latency           {lat}",
    ])


#: Seconds without an engine pass after which the main thread warns (once per episode).
STALL_WARNING_S = 30.0


def run(args):
    """Run ``radarcore serve`` until SIGINT or SIGTERM; return the exit status.

    0: stopped on a signal with every accepted plot processed; 1: a service
    thread failed or did not end, or accepted plots were dropped at stop
    (``plots_unprocessed``); 2: bad options, configuration or endpoints.
    A signal during start-up ends it (0, nothing was accepted).
    """
    from radarcore.core.config import ConfigError, load_site

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with stop_on_signals() as stop:
        try:
            site = load_site(args.site)
        except ConfigError as e:
            print(f"radarcore serve: {e}", file=sys.stderr)
            return 2
        try:
            service = service_from_args(args, site)
        except ValueError as e:
            print(f"radarcore serve: {e}", file=sys.stderr)
            return 2
        try:
            service.start(cancel=stop)
        except StartCancelled as e:
            log.info("start-up ended: %s", e)
            print(f"radarcore serve: stopped by {stop.last or 'a signal'} during start-up, before going live",
                  file=sys.stderr)
            return 0
        except (zmq.ZMQError, ValueError, OSError) as e:
            print(f"radarcore serve: {e}", file=sys.stderr)
            return 2
        print(f"radarcore serve: plots on {service.plots_address}, publishing on {service.publish_address}"
              + (f", acknowledgements on {service.ack_address}" if service.ack_address else "")
              + (f", metrics on http://{service.metrics_addr}:{service.metrics_port}/metrics"
                 if service.metrics_port else ""), flush=True)
        stalled = False
        while not stop.wait(0.2):
            if not service.healthy():
                break
            age = service.heartbeat_age_s()
            if age > STALL_WARNING_S and not stalled:
                log.error("the engine thread has not passed its loop for %.0f s", age)
            stalled = age > STALL_WARNING_S
        healthy = service.healthy()
        if stop.is_set():
            log.info("%s: stopping (draining at most %g s)", stop.last, service.drain_timeout_s)
        summary = service.stop()
    print(format_summary(summary), flush=True)
    if not healthy:
        print("radarcore serve: a service thread stopped unexpectedly"
              + (f" ({service.engine_error})" if service.engine_error else ""), file=sys.stderr)
        return 1
    if not service.clean_stop():
        print(f"radarcore serve: {service.plots_unprocessed:,} accepted plots were not processed"
              + ("; the engine thread did not end" if service.engine_stuck else ""), file=sys.stderr)
        return 1
    return 0
