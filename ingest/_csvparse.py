"""Compiled parser for the numeric interchange CSV files (plots.csv, tracks.csv).

The parser works on the raw bytes of a file (``np.fromfile(path, np.uint8)``)
and never builds a Python object per row.  It is a generic row parser: the
caller maps every field of the header to an output column, and every output
column has a kind (:data:`KIND_FLOAT`, :data:`KIND_INT`, :data:`KIND_NAME`), a
slot in one of two output matrices and a "required" flag.

Three tiers, as in the rest of the project:

* :mod:`ingest.csvio` validates the header and arguments and owns the files;
* :func:`parse_rows` is the driver: it walks the lines of a byte range and
  writes one output row per good line;
* :func:`parse_float`, :func:`parse_int` and :func:`parse_name` are the
  workers: each parses one field.

Numbers
-------
A float field is ``[sign] digits [. digits] [(e|E) [sign] digits]`` (at least
one mantissa digit on either side of the point) or, ignoring case, ``nan``,
``inf`` or ``infinity`` with an optional sign: the syntax of Python's
``float()`` without underscores.  Surrounding spaces and tabs are ignored.

The value is correctly rounded by Clinger's fast path: the decimal mantissa
``w`` is read as an exact integer and, when ``w <= 2**53`` and the decimal
exponent ``q`` satisfies ``|q| <= 22``,

.. math::  x = w \\cdot 10^{q} \\quad (q \\ge 0), \\qquad
           x = w / 10^{-q} \\quad (q < 0)

is one IEEE operation on two exactly representable operands, hence correctly
rounded.  For ``22 < q <= 37`` the product ``w 10^{q-22}`` is formed exactly
in integers when it stays ``<= 2**53``.  Every other field (a non-zero digit
beyond the 18th significant one, a mantissa above ``2**53`` after dropping
trailing zeros, a larger exponent) is *deferred*: its byte span is recorded
in ``deferred`` and the caller parses it with a correctly rounded library
routine (NumPy's string to float64 conversion).

This module says ``fastmath=False`` on purpose, whatever the project's flag
set (:mod:`kernels._jit`): ``arcp`` would allow ``w / 10^k`` to become
``w * (1 / 10^k)``, two roundings instead of one, and break correct rounding.
"""
import numpy as np

from kernels._jit import njit

#: Column kinds.
KIND_FLOAT = 0
KIND_INT = 1
KIND_NAME = 2

#: Field parse outcomes.
FIELD_OK = 0
FIELD_EMPTY = 1
FIELD_INVALID = 2
FIELD_DEFERRED = 3

#: Indices into the parser state vector.
STATE_POSITION = 0
STATE_ROWS = 1
STATE_LINES = 2
STATE_MALFORMED = 3
STATE_DEFERRED = 4
STATE_SIZE = 5

#: Exact powers of ten representable in float64 (10**22 = 2**22 * 5**22).
POW10 = np.array([float(10 ** k) for k in range(23)])

_SPACE = 32
_TAB = 9
_COMMA = 44
_NEWLINE = 10
_CARRIAGE_RETURN = 13


@njit(fastmath=False)
def _is_blank(c):
    return c == _SPACE or c == _TAB


@njit(fastmath=False)
def _only_blanks(buf, i, j):
    """Whether ``buf[i:j]`` holds only spaces, tabs and stray carriage returns."""
    for k in range(i, j):
        if not (_is_blank(buf[k]) or buf[k] == _CARRIAGE_RETURN):
            return False
    return True


@njit(fastmath=False)
def _lower(c):
    if 65 <= c <= 90:
        return c + 32
    return c


@njit(fastmath=False)
def trim(buf, i, j):
    """Shrink ``buf[i:j]`` past leading and trailing spaces and tabs."""
    while i < j and _is_blank(buf[i]):
        i += 1
    while j > i and _is_blank(buf[j - 1]):
        j -= 1
    return i, j


@njit(fastmath=False)
def _special_float(buf, i, j):
    """Match ``nan``, ``inf`` or ``infinity`` (any case) in ``buf[i:j]``.

    Returns 1 for NaN, 2 for infinity, 0 for no match.
    """
    n = j - i
    if n == 3:
        a, b, c = _lower(buf[i]), _lower(buf[i + 1]), _lower(buf[i + 2])
        if a == 110 and b == 97 and c == 110:          # nan
            return 1
        if a == 105 and b == 110 and c == 102:         # inf
            return 2
    elif n == 8:
        word = (105, 110, 102, 105, 110, 105, 116, 121)  # infinity
        for k in range(8):
            if _lower(buf[i + k]) != word[k]:
                return 0
        return 2
    return 0


@njit(fastmath=False)
def parse_float(buf, i, j, pow10):
    """Parse one float field ``buf[i:j]``.

    Parameters
    ----------
    buf : ndarray of uint8, shape (n_bytes,)
    i, j : int
        Field span, untrimmed, separators excluded.
    pow10 : ndarray of float64, shape (23,)
        ``10.0**k`` for ``k = 0..22`` (:data:`POW10`).

    Returns
    -------
    status : int
        :data:`FIELD_OK`, :data:`FIELD_EMPTY`, :data:`FIELD_INVALID` or
        :data:`FIELD_DEFERRED` (valid syntax, outside the fast path).
    value : float
        The value when ``status == FIELD_OK``, else NaN.
    start, stop : int
        The trimmed span (what a deferred field must be parsed from).
    """
    i, j = trim(buf, i, j)
    start, stop = i, j
    if i == j:
        return FIELD_EMPTY, np.nan, start, stop
    negative = False
    c = buf[i]
    if c == 45:                                         # '-'
        negative = True
        i += 1
    elif c == 43:                                       # '+'
        i += 1
    if i == j:
        return FIELD_INVALID, np.nan, start, stop
    if buf[i] > 57:                                     # a letter: nan / inf
        special = _special_float(buf, i, j)
        if special == 0:
            return FIELD_INVALID, np.nan, start, stop
        value = np.nan if special == 1 else np.inf
        return FIELD_OK, -value if negative else value, start, stop

    w = 0                     # decimal mantissa, at most 18 significant digits
    n_significant = 0
    n_digits = 0
    q = 0                     # decimal exponent of the last kept digit
    truncated = False         # a non-zero digit was dropped
    while i < j:
        d = np.int64(buf[i]) - 48
        if d < 0 or d > 9:
            break
        n_digits += 1
        if n_significant < 18:
            if w != 0 or d != 0:
                w = w * 10 + d
                n_significant += 1
        else:
            q += 1
            if d != 0:
                truncated = True
        i += 1
    if i < j and buf[i] == 46:                          # '.'
        i += 1
        while i < j:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            n_digits += 1
            if n_significant < 18:
                if w != 0 or d != 0:
                    w = w * 10 + d
                    n_significant += 1
                q -= 1
            elif d != 0:
                truncated = True
            i += 1
    if n_digits == 0:
        return FIELD_INVALID, np.nan, start, stop
    if i < j and _lower(buf[i]) == 101:                 # 'e'
        i += 1
        exponent_negative = False
        if i < j and (buf[i] == 45 or buf[i] == 43):
            exponent_negative = buf[i] == 45
            i += 1
        n_exponent_digits = 0
        exponent = 0
        while i < j:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            if exponent < 100000:
                exponent = exponent * 10 + d
            n_exponent_digits += 1
            i += 1
        if n_exponent_digits == 0:
            return FIELD_INVALID, np.nan, start, stop
        q += -exponent if exponent_negative else exponent
    if i != j:
        return FIELD_INVALID, np.nan, start, stop

    if w == 0:
        return FIELD_OK, -0.0 if negative else 0.0, start, stop
    two_pow_53 = 9007199254740992
    if truncated:
        return FIELD_DEFERRED, np.nan, start, stop
    while w > two_pow_53 and w % 10 == 0:              # 1.50000000000000000
        w = w // 10
        q += 1
    if w > two_pow_53:
        return FIELD_DEFERRED, np.nan, start, stop
    if 0 <= q <= 22:
        value = np.float64(w) * pow10[q]
    elif -22 <= q < 0:
        value = np.float64(w) / pow10[-q]
    elif 22 < q <= 22 + 15:
        for _ in range(q - 22):                         # w 10^(q-22) exactly
            w = w * 10
            if w > two_pow_53:
                return FIELD_DEFERRED, np.nan, start, stop
        value = np.float64(w) * pow10[22]
    else:
        return FIELD_DEFERRED, np.nan, start, stop
    return FIELD_OK, -value if negative else value, start, stop


@njit(fastmath=False)
def parse_int(buf, i, j):
    """Parse one integer field ``[sign] digits`` in ``buf[i:j]``.

    Returns ``(status, value)``; a value outside int64 is :data:`FIELD_INVALID`.
    """
    i, j = trim(buf, i, j)
    if i == j:
        return FIELD_EMPTY, 0
    negative = False
    if buf[i] == 45 or buf[i] == 43:
        negative = buf[i] == 45
        i += 1
    if i == j:
        return FIELD_INVALID, 0
    limit = np.uint64(9223372036854775807) + np.uint64(1 if negative else 0)
    value = np.uint64(0)
    while i < j:
        d = np.int64(buf[i]) - 48
        if d < 0 or d > 9:
            return FIELD_INVALID, 0
        if value > (limit - np.uint64(d)) // np.uint64(10):
            return FIELD_INVALID, 0
        value = value * np.uint64(10) + np.uint64(d)
        i += 1
    if negative and value != 0:
        return FIELD_OK, -np.int64(value - np.uint64(1)) - 1
    return FIELD_OK, np.int64(value)


@njit(fastmath=False)
def parse_name(buf, i, j, names, name_lengths):
    """Match ``buf[i:j]`` (trimmed, ASCII case-insensitive) against a name table.

    Parameters
    ----------
    names : ndarray of uint8, shape (n_names, max_length)
        Lower-case names, zero padded.
    name_lengths : ndarray of int64, shape (n_names,)

    Returns ``(status, index)``; a name of length zero in the table never
    matches.
    """
    i, j = trim(buf, i, j)
    if i == j:
        return FIELD_EMPTY, 0
    for k in range(names.shape[0]):
        n = name_lengths[k]
        if n == 0 or n != j - i:
            continue
        same = True
        for m in range(n):
            if _lower(buf[i + m]) != names[k, m]:
                same = False
                break
        if same:
            return FIELD_OK, k
    return FIELD_INVALID, 0


@njit(fastmath=False)
def count_newlines(buf, start, end):
    """Number of ``\\n`` bytes in ``buf[start:end]``."""
    n = 0
    for k in range(start, end):
        if buf[k] == _NEWLINE:
            n += 1
    return n


@njit(fastmath=False)
def parse_rows(buf, end, field_column, column_kind, column_slot, column_required,
               names, name_lengths, pow10,
               state, float_out, int_out, bad_lines, deferred):
    """Parse the CSV lines of ``buf[state[0]:end]`` into output rows.

    A line ends at ``\\n``; one ``\\r`` before it is dropped; the last line
    may lack the ``\\n``.  A line of only spaces and tabs is skipped.  A line
    is *malformed*, counted and skipped when its field count differs from
    ``len(field_column)``, a field does not parse, or a required field is
    empty; parsing goes on with the next line.  Empty optional float fields
    and float columns absent from the header are NaN; int and name columns
    default to 0.

    Parameters
    ----------
    buf : ndarray of uint8, shape (n_bytes,)
    end : int
        Parse up to this byte (exclusive); a line boundary or the file end.
    field_column : ndarray of int64, shape (n_fields,)
        Output column of each field of a line, -1 for an ignored field.
    column_kind : ndarray of int64, shape (n_columns,)
        :data:`KIND_FLOAT`, :data:`KIND_INT` or :data:`KIND_NAME`.
    column_slot : ndarray of int64, shape (n_columns,)
        Index into ``float_out`` (float columns) or ``int_out`` (others).
    column_required : ndarray of bool, shape (n_columns,)
    names : ndarray of uint8, shape (n_names, max_length)
        Name table for :data:`KIND_NAME` columns (see :func:`parse_name`).
    name_lengths : ndarray of int64, shape (n_names,)
    pow10 : ndarray of float64, shape (23,)
        :data:`POW10`.
    state : ndarray of int64, shape (STATE_SIZE,)
        In/out: byte position, rows written, lines read (including the
        header and blank lines), malformed lines, deferred fields.
    float_out : ndarray of float64, shape (capacity, n_float_slots)
    int_out : ndarray of int64, shape (capacity, n_int_slots)
    bad_lines : ndarray of int64, shape (n_bad_kept,)
        The first malformed line numbers (1-based, counting from the first
        line of the file) are written here.
    deferred : ndarray of int64, shape (n_deferred_max, 4)
        ``(row, float slot, start, stop)`` of each field left to the caller.

    Returns
    -------
    n_rows : int
        ``state[STATE_ROWS]``.  The driver returns early, at a line
        boundary, when ``deferred`` might overflow on the next line; the
        caller then resolves the deferred fields, resets ``state[4]`` to 0 and
        calls again until ``state[0] == end``.
    """
    n_fields = field_column.shape[0]
    n_float_slots = float_out.shape[1]
    n_int_slots = int_out.shape[1]
    deferred_capacity = deferred.shape[0]
    position = state[STATE_POSITION]
    row = state[STATE_ROWS]
    line_number = state[STATE_LINES]
    n_malformed = state[STATE_MALFORMED]
    n_deferred = state[STATE_DEFERRED]
    while position < end:
        if n_deferred + n_fields > deferred_capacity:
            break
        line_number += 1
        for s in range(n_float_slots):
            float_out[row, s] = np.nan
        for s in range(n_int_slots):
            int_out[row, s] = 0
        row_deferred = n_deferred
        good = True
        blank = False
        field = 0
        field_start = position
        # One pass per line: each field is scanned up to ',' or '\n', then parsed.
        while True:
            field_end = field_start
            while field_end < end:
                c = buf[field_end]
                if c == _COMMA or c == _NEWLINE:
                    break
                field_end += 1
            at_line_end = field_end >= end or buf[field_end] == _NEWLINE
            value_end = field_end
            if at_line_end and value_end > field_start and buf[value_end - 1] == _CARRIAGE_RETURN:
                value_end -= 1
            if field == 0 and at_line_end and _only_blanks(buf, field_start, value_end):
                blank = True
                break
            if field >= n_fields:
                good = False
                break
            column = field_column[field]
            if column >= 0:
                kind = column_kind[column]
                slot = column_slot[column]
                if kind == KIND_FLOAT:
                    status, value, start, stop = parse_float(buf, field_start, value_end, pow10)
                    if status == FIELD_OK:
                        float_out[row, slot] = value
                    elif status == FIELD_DEFERRED:
                        deferred[n_deferred, 0] = row
                        deferred[n_deferred, 1] = slot
                        deferred[n_deferred, 2] = start
                        deferred[n_deferred, 3] = stop
                        n_deferred += 1
                elif kind == KIND_INT:
                    status, integer = parse_int(buf, field_start, value_end)
                    if status == FIELD_OK:
                        int_out[row, slot] = integer
                else:
                    status, integer = parse_name(buf, field_start, value_end, names, name_lengths)
                    if status == FIELD_OK:
                        int_out[row, slot] = integer
                if status == FIELD_INVALID or (status == FIELD_EMPTY and column_required[column]):
                    good = False
                    break
            field += 1
            if at_line_end:
                break
            field_start = field_end + 1
        line_end = field_end
        while line_end < end and buf[line_end] != _NEWLINE:     # after an early break
            line_end += 1
        position = line_end + 1 if line_end < end else end
        if blank:
            continue
        if good and field != n_fields:
            good = False
        if good:
            row += 1
        else:
            n_deferred = row_deferred
            if n_malformed < bad_lines.shape[0]:
                bad_lines[n_malformed] = line_number
            n_malformed += 1

    state[STATE_POSITION] = position
    state[STATE_ROWS] = row
    state[STATE_LINES] = line_number
    state[STATE_MALFORMED] = n_malformed
    state[STATE_DEFERRED] = n_deferred
    return row


@njit(fastmath=False)
def gather_fields(buf, deferred, n_deferred, out):
    """Copy the byte spans ``deferred[:n_deferred, 2:4]`` into the rows of ``out``.

    ``out`` has shape ``(n_deferred, width)`` and is zero-filled by the caller,
    so that ``out.view(f"S{width}")`` holds one byte string per field.
    """
    for k in range(n_deferred):
        start = deferred[k, 2]
        for m in range(deferred[k, 3] - start):
            out[k, m] = buf[start + m]
