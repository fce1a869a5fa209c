"""Wire codec of the live service: plot frames in, tracks, alerts and stats out.

Every message is a ZeroMQ multipart message, a list of byte strings ("parts").
All integers and floats are little-endian.  Arrays travel as the raw bytes of
a NumPy structured array and are decoded with :func:`numpy.frombuffer` after
their length has been checked against the header; nothing is ever pickled.

Wire format version 1 (:data:`FORMAT_VERSION`)
==============================================

Plot frame (radar -> radarcore, PUSH/PULL or PUB/SUB), 2 parts
--------------------------------------------------------------

A radar sends one frame per burst or sector; a frame may hold a single plot,
or none.

Part 0, header, 40 bytes (``struct`` format ``<4sHHqQIId``)::

    offset  size  type     field
         0     4  bytes    magic        b"RCPL"
         4     2  u16      version      1
         6     2  u16      flags        0 (no flag is defined in version 1)
         8     8  i64      radar_id     the radar of every plot in the frame
        16     8  u64      seq          the radar's frame sequence number
        24     4  u32      count        number of plots in part 1
        28     4  u32      reserved     0
        32     8  f64      t_first      time_s of the first plot (NaN if none)

Part 1, payload, ``count * 56`` bytes: ``count`` rows of
:data:`ingest.schema.PLOT_DTYPE` (``time_s`` f8, ``radar_id`` i8, ``range_m``
f8, ``azimuth_deg`` f8, ``elevation_deg`` f8, ``radial_velocity_mps`` f8,
``snr_db`` f8), packed, little-endian.  A missing optional measurement is NaN.
Every row's ``radar_id`` equals the header's.

Track table (radarcore -> subscribers, PUB), 3 parts
----------------------------------------------------

Part 0: topic ``b"tracks"``.  Part 1, header, 24 bytes (``<4sHHIId``)::

    offset  size  type     field
         0     4  bytes    magic        b"RCTR"
         4     2  u16      version      1
         6     2  u16      flags        0
         8     4  u32      count        number of rows in part 2
        12     4  u32      reserved     0
        16     8  f64      epoch        time_s of the first row (NaN if none)

Part 2: ``count * 97`` bytes, rows of :data:`ingest.schema.TRACK_ROW_DTYPE`
(the tracks.csv columns; ``status`` is an i1 index into
:data:`ingest.schema.TRACK_STATUS_NAMES`), packed, little-endian.

Alerts, stats and CAT062 (radarcore -> subscribers, PUB), 2 parts
-----------------------------------------------------------------

- ``[b"alerts", JSON array]``: one object per alert event, with the fields of
  alerts.jsonl (docs/formats.md);
- ``[b"stats", JSON object]``: the service counters;
- ``[b"cat062", datagram]``: an ASTERIX category 062 datagram, opaque here.

JSON is UTF-8 and strict: a float that is not finite (NaN, inf) is written as
``null``, as in alerts.jsonl, and a decoder refuses ``NaN``/``Infinity``.

Errors
------

A decoder raises :class:`FrameError` and nothing else for any input, with
``reason`` one of :data:`REJECT_REASONS_WIRE`:

- ``malformed``: wrong number of parts, a part that is not bytes, a header of
  the wrong size, a bad magic, a non-zero flags or reserved field, the wrong
  topic, JSON that does not parse or is not of the expected kind;
- ``wrong_version``: a header version other than :data:`FORMAT_VERSION`;
- ``too_large``: a plot count above the decoder's ``max_plots`` (checked
  before the payload length, so a forged count never sizes an allocation);
- ``length_mismatch``: a payload whose length is not ``count`` rows, or plots
  whose ``radar_id`` column disagrees with the header.

Decoders accept any bytes-like parts (``bytes``, ``bytearray``,
``memoryview``, ``zmq.Frame``) and return arrays that own their memory and
are writable.
"""
import json
import math
import operator
import struct
import sys
from dataclasses import dataclass

import numpy as np

from ingest.schema import PLOT_DTYPE, TRACK_ROW_DTYPE

__all__ = [
    "FORMAT_VERSION",
    "FrameError",
    "PLOT_HEADER_SIZE",
    "PLOT_MAGIC",
    "PlotFrame",
    "REJECT_REASONS_WIRE",
    "TOPIC_ALERTS",
    "TOPIC_CAT062",
    "TOPIC_STATS",
    "TOPIC_TRACKS",
    "TRACK_HEADER_SIZE",
    "TRACK_MAGIC",
    "decode_alerts",
    "decode_plots",
    "decode_stats",
    "decode_tracks",
    "encode_alerts",
    "encode_cat062",
    "encode_plots",
    "encode_stats",
    "encode_tracks",
]

FORMAT_VERSION = 1

REJECT_REASONS_WIRE = ("malformed", "wrong_version", "length_mismatch", "too_large")

PLOT_MAGIC = b"RCPL"
TRACK_MAGIC = b"RCTR"

TOPIC_TRACKS = b"tracks"
#: Track header flag of a live track-update message (rows at their own
#: state times, the tracks one received frame updated); 0: a periodic epoch.
TRACK_FLAG_UPDATE = 1
TOPIC_ALERTS = b"alerts"
TOPIC_STATS = b"stats"
TOPIC_CAT062 = b"cat062"

_PLOT_HEADER = struct.Struct("<4sHHqQIId")
_TRACK_HEADER = struct.Struct("<4sHHIId")
PLOT_HEADER_SIZE = _PLOT_HEADER.size      # 40
TRACK_HEADER_SIZE = _TRACK_HEADER.size    # 24

# The wire is little-endian whatever the host; on a little-endian host these
# equal the schema dtypes and conversion is a plain copy.
_WIRE_PLOT_DTYPE = PLOT_DTYPE.newbyteorder("<")
_WIRE_TRACK_DTYPE = TRACK_ROW_DTYPE.newbyteorder("<")
_HOST_IS_WIRE = sys.byteorder == "little"

_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


class FrameError(ValueError):
    """A received message that cannot be decoded.

    Parameters
    ----------
    reason : str
        One of :data:`REJECT_REASONS_WIRE`; the key under which the service
        counts the rejection.
    message : str, optional
        What exactly was wrong, for the log.
    """

    def __init__(self, reason, message=None):
        if reason not in REJECT_REASONS_WIRE:
            raise ValueError(f"unknown frame rejection reason {reason!r}; "
                             f"expected one of {REJECT_REASONS_WIRE}")
        super().__init__(reason, message)
        self.reason = reason
        self.message = message if message is not None else reason

    def __str__(self):
        return f"{self.reason}: {self.message}"


@dataclass(frozen=True, eq=False)
class PlotFrame:
    """One decoded plot frame.

    Attributes
    ----------
    radar_id : int
        The sending radar.
    seq : int
        The radar's frame sequence number (0 .. 2**64 - 1).
    t_first : float
        The header's time of the first plot, seconds (NaN for an empty frame).
    plots : ndarray of PLOT_DTYPE, shape (count,)
        The plots; owns its memory and is writable.
    """

    radar_id: int
    seq: int
    t_first: float
    plots: np.ndarray


# --------------------------------------------------------------------------
# helpers

def _byte_view(part, what):
    """A contiguous 1-D unsigned-byte memoryview of ``part``, or FrameError("malformed")."""
    try:
        view = memoryview(part)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        if view.ndim != 1 or view.format != "B":
            view = view.cast("B")
    except (TypeError, ValueError, BufferError):
        raise FrameError("malformed", f"{what} is a {type(part).__name__}, "
                                      "not a byte buffer") from None
    return view


def _parts(frames, expected, what):
    """The message's parts as byte views, checking their number."""
    try:
        n_parts = len(frames)
    except TypeError:
        raise FrameError("malformed", f"{what} message is a {type(frames).__name__}, "
                                      "not a list of parts") from None
    if isinstance(frames, (bytes, bytearray, memoryview, str)):
        raise FrameError("malformed", f"{what} message is a single buffer, not a list of parts")
    if n_parts != expected:
        raise FrameError("malformed", f"{what} message has {n_parts} parts, expected {expected}")
    return [_byte_view(frames[k], f"part {k}") for k in range(expected)]


def _check_topic(view, topic):
    if view.nbytes != len(topic) or view.tobytes() != topic:
        raise FrameError("malformed", f"topic {bytes(view[:32])!r}, expected {topic!r}")


def _structured(array, dtype, name, dtype_name):
    """``array``, checked to be a 1-D array of ``dtype``, or ValueError."""
    if not isinstance(array, np.ndarray) or array.dtype != dtype:
        got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise ValueError(f"{name} must be a NumPy array of {dtype_name}, got {got}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.shape[0] > _U32_MAX:
        raise ValueError(f"{array.shape[0]} {name} do not fit one frame (at most {_U32_MAX})")
    return array


def _to_wire(array, wire_dtype):
    if _HOST_IS_WIRE:
        return np.ascontiguousarray(array).tobytes()
    return array.astype(wire_dtype).tobytes()


def _from_wire(view, wire_dtype, host_dtype, count):
    rows = np.frombuffer(view, dtype=wire_dtype, count=count)
    if _HOST_IS_WIRE:
        return rows.copy()
    return rows.astype(host_dtype)


def _integer(value, name, low, high):
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} {value} is outside [{low}, {high}]")
    return value


# --------------------------------------------------------------------------
# plot frames

def encode_plots(radar_id, seq, plots):
    """Encode one radar's plot batch as a 2-part plot frame.

    Parameters
    ----------
    radar_id : int
        The sending radar (signed 64-bit).
    seq : int
        The radar's frame sequence number (unsigned 64-bit).
    plots : ndarray of PLOT_DTYPE, shape (count,)
        The plots, possibly none; every ``radar_id`` must equal ``radar_id``.

    Returns
    -------
    list of bytes
        ``[header (40 bytes), payload (count * 56 bytes)]``.

    Raises
    ------
    ValueError
        For a plots array of another dtype or shape, an out-of-range
        ``radar_id`` or ``seq``, or plots of another radar.
    """
    radar_id = _integer(radar_id, "radar_id", _I64_MIN, _I64_MAX)
    seq = _integer(seq, "seq", 0, _U64_MAX)
    plots = _structured(plots, PLOT_DTYPE, "plots", "PLOT_DTYPE")
    count = plots.shape[0]
    if count and np.any(plots["radar_id"] != radar_id):
        others = np.unique(plots["radar_id"][plots["radar_id"] != radar_id])[:5].tolist()
        raise ValueError(f"plots of radar(s) {others} in a frame of radar {radar_id}")
    t_first = float(plots["time_s"][0]) if count else math.nan
    header = _PLOT_HEADER.pack(PLOT_MAGIC, FORMAT_VERSION, 0, radar_id, seq, count, 0, t_first)
    return [header, _to_wire(plots, _WIRE_PLOT_DTYPE)]


def decode_plots(frames, max_plots=1_000_000):
    """Decode a plot frame.

    Parameters
    ----------
    frames : sequence of bytes-like
        The multipart message: ``[header, payload]``.
    max_plots : int
        The largest plot count accepted.

    Returns
    -------
    PlotFrame
        The header fields and the plots (an owning, writable array of
        PLOT_DTYPE, shape (count,)).

    Raises
    ------
    FrameError
        For any message that is not a valid version-1 plot frame (see the
        module docstring for the reasons); never any other exception.
    ValueError
        For a ``max_plots`` that is not a non-negative integer (a caller's
        error, not a frame's).
    """
    if isinstance(max_plots, bool):
        raise ValueError(f"max_plots must be a non-negative integer, got {max_plots!r}")
    max_plots = _integer(max_plots, "max_plots", 0, _U64_MAX)
    header, payload = _parts(frames, 2, "plot")
    if header.nbytes != PLOT_HEADER_SIZE:
        raise FrameError("malformed", f"plot header is {header.nbytes} bytes, "
                                      f"expected {PLOT_HEADER_SIZE}")
    magic, version, flags, radar_id, seq, count, reserved, t_first = _PLOT_HEADER.unpack(header)
    if magic != PLOT_MAGIC:
        raise FrameError("malformed", f"bad plot magic {magic!r}")
    if version != FORMAT_VERSION:
        raise FrameError("wrong_version", f"plot frame version {version}, "
                                          f"expected {FORMAT_VERSION}")
    if flags != 0 or reserved != 0:
        raise FrameError("malformed", f"non-zero flags {flags} or reserved {reserved}")
    if count > max_plots:
        raise FrameError("too_large", f"{count} plots in a frame, at most {max_plots}")
    expected = count * _WIRE_PLOT_DTYPE.itemsize
    if payload.nbytes != expected:
        raise FrameError("length_mismatch", f"payload of {payload.nbytes} bytes for "
                                            f"{count} plots ({expected} bytes)")
    plots = _from_wire(payload, _WIRE_PLOT_DTYPE, PLOT_DTYPE, count)
    if count and np.any(plots["radar_id"] != radar_id):
        raise FrameError("length_mismatch", f"plots of another radar in a frame of "
                                            f"radar {radar_id}")
    return PlotFrame(radar_id=radar_id, seq=seq, t_first=t_first, plots=plots)


# --------------------------------------------------------------------------
# track table

def encode_tracks(rows, update=False):
    """Encode a periodic track table as a 3-part ``tracks`` message.

    Parameters
    ----------
    rows : ndarray of TRACK_ROW_DTYPE, shape (count,)
        The track states of one output epoch, possibly none.
    update : bool
        A live track update instead (header flag :data:`TRACK_FLAG_UPDATE`):
        the tracks one frame updated, each at its own ``time_s``.

    Returns
    -------
    list of bytes
        ``[b"tracks", header (24 bytes), rows (count * 97 bytes)]``; the
        header's epoch is the first row's ``time_s`` (NaN if no rows).

    Raises
    ------
    ValueError
        For an array of another dtype or shape.
    """
    rows = _structured(rows, TRACK_ROW_DTYPE, "track rows", "TRACK_ROW_DTYPE")
    count = rows.shape[0]
    epoch = float(rows["time_s"][0]) if count else math.nan
    header = _TRACK_HEADER.pack(TRACK_MAGIC, FORMAT_VERSION, TRACK_FLAG_UPDATE if update else 0,
                                count, 0, epoch)
    return [TOPIC_TRACKS, header, _to_wire(rows, _WIRE_TRACK_DTYPE)]


def decode_tracks(frames):
    """Decode a ``tracks`` message.

    Parameters
    ----------
    frames : sequence of bytes-like
        ``[b"tracks", header, rows]``.

    Returns
    -------
    ndarray of TRACK_ROW_DTYPE, shape (count,)
        The track rows (owning, writable).

    Raises
    ------
    FrameError
        For any message that is not a valid version-1 track table.
    """
    topic, header, payload = _parts(frames, 3, "tracks")
    _check_topic(topic, TOPIC_TRACKS)
    if header.nbytes != TRACK_HEADER_SIZE:
        raise FrameError("malformed", f"track header is {header.nbytes} bytes, "
                                      f"expected {TRACK_HEADER_SIZE}")
    magic, version, flags, count, reserved, _epoch = _TRACK_HEADER.unpack(header)
    if magic != TRACK_MAGIC:
        raise FrameError("malformed", f"bad track magic {magic!r}")
    if version != FORMAT_VERSION:
        raise FrameError("wrong_version", f"track message version {version}, "
                                          f"expected {FORMAT_VERSION}")
    if flags not in (0, TRACK_FLAG_UPDATE) or reserved != 0:
        raise FrameError("malformed", f"unknown flags {flags} or non-zero reserved {reserved}")
    expected = count * _WIRE_TRACK_DTYPE.itemsize
    if payload.nbytes != expected:
        raise FrameError("length_mismatch", f"payload of {payload.nbytes} bytes for "
                                            f"{count} track rows ({expected} bytes)")
    return _from_wire(payload, _WIRE_TRACK_DTYPE, TRACK_ROW_DTYPE, count)


def is_track_update(frames):
    """Whether a ``tracks`` message (as :func:`decode_tracks` takes it) is a live
    track update rather than a periodic epoch (header flags)."""
    header = memoryview(frames[1])
    return (header.nbytes == TRACK_HEADER_SIZE
            and _TRACK_HEADER.unpack(header)[2] == TRACK_FLAG_UPDATE)


# --------------------------------------------------------------------------
# JSON messages

def _json_ready(value):
    """``value`` with NumPy scalars and arrays made plain and non-finite floats None."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_bytes(value):
    return json.dumps(_json_ready(value), separators=(",", ":"), allow_nan=False).encode("utf-8")


def _refuse_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _json_value(view, what):
    try:
        return json.loads(view.tobytes().decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise FrameError("malformed", f"{what} is not valid JSON: {error}") from None


def encode_alerts(events):
    """Encode alert events as ``[b"alerts", JSON array]``.

    Parameters
    ----------
    events : sequence of dict
        Alert events with the fields of alerts.jsonl; NumPy scalars are
        accepted and non-finite floats are written as ``null``.

    Returns
    -------
    list of bytes

    Raises
    ------
    ValueError
        If an event is not a dict; TypeError if a value is not JSON-able.
    """
    events = list(events)
    for k, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"alert event {k} is a {type(event).__name__}, not a dict")
    return [TOPIC_ALERTS, _json_bytes(events)]


def decode_alerts(frames):
    """Decode an ``alerts`` message into a list of event dicts.

    Raises
    ------
    FrameError
        ``malformed`` for a wrong part count or topic, bad UTF-8 or JSON, or
        JSON that is not an array of objects.
    """
    topic, body = _parts(frames, 2, "alerts")
    _check_topic(topic, TOPIC_ALERTS)
    events = _json_value(body, "alerts message")
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise FrameError("malformed", "alerts message is not a JSON array of objects")
    return events


def encode_stats(stats):
    """Encode the service counters as ``[b"stats", JSON object]``.

    Parameters
    ----------
    stats : dict
        Counter names to values (numbers, strings, nested dicts or lists);
        NumPy scalars are accepted and non-finite floats are written as
        ``null``.

    Returns
    -------
    list of bytes

    Raises
    ------
    ValueError
        If ``stats`` is not a dict; TypeError if a value is not JSON-able.
    """
    if not isinstance(stats, dict):
        raise ValueError(f"stats must be a dict, got {type(stats).__name__}")
    return [TOPIC_STATS, _json_bytes(stats)]


def decode_stats(frames):
    """Decode a ``stats`` message into a dict.

    Raises
    ------
    FrameError
        ``malformed`` for a wrong part count or topic, bad UTF-8 or JSON, or
        JSON that is not an object.
    """
    topic, body = _parts(frames, 2, "stats")
    _check_topic(topic, TOPIC_STATS)
    stats = _json_value(body, "stats message")
    if not isinstance(stats, dict):
        raise FrameError("malformed", "stats message is not a JSON object")
    return stats


def encode_cat062(datagram):
    """Wrap an ASTERIX CAT062 datagram as ``[b"cat062", datagram]``.

    Raises
    ------
    ValueError
        If ``datagram`` is not bytes-like.
    """
    try:
        datagram = memoryview(datagram).tobytes()
    except TypeError:
        raise ValueError(f"datagram must be bytes, got {type(datagram).__name__}") from None
    return [TOPIC_CAT062, datagram]
