"""The one place that decides how kernels are compiled.

``FASTMATH`` is a flag set, not ``fastmath=True``: kernels see NaN (missing
radial velocity) and large finite "not allowed" costs, so the ``nnan`` and
``ninf`` assumptions must never be made.  ``contract`` (fused multiply-add),
``arcp`` and ``nsz`` keep results within a few ulps of plain IEEE arithmetic.
"""
import numba

FASTMATH = frozenset({"contract", "arcp", "nsz"})


def njit(*args, **kwargs):
    """``numba.njit`` with ``cache=True`` and :data:`FASTMATH` by default."""
    kwargs.setdefault("cache", True)
    kwargs.setdefault("fastmath", set(FASTMATH))
    kwargs.setdefault("nogil", True)
    if args and callable(args[0]) and len(args) == 1:
        return numba.njit(**kwargs)(args[0])
    return numba.njit(*args, **kwargs)
