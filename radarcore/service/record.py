"""``radarcore record``: write a plot stream to a recording, frame by frame.

Every message received on a PULL (or SUB) socket is written, whole and
undecoded, with its receive time (``time.time()``) to a recording
(:mod:`ingest.recording`), flushed at least once a second, until SIGINT or
SIGTERM.  ``radarcore replay FILE.rcrec`` replays it.

The socket connects to ``--connect ENDPOINT`` (a radar or emulator that
binds) or binds ``--bind ENDPOINT`` (radars connect to it).  CurveZMQ is
available when connecting: ``--curve-secret`` (this recorder's secret key
file) and ``--curve-server-key`` (the sender's public key file).
"""
import dataclasses
import logging
import sys
import time

import zmq

from ingest.gate import RateLimitedLog
from ingest.recording import RecordError, RecordingWriter
from radarcore.service.signals import stop_on_signals

log = logging.getLogger("radarcore.service.record")


@dataclasses.dataclass
class RecordResult:
    frames: int
    bytes: int
    address: str
    refused: int = 0          # messages a recording cannot hold (too many parts, too large)


def record(endpoint, out_path, *, bind=False, socket_type="pull", stop_event, curve=None,
           flush_interval_s=1.0, high_water_mark=100_000, context=None, on_ready=None):
    """Record every message received on ``endpoint`` until ``stop_event`` is set.

    Parameters
    ----------
    endpoint : str
    out_path : str
        Recording to create or append to.
    bind : bool
        Bind ``endpoint`` instead of connecting to it.
    socket_type : {"pull", "sub"}
    stop_event : threading.Event
    curve : (str, str) or None
        (own secret key file, server public key file); connecting only.
    flush_interval_s : float
        Longest time between flushes of the recording, also when idle.
    on_ready : callable or None
        Called with the socket's address once it is bound or connected.

    Returns
    -------
    RecordResult
    """
    if socket_type not in ("pull", "sub"):
        raise ValueError(f'socket_type must be "pull" or "sub", got {socket_type!r}')
    if bind and curve is not None:
        raise ValueError("CurveZMQ keys are for a recorder that connects (a client)")
    own_context = context is None
    context = context or zmq.Context()
    sock = context.socket(zmq.PULL if socket_type == "pull" else zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, high_water_mark)
    if socket_type == "sub":
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    try:
        with RecordingWriter(out_path, flush_interval_s=flush_interval_s) as writer:
            if curve is not None:
                from radarcore.service.keys import apply_client_keys

                apply_client_keys(sock, *curve)
            if bind:
                sock.bind(endpoint)
            else:
                sock.connect(endpoint)
            address = sock.getsockopt_string(zmq.LAST_ENDPOINT)
            if on_ready is not None:
                on_ready(address)
            poller = zmq.Poller()
            poller.register(sock, zmq.POLLIN)
            flushed_records = 0
            refused = 0
            limited_log = RateLimitedLog(log)
            while not stop_event.is_set():
                if not poller.poll(100):
                    # idle: what was written still reaches the disk within flush_interval_s
                    if writer.records_written != flushed_records and writer.flush_if_due():
                        flushed_records = writer.records_written
                    continue
                for _ in range(10_000):
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        writer.write(time.time(), frames)
                    except RecordError as error:        # never stops the recorder
                        refused += 1
                        limited_log(error.reason, str(error))
            frames_written, bytes_written = writer.records_written, writer.bytes_written
    finally:
        sock.close(linger=0)
        if own_context:
            context.term()
    return RecordResult(frames_written, bytes_written, address, refused)


def add_parser(subparsers):
    """Add the ``record`` command to an ``argparse`` sub-parser set."""
    from radarcore.service.keys import add_client_key_arguments

    p = subparsers.add_parser(
        "record", help="write a plot stream to a recording",
        description="Write every message received on a PULL or SUB socket, with its receive time, "
                    "to a recording (flushed at least once a second) until SIGINT or SIGTERM.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--connect", metavar="ENDPOINT", help="connect to a sender that binds")
    where.add_argument("--bind", metavar="ENDPOINT", help="bind, for senders that connect")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="recording (.rcrec), appended to if it exists")
    p.add_argument("--socket", choices=("pull", "sub"), default="pull",
                   help="PULL (senders PUSH; the default) or SUB (senders PUB)")
    add_client_key_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args):
    """Run ``radarcore record``; return the exit status."""
    from radarcore.service.keys import KeyFileError, client_keys_from_args

    try:
        curve = client_keys_from_args(args, "record")
    except KeyFileError as e:
        print(f"radarcore record: {e}", file=sys.stderr)
        return 2
    if curve is not None and args.bind:
        print("radarcore record: --curve-secret and --curve-server-key are for --connect",
              file=sys.stderr)
        return 2
    with stop_on_signals() as stop:
        try:
            result = record(args.bind or args.connect, args.out, bind=args.bind is not None,
                            socket_type=args.socket, stop_event=stop, curve=curve,
                            on_ready=lambda address: print(f"radarcore record: receiving on {address}, "
                                                           f"writing {args.out}", flush=True))
        except (ValueError, OSError) as e:
            print(f"radarcore record: {e}", file=sys.stderr)
            return 2
        except zmq.ZMQError as e:
            print(f"radarcore record: {args.bind or args.connect}: {e}", file=sys.stderr)
            return 2
    print(f"recorded {result.frames} frames ({result.bytes:,} bytes) to {args.out}"
          + (f"; refused {result.refused} too large for a record" if result.refused else ""), flush=True)
    return 0
