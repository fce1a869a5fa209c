"""Chi-square quantiles for the gates, without SciPy.

The engine needs two numbers per start (the gate thresholds of 3 and 4
measured components).  ``scipy.special`` would give them, but importing it
imports SciPy's array-API layer, which walks the whole NumPy namespace
(``numpy.f2py``, ``numpy.testing``, ...): about 0.3 s of every start of
``radarcore replay`` or ``serve``.

For an integer number of degrees of freedom ``k`` the survival function has
a closed form (Abramowitz and Stegun 26.4.4, 26.4.5), with ``h = x / 2``:

.. math::

    Q(x; 2m) = e^{-h} \\sum_{j=0}^{m-1} \\frac{h^j}{j!}, \\qquad
    Q(x; 2m+1) = \\operatorname{erfc}\\sqrt{h}
        + e^{-h} \\sum_{j=0}^{m-1} \\frac{h^{j+1/2}}{\\Gamma(j + 3/2)}

a sum of positive terms, accurate to a few ulps.  The quantile is found by
bisection over doubles until the bracket is two neighbouring doubles, and
agrees with ``scipy.special.chdtri`` to about 1e-14 (``tests/test_chi2.py``).
"""
import math

#: Largest number of degrees of freedom taken (the sums stay short and exact enough).
MAX_DF = 64


def chi2_sf(df, x):
    """``P(X > x)`` for ``X`` chi-square with ``df`` (a positive integer) degrees of freedom."""
    if x <= 0.0:
        return 1.0
    h = 0.5 * x
    m = df // 2
    if df % 2 == 0:
        term = total = 1.0
        for j in range(1, m):
            term *= h / j
            total += term
        return math.exp(-h) * total
    total = math.erfc(math.sqrt(h))
    term = 2.0 * math.sqrt(h / math.pi) * math.exp(-h)     # h^(1/2) e^-h / Gamma(3/2)
    for j in range(m):
        total += term
        term *= h / (j + 1.5)
    return total


def chi2_isf(df, q):
    """The ``x`` with ``P(X > x) = q``, ``X`` chi-square with ``df`` degrees of freedom.

    Parameters
    ----------
    df : int
        1 to :data:`MAX_DF`.
    q : float
        Strictly between 0 and 1 (``1 - gate_probability``).
    """
    if isinstance(df, bool) or not isinstance(df, int) or not 1 <= df <= MAX_DF:
        raise ValueError(f"degrees of freedom must be an integer from 1 to {MAX_DF}, got {df!r}")
    if not 0.0 < q < 1.0:
        raise ValueError(f"the tail probability must be strictly between 0 and 1, got {q!r}")
    lo, hi = 0.0, 1.0
    while chi2_sf(df, hi) > q:
        lo, hi = hi, 2.0 * hi
    # Q falls with x: keep Q(lo) > q >= Q(hi) until no double lies between them
    while True:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        if chi2_sf(df, mid) > q:
            lo = mid
        else:
            hi = mid
    return lo if abs(chi2_sf(df, lo) - q) < abs(chi2_sf(df, hi) - q) else hi
