"""The tree-ensemble classifier: the compiled evaluator of kernels/classify.py
against scikit-learn's ``predict_proba`` and ``decision_function`` as the
slow reference, on ensembles fitted here to random design rows."""
import json

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from kernels import classify as K
from kernels.classify import (
    C_UNKNOWN, N_CLASSES, classify_model, design_matrix, model_probabilities, update_flocking,
    validate_model_params)
from radarcore.core.classify_model import (
    LOGISTIC_MODEL_PATH, MODEL_PATH, load_classify_model, model_from_dict, model_to_dict, save_classify_model, trees_to_model)
from test_classify_fit import random_features, random_model

sklearn_ensemble = pytest.importorskip("sklearn.ensemble", reason="the reference is scikit-learn")

FAST = settings(max_examples=60, deadline=None)
SNR_REF = 45.0


def labels_of(z, rng):
    """Classes from a few design columns, with noise: trees with splits on several columns."""
    score = (z[:, K.D_SPEED] > 20.0).astype(int) + (z[:, K.D_HEIGHT] > 600.0) \
        + 2 * (z[:, K.D_RCS] > 10.0)
    noise = rng.random(z.shape[0]) < 0.2
    return np.where(noise, rng.integers(0, N_CLASSES, z.shape[0]), score % N_CLASSES)


def fitted(classes, seed=0, n=400, stages=8, depth=3):
    """A fitted ensemble on design rows of random features, labels in ``classes`` only."""
    rng = np.random.default_rng(seed)
    features = random_features(rng, n)
    neighbours = rng.integers(0, 3, n)
    z = design_matrix(features, neighbours, snr_1m2_1km_db=SNR_REF)
    y = np.asarray(classes)[labels_of(z, rng) % len(classes)]
    ensemble = sklearn_ensemble.GradientBoostingClassifier(
        n_estimators=stages, max_depth=depth, subsample=0.7, random_state=seed)
    ensemble.fit(z, y, sample_weight=rng.uniform(0.5, 2.0, n))
    base = random_model(rng)
    base[K.M_SNR_1M2_1KM_DB] = SNR_REF
    return ensemble, trees_to_model(ensemble, base)


ENSEMBLES = {name: fitted(classes, seed) for seed, (name, classes) in enumerate(
    (("four", (0, 1, 2, 3)), ("three", (0, 1, 3)), ("two", (0, 1))))}
# depth 3 takes the kernel's vectorised path, other depths its row walk
ENSEMBLES["deep"] = fitted((0, 1, 2, 3), seed=3, depth=4)
ENSEMBLES["shallow"] = fitted((0, 1, 3), seed=4, depth=2)


def reference(ensemble, model, features, neighbours):
    """``(1 - u) softmax(score / T) + u [unknown]``; ``score`` from scikit-learn.

    At ``T = 1`` the softmax is ``predict_proba``; otherwise the scores are
    ``decision_function`` (for two classes: ``(0, f)``, so the softmax is
    the fitted sigmoid).  A NaN design column is taken as 0.
    """
    z = np.nan_to_num(design_matrix(features, neighbours, snr_1m2_1km_db=SNR_REF), nan=0.0)
    n = z.shape[0]
    if n == 0:
        return np.zeros((0, N_CLASSES))
    classes = list(ensemble.classes_)
    temperature = model[K.M_TEMPERATURE]
    if temperature == 1.0:
        q_fit = ensemble.predict_proba(z)
    else:
        f = ensemble.decision_function(z)
        scores = np.column_stack((np.zeros(n), f)) if len(classes) == 2 else f
        logit = scores / temperature
        q_fit = np.exp(logit - logit.max(axis=1, keepdims=True))
        q_fit /= q_fit.sum(axis=1, keepdims=True)
    q = np.zeros((n, N_CLASSES))
    q[:, classes] = q_fit
    u = np.exp(-features[:, K.F_AGE_S] / model[K.M_EVIDENCE_S])
    p = (1.0 - u)[:, None] * q
    p[:, C_UNKNOWN] += u
    return p


@FAST
@given(which=st.sampled_from(sorted(ENSEMBLES)), seed=st.integers(0, 2 ** 32 - 1),
       k=st.integers(1, 25), nan_share=st.sampled_from([0.0, 0.1, 0.5]),
       temperature=st.sampled_from([1.0, 0.7, 2.5]))
@example(which="four", seed=1, k=5, nan_share=0.5, temperature=1.0)
def test_trees_match_scikit_learn(which, seed, k, nan_share, temperature):
    ensemble, model = ENSEMBLES[which]
    model = model.copy()
    model[K.M_TEMPERATURE] = temperature
    rng = np.random.default_rng(seed)
    features = random_features(rng, k)
    # a feature row may hold NaN (a corrupt input): its design column is evaluated as 0
    features[rng.random(features.shape) < nan_share * 0.1] = np.nan
    features[:, K.F_AGE_S] = np.nan_to_num(features[:, K.F_AGE_S], nan=5.0)
    neighbours = rng.integers(0, 4, k)
    p = model_probabilities(features, neighbours, model)
    np.testing.assert_allclose(p, reference(ensemble, model, features, neighbours),
                               rtol=1e-9, atol=1e-12)
    assert np.all(p >= 0.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def test_heights_at_split_thresholds_match_scikit_learn():
    """Columns at a threshold and one float64 or float32 step either side: compared as float32."""
    ensemble, model = ENSEMBLES["four"]
    thresholds = [tree.tree_.threshold[node] for tree in ensemble.estimators_.ravel()
                  for node in np.flatnonzero(tree.tree_.feature == K.D_HEIGHT)]
    assert thresholds, "no split on the height column"
    heights = []
    for t in thresholds:
        f32 = np.float32(t)
        heights += [t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), float(f32),
                    float(np.nextafter(f32, np.float32(-np.inf))),
                    float(np.nextafter(f32, np.float32(np.inf)))]
    rng = np.random.default_rng(5)
    features = random_features(rng, len(heights))
    features[:, K.F_HEIGHT_MEAN_M] = heights
    neighbours = rng.integers(0, 3, len(heights))
    p = model_probabilities(features, neighbours, model)
    np.testing.assert_allclose(p, reference(ensemble, model, features, neighbours),
                               rtol=1e-9, atol=1e-12)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), k=st.integers(0, 20))
def test_emit_step_classifies_with_trees(seed, k):
    """classify_model (what the EMIT step calls) folds the flocking cue, then evaluates the trees."""
    ensemble, model = ENSEMBLES["four"]
    rng = np.random.default_rng(seed)
    capacity = k + 2
    features = random_features(rng, capacity)
    slots = rng.permutation(capacity)[:k].astype(np.int64)
    neighbours = rng.integers(0, 3, k)
    expected = features.copy()
    for row, i in enumerate(slots):
        update_flocking(expected[i], neighbours[row], 300.0)
    out = np.full((k, 4), np.nan)
    classify_model(features, slots, neighbours, 300.0, model, out)
    # ... and records each track's p(drone) for its companions (kernels.classify.kin_drone_call)
    expected[slots, K.F_P_DRONE_LAST] = out[:, K.C_DRONE]
    np.testing.assert_array_equal(features, expected)
    np.testing.assert_allclose(out, reference(ensemble, model, expected[slots], neighbours),
                               rtol=1e-9, atol=1e-12)


def test_tree_model_file_round_trip(tmp_path):
    _, model = ENSEMBLES["three"]
    path = tmp_path / "trees.json"
    save_classify_model(model, path, {"note": "test"})
    np.testing.assert_array_equal(load_classify_model(path), model)
    data = json.loads(path.read_text())
    assert data["kind"] == "trees"
    assert len(data["trees"]["class"]) == int(model[K.M_N_TREES])
    assert data["tree_depth"] == int(model[K.M_TREE_DEPTH])
    data["trees"]["value"] = data["trees"]["value"][:-1]
    with pytest.raises(ValueError, match="x.json: tree array 'value'"):
        model_from_dict(data, "x.json")
    data = model_to_dict(model)
    data["kind"] = "forest"
    with pytest.raises(ValueError, match="kind 'forest'"):
        model_from_dict(data, "x.json")


def test_tree_model_validation_names_the_problem():
    _, model = ENSEMBLES["four"]
    n_trees, depth = int(model[K.M_N_TREES]), int(model[K.M_TREE_DEPTH])
    o = K.tree_offsets(n_trees, depth)
    for index, value, message in ((o[0], N_CLASSES, "tree classes"),
                                  (o[1] + 3, K.N_BASE, "node features"),
                                  (o[1], -1, "node features"),
                                  (o[1] + 1, 2.5, "node features"),
                                  (K.M_KIND, 2, "model kind"),
                                  (K.M_TREE_DEPTH, depth + 1, "entries"),
                                  (K.M_TREE_DEPTH, 0, "depth"),
                                  (K.M_N_TREES, n_trees + 1, "entries")):
        bad = model.copy()
        bad[index] = value
        with pytest.raises(ValueError, match=message):
            validate_model_params(bad)
    out = np.empty((1, 4))
    with pytest.raises(ValueError, match="length"):
        classify_model(random_features(np.random.default_rng(0), 1), np.zeros(1, np.int64),
                       np.zeros(1, np.int64), 1.0, model[:-1], out)


def test_shallow_leaves_are_padded_to_the_full_depth():
    """An ensemble whose trees stop above its deepest one: stored complete, same scores."""
    from radarcore.core.classify_model import complete_tree

    ensemble, model = ENSEMBLES["four"]
    depth = int(model[K.M_TREE_DEPTH])
    trees = [tree.tree_ for tree in ensemble.estimators_.ravel()]
    assert any(t.max_depth < depth or (t.children_left < 0).sum() < 2 ** depth for t in trees), \
        "no tree with a leaf above the last level: the padding is not exercised"
    with pytest.raises(ValueError, match="deeper than"):
        complete_tree(trees[0], trees[0].max_depth - 1)
    # one tree, padded two levels deeper, gives its own prediction at every row
    rng = np.random.default_rng(3)
    z = np.nan_to_num(design_matrix(random_features(rng, 200), rng.integers(0, 3, 200),
                                    snr_1m2_1km_db=SNR_REF)).astype(np.float32)
    tree = ensemble.estimators_[0, 0]
    feature, threshold, value = complete_tree(tree.tree_, depth + 2)
    inner = feature.size
    node = np.zeros(z.shape[0], dtype=np.int64)
    for _ in range(depth + 2):
        node = 2 * node + 1 + (z[np.arange(z.shape[0]), feature[node]] > threshold[node])
    np.testing.assert_allclose(value[node - inner], tree.predict(z), rtol=0, atol=0)


def test_logistic_models_still_run():
    """A logistic model file (no ``kind``) loads and runs as before."""
    rng = np.random.default_rng(2)
    model = random_model(rng)
    data = model_to_dict(model)
    del data["kind"]
    np.testing.assert_array_equal(model_from_dict(data), model)
    features = random_features(rng, 6)
    p = model_probabilities(features, np.zeros(6, np.int64), model)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def test_shipped_model_files_are_one_of_each_kind_and_valid():
    """The shipped model is depth-3 trees; the regression fitted beside it loads and validates."""
    trees = load_classify_model(MODEL_PATH)
    logistic = load_classify_model(LOGISTIC_MODEL_PATH)
    assert trees[K.M_KIND] == K.MODEL_TREES
    assert trees[K.M_TREE_DEPTH] == 3, "the kernel's vectorised path is for depth 3"
    assert logistic[K.M_KIND] == K.MODEL_LOGISTIC
    validate_model_params(trees)
    validate_model_params(logistic)
    rng = np.random.default_rng(5)
    features = random_features(rng, 8)
    for model in (trees, logistic):
        p = model_probabilities(features, np.zeros(8, np.int64), model)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def test_twin_reference_walks_the_trees_as_scikit_learn():
    """The tracker twin's plain-Python tree walk (naive_classify_model) against scikit-learn."""
    from naive_classify_model import reference_probabilities

    ensemble, model = ENSEMBLES["four"]
    rng = np.random.default_rng(11)
    features = random_features(rng, 15)
    features[rng.random(features.shape) < 0.03] = np.nan
    features[:, K.F_AGE_S] = np.nan_to_num(features[:, K.F_AGE_S], nan=5.0)
    neighbours = rng.integers(0, 3, 15)
    np.testing.assert_allclose(reference_probabilities(features, neighbours, model),
                               reference(ensemble, model, features, neighbours),
                               rtol=1e-9, atol=1e-12)
