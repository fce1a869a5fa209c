"""Slow references for the learned classifier of kernels/classify.py.

Written from the module's docstrings, not from its code: the new feature
columns (signed turn rate, SNR spread) and the flocking fraction as
explicit weighted sums over a whole history, the design columns as one
plain expression per D_* comment, and the model's probabilities with a
NumPy softmax.  :func:`reference_model_row` completes a feature row of
``naive_classify.reference_features`` (which knows the naive-Bayes
columns) for a twin of the whole tracker.
"""
import math

import numpy as np

from kernels import classify as K
from kernels.classify import C_DRONE, C_UNKNOWN, N_CLASSES
from naive_classify import ew_mean_var, ew_weights, snr_samples, turn_rate_samples


def _history(xs, ts):
    """Update times, gaps, kinematic samples and their smoothed horizontal velocity and speed."""
    n = len(ts)
    ts = np.asarray(ts, dtype=float)
    t_last = np.maximum.accumulate(ts)
    dt = np.zeros(n)
    dt[1:] = np.maximum(ts[1:] - t_last[:-1], 0.0)
    kin = np.flatnonzero(t_last - ts[0] >= K.SETTLE_S)
    m = kin.size
    smooth = np.zeros((0, 2))
    if m:
        count = np.arange(1, m + 1)
        a_v = np.maximum(1.0 / count, 1.0 - np.exp(-dt[kin] / K.TAU_VELOCITY_S))
        v = xs[kin, 3:5]
        smooth = np.array([[np.sum(ew_weights(a_v[:k + 1]) * v[:k + 1, axis]) for axis in range(2)]
                           for k in range(m)])
    return t_last, dt, kin, smooth, np.hypot(smooth[:, 0], smooth[:, 1])


def reference_new_columns(xs, ts, snrs, ranges):
    """``turn_signed_mean_dps`` and ``snr_1km_var_db2`` from the whole history."""
    t_last, dt, kin, smooth, speed = _history(xs, ts)
    signed = 0.0
    if kin.size:
        rates, turn_a, _ = turn_rate_samples(smooth, speed, t_last[kin], signed=True)
        signed = ew_mean_var(rates, turn_a)[0]
    values, snr_a = snr_samples(snrs, ranges, dt)
    return signed, ew_mean_var(values, snr_a)[1]


def reference_long_columns(xs, ts, snrs, ranges):
    """The long-window columns (``F_LONG_*``, ``TAU_LONG_S``) and ``accel_mean_mps2``.

    Returns a dict by feature index, each statistic an explicit weighted sum
    over the whole history with the weights ``a = max(1/count, 1 - exp(-dt / tau))``
    of its own samples (updates, kinematic samples, turn samples, SNR plots).
    """
    t_last, dt, kin, smooth, speed = _history(xs, ts)
    n = len(ts)
    out = {}
    a = np.maximum(1.0 / np.arange(1, n + 1), 1.0 - np.exp(-dt / K.TAU_LONG_S))
    out[K.F_LONG_HEIGHT_MEAN_M], out[K.F_LONG_HEIGHT_VAR_M2] = ew_mean_var(xs[:, 2], a)
    for index in (K.F_LONG_SPEED_MEAN_MPS, K.F_LONG_SPEED_VAR_M2PS2, K.F_LONG_TURN_MEAN_DPS,
                  K.F_LONG_TURN_SIGNED_MEAN_DPS, K.F_ACCEL_MEAN_MPS2):
        out[index] = 0.0
    if kin.size:
        a_long = np.maximum(1.0 / np.arange(1, kin.size + 1),
                            1.0 - np.exp(-dt[kin] / K.TAU_LONG_S))
        out[K.F_LONG_SPEED_MEAN_MPS], out[K.F_LONG_SPEED_VAR_M2PS2] = ew_mean_var(speed, a_long)
        t_kin = t_last[kin]
        absolute, a_turn_long, _ = turn_rate_samples(smooth, speed, t_kin, tau=K.TAU_LONG_S)
        signed, _, _ = turn_rate_samples(smooth, speed, t_kin, signed=True, tau=K.TAU_LONG_S)
        accel = []
        _, a_turn, _ = turn_rate_samples(smooth, speed, t_kin, accel=accel)
        out[K.F_LONG_TURN_MEAN_DPS] = ew_mean_var(absolute, a_turn_long)[0]
        out[K.F_LONG_TURN_SIGNED_MEAN_DPS] = ew_mean_var(signed, a_turn_long)[0]
        out[K.F_ACCEL_MEAN_MPS2] = ew_mean_var(accel, a_turn)[0]
    values, raw, a_snr = [], [], []
    for k in range(n):
        if not math.isnan(snrs[k]) and ranges[k] > 0.0:
            raw.append(snrs[k])
            values.append(snrs[k] + 40.0 * math.log10(ranges[k] / 1000.0))
            a_snr.append(max(1.0 / len(values), 1.0 - math.exp(-dt[k] / K.TAU_LONG_S)))
    out[K.F_LONG_SNR_1KM_MEAN_DB], out[K.F_LONG_SNR_1KM_VAR_DB2] = ew_mean_var(values, a_snr)
    out[K.F_LONG_SNR_RAW_MEAN_DB] = ew_mean_var(raw, a_snr)[0]
    return out


def reference_flock_fraction(epoch_times, neighbour_counts):
    """``(flock_fraction, flock_t_s, flock_count)`` after these output epochs.

    EW mean of ``[neighbours > 0]`` over the epochs strictly after the
    previous counted one, ``a = max(1/m, 1 - exp(-dt / TAU_FLOCK_S))``.
    """
    counted_t, samples = [], []
    for t, k in zip(epoch_times, neighbour_counts):
        if counted_t and t <= counted_t[-1]:
            continue
        counted_t.append(float(t))
        samples.append(1.0 if k > 0 else 0.0)
    if not counted_t:
        return 0.0, 0.0, 0
    gaps = np.diff(counted_t, prepend=counted_t[0])
    a = np.maximum(1.0 / np.arange(1, len(samples) + 1), 1.0 - np.exp(-gaps / K.TAU_FLOCK_S))
    return ew_mean_var(samples, a)[0], counted_t[-1], len(samples)


def reference_companions(x, p_drone_last=None):
    """Per track of one epoch, ``(found, d, dv, kin)`` of its nearest co-moving companion.

    From :func:`kernels.classify.update_comotion`'s docstring, over all
    pairs: the other tracks within ``COMPANION_RADIUS_M`` horizontally whose
    3-D velocity differs by less than ``COMPANION_DV_MPS``; the nearest, and
    of the nearest the one with the smallest velocity difference.  ``kin``:
    the companion's entry of ``p_drone_last`` (each track's p(drone) at its
    previous epoch; none: 0).
    """
    x = np.asarray(x, dtype=float)
    p_drone_last = np.zeros(x.shape[0]) if p_drone_last is None else np.asarray(p_drone_last)
    out = []
    for a in range(x.shape[0]):
        candidates = []
        for b in range(x.shape[0]):
            if b == a:
                continue
            d2 = (x[b, 0] - x[a, 0]) ** 2 + (x[b, 1] - x[a, 1]) ** 2
            dv2 = ((x[b, 3] - x[a, 3]) ** 2 + (x[b, 4] - x[a, 4]) ** 2
                   + (x[b, 5] - x[a, 5]) ** 2)
            if d2 <= K.COMPANION_RADIUS_M ** 2 and dv2 < K.COMPANION_DV_MPS ** 2:
                candidates.append((d2, dv2, b))
        if candidates:
            d2, dv2, b = min(candidates)
            out.append((True, math.sqrt(d2), math.sqrt(dv2), float(p_drone_last[b])))
        else:
            out.append((False, 0.0, 0.0, 0.0))
    return out


def reference_comotion(epochs):
    """The co-motion columns (``F_COMOTION_T_S`` ... ``F_COMPANION_DV_MEAN_MPS``, ``F_KIN_P_DRONE_MEAN``) by index.

    ``epochs``: ``(t, found, d, dv, kin)`` of every output epoch that wrote the
    track (``kin``, the companion's p(drone), may be left out: 0).  Epochs not after the previous counted one are not counted; the
    fraction is an EW mean over the counted epochs, the spacing and velocity
    statistics EW over the counted epochs with a companion, each with
    ``a = max(1/m, 1 - exp(-gap / TAU_FLOCK_S))`` over its own epochs.
    """
    counted = []
    for t, found, d, dv, *kin in epochs:
        if counted and t <= counted[-1][0]:
            continue
        counted.append((float(t), bool(found), float(d), float(dv), float(kin[0]) if kin else 0.0))
    out = {index: 0.0 for index in range(K.F_COMOTION_T_S, K.F_COMPANION_DV_MEAN_MPS + 1)}
    out[K.F_KIN_P_DRONE_MEAN] = 0.0
    if not counted:
        return out

    def weights(times):
        gaps = np.diff(times, prepend=times[0])
        return np.maximum(1.0 / np.arange(1, len(times) + 1), 1.0 - np.exp(-gaps / K.TAU_FLOCK_S))

    out[K.F_COMOTION_T_S] = counted[-1][0]
    out[K.F_COMOTION_COUNT] = len(counted)
    out[K.F_COMPANION_FRACTION] = ew_mean_var([1.0 if c[1] else 0.0 for c in counted],
                                              weights([c[0] for c in counted]))[0]
    with_companion = [c for c in counted if c[1]]
    if with_companion:
        a = weights([c[0] for c in with_companion])
        out[K.F_COMPANION_T_S] = with_companion[-1][0]
        out[K.F_COMPANION_COUNT] = len(with_companion)
        out[K.F_SPACING_MEAN_M], out[K.F_SPACING_VAR_M2] = ew_mean_var(
            [c[2] for c in with_companion], a)
        out[K.F_COMPANION_DV_MEAN_MPS] = ew_mean_var([c[3] for c in with_companion], a)[0]
        out[K.F_KIN_P_DRONE_MEAN] = ew_mean_var([c[4] for c in with_companion], a)[0]
    return out


def reference_model_row(base_row, xs, ts, snrs, ranges, epoch_times, neighbour_counts,
                        companions=()):
    """A full feature row: ``base_row`` (the naive-Bayes columns) with the later columns filled.

    ``companions``: ``(found, d, dv)`` of each epoch of ``epoch_times``
    (:func:`reference_companions`); none: no co-motion columns.
    """
    f = np.array(base_row, dtype=float)
    if len(companions):
        for index, value in reference_comotion(
                [(t, *c) for t, c in zip(epoch_times, companions)]).items():
            f[index] = value
    f[K.F_TURN_SIGNED_MEAN_DPS], f[K.F_SNR_1KM_VAR_DB2] = reference_new_columns(xs, ts, snrs,
                                                                                  ranges)
    f[K.F_FLOCK_FRACTION], f[K.F_FLOCK_T_S], f[K.F_FLOCK_COUNT] = reference_flock_fraction(
        epoch_times, neighbour_counts)
    for index, value in reference_long_columns(xs, ts, snrs, ranges).items():
        f[index] = value
    return f


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
    z["raw_snr"] = f[K.F_LONG_SNR_RAW_MEAN_DB] if snr_ok else 0.0
    z["long_snr_std"] = math.sqrt(max(f[K.F_LONG_SNR_1KM_VAR_DB2], 0.0)) if snr_ok else 0.0
    z["long_speed_std"] = math.sqrt(max(f[K.F_LONG_SPEED_VAR_M2PS2], 0.0)) if kin else 0.0
    long_turn = max(f[K.F_LONG_TURN_MEAN_DPS], 0.0)
    z["long_log_turn"] = math.log(1.0 + long_turn) if turn_ok else 0.0
    z["long_circling"] = (min(abs(f[K.F_LONG_TURN_SIGNED_MEAN_DPS]) / max(long_turn, 1.0), 1.0)
                          if turn_ok else 0.0)
    z["height_std"] = math.sqrt(max(f[K.F_LONG_HEIGHT_VAR_M2], 0.0))
    z["accel"] = max(f[K.F_ACCEL_MEAN_MPS2], 0.0) if turn_ok else 0.0
    companion_ok = f[K.F_COMPANION_COUNT] > 0
    z["companion_fraction"] = f[K.F_COMPANION_FRACTION]
    z["spacing"] = f[K.F_SPACING_MEAN_M] if companion_ok else 0.0
    z["spacing_std"] = math.sqrt(max(f[K.F_SPACING_VAR_M2], 0.0)) if companion_ok else 0.0
    z["companion_dv"] = f[K.F_COMPANION_DV_MEAN_MPS] if companion_ok else 0.0
    return np.array([z[name] for name in K.DESIGN_NAMES[:K.N_BASE]])


def reference_tree_scores(z, model):
    """Per-class scores of a tree model at base columns ``z``: a plain walk of every tree.

    From the kernel's docstring: NaN is 0, a column is compared as float32;
    every tree is complete, of depth ``D``, its internal nodes breadth-first
    (node ``i``'s children ``2 i + 1`` left, ``2 i + 2`` right; ``<=`` the
    threshold goes left), then its ``2^D`` leaves left to right; a class's
    score is its initial score plus its trees' leaf values.  Here the walk
    is a recursion down explicit left and right subtrees.
    """
    n_trees, depth = int(model[K.M_N_TREES]), int(model[K.M_TREE_DEPTH])
    inner = 2 ** depth - 1
    start = K.N_MODEL_PARAMS
    klass = model[start:start + n_trees]
    feature = model[start + n_trees:start + n_trees * (1 + inner)].reshape(n_trees, inner)
    threshold = model[start + n_trees * (1 + inner):
                      start + n_trees * (1 + 2 * inner)].reshape(n_trees, inner)
    value = model[start + n_trees * (1 + 2 * inner):].reshape(n_trees, inner + 1)
    x = [float(np.float32(0.0 if math.isnan(v) else v)) for v in z]

    def walk(t, level, position):
        """Leaf value of tree ``t`` from the node at ``position`` (0-based) of ``level``."""
        if level == depth:
            return value[t, position]
        node = 2 ** level - 1 + position
        go_right = x[int(feature[t, node])] > threshold[t, node]
        return walk(t, level + 1, 2 * position + (1 if go_right else 0))

    score = np.array(model[K.M_INIT:K.M_INIT + N_CLASSES], dtype=float)
    for t in range(n_trees):
        score[int(klass[t])] += walk(t, 0, 0)
    return score


def reference_logits(features_r, neighbours_r, model):
    """Calibrated logits (scores / T) of one feature row."""
    model = np.asarray(model)
    z = reference_design(features_r, neighbours_r, model[K.M_SNR_1M2_1KM_DB])
    if model[K.M_KIND] == K.MODEL_TREES:
        return reference_tree_scores(z, model) / model[K.M_TEMPERATURE]
    mean = model[K.M_MEAN:K.M_MEAN + K.N_BASE]
    scale = model[K.M_SCALE:K.M_SCALE + K.N_BASE]
    w = model[K.M_WEIGHTS:K.M_BIAS].reshape(N_CLASSES, K.N_DESIGN)
    b = model[K.M_BIAS:K.M_BIAS + N_CLASSES]
    s = np.clip((z - mean) / scale, -K.DESIGN_CLIP, K.DESIGN_CLIP)
    s = np.concatenate([s, [s[a] * s[c] for a, c in K.DESIGN_PRODUCTS]])
    return (w @ s + b) / model[K.M_TEMPERATURE]


def _probabilities(logit, age_s, model):
    q = np.exp(logit - logit.max())
    q /= q.sum()
    u = math.exp(-age_s / model[K.M_EVIDENCE_S])
    p = (1.0 - u) * q
    p[C_UNKNOWN] += u
    return p


def reference_probabilities(features, neighbours, model):
    model = np.asarray(model)
    out = np.empty((features.shape[0], N_CLASSES))
    for r in range(features.shape[0]):
        out[r] = _probabilities(reference_logits(features[r], neighbours[r], model),
                                features[r, K.F_AGE_S], model)
    return out


def reference_evidence_epoch(t, f, neighbours_r, model):
    """One output epoch of one track with accumulated evidence: its probabilities and new evidence.

    ``f``: the track's feature row at the epoch, its evidence columns
    (``F_EVIDENCE_T_S``, ``F_EVIDENCE_COUNT``, ``L``) as the earlier epochs
    left them.  If the epoch is later than the last one counted (or none
    was): ``dt`` = tracked time since it (since the first update for the
    first epoch), up to the latest update, within [0, EVIDENCE_MAX_DT_S];
    ``L <- L + (1 - u) dt / tau z``, then ``L <- max(L - max(L), -cap)``.
    The probabilities are those of ``z`` with ``L_drone`` added to the
    drone logit.  Returns ``(p (4,), evidence columns (6,))``.
    """
    model = np.asarray(model)
    tau, cap = model[K.M_ACCUMULATE_S], model[K.M_ACCUMULATE_CAP]
    evidence = np.array(f[K.F_EVIDENCE_T_S:K.F_EVIDENCE_0 + N_CLASSES], dtype=float)
    z = reference_logits(f, neighbours_r, model)
    u = math.exp(-f[K.F_AGE_S] / model[K.M_EVIDENCE_S])
    if tau > 0.0:
        last, count, L = evidence[0], evidence[1], evidence[2:]
        if count == 0 or t > last:
            start = f[K.F_T_FIRST_S] if count == 0 else last
            dt = min(max(min(f[K.F_T_LAST_S], t) - start, 0.0), K.EVIDENCE_MAX_DT_S)
            L = L + (1.0 - u) * dt / tau * z
            L = np.maximum(L - L.max(), -cap)
            evidence = np.concatenate([[t, count + 1], L])
        z = z.copy()
        z[K.C_DRONE] += L[K.C_DRONE]
    return _probabilities(z, f[K.F_AGE_S], model), evidence


def reference_kin_call(f, p, model):
    """:func:`kernels.classify.kin_drone_call` from its docstring: ``p`` after the companion's class."""
    model = np.asarray(model)
    p = np.array(p, dtype=float)
    q = f[K.F_KIN_P_DRONE_MEAN]
    rigid = (f[K.F_COMPANION_T_S] == f[K.F_COMOTION_T_S]
             and f[K.F_COMPANION_COUNT] >= model[K.M_KIN_MIN_EPOCHS]
             and f[K.F_COMPANION_FRACTION] >= model[K.M_KIN_MIN_FRACTION]
             and f[K.F_COMPANION_DV_MEAN_MPS] <= model[K.M_KIN_MAX_DV_MPS]
             and f[K.F_SPACING_VAR_M2] <= model[K.M_KIN_MAX_SPACING_STD_M] ** 2)
    if model[K.M_KIN_MIN_P] > 0.0 and rigid and q >= model[K.M_KIN_MIN_P] and q > p[C_DRONE]:
        others = [c for c in range(N_CLASSES) if c != C_DRONE]
        rest = p[others].sum()
        p[others] = p[others] * (1.0 - q) / rest if rest > 0.0 else 0.0
        p[C_DRONE] = q
    return p


def reference_accumulated(times, features, neighbours, model):
    """One track's probabilities over its output epochs, fed in order (:func:`reference_evidence_epoch`).

    ``features``: its rows at those epochs (their evidence columns are
    ignored: carried from epoch to epoch here).  Returns the probabilities
    (n, 4) and ``L`` after each epoch (n, 4).
    """
    evidence = np.zeros(2 + N_CLASSES)
    probabilities, accumulated = [], []
    for t, f, n in zip(times, features, neighbours):
        f = np.array(f, dtype=float)
        f[K.F_EVIDENCE_T_S:K.F_EVIDENCE_0 + N_CLASSES] = evidence
        p, evidence = reference_evidence_epoch(t, f, n, model)
        probabilities.append(p)
        accumulated.append(evidence[2:].copy())
    return np.array(probabilities), np.array(accumulated)
