"""Evidence accumulated over a track's life (kernels.classify.accumulate_evidence) against
the slow reference of tests/naive_classify_model.py, and its invariants."""
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from kernels import classify as K
from kernels.classify import (N_CLASSES, N_FEATURES, accumulated_probabilities, classify_model,
                              model_probabilities, update_flocking)
from naive_classify_model import reference_accumulated
from radarcore.core.classify_model import (load_classify_model, model_from_dict, model_to_dict)
from test_classify_fit import random_features, random_model

FAST = settings(max_examples=40, deadline=None)


def accumulating_model(rng, tau_s=None, cap=None):
    model = random_model(rng)
    model[K.M_ACCUMULATE_S] = rng.uniform(0.5, 10.0) if tau_s is None else tau_s
    model[K.M_ACCUMULATE_CAP] = rng.uniform(0.0, 6.0) if cap is None else cap
    return model


def track_epochs(rng, n_tracks, n_epochs):
    """Epochs of several tracks: (t, track indices, feature rows, neighbours) in order.

    Each track starts at a random epoch, is present at a random subset of the
    later ones, and is sometimes coasting (no update since the last epoch);
    an epoch time is sometimes repeated (an epoch not after the last counted).
    """
    epochs = []
    t = 10.0
    first = rng.uniform(0.0, 10.0, n_tracks)
    last = first.copy()
    for _ in range(n_epochs):
        t += 0.0 if rng.random() < 0.1 else rng.choice([0.5, 1.0, 2.0, 7.0])
        present = np.flatnonzero(rng.random(n_tracks) < 0.7)
        f = random_features(rng, present.size)
        for row, i in enumerate(present):
            if rng.random() < 0.7:
                last[i] = max(last[i], t - rng.uniform(0.0, 0.5))
            f[row, K.F_T_FIRST_S] = first[i]
            f[row, K.F_T_LAST_S] = last[i]
            f[row, K.F_AGE_S] = last[i] - first[i]
        neighbours = rng.integers(0, 2, present.size) * rng.integers(0, 6, present.size)
        epochs.append((t, present, f, neighbours))
    return epochs


def replay(epochs, n_tracks, model):
    """Per track: its epochs' probabilities and evidence from the kernel."""
    table = np.zeros((n_tracks, N_FEATURES))
    out = {i: ([], []) for i in range(n_tracks)}
    for t, present, f, neighbours in epochs:
        table[present, :K.F_EVIDENCE_T_S] = f[:, :K.F_EVIDENCE_T_S]
        p = accumulated_probabilities(table, present, neighbours, t, model)
        for row, i in enumerate(present):
            out[i][0].append(p[row])
            out[i][1].append(table[i, K.F_EVIDENCE_0:K.F_EVIDENCE_0 + N_CLASSES].copy())
    return out


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_tracks=st.integers(1, 6), n_epochs=st.integers(1, 12))
@example(seed=0, n_tracks=1, n_epochs=1)
def test_accumulated_probabilities_match_reference(seed, n_tracks, n_epochs):
    rng = np.random.default_rng(seed)
    model = accumulating_model(rng)
    epochs = track_epochs(rng, n_tracks, n_epochs)
    got = replay(epochs, n_tracks, model)
    for i in range(n_tracks):
        mine = [(t, f[list(present).index(i)], n[list(present).index(i)])
                for t, present, f, n in epochs if i in present]
        if not mine:
            continue
        times, rows, neighbours = zip(*mine)
        p, L = reference_accumulated(times, np.array(rows), np.array(neighbours), model)
        np.testing.assert_allclose(np.array(got[i][0]), p, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.array(got[i][1]), L, rtol=1e-9, atol=1e-12)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_epochs=st.integers(1, 30))
def test_evidence_stays_within_its_cap_and_probabilities_sum_to_one(seed, n_epochs):
    rng = np.random.default_rng(seed)
    model = accumulating_model(rng)
    cap = model[K.M_ACCUMULATE_CAP]
    for p, L in replay(track_epochs(rng, 3, n_epochs), 3, model).values():
        if L:
            L = np.array(L)
            assert np.all((L >= -cap) & (L <= 0.0))
            # the class with the most evidence is at 0
            assert np.all(L.max(axis=1) == 0.0)
            assert np.all(np.array(p) >= 0.0)
            np.testing.assert_allclose(np.array(p).sum(axis=1), 1.0, atol=1e-12)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_epochs=st.integers(1, 12))
def test_evidence_only_lowers_the_drone_call(seed, n_epochs):
    """Never above the epoch's own p(drone); bird and aircraft keep their odds against each other."""
    rng = np.random.default_rng(seed)
    model = accumulating_model(rng)
    table = np.zeros((4, N_FEATURES))
    for t, present, f, neighbours in track_epochs(rng, 4, n_epochs):
        table[present, :K.F_EVIDENCE_T_S] = f[:, :K.F_EVIDENCE_T_S]
        p = accumulated_probabilities(table, present, neighbours, t, model)
        alone = model_probabilities(f, neighbours, model)
        assert np.all(p[:, K.C_DRONE] <= alone[:, K.C_DRONE] * (1.0 + 1e-12) + 1e-300)
        keep = alone[:, K.C_BIRD] > 1e-200
        np.testing.assert_allclose(p[keep, K.C_AIRCRAFT] * alone[keep, K.C_BIRD],
                                   alone[keep, K.C_AIRCRAFT] * p[keep, K.C_BIRD], rtol=1e-9, atol=1e-300)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_epochs=st.integers(1, 10))
def test_no_accumulation_is_the_per_epoch_model(seed, n_epochs):
    """accumulate_s 0 (every file without the key): the probabilities of each row alone, bit for bit."""
    rng = np.random.default_rng(seed)
    model = accumulating_model(rng, tau_s=0.0)
    epochs = track_epochs(rng, 4, n_epochs)
    table = np.zeros((4, N_FEATURES))
    for t, present, f, neighbours in epochs:
        table[present, :K.F_EVIDENCE_T_S] = f[:, :K.F_EVIDENCE_T_S]
        p = accumulated_probabilities(table, present, neighbours, t, model)
        np.testing.assert_array_equal(p, model_probabilities(f, neighbours, model))
        assert not table[:, K.F_EVIDENCE_T_S:K.F_EVIDENCE_0 + N_CLASSES].any()


def height_model(weight, tau_s, cap):
    """A regression whose only weight is ``weight`` on the height, for the drone class."""
    model = np.zeros(K.N_MODEL_PARAMS)
    model[K.M_N_DESIGN] = K.N_DESIGN
    model[K.M_EVIDENCE_S] = 1.0
    model[K.M_TEMPERATURE] = 1.0
    model[K.M_SCALE:K.M_SCALE + K.N_BASE] = 1.0
    model[K.M_WEIGHTS + K.C_DRONE * K.N_DESIGN + K.D_HEIGHT] = weight
    model[K.M_ACCUMULATE_S] = tau_s
    model[K.M_ACCUMULATE_CAP] = cap
    return model


def feed(model, heights, times):
    """One track's evidence after each epoch (tracked all along, 1 s per epoch)."""
    table = np.zeros((1, N_FEATURES))
    out = []
    for height, t in zip(heights, times):
        table[0, K.F_T_FIRST_S] = times[0] - 1.0
        table[0, K.F_T_LAST_S] = t
        table[0, K.F_AGE_S] = 100.0
        table[0, K.F_HEIGHT_MEAN_M] = height
        accumulated_probabilities(table, [0], [0], t, model)
        out.append(table[0, K.F_EVIDENCE_0:K.F_EVIDENCE_0 + N_CLASSES].copy())
    return np.array(out)


def test_an_epoch_is_counted_once_and_order_matters():
    """The same epoch twice adds nothing; with the cap, the same epochs in another order end elsewhere."""
    model = height_model(1.5, tau_s=1.0, cap=2.0)
    L = feed(model, (1.0, 1.0, 1.0), (10.0, 10.0, 11.0))
    np.testing.assert_array_equal(L[0], L[1])
    # logits (1.5, 0, 0, 0) for 1 s per epoch: 1.5 more for drone each epoch, up to the cap
    np.testing.assert_allclose(L[0], [0.0, -1.5, -1.5, -1.5])
    np.testing.assert_allclose(L[2], [0.0, -2.0, -2.0, -2.0])
    times = (10.0, 11.0, 12.0, 13.0)
    a = feed(model, (1.0, 1.0, -1.0, -1.0), times)[-1]
    b = feed(model, (-1.0, -1.0, 1.0, 1.0), times)[-1]
    uncapped = feed(height_model(1.5, tau_s=1.0, cap=100.0), (1.0, 1.0, -1.0, -1.0), times)[-1]
    np.testing.assert_allclose(uncapped, 0.0, atol=1e-12)
    # drone evidence first: the cap forgot 1 of it, so the later bird-ish epochs win by 1
    np.testing.assert_allclose(a, [-1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(b, [0.0, -1.0, -1.0, -1.0])


def test_a_saturated_track_changes_its_mind():
    """After a long bird spell at the cap, steady drone evidence turns the call back."""
    model = load_classify_model()
    model[K.M_ACCUMULATE_S] = 2.0
    model[K.M_ACCUMULATE_CAP] = 3.0
    rng = np.random.default_rng(2)
    # find two rows the model calls bird and drone confidently
    rows = random_features(rng, 4000)
    rows[:, K.F_AGE_S] = 60.0
    p = model_probabilities(rows, np.zeros(4000), model)
    bird = rows[np.argmax(p[:, K.C_BIRD] - p[:, K.C_DRONE])]
    drone = rows[np.argmax(p[:, K.C_DRONE] - p[:, K.C_BIRD])]
    table = np.zeros((1, N_FEATURES))
    t = 0.0
    for row, epochs in ((bird, 100), (drone, 100)):
        calls = []
        for _ in range(epochs):
            t += 1.0
            table[0, :K.F_EVIDENCE_T_S] = row[:K.F_EVIDENCE_T_S]
            table[0, K.F_T_FIRST_S] = 0.0
            table[0, K.F_T_LAST_S] = t
            table[0, K.F_AGE_S] = t
            calls.append(int(np.argmax(accumulated_probabilities(table, [0], [0], t, model)[0])))
        assert calls[-1] == (K.C_BIRD if row is bird else K.C_DRONE)
    # the drone spell took the evidence against bird to the cap
    assert table[0, K.F_EVIDENCE_0 + K.C_BIRD] == pytest.approx(-3.0)
    assert table[0, K.F_EVIDENCE_0 + K.C_DRONE] == 0.0


def test_the_emit_step_accumulates():
    """classify_model = the epoch's flocking cue folded in, then accumulated_probabilities."""
    rng = np.random.default_rng(11)
    model = accumulating_model(rng)
    features = random_features(rng, 6)
    features[:, K.F_T_LAST_S] = features[:, K.F_AGE_S]
    slots = np.array([4, 1, 2], dtype=np.int64)
    neighbours = np.array([0, 3, 1], dtype=np.int64)
    expected = features.copy()
    for t in (5.0, 6.0, 6.0, 9.0):
        out = np.empty((3, N_CLASSES))
        classify_model(features, slots, neighbours, t, model, out)
        for row, i in enumerate(slots):
            update_flocking(expected[i], neighbours[row], t)
        np.testing.assert_array_equal(out, accumulated_probabilities(expected, slots, neighbours, t,
                                                                     model))
        np.testing.assert_array_equal(features, expected)


def test_model_file_keeps_the_evidence_constants():
    model = load_classify_model()
    data = model_to_dict(model)
    assert model_from_dict(data)[K.M_ACCUMULATE_S] == model[K.M_ACCUMULATE_S]
    model[K.M_ACCUMULATE_S] = 3.0
    model[K.M_ACCUMULATE_CAP] = 4.0
    back = model_from_dict(model_to_dict(model))
    assert (back[K.M_ACCUMULATE_S], back[K.M_ACCUMULATE_CAP]) == (3.0, 4.0)
    data = model_to_dict(model)
    data["accumulate_cap"] = -1.0
    with pytest.raises(ValueError, match="accumulate_cap must be zero or positive"):
        model_from_dict(data, "x.json")
