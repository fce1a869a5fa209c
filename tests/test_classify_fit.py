"""The learned track classifier: its features and kernel against the slow
references of tests/naive_classify_model.py."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import classify as K
from kernels.classify import (
    C_UNKNOWN, N_CLASSES, N_FEATURES, classify_model, classify_tracks_model, design_matrix,
    reset_features, update_comotion, update_features, update_flocking, validate_model_params)
from naive_classify_model import (
    reference_comotion, reference_companions, reference_design, reference_flock_fraction, reference_long_columns, reference_new_columns,
    reference_probabilities)
from radarcore.core.classify_model import (
    LOGISTIC_MODEL_PATH, load_classify_model, model_from_dict, model_to_dict, save_classify_model)

FAST = settings(max_examples=60, deadline=None)


# ---------------------------------------------------------------------------
# New feature columns: signed turn rate, SNR spread, flocking fraction
# ---------------------------------------------------------------------------

def history(seed, n, turn_dps, dt_kind):
    rng = np.random.default_rng(seed)
    xs = np.zeros((n, 6))
    heading = rng.uniform(0, 2 * np.pi)
    speed = rng.uniform(0.5, 25.0)
    if dt_kind == 0:
        dt = rng.uniform(0.5, 1.5, n)
    elif dt_kind == 1:
        dt = rng.choice([0.0, 0.01, 0.3, 1.0, 2.0, -0.5], n)
    else:
        dt = rng.uniform(0.0, 8.0, n)
    ts = 50.0 + np.cumsum(dt)
    for k in range(n):
        heading += math.radians(turn_dps) * max(dt[k], 0.0) + rng.normal(0, 0.1)
        xs[k, :3] = rng.uniform(-3000, 3000, 3)
        xs[k, 3:] = [speed * math.cos(heading), speed * math.sin(heading), rng.normal(0, 1)]
    snrs = np.where(rng.random(n) < 0.8, rng.normal(20, 6, n), np.nan)
    ranges = rng.uniform(300.0, 8000.0, n)
    return xs, ts, snrs, ranges


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 40),
       turn_dps=st.sampled_from([0.0, 15.0, -20.0, 60.0]), dt_kind=st.integers(0, 2))
def test_new_feature_columns_match_reference(seed, n, turn_dps, dt_kind):
    xs, ts, snrs, ranges = history(seed, n, turn_dps, dt_kind)
    f = np.full(N_FEATURES, 3.0)
    reset_features(f)
    for k in range(n):
        update_features(f, xs[k], ts[k], snrs[k], ranges[k])
    signed, snr_var = reference_new_columns(xs, ts, snrs, ranges)
    assert f[K.F_TURN_SIGNED_MEAN_DPS] == pytest.approx(signed, rel=1e-9, abs=1e-9)
    assert f[K.F_SNR_1KM_VAR_DB2] == pytest.approx(snr_var, rel=1e-9, abs=1e-9)
    for index, value in reference_long_columns(xs, ts, snrs, ranges).items():
        assert f[index] == pytest.approx(value, rel=1e-9, abs=1e-9), K.FEATURE_NAMES[index]
    # the flocking columns belong to the output epochs, not to the updates
    assert f[K.F_FLOCK_FRACTION] == f[K.F_FLOCK_T_S] == f[K.F_FLOCK_COUNT] == 0.0


def test_circling_is_signed_and_persistent():
    """A target circling left at 20 deg/s: signed mean +20, |mean| the same."""
    f = np.zeros(N_FEATURES)
    for k in range(60):
        heading = math.radians(20.0 * k)
        x = np.array([0.0, 0.0, 100.0, 10.0 * math.cos(heading), 10.0 * math.sin(heading), 0.0])
        update_features(f, x, float(k), np.nan, 1000.0)
    assert f[K.F_TURN_SIGNED_MEAN_DPS] == pytest.approx(20.0, rel=0.05)
    assert f[K.F_TURN_SIGNED_MEAN_DPS] == pytest.approx(f[K.F_TURN_MEAN_DPS], rel=1e-9)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 30))
def test_flocking_fraction_matches_reference(seed, n):
    rng = np.random.default_rng(seed)
    t = 10.0 + np.cumsum(rng.choice([0.0, 1.0, 1.0, 2.0, 5.0], n))
    flags = rng.integers(0, 2, n) * rng.integers(1, 4, n)
    f = np.zeros(N_FEATURES)
    for k in range(n):
        update_flocking(f, flags[k], t[k])
    fraction, t_last, count = reference_flock_fraction(t, flags)
    assert f[K.F_FLOCK_FRACTION] == pytest.approx(fraction, abs=1e-12)
    assert f[K.F_FLOCK_COUNT] == count and f[K.F_FLOCK_T_S] == t_last


def epoch_states(rng, k):
    """States of ``k`` tracks at one epoch: a few groups in formation, some loose, some alone."""
    x = np.zeros((k, 6))
    group = rng.integers(0, 3, k)
    centre = rng.uniform(-2000.0, 2000.0, (3, 2))
    velocity = rng.uniform(-15.0, 15.0, (3, 3))
    spread = rng.choice([5.0, 40.0, 120.0, 3000.0])
    x[:, :2] = centre[group] + rng.normal(0.0, spread, (k, 2))
    x[:, 2] = rng.uniform(20.0, 400.0, k)
    x[:, 3:] = velocity[group] + rng.normal(0.0, rng.choice([0.3, 3.0]), (k, 3))
    # exact ties in distance, and a pair on the radius
    if k >= 3:
        x[1, :2] = x[0, :2] + [30.0, 0.0]
        x[2, :2] = x[0, :2] + [0.0, -30.0]
    if k >= 5:
        x[4, :2] = x[3, :2] + [K.COMPANION_RADIUS_M, 0.0]
        x[4, 3:] = x[3, 3:]
    return x


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), k=st.integers(0, 25), epochs=st.integers(1, 8))
def test_comotion_matches_reference(seed, k, epochs):
    rng = np.random.default_rng(seed)
    capacity = k + 2
    slots = rng.permutation(capacity)[:k].astype(np.int64)
    features = rng.normal(0.0, 1.0, (capacity, N_FEATURES))
    features[:, K.F_COMOTION_T_S:K.F_COMPANION_DV_MEAN_MPS + 1] = 0.0
    features[:, K.F_KIN_P_DRONE_MEAN] = 0.0
    features[:, K.F_P_DRONE_LAST] = rng.random(capacity)
    untouched = np.setdiff1d(np.arange(capacity), slots)
    before = features.copy()
    times = 10.0 + np.cumsum(rng.choice([0.0, 1.0, 1.0, 2.0, 7.0], epochs))
    history = [[] for _ in range(k)]
    for t in times:
        x = epoch_states(rng, k)
        update_comotion(features, slots, x, t)
        for row, companion in enumerate(reference_companions(x, features[slots, K.F_P_DRONE_LAST])):
            history[row].append((t, *companion))
    for row, i in enumerate(slots):
        expected = reference_comotion(history[row])
        for index, value in expected.items():
            assert features[i, index] == pytest.approx(value, rel=1e-9, abs=1e-9), \
                K.FEATURE_NAMES[index]
    # only the co-motion columns of the epoch's tracks change
    np.testing.assert_array_equal(features[:, :K.F_COMOTION_T_S], before[:, :K.F_COMOTION_T_S])
    np.testing.assert_array_equal(features[:, K.F_EVIDENCE_T_S:K.F_KIN_P_DRONE_MEAN],
                                  before[:, K.F_EVIDENCE_T_S:K.F_KIN_P_DRONE_MEAN])
    np.testing.assert_array_equal(features[untouched], before[untouched])


def test_comotion_of_a_rigid_group_and_a_jostling_one():
    """A rigid formation keeps its spacing (no spread); a jostling flock does not."""
    rng = np.random.default_rng(3)
    features = np.zeros((8, N_FEATURES))
    slots = np.arange(8, dtype=np.int64)
    for t in np.arange(0.0, 60.0, 1.0):
        x = np.zeros((8, 6))
        x[:4, 0] = 40.0 * np.arange(4) + 12.0 * t     # a line abreast, 40 m apart, 12 m/s
        x[:4, 3] = 12.0
        x[4:, 0] = 5000.0 + rng.normal(0.0, 6.0, 4) + 10.0 * t   # four birds jostling
        x[4:, 1] = 12.0 * np.arange(4)
        x[4:, 3] = 10.0 + rng.normal(0.0, 1.5, 4)
        update_comotion(features, slots, x, t)
    rigid = features[:4]
    loose = features[4:]
    assert np.all(rigid[:, K.F_COMPANION_FRACTION] == 1.0)
    np.testing.assert_allclose(rigid[:, K.F_SPACING_MEAN_M], 40.0)
    assert np.all(rigid[:, K.F_SPACING_VAR_M2] < 1e-9)
    assert np.all(rigid[:, K.F_COMPANION_DV_MEAN_MPS] < 1e-9)
    assert np.all(loose[:, K.F_SPACING_VAR_M2] > 1.0)
    assert np.all(loose[:, K.F_COMPANION_DV_MEAN_MPS] > 0.5)


def test_comotion_rejects_bad_shapes():
    features = np.zeros((3, N_FEATURES))
    with pytest.raises(ValueError, match="update_comotion"):
        update_comotion(features, np.arange(2, dtype=np.int64), np.zeros((3, 6)), 1.0)
    with pytest.raises(ValueError, match="slot out of range"):
        update_comotion(features, np.array([0, 5], dtype=np.int64), np.zeros((2, 6)), 1.0)


# ---------------------------------------------------------------------------
# Design and model
# ---------------------------------------------------------------------------

def random_model(rng):
    model = np.zeros(K.N_MODEL_PARAMS)
    model[K.M_N_DESIGN] = K.N_DESIGN
    model[K.M_EVIDENCE_S] = rng.uniform(0.5, 6.0)
    model[K.M_TEMPERATURE] = rng.uniform(0.5, 3.0)
    model[K.M_SNR_1M2_1KM_DB] = rng.uniform(30.0, 60.0)
    model[K.M_MEAN:K.M_MEAN + K.N_BASE] = rng.normal(0.0, 5.0, K.N_BASE)
    model[K.M_SCALE:K.M_SCALE + K.N_BASE] = rng.uniform(0.1, 20.0, K.N_BASE)
    model[K.M_WEIGHTS:K.M_BIAS] = rng.normal(0.0, 0.5, N_CLASSES * K.N_DESIGN)
    model[K.M_BIAS:K.M_BIAS + N_CLASSES] = rng.normal(0.0, 1.0, N_CLASSES)
    return model


def random_features(rng, k):
    f = np.zeros((k, N_FEATURES))
    f[:, K.F_N_UPDATES] = rng.integers(0, 80, k)
    f[:, K.F_AGE_S] = rng.integers(0, 2, k) * rng.uniform(0, 60, k)
    f[:, K.F_KINEMATIC_COUNT] = rng.integers(0, 2, k) * rng.integers(1, 60, k)
    f[:, K.F_SPEED_MEAN_MPS] = rng.uniform(0, 70, k)
    f[:, K.F_SPEED_VAR_M2PS2] = rng.exponential(10, k)
    f[:, K.F_HOVER_FRACTION] = rng.random(k)
    f[:, K.F_CLIMB_MEAN_MPS] = rng.normal(0, 2, k)
    f[:, K.F_CLIMB_ABS_MEAN_MPS] = rng.exponential(1, k)
    f[:, K.F_TURN_COUNT] = rng.integers(0, 2, k) * rng.integers(1, 40, k)
    f[:, K.F_TURN_MEAN_DPS] = rng.exponential(8, k)
    f[:, K.F_TURN_VAR_D2PS2] = rng.exponential(30, k)
    f[:, K.F_TURN_SIGNED_MEAN_DPS] = rng.normal(0, 10, k)
    f[:, K.F_HEIGHT_MEAN_M] = rng.uniform(-50, 1500, k)
    f[:, K.F_SNR_COUNT] = rng.integers(0, 2, k) * rng.integers(1, 40, k)
    f[:, K.F_SNR_1KM_MEAN_DB] = rng.uniform(10, 80, k)
    f[:, K.F_SNR_1KM_VAR_DB2] = rng.exponential(10, k)
    f[:, K.F_FLOCK_FRACTION] = rng.random(k)
    f[:, K.F_LONG_SNR_RAW_MEAN_DB] = rng.uniform(5, 40, k)
    f[:, K.F_LONG_SNR_1KM_VAR_DB2] = rng.exponential(10, k)
    f[:, K.F_LONG_SPEED_VAR_M2PS2] = rng.exponential(10, k)
    f[:, K.F_LONG_TURN_MEAN_DPS] = rng.exponential(8, k)
    f[:, K.F_LONG_TURN_SIGNED_MEAN_DPS] = rng.normal(0, 10, k)
    f[:, K.F_LONG_HEIGHT_VAR_M2] = rng.exponential(400, k)
    f[:, K.F_ACCEL_MEAN_MPS2] = rng.exponential(0.5, k)
    f[:, K.F_COMPANION_FRACTION] = rng.random(k)
    f[:, K.F_COMPANION_COUNT] = rng.integers(0, 2, k) * rng.integers(1, 40, k)
    f[:, K.F_SPACING_MEAN_M] = rng.uniform(0.0, 150.0, k)
    f[:, K.F_SPACING_VAR_M2] = rng.exponential(100.0, k)
    f[:, K.F_COMPANION_DV_MEAN_MPS] = rng.exponential(1.5, k)
    return f


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), k=st.integers(0, 30))
def test_classify_model_matches_reference(seed, k):
    rng = np.random.default_rng(seed)
    capacity = k + 3
    features = random_features(rng, capacity)
    slots = rng.permutation(capacity)[:k].astype(np.int64)
    neighbours = rng.integers(0, 2, k) * rng.integers(0, 6, k)
    model = random_model(rng)
    t_epoch = 500.0
    before = features.copy()
    out = np.full((k, 4), np.nan)
    classify_model(features, slots, neighbours, t_epoch, model, out)
    # the epoch's flocking cue is folded in first, then the model reads the row
    expected_features = before.copy()
    for row, i in enumerate(slots):
        update_flocking(expected_features[i], neighbours[row], t_epoch)
    # ... and each track's p(drone) is recorded for its companions
    expected_features[slots, K.F_P_DRONE_LAST] = out[:, K.C_DRONE]
    np.testing.assert_array_equal(features, expected_features)
    np.testing.assert_allclose(out, reference_probabilities(features[slots], neighbours, model),
                               rtol=1e-9, atol=1e-12)
    assert np.all(out >= 0.0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_design_matrix_matches_reference(seed):
    rng = np.random.default_rng(seed)
    features = random_features(rng, 12)
    neighbours = rng.integers(0, 4, 12)
    model = random_model(rng)
    raw = design_matrix(features, neighbours, snr_1m2_1km_db=model[K.M_SNR_1M2_1KM_DB])
    expected = np.array([reference_design(features[r], neighbours[r], model[K.M_SNR_1M2_1KM_DB])
                         for r in range(12)])
    np.testing.assert_allclose(raw, expected, rtol=1e-12, atol=1e-12)
    s = design_matrix(features, neighbours, model)
    base = np.clip((expected - model[K.M_MEAN:K.M_MEAN + K.N_BASE])
                   / model[K.M_SCALE:K.M_SCALE + K.N_BASE], -K.DESIGN_CLIP, K.DESIGN_CLIP)
    np.testing.assert_allclose(s[:, :K.N_BASE], base, rtol=1e-9, atol=1e-12)
    for q, (a, c) in enumerate(K.DESIGN_PRODUCTS):
        np.testing.assert_allclose(s[:, K.N_BASE + q], base[:, a] * base[:, c], rtol=1e-9,
                                   atol=1e-12)


def test_no_evidence_is_unknown():
    rng = np.random.default_rng(3)
    features = random_features(rng, 5)
    features[:, K.F_AGE_S] = 0.0
    p = classify_tracks_model(features, np.arange(5), np.zeros(5), 1.0, random_model(rng))
    np.testing.assert_allclose(p[:, C_UNKNOWN], 1.0)


def test_model_validation_names_the_problem():
    model = load_classify_model()
    np.testing.assert_array_equal(validate_model_params(model), model)
    with pytest.raises(ValueError, match="shape"):
        validate_model_params(model[:-1])
    for index, value, message in ((K.M_N_DESIGN, K.N_DESIGN + 1, "refit"),
                                  (K.M_TEMPERATURE, 0.0, "temperature must be positive"),
                                  (K.M_EVIDENCE_S, -1.0, "evidence_s"),
                                  (K.M_SCALE + K.D_RCS, 0.0, "scale of rcs"),
                                  (K.M_BIAS, np.nan, "finite")):
        bad = model.copy()
        bad[index] = value
        with pytest.raises(ValueError, match=message):
            validate_model_params(bad)
    with pytest.raises(ValueError, match="features must be"):
        classify_tracks_model(np.zeros((3, 4)), [0], [0], 0.0, model)
    with pytest.raises(ValueError, match="slots"):
        classify_tracks_model(np.zeros((3, N_FEATURES)), [3], [0], 0.0, model)


def test_model_file_round_trip_and_errors(tmp_path):
    model = load_classify_model(LOGISTIC_MODEL_PATH)
    path = tmp_path / "model.json"
    save_classify_model(model, path, {"note": "test"})
    np.testing.assert_array_equal(load_classify_model(path), model)
    data = model_to_dict(model)
    del data["bias"]
    with pytest.raises(ValueError, match="missing key 'bias'"):
        model_from_dict(data, "x.json")
    data = model_to_dict(model)
    data["design"] = data["design"][:-1]
    with pytest.raises(ValueError, match="x.json: its design columns"):
        model_from_dict(data, "x.json")
    data = model_to_dict(model)
    data["weights"]["bird"] = data["weights"]["bird"][:-1]
    with pytest.raises(ValueError, match="x.json: malformed"):
        model_from_dict(data, "x.json")
    json.dumps(model_to_dict(model))


def test_engine_runs_the_shipped_model():
    from radarcore.core.engine import Engine
    from radarcore.sim.simulate import simulate

    engine = Engine(simulate("sparse", 0, duration_s=10.0).site)
    np.testing.assert_array_equal(engine.classify_params, load_classify_model())
