"""Recordings: an append-only, checksummed, framed file of received messages.

The live service writes every message it receives, with its receive time, so
that a session can be replayed offline exactly and a restarted server can
rebuild its tracks from the last seconds before it stopped.

File layout (all integers and floats little-endian)
===================================================

File header, 16 bytes::

    offset  size  field
         0     8  magic    b"RCREC\\x00\\x00\\x01" (the last two bytes: format 1)
         8     8  u64      flags, 0 (no flag is defined)

followed by records, back to back, each::

    offset  size  field
         0     4  u32      body_length  (bytes of the body below)
         4     4  u32      crc          CRC-32 (zlib.crc32) of the body
         8     .  body:
                    f64    receive_time (seconds, the receiver's clock)
                    u16    n_parts
                    n_parts times:  u32 part_length, then part_length bytes

A body's parts fill it exactly.  Nothing else is in the file: no index and no
footer, so a record is whole as soon as its last byte is on disk.

Crashes and damage
------------------

A reader replays every valid record: one whose body fits in the file,
whose CRC matches and whose parts fill the body exactly.  A record that is
not valid is *damaged*; the reader then resynchronises: it scans forward,
byte by byte, for the next offset where a valid record starts, and goes on
from there.  Each damaged stretch that a valid record follows is reported
as *corruption* with its offset and length (``corrupt``); the bytes after
the last valid record are the *tail* (``torn_bytes``), reported as ``torn``
when they are a record cut short (the writer was cut off: a crash) and as
``corrupt`` when they hold a whole record that is not valid (or zero bytes
the file system allocated but never wrote before a crash).  A file shorter
than the header whose bytes are a prefix of a valid header (cut while being
created) is a recording with no record.

Resynchronising trusts the CRC: a stretch of damaged bytes that happens to
hold a valid record (a message whose own bytes are a recording record) is
replayed as one.  The chance that random damage forms one is about 2**-32
per byte scanned.

A writer that opens an existing recording scans it the same way, cuts the
tail after the last valid record (it holds no whole record) and appends
after it; damaged stretches before it are left in place, reported
(``corrupt``) and skipped by every reader.

Limits
------

A record holds at most :data:`MAX_RECORD_PARTS` parts and a body of at most
:data:`MAX_RECORD_BODY_BYTES` (the largest plot frame, 1,000,000 plots, is
56 MB); :meth:`RecordingWriter.write` refuses a larger message with
:class:`RecordError` and writes nothing, and :func:`record_size_problem`
tells beforehand.  Readers accept any record the layout allows.

Writing
-------

Records are gathered in memory and handed to the operating system when
1 MiB has gathered or when a flush is due; :meth:`RecordingWriter.flush`
writes and ``fsync``-s.  A flush is due ``flush_interval_s`` after the last
one and happens on the next :meth:`~RecordingWriter.write` (or
:meth:`~RecordingWriter.flush_if_due`, for a caller that goes idle), and on
:meth:`~RecordingWriter.close`.  A writer holds an exclusive lock
(``flock``) on the file, so two writers cannot interleave records.
"""
import fcntl
import math
import numbers
import os
import struct
import time
import zlib

import numpy as np

from ingest.codec import FrameError, decode_plots

__all__ = [
    "FILE_HEADER",
    "FILE_HEADER_SIZE",
    "MAX_RECORD_BODY_BYTES",
    "MAX_RECORD_PARTS",
    "RECORDING_MAGIC",
    "RecordError",
    "RecordingReader",
    "RecordingWriter",
    "iter_recording_plots",
    "read_recording",
    "record_size_problem",
    "recording_time_span",
]

RECORDING_MAGIC = b"RCREC\x00\x00\x01"
FILE_HEADER = RECORDING_MAGIC + struct.pack("<Q", 0)
FILE_HEADER_SIZE = len(FILE_HEADER)      # 16

_RECORD_HEAD = struct.Struct("<II")      # body_length, crc
_BODY_HEAD = struct.Struct("<dH")        # receive_time, n_parts
_PART_LENGTH = struct.Struct("<I")

#: The most parts of one record (the u16 ``n_parts``).
MAX_RECORD_PARTS = (1 << 16) - 1
#: The largest record body the writer takes (bytes).
MAX_RECORD_BODY_BYTES = 1 << 26

#: Damaged stretches listed one by one (``corrupt``); more are only counted.
MAX_CORRUPT_LISTED = 100

#: Gathered bytes above which a write hands them to the operating system.
_WRITE_THROUGH_BYTES = 1 << 20

#: Read buffer of a reader.
_READ_BUFFER_BYTES = 1 << 20

#: The clock that decides when a flush is due (monotonic seconds).
_clock = time.monotonic


# --------------------------------------------------------------------------
# reading

def _read_header(file, size, path):
    """Check the file header; True if present, False for a torn (partial) one.

    Raises ValueError naming ``path`` for anything but a valid header or a
    prefix of one.
    """
    head = file.read(min(size, FILE_HEADER_SIZE))
    if size < FILE_HEADER_SIZE:
        if head == FILE_HEADER[:len(head)]:
            return False
        raise ValueError(f"{path}: not a radarcore recording "
                         f"({size} bytes, not a recording header)")
    if head[:8] != RECORDING_MAGIC:
        if head[:6] == RECORDING_MAGIC[:6]:
            version = int.from_bytes(head[6:8], "big")
            raise ValueError(f"{path}: recording format {version} is not supported "
                             f"(this reader knows format 1)")
        raise ValueError(f"{path}: not a radarcore recording (magic {head[:8]!r})")
    flags = struct.unpack("<Q", head[8:16])[0]
    if flags != 0:
        raise ValueError(f"{path}: recording header has unknown flags {flags:#x}")
    return True


class RecordError(ValueError):
    """A message a recording cannot hold (too many parts, too large, a part that is not bytes).

    Attributes
    ----------
    reason : str
        ``"too_large"`` or ``"malformed"`` (a part that is not bytes): the
        frame rejection reason the live service counts it under.
    """

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def _parse_body(body):
    """(receive_time, [part bytes]) of a record body, or None if its layout is wrong."""
    length = len(body)
    if length < _BODY_HEAD.size:
        return None
    receive_time, n_parts = _BODY_HEAD.unpack_from(body)
    if not math.isfinite(receive_time):
        return None
    offset = _BODY_HEAD.size
    frames = []
    for _ in range(n_parts):
        if offset + 4 > length:
            return None
        part_length = _PART_LENGTH.unpack_from(body, offset)[0]
        offset += 4
        if part_length > length - offset:
            return None
        frames.append(body[offset:offset + part_length])
        offset += part_length
    if offset != length:
        return None
    return receive_time, frames


#: Bodies up to this size are read whole before their layout is checked.
_READ_WHOLE_BODY = 1 << 20
#: Bytes examined at a time while resynchronising: the first piece, and the
#: most (each piece is twice the one before: the next record is usually near).
_RESYNC_FIRST_CHUNK = 1 << 12
_RESYNC_CHUNK = 1 << 20
_MIN_RECORD = _RECORD_HEAD.size + _BODY_HEAD.size      # 18


def _layout_fits(fd, body_start, body_length):
    """Whether the part lengths of the body at ``body_start`` fill it exactly (read piece by piece)."""
    head = os.pread(fd, _BODY_HEAD.size, body_start)
    if len(head) != _BODY_HEAD.size:
        return False
    receive_time, n_parts = _BODY_HEAD.unpack(head)
    if not math.isfinite(receive_time):
        return False
    offset = _BODY_HEAD.size
    for _ in range(n_parts):
        if offset + 4 > body_length:
            return False
        piece = os.pread(fd, 4, body_start + offset)
        if len(piece) != 4:
            return False
        offset += 4 + _PART_LENGTH.unpack(piece)[0]
        if offset > body_length:
            return False
    return offset == body_length


def _record_at(fd, offset, size):
    """The valid record at ``offset``: ``(receive_time, frames, end)``, or None."""
    head = os.pread(fd, _RECORD_HEAD.size, offset)
    if len(head) != _RECORD_HEAD.size:
        return None
    body_length, crc = _RECORD_HEAD.unpack(head)
    body_start = offset + _RECORD_HEAD.size
    if not _BODY_HEAD.size <= body_length <= size - body_start:
        return None
    if body_length > _READ_WHOLE_BODY and not _layout_fits(fd, body_start, body_length):
        return None
    body = os.pread(fd, body_length, body_start)
    if len(body) != body_length or zlib.crc32(body) != crc:
        return None
    record = _parse_body(body)
    if record is None:
        return None
    return record[0], record[1], body_start + body_length


def _candidates(chunk, base, size):
    """Offsets in ``chunk`` (file offset ``base``) where a record header is plausible.

    Plausible: a body length of at least the body head that fits in the
    file, room in it for the part lengths its ``n_parts`` claims, and a
    finite receive time.  Ascending file offsets.
    """
    a = np.frombuffer(chunk, np.uint8)
    n = a.size - _MIN_RECORD + 1
    if n <= 0:
        return np.zeros(0, np.int64)
    u = a.astype(np.int64)
    length = u[0:n] | (u[1:n + 1] << 8) | (u[2:n + 2] << 16) | (u[3:n + 3] << 24)
    n_parts = u[16:n + 16] | (u[17:n + 17] << 8)
    room = size - _RECORD_HEAD.size - (base + np.arange(n, dtype=np.int64))
    # the exponent of the f64 receive time (bytes 14, 15 of the record) all ones: NaN or inf
    non_finite = ((u[15:n + 15] & 0x7F) == 0x7F) & ((u[14:n + 14] & 0xF0) == 0xF0)
    plausible = ((length >= _BODY_HEAD.size) & (length <= room)
                 & (_BODY_HEAD.size + 4 * n_parts <= length) & ~non_finite)
    return base + np.flatnonzero(plausible)


def _find_record(fd, start, size):
    """The offset of the first valid record at or after ``start``, or None."""
    position = start
    piece = _RESYNC_FIRST_CHUNK
    while position + _MIN_RECORD <= size:
        chunk = os.pread(fd, min(piece + _MIN_RECORD - 1, size - position), position)
        piece = min(2 * piece, _RESYNC_CHUNK)
        if len(chunk) < _MIN_RECORD:
            return None
        for offset in _candidates(chunk, position, size).tolist():
            if _record_at(fd, offset, size) is not None:
                return offset
        position += len(chunk) - _MIN_RECORD + 1
    return None


class _Scan:
    """One pass over the records of an open file, from ``start`` to ``size``.

    Iterating yields (receive_time, frames) per valid record, stepping over
    damaged stretches (module docstring).  Afterwards ``end_offset`` is the
    end of the last valid record, ``records`` their number, ``stop_reason``
    None, "torn" or "corrupt" (what the tail after ``end_offset`` is),
    ``corrupt`` the first :data:`MAX_CORRUPT_LISTED` damaged stretches that
    a valid record follows, as (offset, bytes), and ``corrupt_stretches``,
    ``corrupt_bytes`` their count and total size.
    """

    def __init__(self, file, size, start):
        self.file = file
        self.size = size
        self.end_offset = start
        self.records = 0
        self.stop_reason = None
        self.corrupt = []
        self.corrupt_stretches = 0
        self.corrupt_bytes = 0

    def __iter__(self):
        file, size = self.file, self.size
        fd = file.fileno()
        offset = self.end_offset
        file.seek(offset)
        while offset < size:
            problem = None
            head = file.read(_RECORD_HEAD.size) if size - offset >= _RECORD_HEAD.size else b""
            record = None
            if len(head) < _RECORD_HEAD.size:
                problem = "torn"
            else:
                body_length, crc = _RECORD_HEAD.unpack(head)
                if body_length > size - offset - _RECORD_HEAD.size:
                    problem = "torn"
                else:
                    body = file.read(body_length)
                    if len(body) != body_length:       # the file shrank under us
                        problem = "torn"
                    else:
                        record = _parse_body(body) if zlib.crc32(body) == crc else None
                        problem = "corrupt" if record is None else None
            if record is not None:
                offset += _RECORD_HEAD.size + body_length
                self.end_offset = offset
                self.records += 1
                yield record
                continue
            found = _find_record(fd, offset + 1, size)
            if found is None:
                self.stop_reason = problem
                return
            self.corrupt_stretches += 1
            self.corrupt_bytes += found - offset
            if len(self.corrupt) < MAX_CORRUPT_LISTED:
                self.corrupt.append((offset, found - offset))
            offset = found
            file.seek(offset)


class RecordingReader:
    """The whole records of a recording, in file order.

    Iterating yields ``(receive_time, frames)``: a float (seconds) and the
    list of the message's parts as ``bytes``.  Each iteration reads the file
    afresh, up to its size when the iteration starts; it steps over damaged
    records (resynchronising on the next valid one, see the module
    docstring) and ends after the last valid record.

    Attributes
    ----------
    path : str
    records_read : int
        Valid records read by the last (complete) iteration.
    torn_bytes : int
        Bytes after the last valid record (the tail).
    stop_reason : str or None
        What the tail is: ``None`` (the file ends after a valid record),
        ``"torn"`` (cut inside a record, or inside the file header) or
        ``"corrupt"`` (a whole record whose CRC or layout is wrong, and
        what follows it).
    corrupt : list of (int, int)
        Damaged stretches a valid record follows, as (file offset, bytes),
        the first :data:`MAX_CORRUPT_LISTED` of them.
    corrupt_stretches, corrupt_bytes : int
        Their number and total size.
    end_offset : int
        File offset just after the last valid record.

    Raises
    ------
    ValueError
        On construction, naming the file, when its header is not that of a
        recording (a header cut short is not an error: no records, and
        ``torn_bytes`` is the file's size).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        with open(self.path, "rb") as file:
            _read_header(file, os.fstat(file.fileno()).st_size, self.path)
        self.records_read = 0
        self.torn_bytes = 0
        self.stop_reason = None
        self.corrupt = []
        self.corrupt_stretches = 0
        self.corrupt_bytes = 0
        self.end_offset = 0

    def __iter__(self):
        return self._records()

    def __repr__(self):
        return (f"RecordingReader({self.path!r}, records_read={self.records_read}, "
                f"corrupt_stretches={self.corrupt_stretches}, torn_bytes={self.torn_bytes}, "
                f"stop_reason={self.stop_reason!r})")

    def _records(self):
        with open(self.path, "rb", buffering=_READ_BUFFER_BYTES) as file:
            size = os.fstat(file.fileno()).st_size
            self.records_read = 0
            self.corrupt, self.corrupt_stretches, self.corrupt_bytes = [], 0, 0
            if not _read_header(file, size, self.path):
                self.end_offset = 0
                self.torn_bytes = size
                self.stop_reason = "torn" if size else None
                return
            scan = _Scan(file, size, FILE_HEADER_SIZE)
            try:
                yield from scan
            finally:
                self.records_read = scan.records
                self.end_offset = scan.end_offset
                self.torn_bytes = size - scan.end_offset
                self.stop_reason = scan.stop_reason
                self.corrupt = scan.corrupt
                self.corrupt_stretches = scan.corrupt_stretches
                self.corrupt_bytes = scan.corrupt_bytes


def read_recording(path):
    """Open a recording for reading.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    RecordingReader
        Iterable of ``(receive_time, frames)`` for every valid record;
        ``records_read``, ``corrupt``, ``torn_bytes`` and ``stop_reason``
        after iteration.

    Raises
    ------
    ValueError
        If the file's header is not that of a recording (the message names
        the file).
    """
    return RecordingReader(path)


def recording_time_span(path):
    """Receive times of the first and the last whole record.

    Returns
    -------
    (float, float)
        ``(first, last)`` in file order, seconds; ``(nan, nan)`` for a
        recording without a whole record.
    """
    first = last = math.nan
    for receive_time, _ in RecordingReader(path):
        if math.isnan(first):
            first = receive_time
        last = receive_time
    return first, last


def iter_recording_plots(path, since_s=None, max_plots=1_000_000):
    """Decode the plot frames of a recording, for replay and warm restart.

    Parameters
    ----------
    path : str or os.PathLike
    since_s : float or None
        ``None`` keeps every record.  Otherwise only the last ``since_s``
        seconds of the recording by receive time: the records whose
        ``receive_time >= last - since_s``, where ``last`` is the receive
        time of the last whole record (:func:`recording_time_span`).
    max_plots : int
        Passed to :func:`ingest.codec.decode_plots`.

    Returns
    -------
    iterator of PlotFrame or FrameError
        One item per kept record, in file order: the decoded frame, or the
        :class:`~ingest.codec.FrameError` (returned, not raised) for a record
        that is not a valid plot frame.

    Raises
    ------
    ValueError
        At the call, for a bad header (naming the file) or a ``since_s``
        that is not a finite non-negative number.
    """
    if since_s is not None:
        if (isinstance(since_s, bool) or not isinstance(since_s, numbers.Real)
                or not math.isfinite(since_s) or since_s < 0):
            raise ValueError(f"since_s must be a finite number >= 0 or None, got {since_s!r}")
    reader = RecordingReader(path)
    cutoff = None
    if since_s is not None:
        cutoff = recording_time_span(path)[1] - float(since_s)
    return _plot_frames(reader, cutoff, max_plots)


def _plot_frames(reader, cutoff, max_plots):
    for receive_time, frames in reader:
        if cutoff is not None and not receive_time >= cutoff:
            continue
        try:
            yield decode_plots(frames, max_plots)
        except FrameError as error:
            yield error


# --------------------------------------------------------------------------
# writing

def _part_view(part, k):
    try:
        view = memoryview(part)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        if view.ndim != 1 or view.format != "B":
            view = view.cast("B")
    except (TypeError, ValueError, BufferError):
        raise RecordError("malformed", f"part {k} is a {type(part).__name__}, not bytes") from None
    return view


def _body_length(frames, max_body_bytes):
    """The body length of a record of ``frames``; RecordError beyond the limits."""
    try:
        n_parts = len(frames)
    except TypeError:
        raise RecordError("malformed", f"a message is a list of parts, not a "
                                       f"{type(frames).__name__}") from None
    if n_parts > MAX_RECORD_PARTS:
        raise RecordError("too_large", f"a message of {n_parts} parts; a record holds at most "
                                       f"{MAX_RECORD_PARTS}")
    total = _BODY_HEAD.size + _PART_LENGTH.size * n_parts
    for k, part in enumerate(frames):
        try:
            total += len(part) if isinstance(part, bytes) else memoryview(part).nbytes
        except TypeError:
            raise RecordError("malformed", f"part {k} is a {type(part).__name__}, not bytes") from None
        if total > max_body_bytes:
            raise RecordError("too_large", f"a message of more than {max_body_bytes:,} bytes "
                                           f"({n_parts} parts); a record holds at most that")
    return total


def record_size_problem(frames, max_body_bytes=MAX_RECORD_BODY_BYTES):
    """Why a recording cannot hold this message (a one-line text), or None if it can.

    Checks only the count and the sizes of the parts (no copy); parts that
    are not bytes-like are left to the caller's decoder.
    """
    try:
        _body_length(frames, max_body_bytes)
    except RecordError as error:
        return str(error) if error.reason == "too_large" else None
    return None


class RecordingWriter:
    """Append messages to a recording.

    Parameters
    ----------
    path : str or os.PathLike
        Created if missing or empty.  An existing recording is checked
        (header, then every record) and appended to; a torn tail is truncated
        first (``truncated_bytes``).
    flush_interval_s : float
        Longest time (seconds, >= 0) between flushes while writing; 0 flushes
        on every write.
    max_body_bytes : int
        The largest record body :meth:`write` takes (at most
        :data:`MAX_RECORD_BODY_BYTES`, the default).

    Attributes
    ----------
    path : str
    records_written, bytes_written : int
        Records and their bytes (record headers included, file header not)
        written by this writer.
    records_found : int
        Whole records the file held when it was opened.
    truncated_bytes : int
        Bytes of the tail after the last valid record removed when it was
        opened (a torn or corrupt tail: it holds no valid record).
    corrupt_found : list of (int, int)
        Damaged stretches before the last valid record, as (offset, bytes):
        left in place (readers step over them).

    Raises
    ------
    ValueError
        For a file that is not a recording, a file already open by another
        writer, or a bad ``flush_interval_s`` or ``max_body_bytes``.
    """

    def __init__(self, path, flush_interval_s=1.0, max_body_bytes=MAX_RECORD_BODY_BYTES):
        if (isinstance(flush_interval_s, bool) or not isinstance(flush_interval_s, numbers.Real)
                or not math.isfinite(flush_interval_s) or flush_interval_s < 0):
            raise ValueError(f"flush_interval_s must be a finite number >= 0, "
                             f"got {flush_interval_s!r}")
        if (isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, numbers.Integral)
                or not _BODY_HEAD.size <= max_body_bytes <= MAX_RECORD_BODY_BYTES):
            raise ValueError(f"max_body_bytes must be an integer in [{_BODY_HEAD.size}, "
                             f"{MAX_RECORD_BODY_BYTES}], got {max_body_bytes!r}")
        self.path = os.fspath(path)
        self.flush_interval_s = float(flush_interval_s)
        self.max_body_bytes = int(max_body_bytes)
        self.corrupt_found = []
        self.records_written = 0
        self.bytes_written = 0
        self.records_found = 0
        self.truncated_bytes = 0
        self._buffer = bytearray()
        self._file = None
        file = open(self.path, "a+b", buffering=0)
        try:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValueError(f"{self.path}: already open by another recording writer") from None
            self._prepare(file)
        except BaseException:
            file.close()
            raise
        self._file = file
        self._last_flush_s = _clock()

    def _prepare(self, file):
        """Check an existing recording and cut the tail after its last valid record, or write the header."""
        size = os.fstat(file.fileno()).st_size
        with open(self.path, "rb", buffering=_READ_BUFFER_BYTES) as reader:
            header_whole = size > 0 and _read_header(reader, size, self.path)
            end = 0
            if header_whole:
                scan = _Scan(reader, size, FILE_HEADER_SIZE)
                for _ in scan:
                    pass
                end = scan.end_offset
                self.records_found = scan.records
                self.corrupt_found = scan.corrupt
        if end < size:
            file.truncate(end)
            self.truncated_bytes = size - end
        if end == 0:
            file.write(FILE_HEADER)
        if end < size or end == 0:
            os.fsync(file.fileno())

    @property
    def closed(self):
        """Whether :meth:`close` has been called."""
        return self._file is None

    def write(self, receive_time, frames):
        """Append one message.

        Parameters
        ----------
        receive_time : float
            When it was received, seconds on the receiver's clock (finite).
        frames : sequence of bytes-like
            Its parts (at most :data:`MAX_RECORD_PARTS`; the body at most
            ``max_body_bytes``).

        Raises
        ------
        RecordError
            (a ValueError) For parts that are not bytes, too many or too
            large; nothing is written then.
        ValueError
            For a closed writer or a non-finite receive time.
        """
        if self._file is None:
            raise ValueError(f"{self.path}: write to a closed recording")
        receive_time = float(receive_time)
        if not math.isfinite(receive_time):
            raise ValueError(f"receive_time must be finite, got {receive_time}")
        _body_length(frames, self.max_body_bytes)      # limits first: never copy a huge message
        views = [_part_view(part, k) for k, part in enumerate(frames)]
        body_length = _BODY_HEAD.size + sum(_PART_LENGTH.size + view.nbytes for view in views)
        buffer = self._buffer
        start = len(buffer)
        buffer += _RECORD_HEAD.pack(body_length, 0)
        body_head = _BODY_HEAD.pack(receive_time, len(views))
        buffer += body_head
        crc = zlib.crc32(body_head)
        for view in views:
            part_length = _PART_LENGTH.pack(view.nbytes)
            buffer += part_length
            buffer += view
            crc = zlib.crc32(view, zlib.crc32(part_length, crc))
        _RECORD_HEAD.pack_into(buffer, start, body_length, crc)
        self.records_written += 1
        self.bytes_written += _RECORD_HEAD.size + body_length
        if len(buffer) >= _WRITE_THROUGH_BYTES:
            self._write_out()
        self.flush_if_due()

    def flush_if_due(self):
        """Flush if ``flush_interval_s`` has passed since the last flush.

        Returns
        -------
        bool
            Whether it flushed.
        """
        if self._file is not None and _clock() - self._last_flush_s >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self):
        """Hand every gathered record to the operating system and ``fsync``."""
        if self._file is None:
            return
        self._write_out()
        os.fsync(self._file.fileno())
        self._last_flush_s = _clock()

    def _write_out(self):
        buffer = self._buffer
        written = 0
        try:
            with memoryview(buffer) as view:
                while written < len(view):
                    written += self._file.write(view[written:])
        finally:
            del buffer[:written]

    def close(self):
        """Flush and close; further writes raise ValueError.  Idempotent."""
        if self._file is None:
            return
        try:
            self.flush()
        finally:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        state = "closed" if self._file is None else "open"
        return (f"RecordingWriter({self.path!r}, {state}, "
                f"records_written={self.records_written})")
