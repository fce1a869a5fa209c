"""Track classification kernels against slow references, and on simulated targets."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import classify as K
from kernels.classify import (
    C_BIRD, C_UNKNOWN, CLASSIFY_PARAM_NAMES, N_CLASSES, N_FEATURES,
    classify, classify_tracks, count_flock_neighbours, default_classify_params,
    flock_neighbours, reset_features, update_features, validate_classify_params)
from naive_classify import (
    reference_classify, reference_features, reference_log_posterior, reference_neighbours)

FAST = settings(max_examples=100, deadline=None)


# ---------------------------------------------------------------------------
# Feature updates
# ---------------------------------------------------------------------------

def random_history(seed, n, speed_scale, dt_kind, snr_fraction):
    rng = np.random.default_rng(seed)
    xs = np.empty((n, 6))
    heading = rng.uniform(0, 2 * np.pi)
    speed = rng.uniform(0, 1) * speed_scale
    for k in range(n):
        heading += rng.normal(0, 0.3)
        speed = abs(speed + rng.normal(0, 0.2 * speed_scale + 0.1))
        xs[k, :3] = rng.uniform(-5000, 5000, 3)
        xs[k, 2] = rng.uniform(0, 1000)
        xs[k, 3:] = [speed * np.sin(heading), speed * np.cos(heading), rng.normal(0, 2)]
    if dt_kind == 0:      # one radar, about a second
        dt = rng.uniform(0.5, 1.5, n)
    elif dt_kind == 1:    # several radars: bursts, repeats and late plots
        dt = rng.choice([0.0, 0.01, 0.3, 1.0, 2.0, -0.5], n)
    else:                 # coasting gaps
        dt = rng.uniform(0.0, 8.0, n)
    ts = 100.0 + np.cumsum(dt)
    snrs = np.where(rng.random(n) < snr_fraction, rng.normal(15, 5, n), np.nan)
    ranges = rng.uniform(200.0, 9000.0, n)
    return xs, ts, snrs, ranges


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 30),
       speed_scale=st.sampled_from([1.0, 4.0, 15.0, 60.0]), dt_kind=st.integers(0, 2),
       snr_fraction=st.sampled_from([0.0, 0.5, 1.0]))
def test_update_features_matches_reference(seed, n, speed_scale, dt_kind, snr_fraction):
    xs, ts, snrs, ranges = random_history(seed, n, speed_scale, dt_kind, snr_fraction)
    f = np.full(N_FEATURES, 7.0)  # reset must clear whatever was there
    reset_features(f)
    for k in range(n):
        update_features(f, xs[k], ts[k], snrs[k], ranges[k])
    expected = reference_features(xs, ts, snrs, ranges)
    # the naive-Bayes columns; tests/test_classify_fit.py checks the later ones
    f, expected = f[:K.F_TURN_SIGNED_MEAN_DPS], expected[:K.F_TURN_SIGNED_MEAN_DPS]
    np.testing.assert_allclose(f, expected, rtol=1e-9, atol=1e-9,
                               err_msg=str(list(zip(K.FEATURE_NAMES, f, expected))))


def test_reset_clears_a_row_of_the_table_in_place():
    table = np.ones((3, N_FEATURES))
    reset_features(table[1])
    assert np.all(table[1] == 0.0) and np.all(table[[0, 2]] == 1.0)


def test_circling_target_turn_rate_and_speed():
    speed, rate_dps = 20.0, 10.0
    f = np.zeros(N_FEATURES)
    for k in range(300):
        heading = math.radians(rate_dps * k)
        x = np.array([0.0, 0.0, 150.0, speed * math.sin(heading), speed * math.cos(heading), 0.0])
        update_features(f, x, float(k), np.nan, 1000.0)
    assert f[K.F_TURN_MEAN_DPS] == pytest.approx(rate_dps, rel=1e-3)
    # one kinematic sample per second from SETTLE_S on; the first is the turn reference
    assert f[K.F_KINEMATIC_COUNT] == 300 - math.ceil(K.SETTLE_S)
    assert f[K.F_TURN_COUNT] == 299 - math.ceil(K.SETTLE_S)
    # the smoothed velocity of a circling target is the true one times the
    # steady-state gain |a / (1 - (1 - a) e^{-i omega dt})| of the smoother
    a = 1.0 - math.exp(-1.0 / K.TAU_VELOCITY_S)
    gain = abs(a / (1.0 - (1.0 - a) * np.exp(-1j * math.radians(rate_dps))))
    assert f[K.F_SPEED_MEAN_MPS] == pytest.approx(speed * gain, rel=1e-5)
    assert f[K.F_HOVER_FRACTION] == 0.0 and f[K.F_SNR_COUNT] == 0
    assert f[K.F_HEIGHT_MEAN_M] == pytest.approx(150.0)
    assert f[K.F_AGE_S] == 299.0


def test_straight_and_hovering_targets():
    straight, hover = np.zeros(N_FEATURES), np.zeros(N_FEATURES)
    for k in range(40):
        update_features(straight, np.array([0, 0, 100.0, 12.0, -5.0, 1.0]), 0.5 * k, 20.0, 4000.0)
        update_features(hover, np.array([0, 0, 100.0, 0.3, 0.2, 0.0]), 0.5 * k, np.nan, 4000.0)
    assert straight[K.F_SPEED_MEAN_MPS] == pytest.approx(13.0)
    assert straight[K.F_SPEED_VAR_M2PS2] == pytest.approx(0.0, abs=1e-20)
    assert straight[K.F_TURN_MEAN_DPS] == pytest.approx(0.0, abs=1e-9)
    # one sample per second from the first kinematic sample at SETTLE_S to 19.5 s
    assert straight[K.F_TURN_COUNT] == math.floor(19.5 - math.ceil(2.0 * K.SETTLE_S) / 2.0)
    assert straight[K.F_CLIMB_MEAN_MPS] == pytest.approx(1.0)
    assert straight[K.F_SNR_1KM_MEAN_DB] == pytest.approx(20.0 + 40.0 * math.log10(4.0))
    assert straight[K.F_SNR_COUNT] == 40
    assert hover[K.F_HOVER_FRACTION] == pytest.approx(1.0)
    assert hover[K.F_TURN_COUNT] == 0 and hover[K.F_SNR_COUNT] == 0


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), error_mps=st.sampled_from([5.0, 30.0, 80.0]))
def test_kinematic_statistics_wait_for_the_track_to_settle(seed, error_mps):
    """Velocity errors of a young track leave no trace in its kinematic features."""
    rng = np.random.default_rng(seed)
    xs, ts, snrs, ranges = random_history(seed, 40, 15.0, 0, 1.0)
    young = ts - ts[0] < K.SETTLE_S
    assert young.any() and not young.all()
    wrong = xs.copy()
    wrong[young, 3:] += rng.normal(0.0, error_mps, (int(young.sum()), 3))
    clean, noisy = np.zeros(N_FEATURES), np.zeros(N_FEATURES)
    for k in range(ts.size):
        update_features(clean, xs[k], ts[k], snrs[k], ranges[k])
        update_features(noisy, wrong[k], ts[k], snrs[k], ranges[k])
        if young[k]:
            assert noisy[K.F_KINEMATIC_COUNT] == 0.0
    np.testing.assert_array_equal(noisy, clean)
    assert clean[K.F_KINEMATIC_COUNT] == np.count_nonzero(~young)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_speed_is_ignored_before_the_first_kinematic_sample(seed):
    rng = np.random.default_rng(seed)
    features = random_features(rng, 30)
    features[:, K.F_KINEMATIC_COUNT] = 0.0
    features[:, K.F_TURN_COUNT] = 0.0
    p = classify_tracks(features, np.arange(30))
    features[:, K.F_SPEED_MEAN_MPS] = rng.uniform(0.0, 200.0, 30)
    features[:, K.F_SPEED_VAR_M2PS2] = rng.uniform(0.0, 400.0, 30)
    np.testing.assert_array_equal(classify_tracks(features, np.arange(30)), p)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), speed_mps=st.floats(0.0, 500.0),
       default=st.booleans())
def test_a_wrong_speed_gives_bounded_evidence(seed, speed_mps, default):
    """The outlier part of the speed density bounds the log-likelihood ratio a
    speed can give between two classes (birds and drones here):
    ``|Delta| <= log((1 - e) f_max / (e / v_max) + 1)`` for the larger peak ``f_max``."""
    rng = np.random.default_rng(seed)
    params = default_classify_params() if default else random_params(rng)
    named = dict(zip(CLASSIFY_PARAM_NAMES, params))
    features = random_features(rng, 1)
    features[0, K.F_KINEMATIC_COUNT] = 10.0
    features[0, K.F_SPEED_VAR_M2PS2] = 0.0     # no spread term
    features[0, K.F_TURN_COUNT] = 0.0
    features[0, K.F_N_UPDATES] = 50.0
    with_speed = features.copy()
    with_speed[0, K.F_SPEED_MEAN_MPS] = speed_mps
    without = features.copy()
    without[0, K.F_KINEMATIC_COUNT] = 0.0
    neighbours = np.zeros(1, np.int64)

    def log_ratio(f):
        log_post = reference_log_posterior(f, neighbours, params)[0]
        return log_post[C_BIRD] - log_post[K.C_DRONE]

    w = named["drone_hover_weight"]
    peak = max(1.0 / named["bird_speed_sigma_mps"],
               (1.0 - w) / named["drone_speed_sigma_mps"] + w / named["drone_hover_sigma_mps"])
    peak /= math.sqrt(2.0 * math.pi)
    e = named["speed_outlier_probability"]
    bound = math.log((1.0 - e) * peak * named["speed_outlier_max_mps"] / e + 1.0)
    assert abs(log_ratio(with_speed) - log_ratio(without)) <= bound + 1e-9


def test_bird_radar_cross_section_outweighs_any_speed():
    """A settled track with a bird's radar cross-section is not called a drone
    for its speed alone, however wrong the speed."""
    params = default_classify_params()
    named = dict(zip(CLASSIFY_PARAM_NAMES, params))
    speeds = np.linspace(0.0, 120.0, 241)
    features = np.zeros((speeds.size, N_FEATURES))
    features[:, K.F_N_UPDATES] = 20.0
    features[:, K.F_KINEMATIC_COUNT] = 8.0
    features[:, K.F_SPEED_MEAN_MPS] = speeds
    features[:, K.F_HEIGHT_MEAN_M] = 150.0
    features[:, K.F_SNR_COUNT] = 20.0
    features[:, K.F_SNR_1KM_MEAN_DB] = named["snr_1m2_1km_db"] + named["bird_rcs_mean_dbsm"]
    p = classify_tracks(features, np.arange(speeds.size))
    assert np.all(p[:, C_BIRD] > p[:, K.C_DRONE])


# ---------------------------------------------------------------------------
# Flocking
# ---------------------------------------------------------------------------

@st.composite
def flock_problem(draw):
    seed = draw(st.integers(0, 2 ** 32 - 1))
    k = draw(st.integers(0, 120))
    layout = draw(st.sampled_from(["clusters", "lattice", "spread"]))
    rng = np.random.default_rng(seed)
    x = np.zeros((k, 6))
    if layout == "lattice":
        # integer coordinates: exact ties on the radius and the velocity bound
        x[:, :2] = rng.integers(-3, 4, (k, 2)) * 10.0
        x[:, 3:] = rng.integers(-2, 3, (k, 3)) * 1.0
        return x, 20.0, 2.0
    if layout == "clusters":
        centres = rng.uniform(-3000, 3000, (max(1, k // 6), 2))
        x[:, :2] = centres[rng.integers(0, centres.shape[0], k)] + rng.normal(0, 30, (k, 2))
    else:  # a few far outliers force a coarse grid
        x[:, :2] = rng.uniform(-1e3, 1e3, (k, 2))
        x[: k // 10, :2] *= 1e4
    x[:, 2] = rng.uniform(0, 300, k)
    x[:, 3:] = rng.normal(0, 6, (k, 3))
    return x, draw(st.sampled_from([10.0, 50.0, 200.0])), draw(st.sampled_from([0.0, 3.0, 8.0]))


@FAST
@given(problem=flock_problem())
def test_flock_neighbours_match_all_pairs(problem):
    x, radius_m, max_dv_mps = problem
    out = np.full(x.shape[0], -1, dtype=np.int64)
    count_flock_neighbours(x, radius_m, max_dv_mps, out)
    np.testing.assert_array_equal(out, reference_neighbours(x, radius_m, max_dv_mps))


def test_flock_neighbours_many_tracks():
    rng = np.random.default_rng(3)
    x = np.zeros((3000, 6))
    x[:, :2] = rng.uniform(-8000, 8000, (3000, 2))
    x[:1500, :2] = x[:1500, :2] * 0.05
    x[:, 3:] = rng.normal(0, 4, (3000, 3))
    expected = reference_neighbours(x, 60.0, 5.0)
    assert expected.max() > 0
    np.testing.assert_array_equal(flock_neighbours(x, 60.0, 5.0), expected)


def test_flock_neighbours_rejects_bad_input():
    with pytest.raises(ValueError, match="radius_m"):
        flock_neighbours(np.zeros((2, 6)), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"shape \(k, 6\)"):
        flock_neighbours(np.zeros((2, 4)), 10.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        flock_neighbours(np.full((2, 6), np.nan), 10.0, 1.0)


# ---------------------------------------------------------------------------
# Classifier
# ---------------------------------------------------------------------------

def random_features(rng, k, n_updates=None):
    f = np.zeros((k, N_FEATURES))
    f[:, K.F_N_UPDATES] = (rng.integers(0, 60, k) if n_updates is None
                           else rng.choice(n_updates, k))
    f[:, K.F_SPEED_MEAN_MPS] = rng.uniform(0, 90, k)
    f[:, K.F_TURN_MEAN_DPS] = rng.exponential(8, k)
    f[:, K.F_TURN_COUNT] = rng.integers(0, 3, k) * rng.integers(0, 40, k)
    f[:, K.F_SPEED_VAR_M2PS2] = rng.integers(0, 2, k) * rng.exponential(10, k) ** 2
    f[:, K.F_HEIGHT_MEAN_M] = rng.uniform(-50, 2000, k)
    f[:, K.F_SNR_COUNT] = rng.integers(0, 3, k) * rng.integers(0, 40, k)
    f[:, K.F_SNR_1KM_MEAN_DB] = rng.uniform(10, 80, k)
    f[:, K.F_KINEMATIC_COUNT] = rng.integers(0, 2, k) * rng.integers(1, 60, k)
    return f


def random_params(rng):
    params = default_classify_params()
    for index, name in enumerate(CLASSIFY_PARAM_NAMES):
        if name.endswith("_probability") or name == "drone_hover_weight":
            params[index] = rng.uniform(0.01, 0.99)
        else:
            params[index] *= rng.uniform(0.5, 2.0)
    return params


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), k=st.integers(0, 40), default=st.booleans())
def test_classify_matches_reference(seed, k, default):
    rng = np.random.default_rng(seed)
    capacity = k + 5
    features = random_features(rng, capacity)
    slots = rng.permutation(capacity)[:k].astype(np.int64)
    neighbours = rng.integers(0, 3, k) * rng.integers(0, 5, k)
    params = default_classify_params() if default else random_params(rng)
    out = np.full((k, 4), np.nan)
    classify(features, slots, neighbours, params, out)
    np.testing.assert_allclose(out, reference_classify(features[slots], neighbours, params),
                               rtol=1e-9, atol=1e-12)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), k=st.integers(1, 30))
def test_probabilities_sum_to_one_and_order_does_not_matter(seed, k):
    rng = np.random.default_rng(seed)
    features = random_features(rng, k)
    # extremes: far outside every class
    features[0, K.F_SPEED_MEAN_MPS] = rng.choice([0.0, 500.0])
    features[0, K.F_HEIGHT_MEAN_M] = rng.choice([-1e4, 1e5])
    neighbours = rng.integers(0, 4, k)
    params = random_params(rng)
    p = classify_tracks(features, np.arange(k), neighbours, params)
    assert np.all((p >= 0.0) & (p <= 1.0))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    order = rng.permutation(k)
    np.testing.assert_array_equal(classify_tracks(features, order, neighbours[order], params),
                                  p[order])


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_updates=st.sampled_from([0, 1, 2]))
def test_unknown_dominates_with_thin_evidence(seed, n_updates):
    rng = np.random.default_rng(seed)
    features = random_features(rng, 20, n_updates=[n_updates])
    p = classify_tracks(features, np.arange(20), rng.integers(0, 3, 20))
    assert np.all(p[:, C_UNKNOWN] > 0.5)
    assert np.all(np.argmax(p, axis=1) == C_UNKNOWN)


def test_params_names_and_validation():
    params = default_classify_params()
    assert params.shape == (len(CLASSIFY_PARAM_NAMES),) == (K.N_CLASSIFY_PARAMS,)
    assert len(set(CLASSIFY_PARAM_NAMES)) == len(CLASSIFY_PARAM_NAMES)
    assert all(CLASSIFY_PARAM_NAMES)
    np.testing.assert_array_equal(validate_classify_params(params), params)
    for name, value, message in (("bird_speed_sigma_mps", 0.0, "positive"),
                                 ("drone_flock_probability", 1.0, r"\(0, 1\)"),
                                 ("aircraft_prior", -1.0, "positive"),
                                 ("evidence_updates", np.nan, "finite")):
        bad = params.copy()
        bad[CLASSIFY_PARAM_NAMES.index(name)] = value
        with pytest.raises(ValueError, match=f"{name} must .*{message}"):
            validate_classify_params(bad)
    with pytest.raises(ValueError, match="shape"):
        validate_classify_params(params[:-1])


def test_classify_tracks_rejects_bad_input():
    features = np.zeros((4, N_FEATURES))
    with pytest.raises(ValueError, match="capacity=4"):
        classify_tracks(features, [0, 4])
    with pytest.raises(TypeError, match="integers"):
        classify_tracks(features, [0.0, 1.0])
    with pytest.raises(ValueError, match="one entry per slot"):
        classify_tracks(features, [0, 1], [0])
    with pytest.raises(ValueError, match=rf"shape \(capacity, {N_FEATURES}\)"):
        classify_tracks(np.zeros((4, 3)), [0])


# ---------------------------------------------------------------------------
# End to end on simulated targets
# ---------------------------------------------------------------------------

def simulated_targets(seed, duration_s=90.0, step_s=0.2):
    """Drones, bird flocks and single birds, light aircraft and balloons."""
    from radarcore.sim.trajectories import (
        KIND_PARAMETERS, Trajectories, balloon_motion, bird_motion, formation, leg_motion)

    rng = np.random.default_rng(seed)

    def disc(n, radius_m):
        radius = radius_m * np.sqrt(rng.random(n))
        bearing = rng.uniform(0.0, 2.0 * np.pi, n)
        return np.column_stack([radius * np.sin(bearing), radius * np.cos(bearing)])

    def starts(n, kind):
        low, high = KIND_PARAMETERS[kind]["height_m"]
        height = rng.uniform(low + 0.1 * (high - low), high - 0.2 * (high - low), n)
        return np.column_stack([disc(n, 4000.0), height])

    def headings(n):
        return rng.uniform(0.0, 360.0, n)

    drones = leg_motion(rng, starts(200, "drone"), headings(200), duration_s, step_s, "drone",
                        (0.0, 0.0), 4000.0)
    n_flocks = 20
    sizes = rng.integers(3, 13, n_flocks)
    leaders = bird_motion(rng, starts(n_flocks, "bird"), headings(n_flocks), duration_s, step_s)
    leader_index = np.repeat(np.arange(n_flocks), sizes)
    spread = 4.0 + 1.5 * sizes[leader_index]
    offset = np.column_stack([disc(leader_index.size, 1.0) * spread[:, None],
                              rng.uniform(-3.0, 3.0, leader_index.size)])
    flocks = formation(rng, leaders, leader_index, offset, jitter_m=(0.3, 1.5),
                       period_s=(5.0, 15.0))
    singles = bird_motion(rng, starts(30, "bird"), headings(30), duration_s, step_s)
    aircraft = leg_motion(rng, starts(60, "aircraft"), headings(60), duration_s, step_s,
                          "aircraft", (0.0, 0.0), 3500.0)
    balloon_start = starts(60, "balloon")
    balloon_start[:, 2] = rng.uniform(80.0, 300.0, 60)
    balloons = balloon_motion(rng, balloon_start, rng.uniform(0.0, 360.0), duration_s, step_s)
    return Trajectories.concatenate([drones, flocks, singles, aircraft, balloons])


def run_simulated(seed, with_snr, checkpoints=(5, 20)):
    """Noisy track states every second, SNR as the simulator makes it; returns
    the kinds and the probabilities at each checkpoint (seconds of track age)."""
    from radarcore.sim.sensors import SNR_CONSTANT_DB, SNR_SIGMA_DB

    trajectories = simulated_targets(seed)
    rng = np.random.default_rng(seed + 1)
    n = trajectories.n_targets
    radar_position = np.array([-2500.0, 1500.0, 25.0])
    t0 = rng.uniform(0.0, trajectories.duration_s - max(checkpoints) - 1.0)
    features = np.zeros((n, N_FEATURES))
    for i in range(n):
        reset_features(features[i])
    params = default_classify_params()
    result = {}
    for k in range(max(checkpoints) + 1):
        t_s = t0 + k
        position, velocity = trajectories.state_at(np.arange(n), np.full(n, t_s))
        x = np.hstack([position + rng.normal(0.0, 10.0, (n, 3)),
                       velocity + rng.normal(0.0, 2.0, (n, 3))])
        range_m = np.linalg.norm(position - radar_position, axis=1)
        snr_db = (SNR_CONSTANT_DB + 10.0 * np.log10(trajectories.rcs_m2)
                  - 40.0 * np.log10(range_m) + rng.normal(0.0, SNR_SIGMA_DB, n))
        if not with_snr:
            snr_db[:] = np.nan
        for i in range(n):
            update_features(features[i], x[i], t_s, snr_db[i], range_m[i])
        if k in checkpoints:
            neighbours = np.empty(n, dtype=np.int64)
            count_flock_neighbours(x, 30.0, 6.0, neighbours)
            out = np.empty((n, N_CLASSES))
            classify(features, np.arange(n, dtype=np.int64), neighbours, params, out)
            result[k] = out
    return trajectories.kind, result


def confusion(kind, p):
    """Fraction of each true kind given each argmax class."""
    label = np.argmax(p, axis=1)
    return {name: np.bincount(label[kind == name], minlength=N_CLASSES) / np.sum(kind == name)
            for name in ("drone", "bird", "aircraft", "balloon")}


def print_confusion(title, table):
    print(f"\n{title}: rows true kind, columns {', '.join(K.CLASS_NAMES)}")
    for name, row in table.items():
        print(f"  {name:9s}" + "".join(f"{value:8.3f}" for value in row))


@pytest.fixture(scope="module")
def simulated_with_snr():
    return run_simulated(11, with_snr=True)


def test_simulated_targets_after_20_s(simulated_with_snr):
    kind, result = simulated_with_snr
    table = confusion(kind, result[20])
    print_confusion("after 20 s, with SNR", table)
    assert 1.0 - table["drone"][C_BIRD] >= 0.95
    assert table["bird"][C_BIRD] >= 0.80
    assert table["aircraft"][K.C_AIRCRAFT] >= 0.90
    assert table["balloon"][C_BIRD] == 0.0


def test_simulated_birds_called_birds_within_seconds(simulated_with_snr):
    kind, result = simulated_with_snr
    table = confusion(kind, result[5])
    print_confusion("after 5 s, with SNR", table)
    assert 1.0 - table["drone"][C_BIRD] >= 0.95
    assert table["bird"][C_BIRD] >= 0.80


def test_simulated_targets_from_kinematics_alone():
    """No SNR: the radar cross-section cue is gone, kinematics and flocking remain."""
    kind, result = run_simulated(12, with_snr=False, checkpoints=(20,))
    table = confusion(kind, result[20])
    print_confusion("after 20 s, no SNR", table)
    assert 1.0 - table["drone"][C_BIRD] >= 0.95
    assert table["bird"][C_BIRD] >= 0.80
    assert table["aircraft"][K.C_AIRCRAFT] >= 0.90
    assert table["balloon"][C_BIRD] <= 0.10
