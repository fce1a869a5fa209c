"""Compiled row formatter for the numeric interchange CSV files (tracks.csv, plots.csv).

The writers of :mod:`ingest.csvio` promise the bytes of Python's ``%``
formatting (``%.Nf``, ``%d``, a name): this module produces exactly those
bytes from arrays, without a Python object per row or per cell.

Three tiers, as in :mod:`ingest._csvparse`:

* :class:`ingest.csvio.TrackCsvWriter` (and ``write_plots_csv``) validate the
  rows and own the file;
* :func:`format_rows` is the driver: it writes every row of a block into a
  byte buffer;
* :func:`write_fixed` and :func:`write_int` are the workers: each writes one
  field (digits from the last, counted by comparisons with powers of ten).

Fixed-point numbers
-------------------
``'%.Nf' % x`` is the exact binary value of ``x`` rounded to ``N`` decimals,
ties to even.  The fast path forms ``y = |x| * 10**N``, one IEEE product of
``p = |x| 10^N`` (``10**N`` is exact for ``N <= 22``), and writes
``round(y)``.  That is ``round(p)`` whenever ``y`` is not itself a half:
below ``2^51`` every ``k + 1/2`` is a double and rounding is monotone, so
``y > k + 1/2`` implies ``p > k + 1/2`` and ``y < k + 1/2`` implies
``p < k + 1/2`` (in the same way ``y`` and ``p`` lie between the same two
halves).  A cell whose ``y`` is a half (``p`` may be a tie, or just above or
below one: ``0.0005`` is ``0.000500000000000000010...``) or is ``2^51`` or
more is *deferred*: :func:`find_deferred` lists it and the caller formats it
with Python's ``%`` (the reference itself); :func:`format_rows` copies those
bytes in.  NaN is ``nan`` (Python writes no sign on a NaN), or an empty field
in an optional column; infinities are ``inf`` and ``-inf``; the sign of a
zero is kept (``-0.00``), as Python keeps it.

Compiled with ``fastmath=False`` whatever the project's flag set
(:mod:`kernels._jit`): ``nsz`` (no signed zeros) or ``contract`` would change
the bytes.
"""
import numpy as np

from kernels._jit import njit

#: Column kinds of :func:`format_rows`.
KIND_FIXED = 0     # a float column, ``%.Nf``
KIND_INT = 1       # an int64 column, ``%d``
KIND_NAME = 2      # an int column holding an index into the names table

#: Fixed-point cells with ``|x| 10^N`` at or above this are deferred.
_FAST_LIMIT = 2.0 ** 51

_NAN = np.frombuffer(b"nan", np.uint8)
_INF = np.frombuffer(b"inf", np.uint8)


@njit(fastmath=False)
def _needs_python(x, scale):
    """True when the fast path cannot be sure of ``'%.Nf' % x`` (``scale = 10.0**N``)."""
    if x != x or x == np.inf or x == -np.inf:
        return False
    y = abs(x) * scale
    if y >= _FAST_LIMIT:
        return True
    return y - np.floor(y) == 0.5


@njit(fastmath=False)
def find_deferred(values, column_scale, deferred):
    """Mark the fixed-point cells the fast path leaves to Python; return how many.

    Parameters
    ----------
    values : ndarray, shape (n_rows, n_float)
    column_scale : ndarray, shape (n_float,)
        ``10.0 ** N`` of each float column.
    deferred : ndarray of int64, shape (n_rows, n_float), output
        ``-1`` for a cell of the fast path, else the cell's rank among the
        deferred cells (row-major order).
    """
    n_rows, n_float = values.shape
    count = 0
    for r in range(n_rows):
        for c in range(n_float):
            if _needs_python(values[r, c], column_scale[c]):
                deferred[r, c] = count
                count += 1
            else:
                deferred[r, c] = -1
    return count


#: 10**k for k = 0..18 (digit counts without a division).
_POW10 = np.array([10 ** k for k in range(19)], np.int64)
_INT64_MIN_TEXT = np.frombuffer(b"-9223372036854775808", np.uint8)


@njit(fastmath=False)
def _n_digits(v):
    """Decimal digits of the non-negative int64 ``v`` (1 for 0)."""
    n = 1
    while n < 19 and v >= _POW10[n]:
        n += 1
    return n


@njit(fastmath=False)
def _write_digits(out, pos, v, n, decimals):
    """The ``n`` lowest digits of ``v >= 0`` at ``out[pos:]``, a point before the last
    ``decimals`` of them when ``decimals > 0``; returns the new end."""
    end = pos + n + (1 if decimals > 0 else 0)
    p = end - 1
    for _ in range(decimals):
        out[p] = np.uint8(48 + v % 10)
        v //= 10
        p -= 1
    if decimals > 0:
        out[p] = 46
        p -= 1
    while p >= pos:
        out[p] = np.uint8(48 + v % 10)
        v //= 10
        p -= 1
    return end


@njit(fastmath=False)
def write_int(out, pos, v):
    """``'%d' % v`` for an int64 ``v``; returns the new end."""
    if v < 0:
        if v == -9223372036854775807 - 1:          # has no positive counterpart
            return _copy(out, pos, _INT64_MIN_TEXT)
        out[pos] = 45
        pos += 1
        v = -v
    # np.int64, not a literal 0: _write_digits would be compiled a second time for Literal[int](0)
    return _write_digits(out, pos, v, _n_digits(v), np.int64(0))


@njit(fastmath=False)
def _copy(out, pos, text):
    for k in range(text.size):
        out[pos + k] = text[k]
    return pos + text.size


@njit(fastmath=False)
def write_fixed(out, pos, x, decimals, scale):
    """``'%.Nf' % x`` for a finite ``x`` the fast path is sure of (see the module docstring)."""
    if x < 0.0 or (x == 0.0 and np.signbit(x)):
        out[pos] = 45
        pos += 1
    y = abs(x) * scale
    floor_y = np.floor(y)
    q = np.int64(floor_y)
    if y - floor_y > 0.5:
        q += 1
    # at least one digit before the point
    return _write_digits(out, pos, q, max(_n_digits(q), decimals + 1), decimals)


@njit(fastmath=False)
def format_rows(floats, ints, column_kind, column_slot, column_decimals, column_optional,
                deferred, deferred_text, deferred_start, names, name_start, out):
    """Write the rows as CSV lines into ``out``; return the number of bytes written.

    Parameters
    ----------
    floats : ndarray, shape (n_rows, n_float)
    ints : ndarray of int64, shape (n_rows, n_int)
    column_kind, column_slot, column_decimals : ndarray of int64, shape (n_columns,)
        Output column ``k`` is of kind ``column_kind[k]`` and takes column
        ``column_slot[k]`` of ``floats`` (KIND_FIXED) or ``ints``.
    column_optional : ndarray of bool, shape (n_columns,)
        NaN in an optional float column is an empty field.
    deferred : ndarray of int64, shape (n_rows, n_float)
        From :func:`find_deferred`.
    deferred_text : ndarray of uint8
        The Python-formatted deferred cells, one after the other;
        ``deferred_start`` (shape ``(n_deferred + 1,)``) their bounds.
    names, name_start : ndarray of uint8, ndarray of int64
        The names of KIND_NAME columns and their bounds.
    out : ndarray of uint8
        Large enough (the caller sizes it).
    """
    n_rows = floats.shape[0]
    n_columns = column_kind.size
    scale = np.empty(n_columns)
    for k in range(n_columns):
        scale[k] = 10.0 ** column_decimals[k]
    pos = 0
    for r in range(n_rows):
        for k in range(n_columns):
            if k > 0:
                out[pos] = 44
                pos += 1
            slot = column_slot[k]
            kind = column_kind[k]
            if kind == KIND_FIXED:
                x = floats[r, slot]
                d = deferred[r, slot]
                if d >= 0:
                    for b in range(deferred_start[d], deferred_start[d + 1]):
                        out[pos] = deferred_text[b]
                        pos += 1
                elif x != x:
                    if not column_optional[k]:
                        pos = _copy(out, pos, _NAN)
                elif x == np.inf:
                    pos = _copy(out, pos, _INF)
                elif x == -np.inf:
                    out[pos] = 45
                    pos = _copy(out, pos + 1, _INF)
                else:
                    pos = write_fixed(out, pos, x, column_decimals[k], scale[k])
            elif kind == KIND_INT:
                pos = write_int(out, pos, ints[r, slot])
            else:
                i = ints[r, slot]
                for b in range(name_start[i], name_start[i + 1]):
                    out[pos] = names[b]
                    pos += 1
        out[pos] = 10
        pos += 1
    return pos
