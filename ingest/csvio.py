"""Read and write the CSV interchange files: plots.csv, truth.csv, tracks.csv.

The formats are the contract of docs/formats.md; the array layouts are those
of :mod:`ingest.schema`.

Reading
-------
plots.csv and tracks.csv are parsed from the file's bytes by the compiled row
parser of :mod:`ingest._csvparse`, never row by row in Python.  Columns are
found by their header names, in any order; unknown columns are ignored; a
missing required column is a :class:`ValueError` naming the column and the
file.  Lines may end in ``\\n`` or ``\\r\\n``, the last one may lack its end,
blank lines are skipped and spaces around fields are ignored.  Numbers follow
Python's ``float()`` syntax (without underscores), including ``nan`` and
``inf``, and are correctly rounded (see :mod:`ingest._csvparse`).  Quoted
fields are not supported in these two files (they hold numbers and status
names only).

A plots.csv line is *malformed* when it has the wrong number of fields, a
field that is not a number, an empty required field or a ``radar_id`` that is
not an integer.  Malformed lines are skipped and counted, never fatal:
:class:`CsvReadResult` reports how many and the first line numbers.  Non-finite
values (``nan``, ``inf``) are kept; the engine counts them.  A tracks.csv
line that is malformed is an error (:func:`read_tracks_csv` returns only the
array, and silently dropping track states would bias an evaluation).

truth.csv is small and has a free-text ``kind`` column that may be quoted; it
is read with the :mod:`csv` module and converted column by column.

Writing
-------
tracks.csv and plots.csv are formatted by the compiled row formatter of
:mod:`ingest._csvformat`: the bytes of Python's ``%`` formats (``%.Nf``,
``%d``), cell for cell, with the few cells it cannot be sure of (a value
within rounding error of a half, a huge value) formatted by ``%`` itself.
truth.csv (free-text columns) formats blocks of rows with one ``%``
operation per block, choosing a row template per row so that NaN in an
optional column is written as an empty field.  The output is deterministic:
the same array gives the same bytes.  Lines end in ``\\n``; files are UTF-8.
"""
import csv
import io
import os
import re
from dataclasses import dataclass

import numpy as np

from ingest import _csvformat as fmt
from ingest import _csvparse as parse
from ingest.schema import (
    OPTIONAL_PLOT_COLUMNS,
    PLOT_COLUMNS,
    PLOT_DTYPE,
    REQUIRED_PLOT_COLUMNS,
    TRACK_COLUMNS,
    TRACK_ROW_DTYPE,
    TRACK_STATUS_NAMES,
    TRUTH_BEHAVIOUR_DTYPE,
    TRUTH_DTYPE,
)

__all__ = [
    "CsvReadResult",
    "TrackCsvWriter",
    "iter_plots_csv",
    "read_plots_csv",
    "read_tracks_csv",
    "read_truth_csv",
    "write_plots_csv",
    "write_truth_csv",
]

#: How many malformed line numbers a result keeps.
MAX_BAD_LINES = 10

#: Deferred (slow path) fields resolved per batch.
_DEFERRED_BATCH = 1 << 16

#: Rows formatted per ``%`` operation by the writers.
_WRITE_BLOCK_ROWS = 1 << 15

PLOTS_HEADER = ",".join(PLOT_COLUMNS)
TRUTH_HEADER = ",".join(TRUTH_DTYPE.names)
TRACKS_HEADER = ",".join(TRACK_COLUMNS)

_PLOT_FORMATS = ("%.6f", "%d", "%.2f", "%.4f", "%.4f", "%.3f", "%.1f")
_TRUTH_FORMATS = ("%.6f", "%d", "%.3f", "%.3f", "%.3f", "%.4f", "%.4f", "%.4f", "%s")
_TRACK_FORMATS = ("%.3f", "%d", "%s", "%.2f", "%.2f", "%.2f", "%.3f", "%.3f", "%.3f",
                  "%.8f", "%.8f", "%.2f", "%.2f")
_TRACK_OPTIONAL_COLUMNS = ("lat_deg", "lon_deg", "alt_m", "sigma_pos_m")


@dataclass(frozen=True)
class CsvReadResult:
    """What reading plots.csv (or one chunk of it) gives.

    Attributes
    ----------
    plots : ndarray of PLOT_DTYPE, shape (n_plots,)
        The good rows, in file order.
    malformed : int
        Lines skipped as malformed.
    first_bad_lines : tuple of int
        1-based line numbers (the header is line 1) of the first
        :data:`MAX_BAD_LINES` malformed lines.
    deferred_fields : int
        Numbers parsed by the slower, library path (more than 18 significant
        digits, a mantissa above 2**53 or a decimal exponent beyond the fast
        range); for monitoring only, the values are correctly rounded either
        way.
    bytes_done : int
        Bytes of the file consumed so far (after this chunk).
    bytes_total : int
        Size of the file.
    """

    plots: np.ndarray
    malformed: int
    first_bad_lines: tuple
    deferred_fields: int
    bytes_done: int
    bytes_total: int


# --------------------------------------------------------------------------
# Column layouts


@dataclass(frozen=True)
class _Column:
    name: str
    kind: int
    required: bool


_PLOT_SPEC = tuple(
    _Column(name, parse.KIND_INT if name == "radar_id" else parse.KIND_FLOAT,
            name in REQUIRED_PLOT_COLUMNS)
    for name in PLOT_COLUMNS
)

_TRACK_SPEC = tuple(
    _Column(
        name,
        parse.KIND_INT if name == "track_id" else
        parse.KIND_NAME if name == "status" else parse.KIND_FLOAT,
        name not in _TRACK_OPTIONAL_COLUMNS,
    )
    for name in TRACK_COLUMNS
)


def _status_name_table():
    """Name table for the status column: index = status code; 'free' never matches."""
    width = max(len(name) for name in TRACK_STATUS_NAMES)
    names = np.zeros((len(TRACK_STATUS_NAMES), width), np.uint8)
    lengths = np.zeros(len(TRACK_STATUS_NAMES), np.int64)
    for code, name in enumerate(TRACK_STATUS_NAMES):
        if name == "free":
            continue
        encoded = name.lower().encode("ascii")
        names[code, :len(encoded)] = np.frombuffer(encoded, np.uint8)
        lengths[code] = len(encoded)
    return names, lengths


_NO_NAMES = (np.zeros((1, 1), np.uint8), np.zeros(1, np.int64))


class _Layout:
    """Arrays that tell :func:`parse.parse_rows` where each field goes."""

    def __init__(self, spec, header_names, path, names=_NO_NAMES):
        position = {}
        for field, name in enumerate(header_names):
            if name in position and any(column.name == name for column in spec):
                raise ValueError(f"{path}: column {name!r} appears twice in the header")
            position.setdefault(name, field)
        for column in spec:
            if column.required and column.name not in position:
                raise ValueError(
                    f"{path}: missing required column {column.name!r} "
                    f"(header: {','.join(header_names)})")
        self.spec = spec
        self.field_column = np.full(len(header_names), -1, np.int64)
        self.column_kind = np.array([column.kind for column in spec], np.int64)
        self.column_slot = np.zeros(len(spec), np.int64)
        self.column_required = np.array([column.required for column in spec], np.bool_)
        n_float = n_int = 0
        for index, column in enumerate(spec):
            if column.kind == parse.KIND_FLOAT:
                self.column_slot[index] = n_float
                n_float += 1
            else:
                self.column_slot[index] = n_int
                n_int += 1
            if column.name in position:
                self.field_column[position[column.name]] = index
        self.n_float = n_float
        self.n_int = max(n_int, 1)
        self.names, self.name_lengths = names

    def to_array(self, float_out, int_out, dtype):
        """Fill a structured array of ``dtype`` from the parser's output matrices."""
        out = np.empty(float_out.shape[0], dtype)
        for index, column in enumerate(self.spec):
            slot = self.column_slot[index]
            if column.kind == parse.KIND_FLOAT:
                out[column.name] = float_out[:, slot]
            else:
                out[column.name] = int_out[:, slot]
        return out


#: Raised (with the file's name) for a file whose lines end in a bare CR.
CR_LINE_ENDINGS = ("lines end in a bare carriage return (CR, old Mac OS style); only LF and CR LF "
                   "line endings are read: convert the file (e.g. tr '\\r' '\\n')")


def _split_header(data, start, at_end, path="file"):
    """Find the header: the first non-blank line of ``data[start:]``.

    Returns ``(names, body_start, lines_read)`` or ``None`` when no complete
    line is there yet and more data may come.  A carriage return inside the
    header line (not just before its LF) means CR-only line endings: a
    ValueError naming ``path``, as soon as it is seen (such a file would
    otherwise read as one header line and no plots).
    """
    lines = 0
    position = start
    while True:
        newline = data.find(b"\n", position)
        carriage = data.find(b"\r", position, len(data) if newline < 0 else newline)
        while carriage >= 0 and carriage + 1 < len(data) and data[carriage + 1] in b"\r":
            carriage += 1                 # CR CR LF: the last CR before the LF is allowed
        if carriage >= 0 and carriage + 1 < len(data) and data[carriage + 1] != 10 and \
                (newline < 0 or carriage + 1 < newline):
            raise ValueError(f"{path}: {CR_LINE_ENDINGS}")
        if newline < 0:
            if not at_end:
                return None
            line_end = len(data)
            next_position = len(data)
        else:
            line_end = newline
            next_position = newline + 1
        text = bytes(data[position:line_end]).decode("utf-8", errors="replace")
        lines += 1
        if lines == 1:
            text = text.lstrip("\ufeff")
        if text.strip(" \t\r"):
            names = [name.strip(" \t\r").strip('"') for name in text.rstrip("\r").split(",")]
            return names, next_position, lines
        if newline < 0:
            return [], next_position, lines
        position = next_position


# --------------------------------------------------------------------------
# Reading


def _resolve_deferred(buf, deferred, float_out):
    """Parse deferred fields with NumPy's correctly rounded string conversion."""
    widths = deferred[:, 3] - deferred[:, 2]
    width = int(widths.max())
    text = np.zeros((deferred.shape[0], width), np.uint8)
    parse.gather_fields(buf, deferred, deferred.shape[0], text)
    strings = text.view(f"S{width}")[:, 0]
    try:
        values = strings.astype(np.float64)
    except ValueError:                      # not expected: the syntax was checked
        values = np.array([float(s) for s in strings.tolist()])
    float_out[deferred[:, 0], deferred[:, 1]] = values


def _parse_range(buf, end, layout, start, lines_before):
    """Parse ``buf[start:end]`` (whole lines).

    Returns ``(float_out, int_out, malformed, bad_lines, n_deferred, lines_after)``.
    """
    capacity = parse.count_newlines(buf, start, end) + 1
    float_out = np.empty((capacity, layout.n_float))
    int_out = np.empty((capacity, layout.n_int), np.int64)
    state = np.zeros(parse.STATE_SIZE, np.int64)
    state[parse.STATE_POSITION] = start
    state[parse.STATE_LINES] = lines_before
    bad_lines = np.zeros(MAX_BAD_LINES, np.int64)
    deferred = np.empty((max(_DEFERRED_BATCH, 2 * layout.field_column.shape[0]), 4), np.int64)
    n_deferred = 0
    while True:
        parse.parse_rows(buf, end, layout.field_column, layout.column_kind,
                         layout.column_slot, layout.column_required,
                         layout.names, layout.name_lengths, parse.POW10,
                         state, float_out, int_out, bad_lines, deferred)
        batch = int(state[parse.STATE_DEFERRED])
        if batch:
            _resolve_deferred(buf, deferred[:batch], float_out)
            n_deferred += batch
            state[parse.STATE_DEFERRED] = 0
        if state[parse.STATE_POSITION] >= end:
            break
    n_rows = int(state[parse.STATE_ROWS])
    malformed = int(state[parse.STATE_MALFORMED])
    return (float_out[:n_rows], int_out[:n_rows], malformed,
            tuple(int(k) for k in bad_lines[:min(malformed, MAX_BAD_LINES)]),
            n_deferred, int(state[parse.STATE_LINES]))


def _iter_table(path, spec, dtype, chunk_bytes, names=_NO_NAMES):
    """Yield ``(array, malformed, bad_lines, n_deferred, bytes_done, bytes_total)``.

    ``chunk_bytes=None`` reads the file in one piece.  At least one tuple is
    yielded (possibly with an empty array).
    """
    total = os.path.getsize(path)
    with open(path, "rb") as file:
        pending = bytearray()
        start = 0
        layout = None
        lines = 0
        at_end = False
        yielded = False
        while True:
            if not at_end:
                block = file.read() if chunk_bytes is None else file.read(chunk_bytes)
                at_end = len(block) == 0
                pending = pending + block if pending else bytearray(block)
            if layout is None:
                header = _split_header(pending, start, at_end, path)
                if header is None:
                    continue
                header_names, start, lines = header
                if not header_names:
                    raise ValueError(f"{path}: no header line")
                layout = _Layout(spec, header_names, path, names)
            if at_end:
                end = len(pending)
            else:
                end = pending.rfind(b"\n", start) + 1
                if end <= start:
                    continue                    # a line longer than the chunk
            if end > start or (at_end and not yielded):
                buf = np.frombuffer(pending, np.uint8)
                float_out, int_out, malformed, bad_lines, n_deferred, lines = _parse_range(
                    buf, end, layout, start, lines)
                del buf                         # release the export before resizing
                array = layout.to_array(float_out, int_out, dtype)
                bytes_done = file.tell() - (len(pending) - end)
                yield array, malformed, bad_lines, n_deferred, bytes_done, total
                yielded = True
            pending = pending[end:]
            start = 0
            if at_end:
                return


def _check_chunk_bytes(chunk_bytes):
    if chunk_bytes is None:
        return None
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, (int, np.integer)):
        raise TypeError(f"chunk_bytes must be an int, not {type(chunk_bytes).__name__}")
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be positive, got {chunk_bytes}")
    return int(chunk_bytes)


def iter_plots_csv(path, chunk_bytes=32 << 20):
    """Read plots.csv in chunks of about ``chunk_bytes``, split at line ends.

    Parameters
    ----------
    path : str or os.PathLike
    chunk_bytes : int
        Bytes read per chunk.  A line longer than this is read whole.

    Yields
    ------
    CsvReadResult
        One per chunk; ``bytes_done`` / ``bytes_total`` give the progress.
        Line numbers are those of the whole file.  Concatenating the
        ``plots`` of all chunks (and summing ``malformed``) gives exactly
        :func:`read_plots_csv`.  At least one result is yielded.

    Raises
    ------
    TypeError, ValueError
        At the call: ``chunk_bytes`` not a positive int.
    ValueError
        At the first chunk: no header line, or a required column missing.
    """
    chunk_bytes = _check_chunk_bytes(chunk_bytes)
    return (CsvReadResult(plots, malformed, bad_lines, n_deferred, done, total)
            for plots, malformed, bad_lines, n_deferred, done, total
            in _iter_table(path, _PLOT_SPEC, PLOT_DTYPE, chunk_bytes))


def _merge(results):
    if len(results) == 1:
        return results[0]
    plots = np.concatenate([result.plots for result in results])
    bad_lines = tuple(line for result in results for line in result.first_bad_lines)
    return CsvReadResult(
        plots,
        sum(result.malformed for result in results),
        bad_lines[:MAX_BAD_LINES],
        sum(result.deferred_fields for result in results),
        results[-1].bytes_done,
        results[-1].bytes_total,
    )


def read_plots_csv(path):
    """Read a whole plots.csv.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    CsvReadResult
        ``plots`` (PLOT_DTYPE, file order), the count and first line numbers
        of malformed lines, and the number of slow-path fields.

    Raises
    ------
    ValueError
        No header line, or a required column (time_s, radar_id, range_m,
        azimuth_deg, elevation_deg) missing from it.
    """
    results = list(iter_plots_csv(path, chunk_bytes=None))
    return _merge(results)


def read_tracks_csv(path):
    """Read tracks.csv written by any tracker.

    ``status`` names (``tentative``, ``confirmed``, ``coasting``, any case)
    become their :data:`ingest.schema.TRACK_STATUS_NAMES` codes.  The columns
    ``lat_deg``, ``lon_deg``, ``alt_m`` and ``sigma_pos_m`` may be missing or
    empty (NaN); extra columns are ignored.

    Returns
    -------
    ndarray of TRACK_ROW_DTYPE, shape (n_rows,)

    Raises
    ------
    ValueError
        No header, a missing required column, or any malformed line (the
        message gives the count and the first line numbers).
    """
    pieces = []
    malformed = 0
    bad_lines = []
    for rows, n_bad, bad, _, _, _ in _iter_table(
            path, _TRACK_SPEC, TRACK_ROW_DTYPE, None, names=_status_name_table()):
        pieces.append(rows)
        malformed += n_bad
        bad_lines.extend(bad)
    if malformed:
        raise ValueError(
            f"{path}: {malformed} malformed line(s), first at line(s) "
            f"{', '.join(str(line) for line in bad_lines[:MAX_BAD_LINES])}")
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def read_truth_csv(path):
    """Read truth.csv.

    Columns are found by header name, in any order; ``kind`` may be missing
    (empty strings), is stripped of outer spaces and truncated to the 16
    characters of TRUTH_DTYPE; quoted fields follow the csv module;
    extra columns are ignored; blank lines are skipped.  The optional
    ``behaviour`` column (docs/formats.md) is read like ``kind``.

    Returns
    -------
    ndarray of TRUTH_DTYPE, shape (n_rows,)
        Of TRUTH_BEHAVIOUR_DTYPE (TRUTH_DTYPE and ``behaviour``) when the
        header names a ``behaviour`` column.

    Raises
    ------
    ValueError
        No header, a missing column, a line with the wrong number of fields
        or a value that does not parse (the message names file and line).
    """
    required = [name for name in TRUTH_DTYPE.names if name != "kind"]
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = None
        for row in reader:
            if any(cell.strip() for cell in row):
                header = [cell.strip() for cell in row]
                break
        if header is None:
            raise ValueError(f"{path}: no header line")
        for name in required:
            if name not in header:
                raise ValueError(
                    f"{path}: missing required column {name!r} (header: {','.join(header)})")
        rows = []
        line_numbers = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{path}: line {reader.line_num}: expected {len(header)} fields, "
                    f"found {len(row)}")
            rows.append(row)
            line_numbers.append(reader.line_num)
    dtype = TRUTH_BEHAVIOUR_DTYPE if "behaviour" in header else TRUTH_DTYPE
    truth = np.zeros(len(rows), dtype)
    if not rows:
        return truth
    columns = list(zip(*rows))
    for name in required:
        text = np.array(columns[header.index(name)])
        kind = np.int64 if name == "target_id" else np.float64
        try:
            truth[name] = text.astype(kind)
        except ValueError:
            for k, cell in enumerate(text.tolist()):
                try:
                    np.array([cell]).astype(kind)
                except ValueError:
                    raise ValueError(
                        f"{path}: line {line_numbers[k]}: bad {name} value {cell!r}") from None
            raise
    if "kind" in header:
        truth["kind"] = [cell.strip() for cell in columns[header.index("kind")]]
    if "behaviour" in header:
        truth["behaviour"] = [cell.strip() for cell in columns[header.index("behaviour")]]
    return truth


# --------------------------------------------------------------------------
# Writing


class _RowFormatter:
    """Formats blocks of rows with one ``%`` operation per block.

    Each row gets one of ``2**n_optional`` templates; in a template an
    optional column that is NaN in that row is ``%.0s``, which consumes the
    value and writes nothing (an empty field).
    """

    def __init__(self, formats, optional):
        self.optional = [k for k, is_optional in enumerate(optional) if is_optional]
        templates = []
        for pattern in range(1 << len(self.optional)):
            row = list(formats)
            for bit, k in enumerate(self.optional):
                if pattern >> bit & 1:
                    row[k] = "%.0s"
            templates.append(",".join(row) + "\n")
        self.templates = np.array(templates, dtype=object)
        self.n_columns = len(formats)

    def format(self, columns):
        """``columns``: one array per column, equal lengths; returns the UTF-8 bytes."""
        n = len(columns[0])
        if n == 0:
            return b""
        pattern = np.zeros(n, np.intp)
        for bit, k in enumerate(self.optional):
            pattern |= np.isnan(columns[k]).astype(np.intp) << bit
        if not pattern.any():
            template = self.templates[0] * n
        else:
            template = "".join(self.templates[pattern].tolist())
        cells = np.empty((n, self.n_columns), dtype=object)
        for k, column in enumerate(columns):
            cells[:, k] = column
        return (template % tuple(cells.ravel().tolist())).encode("utf-8")


class _CompiledFormatter:
    """Formats blocks of rows with :func:`ingest._csvformat.format_rows`.

    Parameters
    ----------
    formats : sequence of str
        Per column ``"%.Nf"`` (a float column), ``"%d"`` (an integer column)
        or ``"%s"`` (an integer column of indices into ``names``).
    optional : sequence of bool
        A NaN in an optional float column is an empty field.
    names : sequence of str
        The names of the ``"%s"`` columns.

    The bytes are those of :class:`_RowFormatter` with the same formats, for
    every value (``tests/test_csvio.py`` checks it on random rows).
    """

    def __init__(self, formats, optional, names=()):
        kinds, slots, decimals = [], [], []
        self.float_formats = []
        n_float = n_int = 0
        for text in formats:
            fixed = re.fullmatch(r"%\.(\d+)f", text)
            if fixed:
                kinds.append(fmt.KIND_FIXED)
                slots.append(n_float)
                decimals.append(int(fixed.group(1)))
                self.float_formats.append(text)
                n_float += 1
            elif text in ("%d", "%s"):
                kinds.append(fmt.KIND_INT if text == "%d" else fmt.KIND_NAME)
                slots.append(n_int)
                decimals.append(0)
                n_int += 1
            else:
                raise ValueError(f"unsupported column format {text!r}")
        if max(decimals, default=0) > 15:
            raise ValueError("at most 15 decimals")
        self.column_kind = np.array(kinds, np.int64)
        self.column_slot = np.array(slots, np.int64)
        self.column_decimals = np.array(decimals, np.int64)
        self.column_optional = np.array(optional, bool)
        self.n_float, self.n_int = n_float, n_int
        is_float = self.column_kind == fmt.KIND_FIXED
        self.float_scale = 10.0 ** self.column_decimals[is_float].astype(float)
        encoded = [name.encode("utf-8") for name in names]
        self.names = np.frombuffer(b"".join(encoded), np.uint8) if encoded else np.zeros(0, np.uint8)
        self.name_start = np.concatenate(([0], np.cumsum([len(e) for e in encoded]))).astype(np.int64)
        # widest field: sign, 16 digits (|x| 10^N < 2^51), point, decimals; int64; a name
        widths = [1 + 16 + 1 + d if k == fmt.KIND_FIXED else 20 if k == fmt.KIND_INT
                  else max((len(e) for e in encoded), default=0) for k, d in zip(kinds, decimals)]
        self.row_bytes = sum(widths) + len(widths)

    def format(self, columns):
        """``columns``: one array per column, equal lengths; returns the bytes."""
        n = len(columns[0])
        if n == 0:
            return b""
        floats = np.empty((n, self.n_float))
        ints = np.empty((n, self.n_int), np.int64)
        for column, kind, slot in zip(columns, self.column_kind.tolist(), self.column_slot.tolist()):
            if kind == fmt.KIND_FIXED:
                floats[:, slot] = column
            else:
                ints[:, slot] = column
        deferred = np.empty((n, self.n_float), np.int64)
        n_deferred = fmt.find_deferred(floats, self.float_scale, deferred)
        if n_deferred:
            rows, slots = np.nonzero(deferred >= 0)       # row-major: the order of the ranks
            texts = [(self.float_formats[c] % floats[r, c]).encode("ascii")
                     for r, c in zip(rows.tolist(), slots.tolist())]
            deferred_text = np.frombuffer(b"".join(texts), np.uint8)
            deferred_start = np.concatenate(([0], np.cumsum([len(t) for t in texts]))).astype(np.int64)
        else:
            # read-only like np.frombuffer's above: one compiled signature of format_rows
            deferred_text = np.frombuffer(b"", np.uint8)
            deferred_start = np.zeros(1, np.int64)
        out = np.empty(n * self.row_bytes + deferred_text.size, np.uint8)
        end = fmt.format_rows(floats, ints, self.column_kind, self.column_slot, self.column_decimals,
                              self.column_optional, deferred, deferred_text, deferred_start,
                              self.names, self.name_start, out)
        return out[:end].tobytes()


def _check_table(array, dtype, what):
    if not isinstance(array, np.ndarray) or array.dtype.names is None:
        raise TypeError(f"{what} must be a structured ndarray of {what} dtype")
    missing = [name for name in dtype.names if name not in array.dtype.names]
    if missing:
        raise ValueError(f"{what} array lacks field(s) {', '.join(missing)}")
    if array.ndim != 1:
        raise ValueError(f"{what} array must be 1-D, got shape {array.shape}")


def _write_blocks(file, formatter, array, columns_of):
    for first in range(0, len(array), _WRITE_BLOCK_ROWS):
        block = array[first:first + _WRITE_BLOCK_ROWS]
        file.write(formatter.format(columns_of(block)))


_PLOT_FORMATTER = _CompiledFormatter(_PLOT_FORMATS, [name in OPTIONAL_PLOT_COLUMNS for name in PLOT_COLUMNS])
_TRUTH_FORMATTER = _RowFormatter(_TRUTH_FORMATS, [False] * len(_TRUTH_FORMATS))
_TRUTH_BEHAVIOUR_FORMATTER = _RowFormatter(_TRUTH_FORMATS + ("%s",), [False] * (len(_TRUTH_FORMATS) + 1))
_TRACK_FORMATTER = _CompiledFormatter(_TRACK_FORMATS, [name in _TRACK_OPTIONAL_COLUMNS for name in TRACK_COLUMNS],
                                      names=TRACK_STATUS_NAMES)


def write_plots_csv(path, plots):
    """Write plots.csv.

    Parameters
    ----------
    path : str or os.PathLike
    plots : ndarray of PLOT_DTYPE, shape (n_plots,)
        Written in array order; NaN ``radial_velocity_mps`` / ``snr_db`` are
        empty fields, other non-finite values are written as ``nan`` / ``inf``.
        Formats: time %.6f, range %.2f, azimuth and elevation %.4f, radial
        velocity %.3f, SNR %.1f.
    """
    _check_table(plots, PLOT_DTYPE, "plots")
    with open(path, "wb") as file:
        file.write((PLOTS_HEADER + "\n").encode("ascii"))
        _write_blocks(file, _PLOT_FORMATTER, plots,
                      lambda block: [block[name] for name in PLOT_COLUMNS])


def _csv_text(text):
    """Quote a free-text field the way the csv module reads it back."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_truth_csv(path, truth):
    """Write truth.csv.

    Parameters
    ----------
    path : str or os.PathLike
    truth : ndarray of TRUTH_DTYPE, shape (n_rows,)
        Formats: time %.6f, positions %.3f, velocities %.4f; ``kind`` is
        quoted (csv style) when it holds a comma, a quote or a line end.
        An array with a ``behaviour`` field (TRUTH_BEHAVIOUR_DTYPE) gets the
        optional ``behaviour`` column after ``kind``, quoted the same way.
    """
    _check_table(truth, TRUTH_DTYPE, "truth")
    with_behaviour = "behaviour" in truth.dtype.names
    text_columns = ("kind", "behaviour") if with_behaviour else ("kind",)

    def quoted(values):
        texts, inverse = np.unique(values, return_inverse=True)
        return np.array([_csv_text(str(text)) for text in texts], dtype=object)[inverse.ravel()]

    def columns_of(block):
        return ([block[name] for name in TRUTH_DTYPE.names[:-1]]
                + [quoted(block[name]) for name in text_columns])

    formatter = _TRUTH_BEHAVIOUR_FORMATTER if with_behaviour else _TRUTH_FORMATTER
    header = TRUTH_HEADER + (",behaviour" if with_behaviour else "")
    with open(path, "wb") as file:
        file.write((header + "\n").encode("ascii"))
        _write_blocks(file, formatter, truth, columns_of)


class TrackCsvWriter:
    """Incremental tracks.csv writer.

    Parameters
    ----------
    path_or_file : str, os.PathLike or file object
        A path is opened (truncated) and closed by :meth:`close`; a file
        object (text or binary) is written to and flushed but left open.

    Notes
    -----
    Formats: time %.3f, east/north/up %.2f, velocities %.3f, lat/lon %.8f,
    alt %.2f, sigma %.2f; ``status`` as its name; NaN ``lat_deg``,
    ``lon_deg``, ``alt_m`` or ``sigma_pos_m`` as an empty field.

    Examples
    --------
    >>> with TrackCsvWriter("tracks.csv") as writer:   # doctest: +SKIP
    ...     writer.write(rows)
    """

    def __init__(self, path_or_file):
        if isinstance(path_or_file, (str, os.PathLike)):
            self._file = open(path_or_file, "wb")
            self._owns_file = True
            self._text = False
        elif hasattr(path_or_file, "write"):
            self._file = path_or_file
            self._owns_file = False
            self._text = isinstance(path_or_file, io.TextIOBase)
        else:
            raise TypeError(
                f"path_or_file must be a path or a file object, not {type(path_or_file).__name__}")
        self._closed = False
        self.rows_written = 0
        self._emit((TRACKS_HEADER + "\n").encode("ascii"))

    def _emit(self, data):
        self._file.write(data.decode("utf-8") if self._text else data)

    def write(self, rows):
        """Append rows.

        Parameters
        ----------
        rows : ndarray of TRACK_ROW_DTYPE, shape (n_rows,)
            ``status`` must be 1 (tentative), 2 (confirmed) or 3 (coasting).
        """
        if self._closed:
            raise ValueError("write to a closed TrackCsvWriter")
        _check_table(rows, TRACK_ROW_DTYPE, "track row")
        status = rows["status"]
        bad = (status < 1) | (status >= len(TRACK_STATUS_NAMES))
        if bad.any():
            raise ValueError(
                f"track rows with invalid status code {int(status[bad][0])} "
                f"(expected 1 tentative, 2 confirmed, 3 coasting)")
        for first in range(0, len(rows), _WRITE_BLOCK_ROWS):
            block = rows[first:first + _WRITE_BLOCK_ROWS]
            self._emit(_TRACK_FORMATTER.format([block[name] for name in TRACK_COLUMNS]))
        self.rows_written += len(rows)

    def close(self):
        """Flush, and close the file if this writer opened it.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_file:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False
