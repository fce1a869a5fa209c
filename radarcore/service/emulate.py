"""``radarcore emulate``: stream a scenario's plots to a service as radars would.

The plots of ``SCENARIO_DIR/plots.csv`` are cut into bursts, per radar: a
radar's consecutive plots (in file order) belong to one burst while each is
within ``burst_gap_s`` of data time of the one before, the burst holds fewer
than ``max_burst`` plots and (optionally) spans at most ``max_span_s`` of
data time from its first plot (a sector).  Each burst is one plot frame
(:mod:`ingest.codec`) with the radar's next sequence number.  A burst is
sent when the data time of its last plot comes (the radar has measured it),
in that order, paced at real time, ``speed`` times real time, or as fast as
the socket takes them.
"""
import argparse
import dataclasses
import os
import sys
import threading
import time

import numpy as np
import zmq

from ingest.codec import encode_plots
from radarcore.service.signals import stop_on_signals

DEFAULT_BURST_GAP_S = 0.1
DEFAULT_MAX_BURST = 1000


@dataclasses.dataclass
class Burst:
    """One frame to send: a radar's consecutive plots."""

    send_time_s: float
    radar_id: int
    index: np.ndarray          # rows of the plot array, shape (n,)


def plan_bursts(plots, burst_gap_s=DEFAULT_BURST_GAP_S, max_burst=DEFAULT_MAX_BURST, max_span_s=None):
    """Cut plots into per-radar bursts, ordered by send time.

    Parameters
    ----------
    plots : ndarray of PLOT_DTYPE, shape (n_plots,)
        In file order.
    burst_gap_s : float
        Largest data-time step between consecutive plots of one burst (>= 0).
    max_burst : int
        Most plots of one burst (>= 1).
    max_span_s : float or None
        Largest data time from the first to the last plot of a burst (>= 0);
        None: no limit.

    Returns
    -------
    list of Burst
        Sorted by ``send_time_s`` (the data time of the burst's last plot),
        then by the file position of its first plot.  Every plot is in
        exactly one burst; within a burst plots keep their file order.
    """
    if not burst_gap_s >= 0:
        raise ValueError(f"burst_gap_s must be >= 0, got {burst_gap_s!r}")
    if isinstance(max_burst, bool) or not isinstance(max_burst, (int, np.integer)) or max_burst < 1:
        raise ValueError(f"max_burst must be an integer >= 1, got {max_burst!r}")
    if max_span_s is not None and not max_span_s >= 0:
        raise ValueError(f"max_span_s must be >= 0 or None, got {max_span_s!r}")
    bursts = []
    radar_ids = plots["radar_id"]
    for radar_id in np.unique(radar_ids).tolist():
        index = np.flatnonzero(radar_ids == radar_id)
        t = plots["time_s"][index]
        with np.errstate(invalid="ignore"):
            gap = ~(np.abs(np.diff(t)) <= burst_gap_s)     # a NaN time also cuts
        starts = np.concatenate(([0], np.flatnonzero(gap) + 1, [index.size]))
        for lo, hi in zip(starts[:-1].tolist(), starts[1:].tolist()):
            a = lo
            while a < hi:
                b = min(a + max_burst, hi)
                if max_span_s is not None and np.isfinite(t[a]):
                    # times inside a gap group are within burst_gap_s steps but may go back
                    within = np.flatnonzero(~(np.abs(t[a:b] - t[a]) <= max_span_s))
                    if within.size:
                        b = a + int(within[0])
                part = index[a:b]
                a = b
                times = plots["time_s"][part]
                times = times[np.isfinite(times)]
                send = float(times.max()) if times.size else -np.inf    # no usable time: send first
                bursts.append(Burst(send, int(radar_id), part))
    bursts.sort(key=lambda b: (b.send_time_s, int(b.index[0])))
    return bursts


@dataclasses.dataclass
class EmulateResult:
    frames_sent: int
    plots_sent: int
    radars: int
    wall_s: float


def emulate(plots, endpoint, speed=None, *, burst_gap_s=DEFAULT_BURST_GAP_S, max_burst=DEFAULT_MAX_BURST,
            max_span_s=None, socket_type="push", first_seq=0, timeout_s=30.0, curve=None, context=None,
            stop_event=None, clock=time.perf_counter):
    """Send plots as per-radar burst frames to ``endpoint`` (connect).

    Parameters
    ----------
    plots : ndarray of PLOT_DTYPE
    endpoint : str
        The service's plot endpoint.
    speed : float or None
        Data seconds per wall second (1.0: real time); None: as fast as possible.
    socket_type : {"push", "pub"}
        PUSH (to a PULL service) or PUB (to a SUB service).
    first_seq : int
        Sequence number of each radar's first frame.
    timeout_s : float
        Give up when the socket takes no frame for this long (no receiver),
        and the longest wait for queued frames to leave at the end.
    curve : (str, str) or None
        (own secret key file, server public key file) for CurveZMQ.
    stop_event : threading.Event or None
        Stop early when set.  Pacing waits with ``stop_event.wait(seconds)``.
    clock : callable
        Seconds (monotonic) that pacing follows: a burst goes when
        ``clock()`` has reached its due time, ``t0 + (send_time_s - first
        send_time_s) / speed``.

    Returns
    -------
    EmulateResult

    Raises
    ------
    TimeoutError
        When no frame could be sent for ``timeout_s``.
    """
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be positive or None (as fast as possible), got {speed!r}")
    bursts = plan_bursts(plots, burst_gap_s, max_burst, max_span_s)
    frames = []
    seq = {}
    for burst in bursts:
        n = seq.get(burst.radar_id, first_seq)
        seq[burst.radar_id] = n + 1
        frames.append(encode_plots(burst.radar_id, n, plots[burst.index]))
    own_context = context is None
    context = context or zmq.Context()
    sock = context.socket(zmq.PUSH if socket_type == "push" else zmq.PUB)
    sock.setsockopt(zmq.SNDTIMEO, int(timeout_s * 1000))
    sock.setsockopt(zmq.LINGER, int(timeout_s * 1000))     # frames queued at the end still leave
    stop_event = stop_event or threading.Event()
    sent = plots_sent = 0
    try:
        if curve is not None:
            from radarcore.service.keys import apply_client_keys

            apply_client_keys(sock, *curve)
        sock.connect(endpoint)
        t0 = clock()
        t0_data = next((b.send_time_s for b in bursts if np.isfinite(b.send_time_s)), 0.0)
        for burst, message in zip(bursts, frames):
            if stop_event.is_set():
                break
            if speed is not None and np.isfinite(burst.send_time_s):
                due = t0 + (burst.send_time_s - t0_data) / speed
                wait = due - clock()
                if wait > 0 and stop_event.wait(wait):
                    break
            try:
                sock.send_multipart(message)
            except zmq.Again:
                raise TimeoutError(f"no receiver took a frame on {endpoint} for {timeout_s:g} s") from None
            sent += 1
            plots_sent += burst.index.size
        wall = clock() - t0
    finally:
        sock.close()
        if own_context:
            context.term()
    return EmulateResult(sent, plots_sent, len(seq), wall)


def _speed(text):
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'max', got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number or 'max', got {text!r}")
    return value


def add_parser(subparsers):
    """Add the ``emulate`` command to an ``argparse`` sub-parser set."""
    from radarcore.service.keys import add_client_key_arguments

    p = subparsers.add_parser(
        "emulate", help="stream a scenario's plots to a service as radars would",
        description="Read SCENARIO_DIR/plots.csv, cut it into per-radar bursts and send each as a "
                    "plot frame with the radar's next sequence number, at real time, X times real "
                    "time, or as fast as possible.")
    p.add_argument("scenario", metavar="SCENARIO_DIR", help="directory with plots.csv")
    p.add_argument("--connect", required=True, metavar="ENDPOINT", help="the service's plot endpoint")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X|max",
                   help="data seconds per wall second, or max (default 1: real time)")
    p.add_argument("--socket", choices=("push", "pub"), default="push",
                   help="PUSH (the default, to a PULL service) or PUB (to a SUB service)")
    p.add_argument("--burst-gap", type=float, default=DEFAULT_BURST_GAP_S, metavar="S",
                   help=f"largest time step inside a burst (default {DEFAULT_BURST_GAP_S})")
    p.add_argument("--max-burst", type=int, default=DEFAULT_MAX_BURST, metavar="N",
                   help=f"most plots per frame (default {DEFAULT_MAX_BURST})")
    p.add_argument("--max-span", type=float, default=None, metavar="S",
                   help="most data time from the first to the last plot of a frame (default: no limit)")
    p.add_argument("--first-seq", type=int, default=0, metavar="N",
                   help="sequence number of each radar's first frame (default 0)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="give up when no frame can be sent for S seconds (default 30)")
    add_client_key_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args):
    """Run ``radarcore emulate``; return the exit status."""
    from ingest.csvio import read_plots_csv
    from radarcore.service.keys import KeyFileError, client_keys_from_args

    path = os.path.join(args.scenario, "plots.csv") if os.path.isdir(args.scenario) else args.scenario
    if not os.path.isfile(path):
        print(f"radarcore emulate: {path}: no such file", file=sys.stderr)
        return 2
    if (args.max_burst < 1 or not args.burst_gap >= 0 or args.first_seq < 0 or not args.timeout > 0
            or (args.max_span is not None and not args.max_span >= 0)):
        print("radarcore emulate: --max-burst must be >= 1, --burst-gap, --max-span and --first-seq "
              ">= 0, --timeout > 0", file=sys.stderr)
        return 2
    try:
        curve = client_keys_from_args(args, "emulate")
        plots = read_plots_csv(path).plots
    except (KeyFileError, ValueError) as e:
        print(f"radarcore emulate: {e}", file=sys.stderr)
        return 2
    with stop_on_signals() as stop:
        try:
            result = emulate(plots, args.connect, args.speed, burst_gap_s=args.burst_gap,
                             max_burst=args.max_burst, max_span_s=args.max_span, socket_type=args.socket,
                             first_seq=args.first_seq,
                             timeout_s=args.timeout, curve=curve, stop_event=stop)
        except TimeoutError as e:
            print(f"radarcore emulate: {e}", file=sys.stderr)
            return 1
        except zmq.ZMQError as e:
            print(f"radarcore emulate: {args.connect}: {e}", file=sys.stderr)
            return 2
    rate = result.plots_sent / result.wall_s if result.wall_s > 0 else 0.0
    print(f"sent {result.frames_sent} frames, {result.plots_sent} plots from {result.radars} radar(s) "
          f"in {result.wall_s:.2f} s ({rate:,.0f} plots/s)", flush=True)
    return 0
