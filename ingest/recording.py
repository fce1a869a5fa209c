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

A reader stops at the first record that is not whole: a record header or body
that runs past the end of the file (*torn*: the writer was cut off), or a
body whose CRC or layout is wrong (*corrupt*).  Every record before it is
replayed; the bytes from it to the end of the file are reported as
``torn_bytes``.  A file shorter than the header whose bytes are a prefix of a
valid header (cut while being created) is a recording with no record.

A writer that opens an existing recording truncates a torn tail and appends
after the last whole record.  A corrupt record is treated as a torn tail when
nothing but zero bytes follows it: it is the last record of the file, or what
follows is blocks the file system allocated but never wrote before a crash.
Any other corrupt record is an error (:class:`ValueError` naming the file and
the offset), so that no whole record after it is ever destroyed silently.

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

from ingest.codec import FrameError, decode_plots

__all__ = [
    "FILE_HEADER",
    "FILE_HEADER_SIZE",
    "RECORDING_MAGIC",
    "RecordingReader",
    "RecordingWriter",
    "iter_recording_plots",
    "read_recording",
    "recording_time_span",
]

RECORDING_MAGIC = b"RCREC\x00\x00\x01"
FILE_HEADER = RECORDING_MAGIC + struct.pack("<Q", 0)
FILE_HEADER_SIZE = len(FILE_HEADER)      # 16

_RECORD_HEAD = struct.Struct("<II")      # body_length, crc
_BODY_HEAD = struct.Struct("<dH")        # receive_time, n_parts
_PART_LENGTH = struct.Struct("<I")

_U32_MAX = (1 << 32) - 1
_MAX_PARTS = (1 << 16) - 1

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


def _parse_body(body):
    """(receive_time, [part bytes]) of a record body, or None if its layout is wrong."""
    length = len(body)
    if length < _BODY_HEAD.size:
        return None
    receive_time, n_parts = _BODY_HEAD.unpack_from(body)
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


class _Scan:
    """One pass over the records of an open file, from ``start`` to ``size``.

    Iterating yields (receive_time, frames) per whole record; afterwards
    ``end_offset`` is the end of the last whole record, ``records`` their
    number, ``stop_reason`` None, "torn" or "corrupt", and ``bad_record_end``
    the end of a corrupt record (whose length fitted in the file).
    """

    def __init__(self, file, size, start):
        self.file = file
        self.size = size
        self.end_offset = start
        self.records = 0
        self.stop_reason = None
        self.bad_record_end = None

    def __iter__(self):
        file, size = self.file, self.size
        file.seek(self.end_offset)
        while True:
            offset = self.end_offset
            remaining = size - offset
            if remaining == 0:
                return
            head = file.read(_RECORD_HEAD.size) if remaining >= _RECORD_HEAD.size else b""
            if len(head) < _RECORD_HEAD.size:
                self.stop_reason = "torn"
                return
            body_length, crc = _RECORD_HEAD.unpack(head)
            if body_length > remaining - _RECORD_HEAD.size:
                self.stop_reason = "torn"
                return
            body = file.read(body_length)
            if len(body) != body_length:       # the file shrank under us
                self.stop_reason = "torn"
                return
            record = _parse_body(body) if zlib.crc32(body) == crc else None
            if record is None:
                self.stop_reason = "corrupt"
                self.bad_record_end = offset + _RECORD_HEAD.size + body_length
                return
            self.end_offset = offset + _RECORD_HEAD.size + body_length
            self.records += 1
            yield record


class RecordingReader:
    """The whole records of a recording, in file order.

    Iterating yields ``(receive_time, frames)``: a float (seconds) and the
    list of the message's parts as ``bytes``.  Each iteration reads the file
    afresh, up to its size when the iteration starts; it stops at the first
    torn or corrupt record.

    Attributes
    ----------
    path : str
    records_read : int
        Whole records read by the last (complete) iteration.
    torn_bytes : int
        Bytes after the last whole record: a torn tail, or a corrupt record
        and everything after it.
    stop_reason : str or None
        ``None`` (the file ends after a whole record), ``"torn"`` (cut inside
        a record, or inside the file header) or ``"corrupt"`` (a record whose
        CRC or layout is wrong).
    end_offset : int
        File offset just after the last whole record.

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
        self.end_offset = 0

    def __iter__(self):
        return self._records()

    def __repr__(self):
        return (f"RecordingReader({self.path!r}, records_read={self.records_read}, "
                f"torn_bytes={self.torn_bytes}, stop_reason={self.stop_reason!r})")

    def _records(self):
        with open(self.path, "rb", buffering=_READ_BUFFER_BYTES) as file:
            size = os.fstat(file.fileno()).st_size
            self.records_read = 0
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


def read_recording(path):
    """Open a recording for reading.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    RecordingReader
        Iterable of ``(receive_time, frames)`` for every whole record;
        ``torn_bytes``, ``records_read`` and ``stop_reason`` after iteration.

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
        raise ValueError(f"part {k} is a {type(part).__name__}, not bytes") from None
    return view


def _zeros_from(file, offset, size):
    """Whether every byte of ``file`` from ``offset`` to ``size`` is zero."""
    file.seek(offset)
    while offset < size:
        chunk = file.read(min(size - offset, _READ_BUFFER_BYTES))
        if not chunk:
            return True
        if chunk.count(0) != len(chunk):
            return False
        offset += len(chunk)
    return True


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

    Attributes
    ----------
    path : str
    records_written, bytes_written : int
        Records and their bytes (record headers included, file header not)
        written by this writer.
    records_found : int
        Whole records the file held when it was opened.
    truncated_bytes : int
        Bytes of a torn tail removed when it was opened.

    Raises
    ------
    ValueError
        For a file that is not a recording, a corrupt record that is not at
        the tail (naming the file and the offset), a file already open by
        another writer, or a bad ``flush_interval_s``.
    """

    def __init__(self, path, flush_interval_s=1.0):
        if (isinstance(flush_interval_s, bool) or not isinstance(flush_interval_s, numbers.Real)
                or not math.isfinite(flush_interval_s) or flush_interval_s < 0):
            raise ValueError(f"flush_interval_s must be a finite number >= 0, "
                             f"got {flush_interval_s!r}")
        self.path = os.fspath(path)
        self.flush_interval_s = float(flush_interval_s)
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
        """Check an existing recording and cut its torn tail, or write the header."""
        size = os.fstat(file.fileno()).st_size
        with open(self.path, "rb", buffering=_READ_BUFFER_BYTES) as reader:
            header_whole = size > 0 and _read_header(reader, size, self.path)
            end = 0
            if header_whole:
                scan = _Scan(reader, size, FILE_HEADER_SIZE)
                for _ in scan:
                    pass
                end = scan.end_offset
                if (scan.stop_reason == "corrupt"
                        and not _zeros_from(reader, scan.bad_record_end, size)):
                    raise ValueError(
                        f"{self.path}: corrupt record at offset {end} followed by "
                        f"{size - scan.bad_record_end} more bytes; not appending (replay "
                        f"stops there; move the file aside or record to a new one)")
                self.records_found = scan.records
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
            Its parts (at most 65535; the body at most 4 GiB).

        Raises
        ------
        ValueError
            For a closed writer, a non-finite receive time or parts that are
            not bytes or too many or too large; nothing is written then.
        """
        if self._file is None:
            raise ValueError(f"{self.path}: write to a closed recording")
        receive_time = float(receive_time)
        if not math.isfinite(receive_time):
            raise ValueError(f"receive_time must be finite, got {receive_time}")
        views = [_part_view(part, k) for k, part in enumerate(frames)]
        if len(views) > _MAX_PARTS:
            raise ValueError(f"{len(views)} parts, at most {_MAX_PARTS} per record")
        body_length = _BODY_HEAD.size + sum(_PART_LENGTH.size + view.nbytes for view in views)
        if body_length > _U32_MAX:
            raise ValueError(f"record body of {body_length} bytes, at most {_U32_MAX}")
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
