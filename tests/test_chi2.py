"""radarcore.core.chi2 against scipy.special.chdtri (the engine's gate thresholds)."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import chdtr, chdtri

from radarcore.core.chi2 import MAX_DF, chi2_isf, chi2_sf
from radarcore.core.config import TrackerConfig


@settings(max_examples=300, deadline=None)
@given(df=st.integers(1, 12), log_q=st.floats(-14.0, math.log10(0.99)))
def test_quantile_matches_scipy(df, log_q):
    q = 10.0 ** log_q
    x = chi2_isf(df, q)
    assert x == pytest.approx(float(chdtri(df, q)), rel=1e-13)


@settings(max_examples=200, deadline=None)
@given(df=st.integers(1, MAX_DF), x=st.floats(0.0, 400.0))
def test_survival_matches_scipy(df, x):
    assert chi2_sf(df, x) == pytest.approx(1.0 - float(chdtr(df, x)), rel=1e-12, abs=1e-15)


def test_default_gates_are_scipys_bit_for_bit():
    """The default gate probability gives exactly the thresholds of scipy (tracks unchanged)."""
    q = 1.0 - TrackerConfig().gate_probability
    for df in (3, 4):
        assert chi2_isf(df, q) == float(chdtri(df, q))


@pytest.mark.parametrize("df, q", [(0, 0.1), (MAX_DF + 1, 0.1), (3.0, 0.1), (True, 0.1),
                                   (3, 0.0), (3, 1.0), (3, math.nan)])
def test_bad_arguments_are_refused(df, q):
    with pytest.raises(ValueError):
        chi2_isf(df, q)
