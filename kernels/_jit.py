"""The one place that decides how kernels are compiled.

``FASTMATH`` is empty: kernels compile to plain IEEE arithmetic.  The
value-changing flags are left out on purpose.  ``nnan`` and ``ninf`` would be
wrong (kernels see NaN for a missing radial velocity and large finite "not
allowed" costs).  ``contract`` (fused multiply-add) and ``arcp`` (reciprocal
multiply) let the code generator decide, per compiled body, whether to fuse or
not, and it did not decide the same way for the code it runs in the compiling
process and the object code it writes to the cache: the same live-mode run gave
tracks differing in the last bits of their states on a cold cache and a warm
one (tests/test_jit.py says why this matters: replays must be byte-identical
run to run, on the first run after an install too).  Plain arithmetic gives
the same bits whichever body runs.

Start-up: the first kernel a process loads from the cache makes Numba import
its array functions (``numba.np.arraymath``), and that module asks whether a
BLAS is there by importing ``scipy.linalg``, which imports SciPy's array-API
layer and with it every lazily loaded part of NumPy (``numpy.f2py``,
``numpy.testing``, ...): 0.3 s of CPU on every start of ``radarcore replay``
or ``serve``.  No kernel here calls BLAS (small matrices are written out, see
the style guide), so :func:`_defer_numba_blas_check` lets that question be
answered by whether SciPy is installed; the functions that do use BLAS
(``np.dot``, ``np.linalg``) still import it through Numba's own check when
they are compiled.
"""
import importlib.util
import sys

import numba

FASTMATH = frozenset()


def njit(*args, **kwargs):
    """``numba.njit`` with ``cache=True`` and :data:`FASTMATH` by default."""
    kwargs.setdefault("cache", True)
    kwargs.setdefault("fastmath", set(FASTMATH))
    kwargs.setdefault("nogil", True)
    if args and callable(args[0]) and len(args) == 1:
        return numba.njit(**kwargs)(args[0])
    return numba.njit(*args, **kwargs)


def _defer_numba_blas_check():
    """Import ``numba.np.arraymath`` with its BLAS check reduced to "is SciPy installed".

    Its ``_HAVE_BLAS`` only chooses between BLAS and a plain loop for
    ``np.vdot``-style inner products; ``numba.np.linalg.ensure_blas`` is put
    back at once, so every compilation that needs BLAS still imports it.  A
    Numba without these names is left alone.
    """
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        from numba.np import linalg
    except ImportError:
        return
    ensure_blas = getattr(linalg, "ensure_blas", None)
    if ensure_blas is None:
        return

    def scipy_installed():
        if importlib.util.find_spec("scipy") is None:
            raise ImportError("scipy 0.16+ is required for linear algebra")

    linalg.ensure_blas = scipy_installed
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        linalg.ensure_blas = ensure_blas


_defer_numba_blas_check()
