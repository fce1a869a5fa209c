"""The fitted track classifier: load and save its parameter file.

The classifier the engine runs at every output epoch is
:func:`kernels.classify.classify_model` with the model of this file: a
multinomial logistic regression (``"kind": "logistic"``, the default of a
file without ``kind``) or a gradient-boosted tree ensemble (``"kind":
"trees"``: initial scores, the trees' common depth and, per tree, its
class, its internal nodes' columns and thresholds and its leaf values, every
tree complete and stored breadth-first).  The shipped ``classify_model.json``
holds gradient-boosted trees; ``classify_model_logistic.json`` the
regression fitted on the same rows (to run it, copy it over the shipped
file: the engine runs either kind with the same kernel).

Both files are written by ``benchmarks/fit_classifier.py``.  A logistic model's numbers
(standardisation of the design columns, weights, bias, temperature, the
thin-evidence constant and the radar calibration) live in
its file, from simulated data with fixed seeds.  The
file names every entry, so a reader can see which design column weighs how
much for which class; :func:`load_classify_model` turns it into the flat
vector the kernel takes and refuses a file made for another design.
"""
import json
import os

import numpy as np

from kernels import classify as K

#: The shipped model, gradient-boosted trees (package data).
MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classify_model.json")
#: The logistic regression fitted on the same rows, kept beside it: selectable (package data).
LOGISTIC_MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   "classify_model_logistic.json")


#: Score of a class a tree ensemble never saw: exp(-1e4 / T) is 0 in float64 for T < 10.
ABSENT_SCORE = -1e4


def complete_tree(tree, depth, scale=1.0):
    """One fitted tree as a complete binary tree of ``depth`` levels (flat, breadth-first).

    ``tree``: a scikit-learn ``Tree`` (``feature``, ``threshold``,
    ``children_left``, ``children_right``, ``value``; ``x <= threshold``
    goes left).  Node ``i``'s children are ``2 i + 1`` and ``2 i + 2``.  A
    leaf above the last level is padded: the nodes below it split on column
    0 at 0 and every leaf under it takes its value, so the walk ends at that
    value whichever way it goes.  Returns ``feature (2^depth - 1,)`` (int),
    ``threshold (2^depth - 1,)`` and ``value (2^depth,)`` (the leaf values
    times ``scale``, e.g. the learning rate).

    Raises
    ------
    ValueError
        The tree is deeper than ``depth``.
    """
    inner = (1 << depth) - 1
    feature = np.zeros(inner, dtype=np.int64)
    threshold = np.zeros(inner)
    value = np.zeros(inner + 1)
    leaf_value = tree.value.reshape(tree.node_count, -1)[:, 0]
    stack = [(0, 0, 0)]                 # (fitted node, complete index, level)
    while stack:
        node, i, level = stack.pop()
        leaf = tree.children_left[node] < 0
        if level == depth:
            if not leaf:
                raise ValueError(f"tree is deeper than {depth} levels")
            value[i - inner] = scale * leaf_value[node]
            continue
        if leaf:
            stack += [(node, 2 * i + 1, level + 1), (node, 2 * i + 2, level + 1)]
        else:
            feature[i] = tree.feature[node]
            threshold[i] = tree.threshold[node]
            stack += [(tree.children_left[node], 2 * i + 1, level + 1),
                      (tree.children_right[node], 2 * i + 2, level + 1)]
    return feature, threshold, value


def trees_to_model(ensemble, base_model, learning_rate=None, stages=None):
    """A tree model vector from a fitted gradient-boosted tree ensemble.

    ``ensemble``: a fitted scikit-learn ``GradientBoostingClassifier`` over the
    base design columns (``design_matrix(..., snr_1m2_1km_db=...)``); read
    only through public attributes: ``classes_``, ``estimators_`` (one
    regression tree per class and stage, or one per stage for two classes),
    each tree's ``tree_`` arrays (``feature``, ``threshold``,
    ``children_left``, ``children_right``, ``value``, ``max_depth``),
    ``learning_rate`` and ``decision_function`` (which gives the initial
    scores: its value minus the trees' sum).  Every tree is stored complete
    at the depth of the deepest (:func:`complete_tree`).  ``base_model``: a
    model vector whose ``t0``, temperature and radar calibration the tree
    model takes.  Two classes become ``scores = (0, f)`` so that the
    kernel's softmax is the fitted model's sigmoid; a class the ensemble
    never saw gets score :data:`ABSENT_SCORE` (probability 0 at any sane
    temperature).  ``stages``: export only the first ``stages`` stages (the
    ensemble a fit of that many stages would have given: boosting is
    sequential).
    """
    base = K.validate_model_params(base_model)
    classes = [int(c) for c in ensemble.classes_]
    stages = ensemble.estimators_[:stages]
    rate = float(ensemble.learning_rate if learning_rate is None else learning_rate)
    columns = stages.shape[1]
    tree_class = classes[1:] if len(classes) == 2 else classes
    if columns != len(tree_class):
        raise ValueError(f"ensemble has {columns} trees per stage for {len(classes)} classes")
    depth = max([1] + [int(tree.tree_.max_depth) for tree in stages.ravel()])
    if depth > K.MAX_TREE_DEPTH:
        raise ValueError(f"ensemble trees are {depth} deep, the kernel takes at most "
                         f"{K.MAX_TREE_DEPTH}")
    klass, parts = [], []
    for stage in stages:
        for column, tree in enumerate(stage):
            klass.append(tree_class[column])
            parts.append(complete_tree(tree.tree_, depth, rate))
    probe = np.zeros((1, K.N_BASE))
    decision = np.asarray(ensemble.decision_function(probe), dtype=float).reshape(-1)
    summed = np.zeros(columns)
    for stage in stages:
        for column, tree in enumerate(stage):
            summed[column] += rate * float(tree.predict(probe)[0])
    init = np.full(K.N_CLASSES, ABSENT_SCORE)
    if len(classes) == 2:
        init[classes[0]] = 0.0
        init[classes[1]] = decision[0] - summed[0]
    else:
        for column, c in enumerate(tree_class):
            init[c] = decision[column] - summed[column]
    o = K.tree_offsets(len(klass), depth)
    model = np.zeros(o[-1])
    model[:K.N_MODEL_PARAMS] = base[:K.N_MODEL_PARAMS]
    model[K.M_MEAN:K.M_MEAN + K.N_BASE] = 0.0
    model[K.M_SCALE:K.M_SCALE + K.N_BASE] = 1.0
    model[K.M_WEIGHTS:K.M_BIAS + K.N_CLASSES] = 0.0
    model[K.M_KIND] = K.MODEL_TREES
    model[K.M_N_TREES] = len(klass)
    model[K.M_TREE_DEPTH] = depth
    model[K.M_INIT:K.M_INIT + K.N_CLASSES] = init
    model[o[0]:o[1]] = klass
    for k in range(3):
        model[o[1 + k]:o[2 + k]] = np.concatenate([p[k] for p in parts]) if parts else []
    return K.validate_model_params(model)


def _tree_arrays(model):
    o = K.tree_offsets(int(model[K.M_N_TREES]), int(model[K.M_TREE_DEPTH]))
    return [model[o[k]:o[k + 1]] for k in range(4)]


def kin_keys(kernel=K):
    """``(file key, model index)`` of the companion-class rule (``kernels.classify.kin_drone_call``)."""
    return (("kin_min_p", kernel.M_KIN_MIN_P), ("kin_min_epochs", kernel.M_KIN_MIN_EPOCHS),
            ("kin_min_fraction", kernel.M_KIN_MIN_FRACTION),
            ("kin_max_spacing_std_m", kernel.M_KIN_MAX_SPACING_STD_M),
            ("kin_max_dv_mps", kernel.M_KIN_MAX_DV_MPS))


KIN_KEYS = kin_keys()

#: The tree arrays of a tree model's file, in :func:`kernels.classify.tree_offsets` order.
TREE_KEYS = ("class", "feature", "threshold", "value")


def model_to_dict(model, info=None):
    """The model vector as a named, JSON-ready dict (``info``: provenance)."""
    model = K.validate_model_params(model)
    trees = model[K.M_KIND] == K.MODEL_TREES
    data = {
        "format": "radarcore-classify-model/1",
        "kind": "trees" if trees else "logistic",
        "classes": list(K.CLASS_NAMES),
        "design": list(K.DESIGN_NAMES),
        "evidence_s": float(model[K.M_EVIDENCE_S]),
        "temperature": float(model[K.M_TEMPERATURE]),
        "snr_1m2_1km_db": float(model[K.M_SNR_1M2_1KM_DB]),
    }
    if model[K.M_ACCUMULATE_S] > 0.0:
        data["accumulate_s"] = float(model[K.M_ACCUMULATE_S])
        data["accumulate_cap"] = float(model[K.M_ACCUMULATE_CAP])
    if model[K.M_KIN_MIN_P] > 0.0:
        data.update({name: float(model[index]) for name, index in KIN_KEYS})
    if trees:
        integer = ("class", "feature")
        data["init"] = model[K.M_INIT:K.M_INIT + K.N_CLASSES].tolist()
        data["tree_depth"] = int(model[K.M_TREE_DEPTH])
        data["trees"] = {key: (a.astype(int).tolist() if key in integer else a.tolist())
                         for key, a in zip(TREE_KEYS, _tree_arrays(model))}
        data["info"] = info or {}
        return data
    w = model[K.M_WEIGHTS:K.M_BIAS].reshape(K.N_CLASSES, K.N_DESIGN)
    return {
        **data,
        "mean": model[K.M_MEAN:K.M_MEAN + K.N_BASE].tolist(),
        "scale": model[K.M_SCALE:K.M_SCALE + K.N_BASE].tolist(),
        "weights": {name: w[c].tolist() for c, name in enumerate(K.CLASS_NAMES)},
        "bias": model[K.M_BIAS:K.M_BIAS + K.N_CLASSES].tolist(),
        "info": info or {},
    }


def model_from_dict(data, source="model", kernel=K):
    """The flat model vector of a dict written by :func:`model_to_dict`.

    ``kernel``: the classification module whose layout the vector takes
    (default :mod:`kernels.classify`; a benchmark passes an older revision's).

    Raises
    ------
    ValueError
        A missing key, or a model made for other classes or design columns
        (the message names the source and the key).
    """
    try:
        if list(data["classes"]) != list(kernel.CLASS_NAMES):
            raise ValueError(f"{source}: classes {data['classes']} are not {list(kernel.CLASS_NAMES)}")
        if list(data["design"]) != list(kernel.DESIGN_NAMES):
            raise ValueError(f"{source}: its design columns are not this kernel's: refit it "
                             "(benchmarks/fit_classifier.py)")
        kind = data.get("kind", "logistic")
        if kind == "trees":
            if not hasattr(kernel, "MODEL_TREES"):
                raise ValueError(f"{source}: a tree model, and this kernel has none")
            trees = data["trees"]
            depth = int(data["tree_depth"])
            if not 1 <= depth <= kernel.MAX_TREE_DEPTH:
                raise ValueError(f"{source}: tree_depth {depth} is not in "
                                 f"[1, {kernel.MAX_TREE_DEPTH}]")
            arrays = [np.asarray(trees[key], dtype=np.float64) for key in TREE_KEYS]
            n_trees = arrays[0].size
            o = kernel.tree_offsets(n_trees, depth)
            model = np.zeros(o[-1])
            for k, a in enumerate(arrays):
                if a.shape != (o[k + 1] - o[k],):
                    raise ValueError(f"{source}: tree array {TREE_KEYS[k]!r} has {a.size} "
                                     f"entries, expected {o[k + 1] - o[k]}")
                model[o[k]:o[k + 1]] = a
            model[kernel.M_KIND] = kernel.MODEL_TREES
            model[kernel.M_N_TREES] = n_trees
            model[kernel.M_TREE_DEPTH] = depth
            model[kernel.M_INIT:kernel.M_INIT + kernel.N_CLASSES] = data["init"]
            model[kernel.M_SCALE:kernel.M_SCALE + kernel.N_BASE] = 1.0
        elif kind == "logistic":
            model = np.zeros(kernel.N_MODEL_PARAMS)
            model[kernel.M_MEAN:kernel.M_MEAN + kernel.N_BASE] = data["mean"]
            model[kernel.M_SCALE:kernel.M_SCALE + kernel.N_BASE] = data["scale"]
            w = np.array([data["weights"][name] for name in kernel.CLASS_NAMES], dtype=np.float64)
            model[kernel.M_WEIGHTS:kernel.M_BIAS] = w.reshape(-1)
            model[kernel.M_BIAS:kernel.M_BIAS + kernel.N_CLASSES] = data["bias"]
        else:
            raise ValueError(f"{source}: model kind {kind!r} is not 'logistic' or 'trees'")
        model[kernel.M_N_DESIGN] = kernel.N_DESIGN
        model[kernel.M_EVIDENCE_S] = data["evidence_s"]
        model[kernel.M_TEMPERATURE] = data["temperature"]
        model[kernel.M_SNR_1M2_1KM_DB] = data["snr_1m2_1km_db"]
        if hasattr(kernel, "M_ACCUMULATE_S"):
            # optional: a file without them accumulates no evidence
            model[kernel.M_ACCUMULATE_S] = data.get("accumulate_s", 0.0)
            model[kernel.M_ACCUMULATE_CAP] = data.get("accumulate_cap", 0.0)
        if hasattr(kernel, "M_KIN_MIN_P"):
            # optional: a file without them does not take a companion's class
            for name, index in kin_keys(kernel):
                model[index] = data.get(name, 0.0)
    except KeyError as error:
        raise ValueError(f"{source}: missing key {error.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        if isinstance(error, ValueError) and str(error).startswith(source):
            raise
        raise ValueError(f"{source}: malformed model ({error})") from None
    return kernel.validate_model_params(model)


def load_classify_model(path=None):
    """The model vector of ``path`` (default: the shipped :data:`MODEL_PATH`)."""
    path = MODEL_PATH if path is None else path
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return model_from_dict(data, source=str(path))


def save_classify_model(model, path, info=None):
    """Write a model vector as JSON (named entries, provenance in ``info``)."""
    with open(path, "w", encoding="utf-8") as handle:
        data = model_to_dict(model, info)
        trees = data.pop("trees", None)
        text = json.dumps(data, indent=1)
        if trees is not None:
            # one line per tree array: a file of thousands of nodes stays readable by key
            arrays = ",\n".join(f'  "{key}": {json.dumps(values)}' for key, values in trees.items())
            text = text[:-2] + ',\n "trees": {\n' + arrays + "\n }\n}"
        handle.write(text)
        handle.write("\n")
