"""The companion's class (kernels.classify.kin_drone_call and the companion's p(drone) that
update_comotion reads) against the slow reference of tests/naive_classify_model.py, its
invariants, and a rigid group in the emit step's order."""
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from kernels import classify as K
from kernels.classify import (N_CLASSES, N_FEATURES, accumulated_probabilities, classify_model,
                              update_comotion)
from naive_classify_model import reference_evidence_epoch, reference_kin_call
from radarcore.core.classify_model import load_classify_model, model_from_dict, model_to_dict
from test_classify_evidence import accumulating_model, track_epochs

FAST = settings(max_examples=40, deadline=None)


def kin_model(rng, on=True):
    model = accumulating_model(rng)
    if rng.random() < 0.3:
        model[K.M_ACCUMULATE_S] = 0.0
    if on:
        model[K.M_KIN_MIN_P] = rng.uniform(0.05, 1.0)
        model[K.M_KIN_MIN_EPOCHS] = rng.integers(0, 12)
        model[K.M_KIN_MIN_FRACTION] = rng.uniform(0.0, 1.0)
        model[K.M_KIN_MAX_SPACING_STD_M] = rng.uniform(0.0, 20.0)
        model[K.M_KIN_MAX_DV_MPS] = rng.uniform(0.0, 4.0)
    return model


def with_companions(rng, epochs):
    """The epochs of :func:`track_epochs` with random co-motion columns, often passing the gates."""
    for t, present, f, _ in epochs:
        k = present.size
        f[:, K.F_COMOTION_T_S] = t
        f[:, K.F_COMPANION_T_S] = np.where(rng.random(k) < 0.7, t, t - 1.0)
        f[:, K.F_COMPANION_COUNT] = rng.integers(0, 20, k)
        f[:, K.F_COMPANION_FRACTION] = rng.random(k)
        f[:, K.F_COMPANION_DV_MEAN_MPS] = rng.exponential(1.0, k)
        f[:, K.F_SPACING_VAR_M2] = rng.exponential(60.0, k)
        f[:, K.F_KIN_P_DRONE_MEAN] = np.where(rng.random(k) < 0.6, rng.uniform(0.5, 1.0, k),
                                              rng.random(k))
    return epochs


def replay(epochs, n_tracks, model):
    """Per epoch, the kernel's probabilities and the tracks' F_P_DRONE_LAST after it."""
    table = np.zeros((n_tracks, N_FEATURES))
    out = []
    for t, present, f, neighbours in epochs:
        table[present, :K.F_EVIDENCE_T_S] = f[:, :K.F_EVIDENCE_T_S]
        table[present, K.F_KIN_P_DRONE_MEAN] = f[:, K.F_KIN_P_DRONE_MEAN]
        p = accumulated_probabilities(table, present, neighbours, t, model)
        out.append((p, table[present, K.F_P_DRONE_LAST].copy()))
    return out


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_tracks=st.integers(1, 5), n_epochs=st.integers(1, 10))
@example(seed=0, n_tracks=1, n_epochs=1)
def test_kin_call_matches_reference(seed, n_tracks, n_epochs):
    rng = np.random.default_rng(seed)
    model = kin_model(rng)
    epochs = with_companions(rng, track_epochs(rng, n_tracks, n_epochs))
    got = replay(epochs, n_tracks, model)
    evidence = np.zeros((n_tracks, 2 + N_CLASSES))
    for (t, present, f, neighbours), (p, p_last) in zip(epochs, got):
        for row, i in enumerate(present):
            g = f[row].copy()
            g[K.F_EVIDENCE_T_S:K.F_EVIDENCE_0 + N_CLASSES] = evidence[i]
            q, evidence[i] = reference_evidence_epoch(t, g, neighbours[row], model)
            expected = reference_kin_call(g, q, model)
            np.testing.assert_allclose(p[row], expected, rtol=1e-9, atol=1e-12)
            assert p_last[row] == p[row, K.C_DRONE]


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_epochs=st.integers(1, 10))
def test_kin_call_only_raises_drone_to_the_companions_call(seed, n_epochs):
    """Never lower; never above max(own call, companion's mean call); the other classes keep their odds."""
    rng = np.random.default_rng(seed)
    on = kin_model(rng)
    off = on.copy()
    off[K.M_KIN_MIN_P] = 0.0
    epochs = with_companions(rng, track_epochs(rng, 4, n_epochs))
    for (t, present, f, _), (p_on, _), (p_off, _) in zip(epochs, replay(epochs, 4, on),
                                                         replay(epochs, 4, off)):
        kin = f[:, K.F_KIN_P_DRONE_MEAN]
        assert np.all(p_on[:, K.C_DRONE] >= p_off[:, K.C_DRONE])
        assert np.all(p_on[:, K.C_DRONE] <= np.maximum(p_off[:, K.C_DRONE], kin))
        np.testing.assert_allclose(p_on.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(p_on >= 0.0)
        raised = p_on[:, K.C_DRONE] > p_off[:, K.C_DRONE]
        assert np.all(kin[raised] >= on[K.M_KIN_MIN_P])
        assert np.all(f[raised, K.F_COMPANION_T_S] == f[raised, K.F_COMOTION_T_S])
        keep = raised & (p_off[:, K.C_BIRD] > 1e-200)
        np.testing.assert_allclose(p_on[keep, K.C_AIRCRAFT] * p_off[keep, K.C_BIRD],
                                   p_off[keep, K.C_AIRCRAFT] * p_on[keep, K.C_BIRD],
                                   rtol=1e-9, atol=1e-300)


def height_model(kin=True):
    """A regression that calls a track drone above 100 m and bird below, with the kin rule on."""
    model = np.zeros(K.N_MODEL_PARAMS)
    model[K.M_N_DESIGN] = K.N_DESIGN
    model[K.M_EVIDENCE_S] = 1.0
    model[K.M_TEMPERATURE] = 1.0
    model[K.M_SCALE:K.M_SCALE + K.N_BASE] = 1.0
    model[K.M_SCALE + K.D_HEIGHT] = 50.0
    model[K.M_WEIGHTS + K.C_DRONE * K.N_DESIGN + K.D_HEIGHT] = 2.5
    model[K.M_BIAS + K.C_DRONE] = -5.0
    model[K.M_BIAS + K.C_AIRCRAFT] = -20.0
    model[K.M_BIAS + K.C_UNKNOWN] = -20.0
    if kin:
        model[K.M_KIN_MIN_P] = 0.8
        model[K.M_KIN_MIN_EPOCHS] = 5
        model[K.M_KIN_MIN_FRACTION] = 0.8
        model[K.M_KIN_MAX_SPACING_STD_M] = 10.0
        model[K.M_KIN_MAX_DV_MPS] = 2.0
    return K.validate_model_params(model)


def fly_pair(heights, jostle_m, epochs=20, model=None):
    """Two tracks flying together (the emit step's order); each epoch's probabilities."""
    model = height_model() if model is None else model
    features = np.zeros((2, N_FEATURES))
    features[:, K.F_HEIGHT_MEAN_M] = heights
    features[:, K.F_N_UPDATES] = 50.0
    slots = np.arange(2, dtype=np.int64)
    neighbours = np.zeros(2, np.int64)
    rng = np.random.default_rng(5)
    out = []
    for e in range(epochs):
        t = 100.0 + e
        features[:, K.F_T_FIRST_S] = 0.0
        features[:, K.F_T_LAST_S] = t
        features[:, K.F_AGE_S] = t
        x = np.zeros((2, 6))
        x[:, 3] = 12.0                              # both flying east at 12 m/s
        x[:, 0] = 12.0 * t + np.array([0.0, 30.0 + jostle_m * rng.uniform(-1, 1)])
        update_comotion(features, slots, x, t)
        p = np.empty((2, N_CLASSES))
        classify_model(features, slots, neighbours, t, model, p)
        out.append(p.copy())
    return np.array(out)


def test_a_track_in_rigid_formation_with_a_drone_is_called_drone():
    p = fly_pair([150.0, 50.0], jostle_m=1.0)
    assert p[0, 1, K.C_BIRD] > 0.9                # on its own, the low track looks like a bird
    assert np.all(p[:4, 1, K.C_DRONE] < 0.1)      # too few epochs with the companion yet
    # then as surely as its companion over those epochs (the first counts the companion's 0:
    # not classified yet)
    assert np.all(p[8:, 1, K.C_DRONE] >= 0.8)
    assert np.all(p[8:, 1, K.C_DRONE] <= p[8:, 0, K.C_DRONE])
    assert p[-1, 1, K.C_DRONE] > 0.85
    # the drone itself is called as before
    np.testing.assert_array_equal(p[:, 0], fly_pair([150.0, 50.0], 1.0, model=height_model(False))[:, 0])


def test_a_bird_pair_a_loose_group_and_the_rule_off_stay_as_they_are():
    off = fly_pair([150.0, 50.0], jostle_m=1.0, model=height_model(False))
    assert np.all(off[:, 1, K.C_DRONE] < 0.1)
    # birds flying together: nobody is called drone, nothing changes
    birds = fly_pair([50.0, 60.0], jostle_m=1.0)
    np.testing.assert_array_equal(birds, fly_pair([50.0, 60.0], 1.0, model=height_model(False)))
    # a companion whose spacing swings by tens of metres does not fly in formation
    loose = fly_pair([150.0, 50.0], jostle_m=40.0)
    np.testing.assert_array_equal(loose[:, 1], off[:, 1])


def test_model_file_keeps_the_kin_constants():
    model = load_classify_model()
    back = model_from_dict(model_to_dict(model))
    np.testing.assert_array_equal(back[K.M_KIN_MIN_P:K.M_KIN_MAX_DV_MPS + 1],
                                  model[K.M_KIN_MIN_P:K.M_KIN_MAX_DV_MPS + 1])
    data = model_to_dict(model)
    for key in ("kin_min_p", "kin_min_epochs", "kin_min_fraction", "kin_max_spacing_std_m",
                "kin_max_dv_mps"):
        data.pop(key, None)
    assert model_from_dict(data)[K.M_KIN_MIN_P] == 0.0           # a file without them: off
    data = model_to_dict(model)
    data["kin_min_p"] = 1.5
    with pytest.raises(ValueError, match="kin_min_p must be in"):
        model_from_dict(data, "x.json")
