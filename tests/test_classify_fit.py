"""The learned track classifier: its features and kernel against slow references.

The references are written from the docstrings of ``kernels/classify.py``
(the D_* design columns, the flocking fraction, the model formula), not
from the kernel code: explicit weighted sums over a whole history, plain
Python loops per design column and a NumPy softmax.
"""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import classify as K
from kernels.classify import (
    C_UNKNOWN, N_CLASSES, N_FEATURES, classify_model, classify_tracks_model, design_matrix,
    reset_features, update_features, update_flocking, validate_model_params)
from radarcore.core.classify_model import (
    load_classify_model, model_from_dict, model_to_dict, save_classify_model)

FAST = settings(max_examples=60, deadline=None)


def ew_weights(a):
    a = np.asarray(a, dtype=float)
    return np.array([a[j] * np.prod(1.0 - a[j + 1:]) for j in range(a.size)])


def ew_mean_var(samples, a):
    if len(samples) == 0:
        return 0.0, 0.0
    samples = np.asarray(samples, dtype=float)
    w = ew_weights(a)
    mean = float(np.sum(w * samples))
    return mean, float(np.sum(w * (samples - mean) ** 2))


# ---------------------------------------------------------------------------
# New feature columns: signed turn rate, SNR spread, flocking fraction
# ---------------------------------------------------------------------------

def reference_new_columns(xs, ts, snrs, ranges):
    """``turn_signed_mean_dps`` and ``snr_1km_var_db2`` from the whole history."""
    n = len(ts)
    t_last = np.maximum.accumulate(np.asarray(ts, dtype=float))
    dt = np.zeros(n)
    dt[1:] = np.maximum(np.asarray(ts[1:], dtype=float) - t_last[:-1], 0.0)
    signed = 0.0
    kin = np.flatnonzero(t_last - ts[0] >= K.SETTLE_S)
    m = kin.size
    if m:
        count = np.arange(1, m + 1)
        a_v = np.maximum(1.0 / count, 1.0 - np.exp(-dt[kin] / K.TAU_VELOCITY_S))
        v = xs[kin, 3:5]
        smooth = np.array([[np.sum(ew_weights(a_v[:k + 1]) * v[:k + 1, axis]) for axis in range(2)]
                           for k in range(m)])
        speed = np.hypot(smooth[:, 0], smooth[:, 1])
        t_kin = t_last[kin]
        rates, turn_a, ref = [], [], 0
        for k in range(1, m):
            baseline = t_kin[k] - t_kin[ref]
            if baseline < K.TURN_BASELINE_S:
                continue
            if (baseline <= K.MAX_TURN_BASELINE_S and speed[k] >= K.MIN_TURN_SPEED_MPS
                    and speed[ref] >= K.MIN_TURN_SPEED_MPS):
                # heading measured counter-clockwise from east: positive = left turn
                change = (math.atan2(smooth[k, 1], smooth[k, 0])
                          - math.atan2(smooth[ref, 1], smooth[ref, 0]))
                change = (change + math.pi) % (2.0 * math.pi) - math.pi
                rates.append(math.degrees(change) / baseline)
                turn_a.append(max(1.0 / len(rates), 1.0 - math.exp(-baseline / K.TAU_FEATURES_S)))
            ref = k
        signed = ew_mean_var(rates, turn_a)[0]
    values, snr_a = [], []
    for k in range(n):
        if not math.isnan(snrs[k]) and ranges[k] > 0.0:
            values.append(snrs[k] + 40.0 * math.log10(ranges[k] / 1000.0))
            snr_a.append(max(1.0 / len(values), 1.0 - math.exp(-dt[k] / K.TAU_FEATURES_S)))
    return signed, ew_mean_var(values, snr_a)[1]


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
    # reference: epochs strictly after the previous counted one
    counted_t, samples = [], []
    for k in range(n):
        if counted_t and t[k] <= counted_t[-1]:
            continue
        counted_t.append(t[k])
        samples.append(1.0 if flags[k] > 0 else 0.0)
    gaps = np.diff(counted_t, prepend=counted_t[0])
    a = np.maximum(1.0 / np.arange(1, len(samples) + 1), 1.0 - np.exp(-gaps / K.TAU_FLOCK_S))
    assert f[K.F_FLOCK_FRACTION] == pytest.approx(ew_mean_var(samples, a)[0], abs=1e-12)
    assert f[K.F_FLOCK_COUNT] == len(samples) and f[K.F_FLOCK_T_S] == counted_t[-1]


# ---------------------------------------------------------------------------
# Design and model
# ---------------------------------------------------------------------------

def reference_design(f, neighbours, snr_ref):
    """The base design columns of the D_* comments, one plain loop per row."""
    z = {}
    kin = f[K.F_KINEMATIC_COUNT] > 0
    speed = max(f[K.F_SPEED_MEAN_MPS], 0.0)
    z["has_kinematics"] = float(kin)
    z["speed"] = speed if kin else 0.0
    z["log_speed"] = math.log(1.0 + speed) if kin else 0.0
    z["speed_std"] = math.sqrt(max(f[K.F_SPEED_VAR_M2PS2], 0.0)) if kin else 0.0
    z["hover"] = f[K.F_HOVER_FRACTION] if kin else 0.0
    z["climb_abs"] = f[K.F_CLIMB_ABS_MEAN_MPS] if kin else 0.0
    z["climb"] = f[K.F_CLIMB_MEAN_MPS] if kin else 0.0
    turn_ok = f[K.F_TURN_COUNT] > 0
    turn = max(f[K.F_TURN_MEAN_DPS], 0.0)
    z["has_turn"] = float(turn_ok)
    z["turn"] = turn if turn_ok else 0.0
    z["turn_std"] = math.sqrt(max(f[K.F_TURN_VAR_D2PS2], 0.0)) if turn_ok else 0.0
    z["circling"] = (min(abs(f[K.F_TURN_SIGNED_MEAN_DPS]) / max(turn, 1.0), 1.0)
                     if turn_ok else 0.0)
    z["log_turn"] = math.log(1.0 + turn) if turn_ok else 0.0
    z["height"] = f[K.F_HEIGHT_MEAN_M]
    z["log_height"] = math.log(1.0 + max(f[K.F_HEIGHT_MEAN_M], 0.0) / 10.0)
    snr_ok = f[K.F_SNR_COUNT] > 0
    z["has_snr"] = float(snr_ok)
    z["rcs"] = f[K.F_SNR_1KM_MEAN_DB] - snr_ref if snr_ok else 0.0
    z["snr_std"] = math.sqrt(max(f[K.F_SNR_1KM_VAR_DB2], 0.0)) if snr_ok else 0.0
    z["flock_now"] = float(neighbours > 0)
    z["log_neighbours"] = math.log(1.0 + neighbours)
    z["flock_fraction"] = f[K.F_FLOCK_FRACTION]
    z["log_updates"] = math.log(max(f[K.F_N_UPDATES], 1.0))
    return np.array([z[name] for name in K.DESIGN_NAMES[:K.N_BASE]])


def reference_probabilities(features, neighbours, model):
    model = np.asarray(model)
    mean = model[K.M_MEAN:K.M_MEAN + K.N_BASE]
    scale = model[K.M_SCALE:K.M_SCALE + K.N_BASE]
    w = model[K.M_WEIGHTS:K.M_BIAS].reshape(N_CLASSES, K.N_DESIGN)
    b = model[K.M_BIAS:K.M_BIAS + N_CLASSES]
    out = np.empty((features.shape[0], N_CLASSES))
    for r in range(features.shape[0]):
        s = (reference_design(features[r], neighbours[r], model[K.M_SNR_1M2_1KM_DB]) - mean) / scale
        s = np.clip(s, -K.DESIGN_CLIP, K.DESIGN_CLIP)
        s = np.concatenate([s, [s[a] * s[c] for a, c in K.DESIGN_PRODUCTS]])
        logit = (w @ s + b) / model[K.M_TEMPERATURE]
        q = np.exp(logit - logit.max())
        q /= q.sum()
        u = math.exp(-features[r, K.F_AGE_S] / model[K.M_EVIDENCE_S])
        out[r] = (1.0 - u) * q
        out[r, C_UNKNOWN] += u
    return out


def random_model(rng):
    model = np.zeros(K.N_MODEL_PARAMS)
    model[K.M_N_DESIGN] = K.N_DESIGN
    model[K.M_EVIDENCE_S] = rng.uniform(0.5, 6.0)
    model[K.M_TEMPERATURE] = rng.uniform(0.5, 3.0)
    model[K.M_SNR_1M2_1KM_DB] = rng.uniform(30.0, 60.0)
    model[K.M_MEAN:K.M_MEAN + K.N_BASE] = rng.normal(0.0, 5.0, K.N_BASE)
    model[K.M_SCALE:K.M_SCALE + K.N_BASE] = rng.uniform(0.1, 20.0, K.N_BASE)
    model[K.M_WEIGHTS:K.M_BIAS] = rng.normal(0.0, 0.5, N_CLASSES * K.N_DESIGN)
    model[K.M_BIAS:] = rng.normal(0.0, 1.0, N_CLASSES)
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
    model = load_classify_model()
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
