"""Slow references for the classification kernels (kernels/classify.py).

Written from the formulas of the kernel module's docstring, not from its
code: the EW statistics as explicit weighted sums over a track's whole
history (no recursion), the naive-Bayes posterior vectorised with SciPy's
densities, and the flocking count over all pairs.
"""
import math

import numpy as np
from scipy.special import log_expit, logsumexp
from scipy.stats import norm

from kernels import classify as K
from kernels.classify import C_UNKNOWN, CLASSIFY_PARAM_NAMES, N_CLASSES, N_FEATURES


def ew_weights(a):
    """Weights w_j = a_j prod_{l > j} (1 - a_l) of an EW mean with weights a."""
    a = np.asarray(a, dtype=float)
    w = np.empty_like(a)
    for j in range(a.size):
        w[j] = a[j] * np.prod(1.0 - a[j + 1:])
    return w


def ew_mean_var(samples, a):
    """EW mean and variance written as explicit weighted sums (no recursion)."""
    if len(samples) == 0:
        return 0.0, 0.0
    samples = np.asarray(samples, dtype=float)
    w = ew_weights(a)
    mean = float(np.sum(w * samples))
    return mean, float(np.sum(w * (samples - mean) ** 2))


def turn_rate_samples(smooth, speed, t_kin, signed=False, tau=K.TAU_FEATURES_S, accel=None):
    """Turn-rate samples (deg/s) between reference points at least TURN_BASELINE_S apart.

    Returns the samples, their EW weights' ``a`` (time constant ``tau``) and
    the last reference index; ``signed``: positive for a left turn (heading
    counter-clockwise from east), else the absolute rate.  ``accel``: a list
    that gets the speed change rate ``|speed - speed_ref| / baseline`` of each
    sample.
    """
    rates, turn_a, ref = [], [], 0
    for k in range(1, len(t_kin)):
        baseline = t_kin[k] - t_kin[ref]
        if baseline < K.TURN_BASELINE_S:
            continue
        if (baseline <= K.MAX_TURN_BASELINE_S and speed[k] >= K.MIN_TURN_SPEED_MPS
                and speed[ref] >= K.MIN_TURN_SPEED_MPS):
            change = (math.atan2(smooth[k, 1], smooth[k, 0])
                      - math.atan2(smooth[ref, 1], smooth[ref, 0]))
            change = (change + math.pi) % (2.0 * math.pi) - math.pi
            rates.append(math.degrees(change if signed else abs(change)) / baseline)
            turn_a.append(max(1.0 / len(rates), 1.0 - math.exp(-baseline / tau)))
            if accel is not None:
                accel.append(abs(speed[k] - speed[ref]) / baseline)
        ref = k
    return rates, turn_a, ref


def snr_samples(snrs, ranges, dt):
    """Range-normalised SNR samples (dB at 1 km) of the plots that carry one, and their ``a``."""
    values, snr_a = [], []
    for k in range(len(snrs)):
        if not math.isnan(snrs[k]) and ranges[k] > 0.0:
            values.append(snrs[k] + 40.0 * math.log10(ranges[k] / 1000.0))
            snr_a.append(max(1.0 / len(values), 1.0 - math.exp(-dt[k] / K.TAU_FEATURES_S)))
    return values, snr_a


def reference_features(xs, ts, snrs, ranges):
    """The features of the module docstring, from the whole history at once."""
    n = len(ts)
    t_last = np.maximum.accumulate(np.asarray(ts, dtype=float))
    dt = np.zeros(n)
    dt[1:] = np.maximum(np.asarray(ts[1:], dtype=float) - t_last[:-1], 0.0)
    count = np.arange(1, n + 1)
    a = np.maximum(1.0 / count, 1.0 - np.exp(-dt / K.TAU_FEATURES_S))
    f = np.zeros(N_FEATURES)
    f[K.F_N_UPDATES] = n
    f[K.F_T_FIRST_S] = ts[0]
    f[K.F_T_LAST_S] = t_last[-1]
    f[K.F_AGE_S] = t_last[-1] - ts[0]
    f[K.F_HEIGHT_MEAN_M] = ew_mean_var(xs[:, 2], a)[0]
    # kinematic statistics: the updates at least SETTLE_S after the first one
    kin = np.flatnonzero(t_last - ts[0] >= K.SETTLE_S)
    m = kin.size
    f[K.F_KINEMATIC_COUNT] = m
    if m:
        kin_count = np.arange(1, m + 1)
        a_v = np.maximum(1.0 / kin_count, 1.0 - np.exp(-dt[kin] / K.TAU_VELOCITY_S))
        a_k = np.maximum(1.0 / kin_count, 1.0 - np.exp(-dt[kin] / K.TAU_FEATURES_S))
        v = xs[kin, 3:]
        smooth = np.array([[np.sum(ew_weights(a_v[:k + 1]) * v[:k + 1, axis]) for axis in range(3)]
                           for k in range(m)])
        speed = np.hypot(smooth[:, 0], smooth[:, 1])
        f[K.F_VE_SMOOTH_MPS:K.F_VU_SMOOTH_MPS + 1] = smooth[-1]
        f[K.F_SPEED_MEAN_MPS], f[K.F_SPEED_VAR_M2PS2] = ew_mean_var(speed, a_k)
        f[K.F_CLIMB_MEAN_MPS] = ew_mean_var(smooth[:, 2], a_k)[0]
        f[K.F_CLIMB_ABS_MEAN_MPS] = ew_mean_var(np.abs(smooth[:, 2]), a_k)[0]
        f[K.F_HOVER_FRACTION] = ew_mean_var((speed < K.HOVER_SPEED_MPS).astype(float), a_k)[0]
        # turn-rate samples between reference points at least TURN_BASELINE_S apart
        t_kin = t_last[kin]
        rates, turn_a, ref = turn_rate_samples(smooth, speed, t_kin)
        f[K.F_TURN_REF_T_S] = t_kin[ref]
        f[K.F_TURN_REF_VE_MPS], f[K.F_TURN_REF_VN_MPS] = smooth[ref, :2]
        f[K.F_TURN_COUNT] = len(rates)
        f[K.F_TURN_MEAN_DPS], f[K.F_TURN_VAR_D2PS2] = ew_mean_var(rates, turn_a)
    values, snr_a = snr_samples(snrs, ranges, dt)
    f[K.F_SNR_COUNT] = len(values)
    f[K.F_SNR_1KM_MEAN_DB] = ew_mean_var(values, snr_a)[0]
    return f


def reference_log_posterior(features, neighbours, params):
    """``log pi_c + L_c`` of the module docstring, vectorised with SciPy."""
    named = dict(zip(CLASSIFY_PARAM_NAMES, params))
    speed = features[:, K.F_SPEED_MEAN_MPS]
    noise_dps = np.degrees(named["turn_noise_mps"] / np.maximum(speed, K.MIN_TURN_SPEED_MPS))
    n_snr = features[:, K.F_SNR_COUNT]
    log_post = np.empty((features.shape[0], N_CLASSES))
    for c, name in enumerate(K.CLASS_NAMES):
        def mean_sigma(term, unit):
            return named[f"{name}_{term}_mean_{unit}"], named[f"{name}_{term}_sigma_{unit}"]

        mu, sigma = mean_sigma("speed", "mps")
        density = norm.pdf(speed, mu, sigma)
        if name == "drone":
            w = named["drone_hover_weight"]
            density = (1.0 - w) * density + w * norm.pdf(speed, 0.0, named["drone_hover_sigma_mps"])
        eps = named["speed_outlier_probability"]
        with np.errstate(divide="ignore"):
            ll = np.log((1.0 - eps) * density + eps / named["speed_outlier_max_mps"])
        if name == "bird":
            with np.errstate(divide="ignore"):
                z = ((np.log(np.sqrt(features[:, K.F_SPEED_VAR_M2PS2]))
                      - np.log(named["bird_speed_std_mps"])) / named["bird_speed_std_width"])
            ll = ll + log_expit(-z)
        ll = np.where(features[:, K.F_KINEMATIC_COUNT] > 0, ll, 0.0)
        mu, sigma = mean_sigma("turn", "dps")
        sample_var = (named["turn_sample_sigma_dps"] ** 2
                      / np.maximum(features[:, K.F_TURN_COUNT], 1))
        turn = norm.logpdf(features[:, K.F_TURN_MEAN_DPS], np.hypot(mu, noise_dps),
                           np.sqrt(sigma ** 2 + (0.5 * noise_dps) ** 2 + sample_var))
        ll = ll + np.where(features[:, K.F_TURN_COUNT] > 0, turn, 0.0)
        mu, sigma = mean_sigma("height", "m")
        ll = ll + norm.logpdf(features[:, K.F_HEIGHT_MEAN_M], mu, sigma)
        mu, sigma = mean_sigma("rcs", "dbsm")
        with np.errstate(divide="ignore"):
            spread = np.sqrt(sigma ** 2 + named["snr_sigma_db"] ** 2 / n_snr)
        rcs = norm.logpdf(features[:, K.F_SNR_1KM_MEAN_DB], named["snr_1m2_1km_db"] + mu,
                          np.where(n_snr > 0, spread, 1.0))
        ll = ll + np.where(n_snr > 0, rcs, 0.0)
        p_flock = named[f"{name}_flock_probability"]
        ll = ll + np.where(neighbours > 0, np.log(p_flock), np.log1p(-p_flock))
        log_post[:, c] = np.log(named[f"{name}_prior"]) + ll
    return log_post


def reference_classify(features, neighbours, params):
    """The naive-Bayes formula of the module docstring."""
    named = dict(zip(CLASSIFY_PARAM_NAMES, params))
    log_post = reference_log_posterior(features, neighbours, params)
    q = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
    u = np.exp(-features[:, K.F_N_UPDATES] / named["evidence_updates"])
    p = (1.0 - u)[:, None] * q
    p[:, C_UNKNOWN] += u
    return p


def reference_neighbours(x, radius_m, max_dv_mps):
    """All pairs."""
    de = x[:, None, 0] - x[None, :, 0]
    dn = x[:, None, 1] - x[None, :, 1]
    dv = x[:, None, 3:] - x[None, :, 3:]
    close = ((de * de + dn * dn <= radius_m * radius_m)
             & ((dv * dv).sum(axis=2) < max_dv_mps * max_dv_mps))
    np.fill_diagonal(close, False)
    return close.sum(axis=1)
