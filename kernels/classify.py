"""Track classification: drone, bird, aircraft or unknown.

Per-track features
------------------
The engine keeps one row of :data:`N_FEATURES` floats per track slot
(``features (capacity, N_FEATURES)``), cleared by :func:`reset_features`
when a track is created and updated by :func:`update_features` after each
association with the updated state ``x = [e, n, u, ve, vn, vu]`` (site ENU,
m and m/s), the plot time ``t_s``, its SNR and its slant range.

Statistics are exponentially weighted (EW) with the time constant
:data:`TAU_FEATURES_S`.  With ``n`` the number of samples so far and ``dt``
the time since the previous one, a sample ``f`` updates the mean ``m`` and
variance ``s2`` of a feature as (West, 1979)

.. math::

    a = \\max(1/n, \\; 1 - e^{-dt/\\tau}), \\quad d = f - m, \\quad
    m \\leftarrow m + a d, \\quad s^2 \\leftarrow (1 - a)(s^2 + a d^2)

so that a young track averages all its samples equally and an old one
forgets with the time constant ``tau`` whatever its update rate.

The height and SNR statistics start with the track's first update.  The
kinematic statistics below wait until the track has **settled**: they start
with the first update at least :data:`SETTLE_S` after the track's first one,
and count their own samples ``n_k`` (``kinematic_count``), which take the
place of ``n`` in their weights.  A new track's velocity comes from a few
plots; in a flock or in clutter it can be off by tens of m/s for seconds, and
with ``a = 1/n`` a young track would keep that error in its speed statistics
for tens of seconds.

The velocity ``(ve, vn, vu)`` is first smoothed with the same rule and the
shorter time constant :data:`TAU_VELOCITY_S` (``v~ <- v~ + a_v (v - v~)``,
``a_v = max(1/n_k, 1 - exp(-dt / TAU_VELOCITY_S))``); the kinematic features
are taken from the smoothed velocity ``(ve~, vn~, vu~)``, which takes out most
of the filter's sample-to-sample velocity noise while keeping the seconds-long
heading changes of a bird:

``speed``
    ``sqrt(ve~^2 + vn~^2)``; EW mean and variance.
``turn rate``
    ``|atan2(v_ref x v~, v_ref . v~)| / (t - t_ref)`` (deg/s) between the
    smoothed horizontal velocity now and at a reference time at least
    :data:`TURN_BASELINE_S` earlier (the first reference is the first
    kinematic sample); a sample is taken only when both speeds
    are at least :data:`MIN_TURN_SPEED_MPS` (the heading of a hovering target
    is noise) and the baseline is at most :data:`MAX_TURN_BASELINE_S` (after a
    long coast the heading change is ambiguous).  EW mean and variance, with
    their own sample count.
``climb``
    EW means of ``vu~`` and ``|vu~|``.
``height``
    EW mean of ``u`` (m above the site's tangent plane).
``hover fraction``
    EW mean of ``[speed < HOVER_SPEED_MPS]``.
``normalised SNR``
    ``snr_db + 40 log10(range_m / 1000 m)``, the SNR the target would give at
    1 km: by the radar equation ``10 log10(rcs) + const``, a radar
    cross-section proxy.  EW mean over the plots that carry an SNR, with its
    own count, and its EW variance (``snr_1km_var_db2``): the plot-to-plot
    fluctuation of the cross-section (scintillation; a flapping bird's swings
    more than a drone's).
``signed turn rate``
    EW mean of the signed turn rate (counter-clockwise positive), with the
    weights of the ``|turn rate|`` statistics: ``|signed| / |turn|`` near 1
    is sustained same-way turning (a bird circling in a thermal, a loiterer
    over a site), near 0 a heading that wanders both ways.
``flocking fraction``
    EW mean (time constant :data:`TAU_FLOCK_S`) of ``[neighbours > 0]`` over
    the output epochs (:func:`update_flocking`, called by
    :func:`classify_model` before it classifies): a bird of a flock is in
    one most of the time, a drone that passes a flock only for a moment.

``long-window statistics`` (time constant :data:`TAU_LONG_S`, 120 s)
    Evidence that outlasts the 30 s window, each with the weights of its
    short twin's samples but ``tau = TAU_LONG_S``: the EW mean of the raw
    plot SNR (``long_snr_raw_mean_db``: how far the echo sits above the
    detection threshold, so a model can tell a spread truncated by missed
    weak looks from a steady echo), the EW mean and variance of the
    normalised SNR, of the smoothed speed, of the height (``long_height_var_m2``:
    thermal climbs and glides), and the EW means of ``|turn rate|`` and of
    the signed turn rate (circling persistence over minutes).
``speed change rate``
    ``|speed~ - speed~_ref| / (t - t_ref)`` over the turn-rate baselines
    (m/s^2), EW mean with the weights of the turn-rate statistics: legs and
    dashes against a bird's steady airspeed.

The time constants and thresholds above and :data:`SETTLE_S` are fixed
model constants (the engine calls :func:`update_features` with no
parameters); they are compiled into the kernel.  A plot older than the
track's latest update counts with ``dt = 0``.  The classifier below reads
the speed, turn-rate, height and SNR statistics; the climb and hover
statistics are kept for reports and further terms.

Naive-Bayes classifier
----------------------
:func:`classify` is a naive-Bayes classifier over the classes
``drone, bird, aircraft, unknown`` (:data:`CLASS_NAMES`).  All its numbers
are in the flat parameter vector ``params`` (:data:`CLASSIFY_PARAM_NAMES`,
:func:`default_classify_params`).  For each class ``c`` the log-likelihood
is a sum of independent terms:

``speed`` (EW mean speed ``v``; skipped while ``n_k = 0``)
    ``(1 - e) f_c(v) + e / v_max``: the class density ``f_c`` mixed with an
    outlier density, uniform on ``[0, v_max]``, of weight ``e``
    (``speed_outlier_probability``, ``speed_outlier_max_mps``).  A track's
    speed can still be wrong after settling (a slow initiation, a swap
    between flock members); the outlier part bounds the evidence a wrong
    speed can give against a class, so that it cannot outweigh the radar
    cross-section.  ``f_c = N(v; mu_c, s_c)``; the drone density is a mixture
    ``(1 - w) N(v; mu_drone, s_drone) + w N(v; 0, s_hover)`` that also
    covers hovering and slowly drifting targets (balloons, which must alert,
    come out as drones).
``turn rate`` (EW mean ``omega`` of ``|turn rate|``, deg/s, over ``m``
    samples; skipped with no sample)
    Gaussian ``N(omega; m_c(v), sigma_c(v))`` whose mean and spread include
    the heading noise of the velocity estimate, which grows as the speed
    falls: ``g = (180/pi) sigma_turn / max(v, MIN_TURN_SPEED_MPS)``,
    ``m_c = sqrt(mu_c^2 + g^2)``, ``sigma_c = sqrt(s_c^2 + (g/2)^2 + s_1^2 / m)``
    with ``sigma_turn`` (m/s) the ``turn_noise_mps`` parameter and ``s_1``
    (``turn_sample_sigma_dps``) the spread of one sample: the first samples
    of a track, taken while its heading is still settling, say little.
``speed spread`` (``sigma_v``, the square root of the EW speed variance;
    bird class only, skipped while ``n_k = 0``)
    Logistic in ``log sigma_v``: ``log sigmoid(-(ln sigma_v - ln s_0) / w)``
    ``= -log(1 + (sigma_v / s_0)^(1/w))`` for birds and 0 for the other
    classes.  A bird keeps its speed within a few m/s; a drone that stops to
    hover and flies on, or changes speed between legs, does not.
``height`` (EW mean height ``h``)
    Gaussian ``N(h; mu_c, s_c)``.
``RCS`` (EW normalised SNR ``r``, only when at least one plot had an SNR)
    Gaussian in decibels: ``N(r; r_ref + mu_c, sqrt(s_c^2 + s_snr^2 / n_snr))``
    with ``mu_c`` the class's mean RCS in dBsm, ``r_ref`` the normalised SNR
    of a 1 m^2 target (the radar calibration, ``snr_1m2_1km_db``), ``s_snr``
    the plot-to-plot SNR fluctuation and ``n_snr`` the number of SNR plots:
    the RCS evidence sharpens as plots accumulate.
``flocking`` (``k`` other tracks flying with this one,
    :func:`count_flock_neighbours`)
    Bernoulli: ``log p_c`` when ``k > 0``, ``log(1 - p_c)`` otherwise.  The
    default ``p_c`` suit a radius of about 30 m and a velocity bound of about
    6 m/s: the tracks of a flock of the simulator are 4-22 m from their
    nearest neighbour (10th-90th percentile), the drones of a swarm 30-80 m
    apart, so a larger radius makes a swarm look like a flock.

The ``unknown`` class has broad densities for every term (an outlier class:
it wins when the features fit no known class).  With priors ``pi_c``

.. math::

    q_c = \\frac{\\pi_c e^{L_c}}{\\sum_{c'} \\pi_{c'} e^{L_{c'}}}

(computed with the largest ``log pi_c + L_c`` subtracted first), and while
the evidence is thin the ``unknown`` class takes the mass
``u = exp(-n / n0)`` (``n`` the number of updates, ``n0`` the
``evidence_updates`` parameter):

.. math::

    p_c = (1 - u) q_c + u [c = unknown]

With the default ``n0 = 4`` ``u`` is above one half for one or two updates,
0.29 after five and below 1 % after twenty.

The defaults describe the targets of the project's simulator
(``radarcore.sim``) as the engine's tracks see them: drones 10-25 m/s with
hovers, 50-300 m high, straight legs with coordinated turns, 0.01-0.1 m^2
(-20 to -10 dBsm); birds 5-15 m/s with an erratic heading, 10-300 m,
0.001-0.01 m^2 (-30 to -20 dBsm), mostly in flocks; light aircraft
40-70 m/s, 300-1200 m, 1-5 m^2; balloons 2-6 m/s, 0.07-0.15 m^2.  They were
fitted to the features of confirmed tracks in the simulator's scenarios and
then tuned against false bird alerts and drones taken for birds
(``benchmarks/classification.py``): the smoothed heading of a settled bird
track turns at about 6.5 deg/s on average, that of a drone at about 1.5 deg/s
(``turn_noise_mps`` 0.3 m/s reproduces the rise at low speed); the radar
cross-section means put the point where bird and drone are equally likely
at -20.5 dBsm, between the largest birds and the smallest drones, where the
two classes overlap and only the kinematics can tell them apart.
``snr_1m2_1km_db`` matches the simulator's radar equation (15 dB for
0.0316 m^2 at 5 km); another radar needs its own value.  Calling a drone a
bird suppresses an alert, which is worse than a bird alert, so the bird
prior is set low: a track needs a clear likelihood ratio to come out as a
bird.

Parameter layout: the mean and spread of Gaussian term ``G_*`` for class
``C_*`` are ``params[P_GAUSSIAN + 2 (N_CLASSES G + C)]`` and the next entry;
the priors and flock probabilities are ``params[P_PRIOR + C]`` and
``params[P_FLOCK + C]``; the scalars have their own ``P_*`` index.

Learned classifier
------------------
The engine's emit step runs :func:`classify_model` with a model fitted by
``benchmarks/fit_classifier.py`` on simulated tracks of several bird and
drone behaviours: gradient-boosted trees of depth 3
(``radarcore/core/classify_model.json``, shipped) or a multinomial logistic
regression (``classify_model_logistic.json``); see docs/classifier.md.  The
regression:  From a track's feature row and this epoch's
flocking count it builds the :data:`N_BASE` base columns ``z`` named by the
``D_*`` constants (physical quantities: speed, its spread, hover fraction,
climb, turn rate, its spread and persistence, height, RCS proxy ``snr_1km
- snr_1m2_1km_db`` in dBsm, SNR spread, flocking now and over time, the
number of updates; and from the long-window statistics the raw SNR level,
the SNR spread, the speed spread, the turn rate and circling persistence,
the height spread and the speed change rate; a statistic with no sample yet
is 0 with its ``has_*`` column 0), standardises them, ``s_k = (z_k - mean_k) / scale_k``, and
appends the products :data:`DESIGN_PRODUCTS` (squares give class-specific
optima, as a Gaussian would; cross terms let, e.g., circling weigh
differently for fast and slow targets).  With the weights ``W`` and bias
``b`` of the fit (each ``s_k`` clipped to ``[-4, 4]``, :data:`DESIGN_CLIP`:
a value far outside what the fit saw gives bounded evidence), the
temperature ``T`` fitted on held-out seeds and the thin-evidence mass
``u = exp(-age_s / t0)`` (``age_s`` the track's age, ``t0`` the
``M_EVIDENCE_S`` slot of the model vector):

.. math::

    q = \\mathrm{softmax}((W s + b) / T), \\quad
    p_c = (1 - u) q_c + u [c = unknown]

The model may instead be a gradient-boosted tree ensemble
(``model[M_KIND] == MODEL_TREES``): the trees read the raw base columns
``z`` (no standardisation; a NaN column is taken as 0, and each column is
compared as float32, as scikit-learn's trees compare it), class ``c``'s
score is its initial score plus the leaf values of its trees (learning
rate included), and the scores take the place of ``W s + b`` above
(softmax with temperature, thin-evidence mass).  Every tree is a complete
binary tree of the same depth ``D`` (``M_TREE_DEPTH``), stored as flat
arrays in breadth-first order: per internal node ``i`` (``0 <= i < 2^D - 1``)
a base column ``feature[i]`` and a ``threshold[i]``, per leaf a value.  The
walk has no branch: ``D`` times ``i <- 2 i + 1 + [z[feature[i]] > threshold[i]]``
(``<=`` goes left), then the leaf ``i - (2^D - 1)``.  A fitted tree with a
leaf above depth ``D`` is padded: the leaf's value fills every leaf below it,
so the padding nodes' splits do not matter.

All numbers are in one flat vector (``M_*`` layout,
:func:`validate_model_params`; a tree model's arrays follow the header,
:func:`tree_offsets`), so the emit step passes one array whatever the
kind; the radar calibration ``snr_1m2_1km_db`` is its entry
``M_SNR_1M2_1KM_DB``.  The naive-Bayes :func:`classify` below
is kept as the reference the model was measured against.

Tiers, as in stumpy: :func:`classify_tracks` and :func:`flock_neighbours`
are Python wrappers that validate their arguments and allocate outputs;
:func:`update_features`, :func:`classify` and :func:`count_flock_neighbours`
are compiled drivers the engine calls from its own compiled code (they check
shapes and raise ``ValueError``); ``_update_kinematics``,
``_log_likelihoods`` and ``_cell_candidates`` do one track.
"""
import math

import numpy as np

from kernels._grid import horizontal_cells, sort_into_cells
from kernels._jit import njit

__all__ = [
    "N_FEATURES", "FEATURE_NAMES", "CLASS_NAMES", "N_CLASSES",
    "C_DRONE", "C_BIRD", "C_AIRCRAFT", "C_UNKNOWN",
    "CLASSIFY_PARAM_NAMES", "N_CLASSIFY_PARAMS", "default_classify_params",
    "validate_classify_params",
    "reset_features", "update_features", "classify", "count_flock_neighbours",
    "classify_tracks", "flock_neighbours",
    "N_BASE", "N_DESIGN", "DESIGN_NAMES", "N_MODEL_PARAMS", "validate_model_params",
    "update_flocking", "update_comotion", "classify_model", "design_matrix", "classify_tracks_model",
    "MODEL_LOGISTIC", "MODEL_TREES", "MODEL_KINDS", "MAX_TREE_DEPTH", "tree_offsets", "model_probabilities",
    "accumulate_evidence", "accumulated_probabilities", "kin_drone_call",
]

# ---------------------------------------------------------------------------
# Feature layout and model constants
# ---------------------------------------------------------------------------

#: Column of each per-track feature in ``features (capacity, N_FEATURES)``.
F_N_UPDATES = 0            # number of updates
F_T_FIRST_S = 1            # time of the first update (s)
F_T_LAST_S = 2             # latest update time (s)
F_AGE_S = 3                # F_T_LAST_S - F_T_FIRST_S (s)
F_VE_SMOOTH_MPS = 4        # smoothed velocity east, north, up (m/s)
F_VN_SMOOTH_MPS = 5
F_VU_SMOOTH_MPS = 6
F_SPEED_MEAN_MPS = 7       # EW mean of the horizontal speed (m/s)
F_SPEED_VAR_M2PS2 = 8      # EW variance of the horizontal speed (m^2/s^2)
F_TURN_REF_T_S = 9         # time of the turn-rate reference velocity (s)
F_TURN_REF_VE_MPS = 10     # smoothed velocity east, north at that time (m/s)
F_TURN_REF_VN_MPS = 11
F_TURN_COUNT = 12          # number of turn-rate samples
F_TURN_MEAN_DPS = 13       # EW mean of |turn rate| (deg/s)
F_TURN_VAR_D2PS2 = 14      # EW variance of |turn rate| (deg^2/s^2)
F_CLIMB_MEAN_MPS = 15      # EW mean of the climb rate (m/s)
F_CLIMB_ABS_MEAN_MPS = 16  # EW mean of |climb rate| (m/s)
F_HEIGHT_MEAN_M = 17       # EW mean height above the site plane (m)
F_HOVER_FRACTION = 18      # EW fraction of updates with speed < HOVER_SPEED_MPS
F_SNR_1KM_MEAN_DB = 19     # EW mean of snr_db + 40 log10(range_m / 1000) (dB)
F_SNR_COUNT = 20           # number of plots with an SNR
F_KINEMATIC_COUNT = 21     # number of updates in the kinematic statistics (after settling)
F_TURN_SIGNED_MEAN_DPS = 22  # EW mean of the signed turn rate (deg/s, counter-clockwise > 0)
F_SNR_1KM_VAR_DB2 = 23     # EW variance of the normalised SNR (dB^2): scintillation
F_FLOCK_FRACTION = 24      # EW fraction of output epochs with a flocking neighbour
F_FLOCK_T_S = 25           # time of the latest output epoch counted in F_FLOCK_FRACTION (s)
F_FLOCK_COUNT = 26         # number of output epochs counted in F_FLOCK_FRACTION
# long-window statistics (time constant TAU_LONG_S): evidence that outlasts the 30 s window
F_LONG_SNR_RAW_MEAN_DB = 27    # EW mean of the raw plot SNR (dB): margin over the detection threshold
F_LONG_SNR_1KM_MEAN_DB = 28    # EW mean and variance of the normalised SNR (dB, dB^2)
F_LONG_SNR_1KM_VAR_DB2 = 29
F_LONG_SPEED_MEAN_MPS = 30     # EW mean and variance of the smoothed speed (m/s, m^2/s^2)
F_LONG_SPEED_VAR_M2PS2 = 31
F_LONG_TURN_MEAN_DPS = 32      # EW mean of |turn rate| and of the signed turn rate (deg/s)
F_LONG_TURN_SIGNED_MEAN_DPS = 33
F_LONG_HEIGHT_MEAN_M = 34      # EW mean and variance of the height (m, m^2)
F_LONG_HEIGHT_VAR_M2 = 35
F_ACCEL_MEAN_MPS2 = 36         # EW mean (TAU_FEATURES_S) of |change of smoothed speed| / baseline
# co-motion with the nearest co-moving companion, per output epoch (update_comotion, TAU_FLOCK_S)
F_COMOTION_T_S = 37            # time of the latest output epoch counted (s)
F_COMOTION_COUNT = 38          # number of output epochs counted
F_COMPANION_FRACTION = 39      # EW fraction of those epochs with a companion
F_COMPANION_T_S = 40           # time of the latest epoch with a companion (s)
F_COMPANION_COUNT = 41         # number of epochs with a companion
F_SPACING_MEAN_M = 42          # EW mean and variance of the distance to the companion (m, m^2)
F_SPACING_VAR_M2 = 43
F_COMPANION_DV_MEAN_MPS = 44   # EW mean of the velocity difference to the companion (m/s)
# evidence accumulated over the track's life, per output epoch (accumulate_evidence)
F_EVIDENCE_T_S = 45            # time of the latest output epoch counted (s)
F_EVIDENCE_COUNT = 46          # number of output epochs counted
F_EVIDENCE_0 = 47              # N_CLASSES accumulated log-odds against the leading class, in [-cap, 0]
# the class of the co-moving companion (update_comotion, classify_model; kin_drone_call)
F_P_DRONE_LAST = 51            # the track's own p(drone) at its latest output epoch
F_KIN_P_DRONE_MEAN = 52        # EW mean, over the epochs with a companion, of the companion's F_P_DRONE_LAST
N_FEATURES = 53

FEATURE_NAMES = (
    "n_updates", "t_first_s", "t_last_s", "age_s",
    "ve_smooth_mps", "vn_smooth_mps", "vu_smooth_mps",
    "speed_mean_mps", "speed_var_m2ps2",
    "turn_ref_t_s", "turn_ref_ve_mps", "turn_ref_vn_mps",
    "turn_count", "turn_mean_dps", "turn_var_d2ps2",
    "climb_mean_mps", "climb_abs_mean_mps", "height_mean_m", "hover_fraction",
    "snr_1km_mean_db", "snr_count", "kinematic_count",
    "turn_signed_mean_dps", "snr_1km_var_db2", "flock_fraction", "flock_t_s", "flock_count",
    "long_snr_raw_mean_db", "long_snr_1km_mean_db", "long_snr_1km_var_db2",
    "long_speed_mean_mps", "long_speed_var_m2ps2", "long_turn_mean_dps",
    "long_turn_signed_mean_dps", "long_height_mean_m", "long_height_var_m2", "accel_mean_mps2",
    "comotion_t_s", "comotion_count", "companion_fraction", "companion_t_s", "companion_count",
    "spacing_mean_m", "spacing_var_m2", "companion_dv_mean_mps",
    "evidence_t_s", "evidence_count", "evidence_drone", "evidence_bird", "evidence_aircraft",
    "evidence_unknown", "p_drone_last", "kin_p_drone_mean",
)

#: Model constant: time constant of the EW feature statistics (s).
TAU_FEATURES_S = 30.0
#: Model constant: time constant of the long-window statistics (s).
TAU_LONG_S = 120.0
#: Model constant: time constant of the velocity smoothing (s).
TAU_VELOCITY_S = 2.0
#: Model constant: shortest baseline of a turn-rate sample (s).
TURN_BASELINE_S = 1.0
#: Model constant: longest baseline of a turn-rate sample (s).
MAX_TURN_BASELINE_S = 5.0
#: Model constant: slowest speed at which a heading is measured (m/s).
MIN_TURN_SPEED_MPS = 3.0
#: Model constant: a target slower than this hovers (m/s).
HOVER_SPEED_MPS = 2.0
#: Model constant: the kinematic statistics start this long after a track's first update (s).
SETTLE_S = 5.0

# ---------------------------------------------------------------------------
# Classes and parameters
# ---------------------------------------------------------------------------

CLASS_NAMES = ("drone", "bird", "aircraft", "unknown")
N_CLASSES = 4
C_DRONE = 0
C_BIRD = 1
C_AIRCRAFT = 2
C_UNKNOWN = 3

#: Gaussian terms; each has a mean and a spread per class.
G_SPEED = 0
G_TURN = 1
G_HEIGHT = 2
G_RCS = 3
N_GAUSSIAN_TERMS = 4
_GAUSSIAN_TERMS = (("speed", "mps"), ("turn", "dps"), ("height", "m"), ("rcs", "dbsm"))

#: ``params[P_GAUSSIAN + 2 * (N_CLASSES * term + class)]`` is the mean and the
#: next entry the spread of a Gaussian term (see :func:`_gaussian_index`).
P_GAUSSIAN = 0
P_PRIOR = P_GAUSSIAN + 2 * N_CLASSES * N_GAUSSIAN_TERMS   # prior per class
P_FLOCK = P_PRIOR + N_CLASSES                              # P(neighbours > 0) per class
P_DRONE_HOVER_WEIGHT = P_FLOCK + N_CLASSES
P_DRONE_HOVER_SIGMA_MPS = P_DRONE_HOVER_WEIGHT + 1
P_TURN_NOISE_MPS = P_DRONE_HOVER_SIGMA_MPS + 1
P_SNR_1M2_1KM_DB = P_TURN_NOISE_MPS + 1
P_SNR_SIGMA_DB = P_SNR_1M2_1KM_DB + 1
P_EVIDENCE_UPDATES = P_SNR_SIGMA_DB + 1
P_BIRD_SPEED_STD_MPS = P_EVIDENCE_UPDATES + 1
P_BIRD_SPEED_STD_WIDTH = P_BIRD_SPEED_STD_MPS + 1
P_SPEED_OUTLIER_PROBABILITY = P_BIRD_SPEED_STD_WIDTH + 1
P_SPEED_OUTLIER_MAX_MPS = P_SPEED_OUTLIER_PROBABILITY + 1
P_TURN_SAMPLE_SIGMA_DPS = P_SPEED_OUTLIER_MAX_MPS + 1
N_CLASSIFY_PARAMS = P_TURN_SAMPLE_SIGMA_DPS + 1


def _gaussian_index(term, class_index):
    """Index of the mean of Gaussian ``term`` for ``class_index`` (spread: + 1)."""
    return P_GAUSSIAN + 2 * (N_CLASSES * term + class_index)


_gaussian_at = njit(inline="always")(_gaussian_index)


def _param_names():
    names = [""] * N_CLASSIFY_PARAMS
    for term, (feature, unit) in enumerate(_GAUSSIAN_TERMS):
        for c, name in enumerate(CLASS_NAMES):
            index = _gaussian_index(term, c)
            names[index] = f"{name}_{feature}_mean_{unit}"
            names[index + 1] = f"{name}_{feature}_sigma_{unit}"
    for c, name in enumerate(CLASS_NAMES):
        names[P_PRIOR + c] = f"{name}_prior"
        names[P_FLOCK + c] = f"{name}_flock_probability"
    names[P_DRONE_HOVER_WEIGHT] = "drone_hover_weight"
    names[P_DRONE_HOVER_SIGMA_MPS] = "drone_hover_sigma_mps"
    names[P_TURN_NOISE_MPS] = "turn_noise_mps"
    names[P_SNR_1M2_1KM_DB] = "snr_1m2_1km_db"
    names[P_SNR_SIGMA_DB] = "snr_sigma_db"
    names[P_EVIDENCE_UPDATES] = "evidence_updates"
    names[P_BIRD_SPEED_STD_MPS] = "bird_speed_std_mps"
    names[P_BIRD_SPEED_STD_WIDTH] = "bird_speed_std_width"
    names[P_SPEED_OUTLIER_PROBABILITY] = "speed_outlier_probability"
    names[P_SPEED_OUTLIER_MAX_MPS] = "speed_outlier_max_mps"
    names[P_TURN_SAMPLE_SIGMA_DPS] = "turn_sample_sigma_dps"
    return tuple(names)


#: Name of each entry of the classifier's parameter vector.
CLASSIFY_PARAM_NAMES = _param_names()

#: Default values by name; see the module docstring for their origin.
_DEFAULTS = {
    # speed (m/s), as the track's speed statistics see it
    "drone_speed_mean_mps": 15.0, "drone_speed_sigma_mps": 4.0,
    "bird_speed_mean_mps": 10.0, "bird_speed_sigma_mps": 2.5,
    "aircraft_speed_mean_mps": 55.0, "aircraft_speed_sigma_mps": 10.0,
    "unknown_speed_mean_mps": 30.0, "unknown_speed_sigma_mps": 40.0,
    # mean |turn rate| of the smoothed heading, without velocity noise (deg/s)
    "drone_turn_mean_dps": 1.3, "drone_turn_sigma_dps": 1.5,
    "bird_turn_mean_dps": 6.5, "bird_turn_sigma_dps": 2.5,
    "aircraft_turn_mean_dps": 1.0, "aircraft_turn_sigma_dps": 1.5,
    "unknown_turn_mean_dps": 10.0, "unknown_turn_sigma_dps": 30.0,
    # height above the site plane (m)
    "drone_height_mean_m": 175.0, "drone_height_sigma_m": 110.0,
    "bird_height_mean_m": 150.0, "bird_height_sigma_m": 100.0,
    "aircraft_height_mean_m": 750.0, "aircraft_height_sigma_m": 300.0,
    "unknown_height_mean_m": 500.0, "unknown_height_sigma_m": 1000.0,
    # radar cross-section (dBsm); bird and drone are equally likely at -20.5 dBsm
    "drone_rcs_mean_dbsm": -15.0, "drone_rcs_sigma_dbsm": 2.5,
    "bird_rcs_mean_dbsm": -26.0, "bird_rcs_sigma_dbsm": 2.5,
    "aircraft_rcs_mean_dbsm": 3.5, "aircraft_rcs_sigma_dbsm": 3.0,
    "unknown_rcs_mean_dbsm": -10.0, "unknown_rcs_sigma_dbsm": 20.0,
    # priors and flocking
    "drone_prior": 0.45, "bird_prior": 0.2, "aircraft_prior": 0.25, "unknown_prior": 0.1,
    "drone_flock_probability": 0.1, "bird_flock_probability": 0.6,
    "aircraft_flock_probability": 0.02, "unknown_flock_probability": 0.2,
    # drone hover component, heading noise, radar calibration, evidence
    "drone_hover_weight": 0.25, "drone_hover_sigma_mps": 3.0,
    "turn_noise_mps": 0.3,
    # 15 dB for a 10 log10(0.0316 m^2) = -15 dBsm target at 5 km, moved to 1 m^2 and 1 km
    "snr_1m2_1km_db": 15.0 - 10.0 * math.log10(math.sqrt(0.01 * 0.1)) + 40.0 * math.log10(5.0),
    "snr_sigma_db": 2.0,
    "evidence_updates": 4.0,
    # speed spread of a bird: s_0 (m/s) and the width w of the logistic in ln(sigma_v)
    "bird_speed_std_mps": 6.0, "bird_speed_std_width": 0.5,
    # speed outliers (a speed still off after initiation, or after a swap in a flock)
    # and the spread of one turn-rate sample
    "speed_outlier_probability": 0.45, "speed_outlier_max_mps": 50.0,
    "turn_sample_sigma_dps": 20.0,
}


def default_classify_params():
    """The default parameter vector of :func:`classify`.

    Returns
    -------
    ndarray, shape (N_CLASSIFY_PARAMS,)
        Entry ``i`` is the parameter named ``CLASSIFY_PARAM_NAMES[i]``.
    """
    return np.array([_DEFAULTS[name] for name in CLASSIFY_PARAM_NAMES], dtype=np.float64)


def validate_classify_params(params):
    """Check a parameter vector; return it as a contiguous float64 array.

    Raises
    ------
    ValueError
        Wrong shape, a non-finite entry, a spread that is not positive, a
        probability outside (0, 1), a prior that is not positive or
        ``evidence_updates`` not positive; the message names the entry.
    """
    params = np.ascontiguousarray(params, dtype=np.float64)
    if params.shape != (N_CLASSIFY_PARAMS,):
        raise ValueError(f"params must have shape ({N_CLASSIFY_PARAMS},), got {params.shape}")
    for index, name in enumerate(CLASSIFY_PARAM_NAMES):
        value = float(params[index])
        if not math.isfinite(value):
            raise ValueError(f"classify parameter {name} must be finite, got {value}")
        if name in ("turn_noise_mps", "turn_sample_sigma_dps"):
            if value < 0.0:
                raise ValueError(f"classify parameter {name} must be >= 0, got {value}")
        elif ("_sigma_" in name or name.endswith("_prior")
              or name in ("evidence_updates", "bird_speed_std_mps", "bird_speed_std_width",
                          "speed_outlier_max_mps")):
            if value <= 0.0:
                raise ValueError(f"classify parameter {name} must be positive, got {value}")
        elif (name.endswith("_flock_probability") or name in ("drone_hover_weight",
                                                              "speed_outlier_probability")):
            if not 0.0 < value < 1.0:
                raise ValueError(f"classify parameter {name} must lie in (0, 1), got {value}")
    return params


# ---------------------------------------------------------------------------
# Feature kernels
# ---------------------------------------------------------------------------

@njit
def reset_features(features_i):
    """Clear the feature row of a new track.

    Parameters
    ----------
    features_i : ndarray, shape (N_FEATURES,)
        The track's row of the feature table (a view), set to zero.
    """
    if features_i.shape[0] != N_FEATURES:
        raise ValueError("reset_features: features_i must have N_FEATURES entries")
    for f in range(N_FEATURES):
        features_i[f] = 0.0


@njit(inline="always")
def _ew_update(features_i, mean_index, var_index, sample, a):
    """EW mean (and variance when ``var_index >= 0``) update with weight ``a``."""
    d = sample - features_i[mean_index]
    features_i[mean_index] += a * d
    if var_index >= 0:
        features_i[var_index] = (1.0 - a) * (features_i[var_index] + a * d * d)


@njit(inline="always")
def _update_kinematics(features_i, x, dt, n_k, t_now, decay, decay_long):
    """Smoothed velocity, speed, climb, hover and turn-rate statistics of sample ``n_k``.

    ``decay = exp(-dt / TAU_FEATURES_S)`` and ``decay_long = exp(-dt / TAU_LONG_S)``,
    computed once per update by the caller.
    """
    a_v = max(1.0 / n_k, 1.0 - np.exp(-dt / TAU_VELOCITY_S))
    for axis in range(3):
        v_smooth = features_i[F_VE_SMOOTH_MPS + axis]
        features_i[F_VE_SMOOTH_MPS + axis] = v_smooth + a_v * (x[3 + axis] - v_smooth)
    ve = features_i[F_VE_SMOOTH_MPS]
    vn = features_i[F_VN_SMOOTH_MPS]
    vu = features_i[F_VU_SMOOTH_MPS]
    speed = np.sqrt(ve * ve + vn * vn)

    a = max(1.0 / n_k, 1.0 - decay)
    _ew_update(features_i, F_SPEED_MEAN_MPS, F_SPEED_VAR_M2PS2, speed, a)
    a_long = max(1.0 / n_k, 1.0 - decay_long)
    _ew_update(features_i, F_LONG_SPEED_MEAN_MPS, F_LONG_SPEED_VAR_M2PS2, speed, a_long)
    _ew_update(features_i, F_CLIMB_MEAN_MPS, -1, vu, a)
    _ew_update(features_i, F_CLIMB_ABS_MEAN_MPS, -1, abs(vu), a)
    _ew_update(features_i, F_HOVER_FRACTION, -1, 1.0 if speed < HOVER_SPEED_MPS else 0.0, a)

    # Turn rate from the smoothed heading over a baseline of about a second.
    if n_k == 1.0:
        features_i[F_TURN_REF_T_S] = t_now
        features_i[F_TURN_REF_VE_MPS] = ve
        features_i[F_TURN_REF_VN_MPS] = vn
        return
    baseline = t_now - features_i[F_TURN_REF_T_S]
    if baseline >= TURN_BASELINE_S:
        ref_e = features_i[F_TURN_REF_VE_MPS]
        ref_n = features_i[F_TURN_REF_VN_MPS]
        ref_speed = np.sqrt(ref_e * ref_e + ref_n * ref_n)
        if (baseline <= MAX_TURN_BASELINE_S and speed >= MIN_TURN_SPEED_MPS
                and ref_speed >= MIN_TURN_SPEED_MPS):
            # heading change = angle between the two velocity vectors
            cross = ref_e * vn - ref_n * ve
            dot = ref_e * ve + ref_n * vn
            rate_dps = np.degrees(abs(np.arctan2(cross, dot))) / baseline
            k = features_i[F_TURN_COUNT] + 1.0
            features_i[F_TURN_COUNT] = k
            a_turn = max(1.0 / k, 1.0 - np.exp(-baseline / TAU_FEATURES_S))
            _ew_update(features_i, F_TURN_MEAN_DPS, F_TURN_VAR_D2PS2, rate_dps, a_turn)
            signed_dps = np.degrees(np.arctan2(cross, dot)) / baseline
            _ew_update(features_i, F_TURN_SIGNED_MEAN_DPS, -1, signed_dps, a_turn)
            a_turn_long = max(1.0 / k, 1.0 - np.exp(-baseline / TAU_LONG_S))
            _ew_update(features_i, F_LONG_TURN_MEAN_DPS, -1, rate_dps, a_turn_long)
            _ew_update(features_i, F_LONG_TURN_SIGNED_MEAN_DPS, -1, signed_dps, a_turn_long)
            accel = abs(speed - ref_speed) / baseline
            _ew_update(features_i, F_ACCEL_MEAN_MPS2, -1, accel, a_turn)
        features_i[F_TURN_REF_T_S] = t_now
        features_i[F_TURN_REF_VE_MPS] = ve
        features_i[F_TURN_REF_VN_MPS] = vn


@njit
def update_features(features_i, x, t_s, snr_db, range_m):
    """Fold one associated update into a track's features.

    See the module docstring for the statistics.  With ``n`` the update count
    after this one and ``dt = max(t_s - t_last, 0)``: the height uses
    ``a = max(1/n, 1 - exp(-dt / TAU_FEATURES_S))``.  Once the track is
    ``SETTLE_S`` old (``t_last - t_first``), each update is also a kinematic
    sample ``n_k``: the velocity smoother uses
    ``a_v = max(1/n_k, 1 - exp(-dt / TAU_VELOCITY_S))`` and the kinematic
    statistics ``a = max(1/n_k, 1 - exp(-dt / TAU_FEATURES_S))``.  The turn
    rate and the SNR have their own counts.

    Parameters
    ----------
    features_i : ndarray, shape (N_FEATURES,)
        The track's feature row, updated in place.
    x : ndarray, shape (6,)
        Updated state ``[e, n, u, ve, vn, vu]`` (site ENU, m and m/s).
    t_s : float
        Plot time (s).  A time before the latest one counts as ``dt = 0``.
    snr_db : float
        Plot SNR (dB); NaN when the radar gave none.
    range_m : float
        Slant range of the plot from its radar (m).
    """
    if features_i.shape[0] != N_FEATURES or x.shape[0] != 6:
        raise ValueError("update_features: features_i must have N_FEATURES entries and x 6")
    n = features_i[F_N_UPDATES] + 1.0
    features_i[F_N_UPDATES] = n
    if n == 1.0:
        features_i[F_T_FIRST_S] = t_s
        features_i[F_T_LAST_S] = t_s
        dt = 0.0
    else:
        dt = max(t_s - features_i[F_T_LAST_S], 0.0)
        features_i[F_T_LAST_S] = max(t_s, features_i[F_T_LAST_S])
    features_i[F_AGE_S] = features_i[F_T_LAST_S] - features_i[F_T_FIRST_S]
    t_now = features_i[F_T_LAST_S]

    # one exponential per time constant and update, shared by the statistics below
    decay = np.exp(-dt / TAU_FEATURES_S)
    decay_long = np.exp(-dt / TAU_LONG_S)

    # Height (from the first update).
    a = max(1.0 / n, 1.0 - decay)
    _ew_update(features_i, F_HEIGHT_MEAN_M, -1, x[2], a)
    a_long = max(1.0 / n, 1.0 - decay_long)
    _ew_update(features_i, F_LONG_HEIGHT_MEAN_M, F_LONG_HEIGHT_VAR_M2, x[2], a_long)

    # Kinematic statistics, once the track's velocity has settled.
    if features_i[F_AGE_S] >= SETTLE_S:
        n_k = features_i[F_KINEMATIC_COUNT] + 1.0
        features_i[F_KINEMATIC_COUNT] = n_k
        _update_kinematics(features_i, x, dt, n_k, t_now, decay, decay_long)

    # Range-normalised SNR (radar cross-section proxy).
    if not np.isnan(snr_db) and range_m > 0.0:
        n_snr = features_i[F_SNR_COUNT] + 1.0
        features_i[F_SNR_COUNT] = n_snr
        a_snr = max(1.0 / n_snr, 1.0 - decay)
        snr_1km = snr_db + 40.0 * np.log10(range_m / 1000.0)
        _ew_update(features_i, F_SNR_1KM_MEAN_DB, F_SNR_1KM_VAR_DB2, snr_1km, a_snr)
        a_snr_long = max(1.0 / n_snr, 1.0 - decay_long)
        _ew_update(features_i, F_LONG_SNR_1KM_MEAN_DB, F_LONG_SNR_1KM_VAR_DB2, snr_1km, a_snr_long)
        _ew_update(features_i, F_LONG_SNR_RAW_MEAN_DB, -1, snr_db, a_snr_long)


# ---------------------------------------------------------------------------
# Classifier
# ---------------------------------------------------------------------------

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(inline="always")
def _log_gauss(value, mean, sigma):
    z = (value - mean) / sigma
    return -0.5 * z * z - np.log(sigma) - _LOG_SQRT_2PI


@njit(inline="always")
def _log_add(a, b):
    """``log(e^a + e^b)`` without overflow."""
    top = max(a, b)
    return top + np.log(np.exp(a - top) + np.exp(b - top))


@njit(inline="always")
def _log_sigmoid_spread(spread, s0, w):
    """``log sigmoid(-(ln spread - ln s0) / w) = -log(1 + (spread / s0)^(1/w))``."""
    r = spread / s0
    if r <= 1.0:
        return -np.log1p(r ** (1.0 / w))
    # the same, without overflow for a large ratio
    return -(np.log(r) / w + np.log1p(r ** (-1.0 / w)))


@njit
def _log_likelihoods(features_i, neighbours, params, ll):
    """Log-likelihood ``L_c`` of one track's features for every class.

    Parameters
    ----------
    features_i : ndarray, shape (N_FEATURES,)
    neighbours : int
        Other tracks flying with this one.
    params : ndarray, shape (N_CLASSIFY_PARAMS,)
    ll : ndarray, shape (N_CLASSES,)
        Written with ``L_c``.
    """
    speed = features_i[F_SPEED_MEAN_MPS]
    turn_dps = features_i[F_TURN_MEAN_DPS]
    has_speed = features_i[F_KINEMATIC_COUNT] > 0.0
    has_turn = features_i[F_TURN_COUNT] > 0.0
    height = features_i[F_HEIGHT_MEAN_M]
    n_snr = features_i[F_SNR_COUNT]
    # heading noise of the velocity estimate at this speed (deg/s over ~1 s)
    g = np.degrees(params[P_TURN_NOISE_MPS] / max(speed, MIN_TURN_SPEED_MPS))
    # spread of the mean of few turn-rate samples
    turn_var_sample = (params[P_TURN_SAMPLE_SIGMA_DPS] * params[P_TURN_SAMPLE_SIGMA_DPS]
                       / max(features_i[F_TURN_COUNT], 1.0))
    # a speed outlier is uniform on [0, speed_outlier_max_mps]
    eps = params[P_SPEED_OUTLIER_PROBABILITY]
    log_outlier = np.log(eps) - np.log(params[P_SPEED_OUTLIER_MAX_MPS])
    for c in range(N_CLASSES):
        total = 0.0
        if has_speed:
            s = _gaussian_at(G_SPEED, c)
            density = _log_gauss(speed, params[s], params[s + 1])
            if c == C_DRONE:
                w = params[P_DRONE_HOVER_WEIGHT]
                density = _log_add(np.log(1.0 - w) + density,
                                   np.log(w) + _log_gauss(speed, 0.0,
                                                          params[P_DRONE_HOVER_SIGMA_MPS]))
            total += _log_add(np.log(1.0 - eps) + density, log_outlier)
            if c == C_BIRD:
                total += _log_sigmoid_spread(np.sqrt(features_i[F_SPEED_VAR_M2PS2]),
                                             params[P_BIRD_SPEED_STD_MPS],
                                             params[P_BIRD_SPEED_STD_WIDTH])
        if has_turn:
            s = _gaussian_at(G_TURN, c)
            mean = np.sqrt(params[s] * params[s] + g * g)
            sigma = np.sqrt(params[s + 1] * params[s + 1] + 0.25 * g * g + turn_var_sample)
            total += _log_gauss(turn_dps, mean, sigma)
        s = _gaussian_at(G_HEIGHT, c)
        total += _log_gauss(height, params[s], params[s + 1])
        if n_snr > 0.0:
            s = _gaussian_at(G_RCS, c)
            sigma = np.sqrt(params[s + 1] * params[s + 1]
                            + params[P_SNR_SIGMA_DB] * params[P_SNR_SIGMA_DB] / n_snr)
            total += _log_gauss(features_i[F_SNR_1KM_MEAN_DB],
                                params[P_SNR_1M2_1KM_DB] + params[s], sigma)
        p_flock = params[P_FLOCK + c]
        total += np.log(p_flock) if neighbours > 0 else np.log(1.0 - p_flock)
        ll[c] = total


@njit
def classify(features, slots, neighbours, params, out):
    """Class probabilities of live tracks.

    ``p_c = (1 - u) q_c + u [c = unknown]``, ``u = exp(-n / n0)``,
    ``q_c = pi_c e^{L_c} / sum_c' pi_c' e^{L_c'}`` (see the module docstring).

    Parameters
    ----------
    features : ndarray, shape (capacity, N_FEATURES)
    slots : ndarray, shape (k,), int64
        Live track slots.
    neighbours : ndarray, shape (k,), int64
        Other tracks flying with each (:func:`count_flock_neighbours`).
    params : ndarray, shape (N_CLASSIFY_PARAMS,)
        See :func:`default_classify_params`.
    out : ndarray, shape (k, 4)
        Written with ``[p_drone, p_bird, p_aircraft, p_unknown]`` per track.
    """
    k = slots.shape[0]
    if features.shape[1] != N_FEATURES:
        raise ValueError("classify: features must have N_FEATURES columns")
    if neighbours.shape[0] != k or out.shape[0] != k or out.shape[1] != N_CLASSES:
        raise ValueError("classify: neighbours must have k entries and out shape (k, 4)")
    if params.shape[0] != N_CLASSIFY_PARAMS:
        raise ValueError("classify: params must have N_CLASSIFY_PARAMS entries")
    ll = np.empty(N_CLASSES)
    n0 = params[P_EVIDENCE_UPDATES]
    for row in range(k):
        i = slots[row]
        if i < 0 or i >= features.shape[0]:
            raise ValueError("classify: slot out of range")
        _log_likelihoods(features[i], neighbours[row], params, ll)
        top = -1e300
        for c in range(N_CLASSES):
            ll[c] += np.log(params[P_PRIOR + c])
            top = max(top, ll[c])
        total = 0.0
        for c in range(N_CLASSES):
            ll[c] = np.exp(ll[c] - top)
            total += ll[c]
        u = np.exp(-features[i, F_N_UPDATES] / n0)
        for c in range(N_CLASSES):
            out[row, c] = (1.0 - u) * ll[c] / total
        out[row, C_UNKNOWN] += u


# ---------------------------------------------------------------------------
# Learned classifier (multinomial logistic regression)
# ---------------------------------------------------------------------------

#: Model constant: time constant of the flocking fraction (s).
TAU_FLOCK_S = 30.0

#: Columns of the design vector built from a feature row (see :func:`_design`).
D_HAS_KINEMATICS = 0       # 1 once the kinematic statistics have a sample
D_SPEED = 1                # EW mean speed (m/s)
D_LOG_SPEED = 2            # ln(1 + speed)
D_SPEED_STD = 3            # EW speed spread (m/s)
D_HOVER = 4                # hover fraction
D_CLIMB_ABS = 5            # EW mean |climb| (m/s)
D_CLIMB = 6                # EW mean climb (m/s)
D_HAS_TURN = 7             # 1 once the turn rate has a sample
D_TURN = 8                 # EW mean |turn rate| (deg/s)
D_TURN_STD = 9             # EW spread of |turn rate| (deg/s)
D_CIRCLING = 10            # |EW signed turn| / max(EW |turn|, 1 deg/s): 1 = always the same way
D_HEIGHT = 11              # EW mean height (m)
D_LOG_HEIGHT = 12          # ln(1 + max(height, 0) / 10 m)
D_HAS_SNR = 13             # 1 once a plot had an SNR
D_RCS = 14                 # normalised SNR - snr_1m2_1km_db: RCS proxy (dBsm)
D_SNR_STD = 15             # EW spread of the normalised SNR (dB): scintillation
D_FLOCK_NOW = 16           # 1 when another track flies with this one now
D_LOG_NEIGHBOURS = 17      # ln(1 + neighbours)
D_FLOCK_FRACTION = 18      # EW fraction of epochs with a flocking neighbour
D_LOG_UPDATES = 19         # ln(updates)
D_LOG_TURN = 20            # ln(1 + turn)
D_RAW_SNR = 21             # long-window EW mean raw SNR (dB): margin over the detection threshold
D_LONG_SNR_STD = 22        # long-window EW spread of the normalised SNR (dB)
D_LONG_SPEED_STD = 23      # long-window EW speed spread (m/s)
D_LONG_LOG_TURN = 24       # ln(1 + long-window EW mean |turn rate|)
D_LONG_CIRCLING = 25       # long-window circling persistence, as D_CIRCLING
D_HEIGHT_STD = 26          # long-window EW height spread (m): thermals and glides
D_ACCEL = 27               # EW mean |rate of change of the smoothed speed| (m/s^2)
D_COMPANION_FRACTION = 28  # EW fraction of output epochs with a co-moving companion
D_SPACING = 29             # EW mean distance to the companion (m); 0 with none yet
D_SPACING_STD = 30         # EW spread of that distance (m): how rigidly the group holds its shape
D_COMPANION_DV = 31        # EW mean velocity difference to the companion (m/s): co-motion
N_BASE = 32
#: Standardised base columns are clipped to [-DESIGN_CLIP, DESIGN_CLIP].
DESIGN_CLIP = 4.0
#: Products of standardised base columns appended to the design (a == b: a square).
DESIGN_PRODUCTS = ((D_SPEED, D_SPEED), (D_LOG_HEIGHT, D_LOG_HEIGHT), (D_RCS, D_RCS),
                   (D_SNR_STD, D_SNR_STD), (D_TURN, D_TURN), (D_SPEED_STD, D_SPEED_STD),
                   (D_CIRCLING, D_LOG_SPEED), (D_CIRCLING, D_CLIMB), (D_RCS, D_SNR_STD),
                   (D_CIRCLING, D_RCS), (D_LOG_SPEED, D_RCS), (D_FLOCK_FRACTION, D_SNR_STD),
                   (D_LONG_SNR_STD, D_LONG_SNR_STD), (D_LONG_SNR_STD, D_RAW_SNR),
                   (D_RAW_SNR, D_RAW_SNR), (D_LONG_CIRCLING, D_LOG_SPEED),
                   (D_LONG_SPEED_STD, D_LONG_SPEED_STD), (D_ACCEL, D_ACCEL))
N_PRODUCTS = len(DESIGN_PRODUCTS)
N_DESIGN = N_BASE + N_PRODUCTS
_PRODUCT_A = np.array([a for a, _ in DESIGN_PRODUCTS], dtype=np.int64)
_PRODUCT_B = np.array([b for _, b in DESIGN_PRODUCTS], dtype=np.int64)

_BASE_NAMES = (
    "has_kinematics", "speed", "log_speed", "speed_std", "hover", "climb_abs", "climb",
    "has_turn", "turn", "turn_std", "circling", "height", "log_height", "has_snr", "rcs",
    "snr_std", "flock_now", "log_neighbours", "flock_fraction", "log_updates", "log_turn",
    "raw_snr", "long_snr_std", "long_speed_std", "long_log_turn", "long_circling", "height_std",
    "accel", "companion_fraction", "spacing", "spacing_std", "companion_dv",
)
#: Name of each design column.
DESIGN_NAMES = _BASE_NAMES + tuple(f"{_BASE_NAMES[a]}*{_BASE_NAMES[b]}"
                                   for a, b in DESIGN_PRODUCTS)

#: Layout of the model vector (:func:`validate_model_params`).
M_N_DESIGN = 0             # N_DESIGN, as a check that the model fits this kernel
M_EVIDENCE_S = 1           # t0 of the thin-evidence mass u = exp(-age_s / t0) (s)
M_TEMPERATURE = 2          # T: logits are divided by T (calibration)
M_SNR_1M2_1KM_DB = 3       # normalised SNR of a 1 m^2 target (radar calibration, dB)
M_MEAN = 4                 # N_BASE means of the base columns
M_SCALE = M_MEAN + N_BASE  # N_BASE spreads of the base columns
M_WEIGHTS = M_SCALE + N_BASE                 # (N_CLASSES, N_DESIGN), row-major
M_BIAS = M_WEIGHTS + N_CLASSES * N_DESIGN    # N_CLASSES
M_KIND = M_BIAS + N_CLASSES  # MODEL_LOGISTIC or MODEL_TREES
M_N_TREES = M_KIND + 1       # trees: number of trees
M_TREE_DEPTH = M_KIND + 2    # trees: depth D of every (complete binary) tree
M_INIT = M_KIND + 3          # trees: N_CLASSES initial scores
M_ACCUMULATE_S = M_INIT + N_CLASSES  # tau of the accumulated evidence (s of tracking per unit); 0: off
M_ACCUMULATE_CAP = M_ACCUMULATE_S + 1  # cap of each class's accumulated log-odds
# the companion's class (kin_drone_call); kin_min_p 0: off
M_KIN_MIN_P = M_ACCUMULATE_CAP + 1     # companion's mean p(drone) at least this
M_KIN_MIN_EPOCHS = M_KIN_MIN_P + 1     # ... over at least this many epochs with a companion
M_KIN_MIN_FRACTION = M_KIN_MIN_P + 2   # ... and a companion in at least this share of epochs
M_KIN_MAX_SPACING_STD_M = M_KIN_MIN_P + 3  # ... at a spacing that spreads by at most this (m)
M_KIN_MAX_DV_MPS = M_KIN_MIN_P + 4     # ... and a mean velocity difference of at most this (m/s)
#: Length of the model vector's header; a tree model's arrays follow it (:func:`tree_offsets`).
N_MODEL_PARAMS = M_KIN_MAX_DV_MPS + 1

#: Model constant: at most this much tracked time (s) counts per output epoch in the
#: accumulated evidence (a coasting track adds none: only time up to its latest update counts).
EVIDENCE_MAX_DT_S = 5.0

#: Model kinds (``model[M_KIND]``).
MODEL_LOGISTIC = 0
MODEL_TREES = 1
MODEL_KINDS = ("logistic", "trees")
#: Deepest tree a tree model may hold (2^D leaves per tree).
MAX_TREE_DEPTH = 10
#: Rows a tree model classifies together (their columns, 28 x 256 floats, stay in cache).
TREE_BLOCK = 256


def validate_model_params(model):
    """Check a model vector of :func:`classify_model`; return it as contiguous float64.

    Raises
    ------
    ValueError
        Wrong length, a model made for another design (``M_N_DESIGN``), a
        non-finite entry, a spread, temperature or ``t0`` that is not
        positive; the message names the entry.
    """
    model = np.ascontiguousarray(model, dtype=np.float64)
    if model.ndim != 1 or model.shape[0] < N_MODEL_PARAMS:
        raise ValueError(f"model must be a vector of at least {N_MODEL_PARAMS} entries, "
                         f"got shape {model.shape}")
    if not np.isfinite(model).all():
        bad = int(np.flatnonzero(~np.isfinite(model))[0])
        raise ValueError(f"model entry {bad} must be finite, got {model[bad]}")
    if int(model[M_N_DESIGN]) != N_DESIGN:
        raise ValueError(f"model was made for {int(model[M_N_DESIGN])} design columns, "
                         f"this kernel has {N_DESIGN}: refit it (benchmarks/fit_classifier.py)")
    for index, name in ((M_EVIDENCE_S, "evidence_s"), (M_TEMPERATURE, "temperature")):
        if not model[index] > 0.0:
            raise ValueError(f"model {name} must be positive, got {model[index]}")
    for index, name in ((M_ACCUMULATE_S, "accumulate_s"), (M_ACCUMULATE_CAP, "accumulate_cap"),
                        (M_KIN_MIN_EPOCHS, "kin_min_epochs"), (M_KIN_MIN_FRACTION, "kin_min_fraction"),
                        (M_KIN_MAX_SPACING_STD_M, "kin_max_spacing_std_m"),
                        (M_KIN_MAX_DV_MPS, "kin_max_dv_mps")):
        if not model[index] >= 0.0:
            raise ValueError(f"model {name} must be zero or positive, got {model[index]}")
    if not 0.0 <= model[M_KIN_MIN_P] <= 1.0:
        raise ValueError(f"model kin_min_p must be in [0, 1] (0: off), got {model[M_KIN_MIN_P]}")
    scale = model[M_SCALE:M_SCALE + N_BASE]
    if not (scale > 0.0).all():
        bad = int(np.flatnonzero(~(scale > 0.0))[0])
        raise ValueError(f"model scale of {DESIGN_NAMES[bad]} must be positive, got {scale[bad]}")
    kind = model[M_KIND]
    if kind == MODEL_LOGISTIC:
        if model.shape[0] != N_MODEL_PARAMS:
            raise ValueError(f"a logistic model has {N_MODEL_PARAMS} entries, got {model.shape[0]}")
        return model
    if kind != MODEL_TREES:
        raise ValueError(f"model kind must be {MODEL_LOGISTIC} (logistic) or {MODEL_TREES} "
                         f"(trees), got {kind}")
    n_trees, depth = model[M_N_TREES], model[M_TREE_DEPTH]
    if not (n_trees == int(n_trees) >= 0 and depth == int(depth)
            and 1 <= depth <= MAX_TREE_DEPTH):
        raise ValueError(f"tree model: n_trees {n_trees} must be a count and depth {depth} "
                         f"an integer in [1, {MAX_TREE_DEPTH}]")
    n_trees, depth = int(n_trees), int(depth)
    o = tree_offsets(n_trees, depth)
    if model.shape[0] != o[-1]:
        raise ValueError(f"tree model of {n_trees} trees of depth {depth} has "
                         f"{o[-1]} entries, got shape {model.shape}")
    klass = model[o[0]:o[1]]
    feature = model[o[1]:o[2]]
    checks = (
        ("tree classes", klass, (klass == np.floor(klass)) & (klass >= 0) & (klass < N_CLASSES)),
        ("node features", feature, (feature == np.floor(feature)) & (feature >= 0)
         & (feature < N_BASE)),
    )
    for name, values, ok in checks:
        if not ok.all():
            bad = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"tree model: {name} entry {bad} is out of range ({values[bad]})")
    return model


@njit
def tree_offsets(n_trees, depth):
    """Offsets in a tree model's vector of its arrays, and its length.

    ``(class, feature, threshold, value, end)`` for ``n_trees`` complete
    trees of depth ``depth``: per tree the class whose score it adds to; per
    tree its ``2^depth - 1`` internal nodes' base design columns, then their
    thresholds (breadth-first, tree after tree); per tree its ``2^depth``
    leaf values (learning rate included).
    """
    inner = (1 << depth) - 1
    klass = N_MODEL_PARAMS
    feature = klass + n_trees
    threshold = feature + n_trees * inner
    value = threshold + n_trees * inner
    return klass, feature, threshold, value, value + n_trees * (inner + 1)


@njit
def _design(features_i, neighbours, snr_1m2_1km_db, z):
    """Base design columns (N_BASE,) of one track (see the D_* constants)."""
    has_kin = features_i[F_KINEMATIC_COUNT] > 0.0
    has_turn = features_i[F_TURN_COUNT] > 0.0
    n_snr = features_i[F_SNR_COUNT]
    for k in range(N_BASE):
        z[k] = 0.0
    if has_kin:
        speed = max(features_i[F_SPEED_MEAN_MPS], 0.0)
        z[D_HAS_KINEMATICS] = 1.0
        z[D_SPEED] = speed
        z[D_LOG_SPEED] = np.log1p(speed)
        z[D_SPEED_STD] = np.sqrt(max(features_i[F_SPEED_VAR_M2PS2], 0.0))
        z[D_HOVER] = features_i[F_HOVER_FRACTION]
        z[D_CLIMB_ABS] = features_i[F_CLIMB_ABS_MEAN_MPS]
        z[D_CLIMB] = features_i[F_CLIMB_MEAN_MPS]
        z[D_LONG_SPEED_STD] = np.sqrt(max(features_i[F_LONG_SPEED_VAR_M2PS2], 0.0))
    if has_turn:
        turn = max(features_i[F_TURN_MEAN_DPS], 0.0)
        z[D_HAS_TURN] = 1.0
        z[D_TURN] = turn
        z[D_TURN_STD] = np.sqrt(max(features_i[F_TURN_VAR_D2PS2], 0.0))
        z[D_CIRCLING] = min(abs(features_i[F_TURN_SIGNED_MEAN_DPS]) / max(turn, 1.0), 1.0)
        z[D_LOG_TURN] = np.log1p(turn)
        long_turn = max(features_i[F_LONG_TURN_MEAN_DPS], 0.0)
        z[D_LONG_LOG_TURN] = np.log1p(long_turn)
        z[D_LONG_CIRCLING] = min(abs(features_i[F_LONG_TURN_SIGNED_MEAN_DPS])
                                 / max(long_turn, 1.0), 1.0)
        z[D_ACCEL] = max(features_i[F_ACCEL_MEAN_MPS2], 0.0)
    height = features_i[F_HEIGHT_MEAN_M]
    z[D_HEIGHT] = height
    z[D_LOG_HEIGHT] = np.log1p(max(height, 0.0) / 10.0)
    z[D_HEIGHT_STD] = np.sqrt(max(features_i[F_LONG_HEIGHT_VAR_M2], 0.0))
    if n_snr > 0.0:
        z[D_HAS_SNR] = 1.0
        z[D_RCS] = features_i[F_SNR_1KM_MEAN_DB] - snr_1m2_1km_db
        z[D_SNR_STD] = np.sqrt(max(features_i[F_SNR_1KM_VAR_DB2], 0.0))
        z[D_RAW_SNR] = features_i[F_LONG_SNR_RAW_MEAN_DB]
        z[D_LONG_SNR_STD] = np.sqrt(max(features_i[F_LONG_SNR_1KM_VAR_DB2], 0.0))
    if neighbours > 0:
        z[D_FLOCK_NOW] = 1.0
        z[D_LOG_NEIGHBOURS] = np.log1p(neighbours)
    z[D_FLOCK_FRACTION] = features_i[F_FLOCK_FRACTION]
    z[D_LOG_UPDATES] = np.log(max(features_i[F_N_UPDATES], 1.0))
    z[D_COMPANION_FRACTION] = features_i[F_COMPANION_FRACTION]
    if features_i[F_COMPANION_COUNT] > 0.0:
        z[D_SPACING] = features_i[F_SPACING_MEAN_M]
        z[D_SPACING_STD] = np.sqrt(max(features_i[F_SPACING_VAR_M2], 0.0))
        z[D_COMPANION_DV] = features_i[F_COMPANION_DV_MEAN_MPS]


@njit
def _standardised_design(features_i, neighbours, model, z, s):
    """Design vector ``s`` (N_DESIGN,): standardised, clipped base columns, then their products."""
    _design(features_i, neighbours, model[M_SNR_1M2_1KM_DB], z)
    for k in range(N_BASE):
        # clipped: a value far outside the fitted range gives bounded evidence
        s[k] = min(max((z[k] - model[M_MEAN + k]) / model[M_SCALE + k], -DESIGN_CLIP), DESIGN_CLIP)
    for q in range(N_PRODUCTS):
        s[N_BASE + q] = s[_PRODUCT_A[q]] * s[_PRODUCT_B[q]]


@njit
def update_flocking(features_i, neighbours, t_epoch):
    """Fold one output epoch's flocking cue into ``F_FLOCK_FRACTION``.

    EW mean of ``[neighbours > 0]`` with
    ``a = max(1/m, 1 - exp(-dt / TAU_FLOCK_S))`` (``m`` the epoch count,
    ``dt`` the time since the previous epoch counted; an epoch not after it
    is not counted again).
    """
    a = _epoch_weight(features_i, F_FLOCK_COUNT, F_FLOCK_T_S, t_epoch)
    if a > 0.0:
        _ew_update(features_i, F_FLOCK_FRACTION, -1, 1.0 if neighbours > 0 else 0.0, a)


@njit(inline="always")
def _epoch_weight(features_i, count_index, t_index, t_epoch):
    """Count an output epoch in an EW statistic over epochs; its weight, 0 if not counted.

    ``a = max(1/m, 1 - exp(-dt / TAU_FLOCK_S))`` with ``m`` the epochs
    counted so far, this one included (``features_i[count_index]``, updated),
    and ``dt`` the time since the previous one (``features_i[t_index]``,
    updated); an epoch not after the previous one is not counted (0).
    """
    m = features_i[count_index]
    if m > 0.0 and t_epoch <= features_i[t_index]:
        return 0.0
    dt = t_epoch - features_i[t_index] if m > 0.0 else 0.0
    m += 1.0
    features_i[count_index] = m
    features_i[t_index] = t_epoch
    return max(1.0 / m, 1.0 - np.exp(-dt / TAU_FLOCK_S))


@njit
def classify_model(features, slots, neighbours, t_epoch, model, out):
    """Class probabilities of live tracks from the learned model.

    For each track: the flocking cue of this epoch is folded into its
    features (:func:`update_flocking`), then with the design vector ``s``
    (:func:`_standardised_design`), weights ``W (N_CLASSES, N_DESIGN)``, bias
    ``b``, temperature ``T`` and ``u = exp(-age_s / t0)``::

        q = softmax((W s + b) / T),   p_c = (1 - u) q_c + u [c = unknown]

    (a tree model: the trees' per-class sums in place of ``W s + b``, see
    :func:`_tree_scores`).  With ``accumulate_s`` > 0 the epoch's logits
    ``(W s + b) / T`` are first folded into the track's accumulated evidence,
    and the drone logit takes the evidence against drone
    (:func:`accumulate_evidence`).  Last, a track flying rigidly with a
    companion called drone takes the companion's call
    (:func:`kin_drone_call`, ``kin_min_p`` > 0; the companion's
    class is read by :func:`update_comotion`, which the emit step calls
    first).

    Parameters
    ----------
    features : ndarray, shape (capacity, N_FEATURES)
        Updated in place (flocking fraction).
    slots : ndarray, shape (k,), int64
    neighbours : ndarray, shape (k,), int64
    t_epoch : float
        Output epoch (s).
    model : ndarray, shape (N_MODEL_PARAMS,) or longer (trees)
        See :func:`validate_model_params`.
    out : ndarray, shape (k, 4)
        Written with ``[p_drone, p_bird, p_aircraft, p_unknown]`` per track.
    """
    k = slots.shape[0]
    if features.shape[1] != N_FEATURES:
        raise ValueError("classify_model: features must have N_FEATURES columns")
    if neighbours.shape[0] != k or out.shape[0] != k or out.shape[1] != N_CLASSES:
        raise ValueError("classify_model: neighbours must have k entries and out shape (k, 4)")
    _check_model_length(model)
    for row in range(k):
        i = slots[row]
        if i < 0 or i >= features.shape[0]:
            raise ValueError("classify_model: slot out of range")
        update_flocking(features[i], neighbours[row], t_epoch)
    _classify_rows(features, slots, neighbours, model, False, True, t_epoch, out)


@njit
def _check_model_length(model):
    """A model vector too short for its header or its trees raises (no read past its end)."""
    if model.shape[0] < N_MODEL_PARAMS:
        raise ValueError("classify_model: model shorter than N_MODEL_PARAMS")
    if model[M_KIND] == MODEL_TREES:
        n_trees = int(model[M_N_TREES])
        depth = int(model[M_TREE_DEPTH])
        if (n_trees < 0 or depth < 1 or depth > MAX_TREE_DEPTH
                or model.shape[0] != tree_offsets(n_trees, depth)[4]):
            raise ValueError("classify_model: tree model length does not match its counts")
    elif model.shape[0] != N_MODEL_PARAMS:
        raise ValueError("classify_model: logistic model must have N_MODEL_PARAMS entries")


@njit
def _tree_scores(model, x, score, k):
    """``score[c, r] = init_c + sum of the leaf values of class c's trees`` at ``x[:, r]``, ``r < k``.

    ``x`` (N_BASE, >= k): base design columns by column (one contiguous run
    of values per column), already rounded to float32 (as scikit-learn's
    trees compare them, thresholds in float64), NaN taken as 0
    (:func:`_tree_input`); ``score`` (N_CLASSES, >= k).  Tree by tree over
    all ``k`` rows.  Trees of depth 3 take all seven comparisons of a row and select
    its leaf with conditional moves (:func:`_depth3_tree`): no branch, and
    the same operations on contiguous columns for every row, which the
    compiler turns into vector instructions.  Other depths walk each row,
    ``i <- 2 i + 1 + [x > threshold]`` per level (no branch either).  The
    node columns and tree classes are taken out of the model vector as
    integers once per call, clipped to their ranges (no read outside ``x`` or
    ``score``, whatever the model; :func:`validate_model_params` refuses such
    a model before it gets here).
    """
    n_trees = int(model[M_N_TREES])
    depth = int(model[M_TREE_DEPTH])
    inner = (1 << depth) - 1
    o_class, o_feature, o_threshold, o_value, _ = tree_offsets(n_trees, depth)
    feature = np.empty(n_trees * inner, dtype=np.int64)
    for j in range(n_trees * inner):
        feature[j] = min(max(int(model[o_feature + j]), 0), N_BASE - 1)
    threshold = model[o_threshold:o_value]
    value = model[o_value:]
    for c in range(N_CLASSES):
        for r in range(k):
            score[c, r] = model[M_INIT + c]
    for t in range(n_trees):
        c = min(max(int(model[o_class + t]), 0), N_CLASSES - 1)
        base = t * inner
        leaves = t * (inner + 1)
        if depth == 3:
            _depth3_tree(x, feature[base:base + 7], threshold[base:base + 7],
                         value[leaves:leaves + 8], score[c], k)
            continue
        for r in range(k):
            node = 0
            for _ in range(depth):
                node = 2 * node + 1 + int(x[feature[base + node], r] > threshold[base + node])
            score[c, r] += value[leaves + node - inner]


@njit(inline="always")
def _depth3_tree(x, f, h, v, acc, k):
    """``acc[r] +=`` the leaf of one depth-3 tree (nodes ``f``, ``h``; leaves ``v``) at ``x[:, r]``, ``r < k``."""
    x0, x1, x2, x3, x4, x5, x6 = x[f[0]], x[f[1]], x[f[2]], x[f[3]], x[f[4]], x[f[5]], x[f[6]]
    h0, h1, h2, h3, h4, h5, h6 = h[0], h[1], h[2], h[3], h[4], h[5], h[6]
    v0, v1, v2, v3, v4, v5, v6, v7 = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
    for r in range(k):
        left = (v3 if x4[r] > h4 else v2) if x1[r] > h1 else (v1 if x3[r] > h3 else v0)
        right = (v7 if x6[r] > h6 else v6) if x2[r] > h2 else (v5 if x5[r] > h5 else v4)
        acc[r] += right if x0[r] > h0 else left


@njit
def _tree_input(features_i, neighbours, model, z, x_row):
    """One row of the trees' input: base design columns, NaN as 0, rounded to float32."""
    _design(features_i, neighbours, model[M_SNR_1M2_1KM_DB], z)
    for k in range(N_BASE):
        v = z[k]
        if np.isnan(v):
            v = 0.0
        x_row[k] = np.float64(np.float32(v))


@njit(inline="always")
def accumulate_evidence(features_i, t_epoch, u, model, logit):
    """Fold one output epoch's calibrated logits into the track's evidence; add it to ``logit``.

    Per track, accumulated log-odds ``L_c`` (``features_i[F_EVIDENCE_0 + c]``)
    of each class against the class with the most evidence, updated once
    per output epoch strictly after the previous one counted::

        w   = (1 - u) * dt / tau
        L_c <- L_c + w * z_c
        L_c <- max(L_c - max_k L_k, -cap)

    ``z = scores / T`` (``logit`` on entry; a constant added to every class
    changes nothing), ``u`` the thin-evidence mass, ``tau`` and ``cap`` the
    model's ``accumulate_s`` and ``accumulate_cap``; ``dt`` the tracked time
    since the previous epoch counted (since the first update, for the
    first), up to the track's latest update and at most
    :data:`EVIDENCE_MAX_DT_S`: a coasting track's unchanged scores are not
    counted again.  So ``L`` lies in ``[-cap, 0]``, 0 for the class with the
    most evidence.  Then ``logit_drone += L_drone``: evidence accumulated
    against ``drone`` lowers the call of a track that has mostly looked like
    something else (a bird's brief drone-like spells), and nothing is ever
    raised above the epoch's own calibrated call (adding ``L`` to every
    class, which also confirms a drone sooner, made more birds' drone spells
    last long enough to alert: docs/classifier.md).  The cap makes the
    order of the epochs matter: evidence against a class beyond ``cap`` is
    forgotten, so a long-lived track changes its mind after at most ``cap``
    units of contrary evidence.  ``tau`` 0: nothing is done.
    """
    tau = model[M_ACCUMULATE_S]
    if tau <= 0.0:
        return
    m = features_i[F_EVIDENCE_COUNT]
    if m == 0.0 or t_epoch > features_i[F_EVIDENCE_T_S]:
        start = features_i[F_EVIDENCE_T_S] if m > 0.0 else features_i[F_T_FIRST_S]
        dt = min(max(min(features_i[F_T_LAST_S], t_epoch) - start, 0.0), EVIDENCE_MAX_DT_S)
        features_i[F_EVIDENCE_COUNT] = m + 1.0
        features_i[F_EVIDENCE_T_S] = t_epoch
        w = (1.0 - u) * dt / tau
        top = -1e300
        for c in range(N_CLASSES):
            value = features_i[F_EVIDENCE_0 + c] + w * logit[c]
            features_i[F_EVIDENCE_0 + c] = value
            top = max(top, value)
        cap = model[M_ACCUMULATE_CAP]
        for c in range(N_CLASSES):
            features_i[F_EVIDENCE_0 + c] = max(features_i[F_EVIDENCE_0 + c] - top, -cap)
    logit[C_DRONE] += features_i[F_EVIDENCE_0 + C_DRONE]


@njit(inline="always")
def kin_drone_call(features_i, model, out_row):
    """A track that flies rigidly with a drone is called drone as surely as that drone.

    With ``kin_min_p`` > 0, if the track had a co-moving companion at its
    latest output epoch counted (``F_COMPANION_T_S == F_COMOTION_T_S``,
    :func:`update_comotion`; not ``t_epoch``, so that the engine's
    classification of a copy of the features at a track's own state time,
    for the live per-update alert decisions, takes the rule too), has had
    one in at least ``kin_min_epochs`` epochs and a share of at least
    ``kin_min_fraction`` of its epochs, keeps its spacing to it within a
    spread of ``kin_max_spacing_std_m`` and its velocity within a mean
    difference of ``kin_max_dv_mps``, and the companion's own ``p(drone)``
    over those epochs averages ``q >= kin_min_p``
    (``F_KIN_P_DRONE_MEAN``), then ``p(drone)`` is raised to ``q`` where it
    is lower, the other classes scaled down to make room
    (``p_c <- p_c (1 - q) / (1 - p_drone)``).  Birds also fly in groups,
    so co-motion alone says nothing; a group's class does: a target that
    holds station with a drone for many epochs is a member of its swarm.

    Always then ``F_P_DRONE_LAST = p(drone)`` (what the companions read at
    the next epoch).  The call is never raised above what a companion was
    called at earlier epochs, so a group is never called drone more surely
    than its surest member's own evidence: a bird flock with no member
    called drone stays as it is.
    """
    q = features_i[F_KIN_P_DRONE_MEAN]
    min_p = model[M_KIN_MIN_P]
    if (min_p > 0.0 and q >= min_p and q > out_row[C_DRONE]
            and features_i[F_COMPANION_T_S] == features_i[F_COMOTION_T_S]
            and features_i[F_COMPANION_COUNT] >= model[M_KIN_MIN_EPOCHS]
            and features_i[F_COMPANION_FRACTION] >= model[M_KIN_MIN_FRACTION]
            and features_i[F_COMPANION_DV_MEAN_MPS] <= model[M_KIN_MAX_DV_MPS]
            and features_i[F_SPACING_VAR_M2] <= model[M_KIN_MAX_SPACING_STD_M] ** 2):
        rest = 1.0 - out_row[C_DRONE]
        scale = (1.0 - q) / rest if rest > 0.0 else 0.0
        for c in range(N_CLASSES):
            out_row[c] *= scale
        out_row[C_DRONE] = q
    features_i[F_P_DRONE_LAST] = out_row[C_DRONE]


@njit(inline="always")
def _finish(u, logit, out_row):
    """Softmax of the logits ``logit`` (over the temperature already), then the thin-evidence mass ``u``."""
    top = -1e300
    for c in range(N_CLASSES):
        top = max(top, logit[c])
    total = 0.0
    for c in range(N_CLASSES):
        logit[c] = np.exp(logit[c] - top)
        total += logit[c]
    for c in range(N_CLASSES):
        out_row[c] = (1.0 - u) * logit[c] / total
    out_row[C_UNKNOWN] += u


@njit
def _classify_rows(features, slots, neighbours, model, scores_only, accumulate, t_epoch, out):
    """Scores (``scores_only``) or probabilities of the rows ``features[slots]`` into ``out``.

    ``accumulate``: the emit step's call, which keeps state in ``features``:
    fold the epoch ``t_epoch`` into each track's accumulated evidence
    (:func:`accumulate_evidence`), then the companion's class
    (:func:`kin_drone_call`, which records the track's ``p(drone)``).
    """
    _check_model_length(model)
    k = slots.shape[0]
    z = np.empty(N_BASE)
    if model[M_KIND] == MODEL_TREES:
        # blocks of TREE_BLOCK rows: a block's columns stay in cache while every tree reads them
        x = np.empty((N_BASE, min(k, TREE_BLOCK)))
        score = np.empty((N_CLASSES, min(k, TREE_BLOCK)))
        row = np.empty(N_BASE)
        for r0 in range(0, k, TREE_BLOCK):
            m = min(TREE_BLOCK, k - r0)
            for r in range(m):
                _tree_input(features[slots[r0 + r]], neighbours[r0 + r], model, z, row)
                for f in range(N_BASE):
                    x[f, r] = row[f]
            _tree_scores(model, x, score, m)
            for r in range(m):
                for c in range(N_CLASSES):
                    out[r0 + r, c] = score[c, r]
    else:
        s = np.empty(N_DESIGN)
        for r in range(k):
            _standardised_design(features[slots[r]], neighbours[r], model, z, s)
            for c in range(N_CLASSES):
                acc = model[M_BIAS + c]
                w0 = M_WEIGHTS + c * N_DESIGN
                for d in range(N_DESIGN):
                    acc += model[w0 + d] * s[d]
                out[r, c] = acc
    if scores_only:
        return
    # probabilities: scores over the temperature, the accumulated evidence where asked,
    # softmax, thin-evidence mass u = exp(-age_s / t0)
    logit = np.empty(N_CLASSES)
    inv_t = 1.0 / model[M_TEMPERATURE]
    t0 = model[M_EVIDENCE_S]
    stateful = accumulate
    accumulate = accumulate and model[M_ACCUMULATE_S] > 0.0
    for r in range(k):
        i = slots[r]
        for c in range(N_CLASSES):
            logit[c] = out[r, c] * inv_t
        u = np.exp(-features[i, F_AGE_S] / t0)
        if accumulate:
            accumulate_evidence(features[i], t_epoch, u, model, logit)
        _finish(u, logit, out[r])
        if stateful:
            kin_drone_call(features[i], model, out[r])


def _feature_rows(features, neighbours):
    """``features (n, N_FEATURES)`` as float64 and ``neighbours (n,)`` as int64, checked."""
    features = np.ascontiguousarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != N_FEATURES:
        raise ValueError(f"features must have shape (n, {N_FEATURES}), got {features.shape}")
    neighbours = np.ascontiguousarray(neighbours, dtype=np.int64)
    if neighbours.shape != (features.shape[0],):
        raise ValueError(f"neighbours must have shape ({features.shape[0]},), "
                         f"got {neighbours.shape}")
    return features, neighbours


def model_probabilities(features, neighbours, model, scores=False):
    """Class probabilities of feature rows as :func:`classify_model` gives them, features unchanged.

    ``scores=True``: the class scores before the temperature, softmax and
    thin-evidence mass instead (for calibrating ``T`` and ``t0``).

    Parameters
    ----------
    features : array_like, shape (n, N_FEATURES)
        Rows as the classifier sees them (their flocking cue already folded in).
    neighbours : array_like of int, shape (n,)
    model : array_like
        A model vector (:func:`validate_model_params`).

    Returns
    -------
    ndarray, shape (n, N_CLASSES)
    """
    features, neighbours = _feature_rows(features, neighbours)
    model = validate_model_params(model)
    out = np.empty((features.shape[0], N_CLASSES))
    _classify_rows(features, np.arange(features.shape[0]), neighbours, model, bool(scores), False,
                   0.0, out)
    return out


def accumulated_probabilities(features, slots, neighbours, t_epoch, model):
    """Class probabilities of one epoch's rows with the accumulated evidence, as the emit step gives them.

    As :func:`classify_model` without folding in the flocking cue (the rows
    of a captured run have it already): ``features`` is a table whose rows
    ``slots`` hold the tracks' feature rows of this epoch and, in the
    evidence columns, what the previous epochs accumulated; those columns
    are updated in place (:func:`accumulate_evidence`).  Feeding a run's
    epochs in order replays the engine's probabilities for another model.

    Parameters
    ----------
    features : ndarray, shape (capacity, N_FEATURES), C-contiguous float64
    slots : array_like of int, shape (k,)
    neighbours : array_like of int, shape (k,)
    t_epoch : float
    model : array_like

    Returns
    -------
    ndarray, shape (k, N_CLASSES)
    """
    features, slots, neighbours, t_epoch, model = _checked_epoch(features, slots, neighbours,
                                                                 t_epoch, model)
    out = np.empty((slots.shape[0], N_CLASSES))
    _classify_rows(features, slots, neighbours, model, False, True, t_epoch, out)
    return out


@njit
def _design_rows(features, neighbours, model, out):
    z = np.empty(N_BASE)
    for r in range(features.shape[0]):
        _standardised_design(features[r], neighbours[r], model, z, out[r])


@njit
def _base_rows(features, neighbours, snr_1m2_1km_db, out):
    for r in range(features.shape[0]):
        _design(features[r], neighbours[r], snr_1m2_1km_db, out[r])


def design_matrix(features, neighbours, model=None, snr_1m2_1km_db=None):
    """Design rows of feature rows, as :func:`classify_model` sees them.

    Parameters
    ----------
    features : array_like, shape (n, N_FEATURES)
    neighbours : array_like of int, shape (n,)
    model : array_like, shape (N_MODEL_PARAMS,), optional
        With a model: the standardised design with products, shape
        (n, N_DESIGN).  Without: the raw base columns, shape (n, N_BASE),
        with the RCS taken against ``snr_1m2_1km_db``.
    """
    features, neighbours = _feature_rows(features, neighbours)
    if model is None:
        if snr_1m2_1km_db is None or not math.isfinite(float(snr_1m2_1km_db)):
            raise ValueError("design_matrix: give a model or a finite snr_1m2_1km_db")
        out = np.empty((features.shape[0], N_BASE))
        _base_rows(features, neighbours, float(snr_1m2_1km_db), out)
        return out
    model = validate_model_params(model)
    out = np.empty((features.shape[0], N_DESIGN))
    _design_rows(features, neighbours, model, out)
    return out


def classify_tracks_model(features, slots, neighbours, t_epoch, model):
    """Validate and run :func:`classify_model` (``features`` is updated in place).

    Returns
    -------
    ndarray, shape (k, 4)
    """
    features, slots, neighbours, t_epoch, model = _checked_epoch(features, slots, neighbours,
                                                                 t_epoch, model)
    out = np.empty((slots.shape[0], N_CLASSES))
    classify_model(features, slots, neighbours, t_epoch, model, out)
    return out


def _checked_epoch(features, slots, neighbours, t_epoch, model):
    """Arguments of one epoch's classification, checked and converted."""
    if not (isinstance(features, np.ndarray) and features.dtype == np.float64
            and features.flags.c_contiguous and features.ndim == 2
            and features.shape[1] == N_FEATURES):
        raise ValueError(f"features must be a C-contiguous float64 array of shape "
                         f"(capacity, {N_FEATURES})")
    slots = np.ascontiguousarray(slots, dtype=np.int64)
    if slots.ndim != 1 or (slots.size and (slots.min() < 0 or slots.max() >= features.shape[0])):
        raise ValueError(f"slots must be one-dimensional in [0, {features.shape[0]})")
    neighbours = np.ascontiguousarray(neighbours, dtype=np.int64)
    if neighbours.shape != slots.shape:
        raise ValueError("neighbours must have one entry per slot")
    t_epoch = float(t_epoch)
    if not math.isfinite(t_epoch):
        raise ValueError(f"t_epoch must be finite, got {t_epoch}")
    return features, slots, neighbours, t_epoch, validate_model_params(model)


# ---------------------------------------------------------------------------
# Flocking
# ---------------------------------------------------------------------------

@njit(inline="always")
def _close(x, i, j, radius2, max_dv2):
    """Whether tracks j and i are within the radius with similar velocities."""
    de = x[j, 0] - x[i, 0]
    dn = x[j, 1] - x[i, 1]
    if de * de + dn * dn > radius2:
        return False
    dve = x[j, 3] - x[i, 3]
    dvn = x[j, 4] - x[i, 4]
    dvu = x[j, 5] - x[i, 5]
    return dve * dve + dvn * dvn + dvu * dvu < max_dv2


@njit(inline="always")
def _cell_candidates(a, cell_of, n_x, n_y, cell_start, order, buf):
    """The points of the 3 x 3 grid cells around point ``a``'s own, ``a`` left out.

    Written to ``buf[:m]`` cell by cell (east index, then north), each cell's
    points in increasing order (:func:`kernels._grid.sort_into_cells`);
    returns ``m``.  The neighbour walk shared by the flocking count and the
    co-motion scan.
    """
    cx = cell_of[a] // n_y
    cy = cell_of[a] - cx * n_y
    m = 0
    for gx in range(max(cx - 1, 0), min(cx + 2, n_x)):
        for gy in range(max(cy - 1, 0), min(cy + 2, n_y)):
            cell = gx * n_y + gy
            for p in range(cell_start[cell], cell_start[cell + 1]):
                b = order[p]
                if b != a:
                    buf[m] = b
                    m += 1
    return m


@njit
def count_flock_neighbours(x, radius_m, max_dv_mps, out):
    """Count the other tracks flying with each track.

    Track ``j`` flies with track ``i`` when
    ``(e_j - e_i)^2 + (n_j - n_i)^2 <= radius_m^2`` and
    ``|v_j - v_i| < max_dv_mps`` (3-D velocity).  The tracks are sorted into a
    dense horizontal grid of square cells at least ``radius_m`` wide (coarser
    when the tracks' bounding box would need more than ``4 k + 16`` cells),
    and each track looks only at the 3 x 3 cells around its own.

    Parameters
    ----------
    x : ndarray, shape (k, 6)
        Track states ``[e, n, u, ve, vn, vu]`` at one epoch (m, m/s), finite.
    radius_m : float
        Horizontal radius (m), positive.
    max_dv_mps : float
        Velocity difference bound (m/s).
    out : ndarray, shape (k,), int64
        Written with the count per track.
    """
    k = x.shape[0]
    if out.shape[0] != k or x.shape[1] != 6:
        raise ValueError("count_flock_neighbours: x must have shape (k, 6) and out (k,)")
    if not radius_m > 0.0:
        raise ValueError("count_flock_neighbours: radius_m must be positive")
    if k == 0:
        return
    cell_of, n_x, n_y = horizontal_cells(x, radius_m)
    cell_start, order = sort_into_cells(cell_of, n_x * n_y)
    radius2 = radius_m * radius_m
    max_dv2 = max_dv_mps * max_dv_mps
    buf = np.empty(k, np.int64)
    for i in range(k):
        m = _cell_candidates(i, cell_of, n_x, n_y, cell_start, order, buf)
        count = 0
        for q in range(m):
            if _close(x, i, buf[q], radius2, max_dv2):
                count += 1
        out[i] = count


#: Model constant: a co-moving companion of a track is another track within this
#: horizontal distance (m) ...
COMPANION_RADIUS_M = 150.0
#: ... whose 3-D velocity differs by less than this (m/s).
COMPANION_DV_MPS = 5.0


@njit(inline="always")
def _fold_comotion(features_i, found, spacing_m, dv_mps, kin_p_drone, t_epoch):
    """Fold one output epoch's companion (``found``, its distance, velocity difference and p(drone))."""
    a = _epoch_weight(features_i, F_COMOTION_COUNT, F_COMOTION_T_S, t_epoch)
    if a == 0.0:
        return
    _ew_update(features_i, F_COMPANION_FRACTION, -1, 1.0 if found else 0.0, a)
    if not found:
        return
    a_c = _epoch_weight(features_i, F_COMPANION_COUNT, F_COMPANION_T_S, t_epoch)
    _ew_update(features_i, F_SPACING_MEAN_M, F_SPACING_VAR_M2, spacing_m, a_c)
    _ew_update(features_i, F_COMPANION_DV_MEAN_MPS, -1, dv_mps, a_c)
    _ew_update(features_i, F_KIN_P_DRONE_MEAN, -1, kin_p_drone, a_c)


@njit
def update_comotion(features, slots, x, t_epoch):
    """Fold one output epoch's co-motion cue into the tracks' features.

    The *companion* of track ``a`` is the nearest other track ``b`` of this
    epoch (horizontal distance ``d``) with ``d <= COMPANION_RADIUS_M`` and
    ``|v_b - v_a| < COMPANION_DV_MPS`` (3-D velocity); of companions at the
    same distance, the one with the smallest velocity difference.  Per
    track, over the output epochs strictly after the previous one counted
    (``m`` of them, ``dt`` the gap), ``a = max(1/m, 1 - exp(-dt / TAU_FLOCK_S))``:

    - ``companion_fraction``: EW mean of ``[a companion]``;
    - over the epochs with a companion only (their own count ``m_c`` and
      gaps ``dt_c`` in the same formula): the EW mean and variance of ``d``
      (``spacing_mean_m``, ``spacing_var_m2``) and the EW mean of
      ``|v_b - v_a|`` (``companion_dv_mean_mps``), and the EW mean of the
      companion's own ``p(drone)`` at its previous output epoch
      (``F_P_DRONE_LAST`` of ``b``, written by :func:`classify_model`; 0 for
      a track not classified yet): ``kin_p_drone_mean``, read by
      :func:`kin_drone_call`.

    A swarm that holds its formation keeps its spacing and moves as one
    (small spread, small velocity difference); a flock whose members change
    places and jostle does not; a lone target that passes another has a
    companion only for a moment.

    Parameters
    ----------
    features : ndarray, shape (capacity, N_FEATURES)
        Updated in place for the rows ``slots``.
    slots : ndarray, shape (k,), int64
        Slot of each track written at this epoch.
    x : ndarray, shape (k, 6)
        Their states ``[e, n, u, ve, vn, vu]`` at the epoch (m, m/s), finite.
    t_epoch : float
        Output epoch (s).
    """
    k = slots.shape[0]
    if x.shape[0] != k or x.shape[1] != 6 or features.shape[1] != N_FEATURES:
        raise ValueError("update_comotion: x must have shape (k, 6) and features N_FEATURES columns")
    if k == 0:
        return
    cell_of, n_x, n_y = horizontal_cells(x, COMPANION_RADIUS_M)
    cell_start, order = sort_into_cells(cell_of, n_x * n_y)
    radius2 = COMPANION_RADIUS_M * COMPANION_RADIUS_M
    max_dv2 = COMPANION_DV_MPS * COMPANION_DV_MPS
    buf = np.empty(k, np.int64)
    for a in range(k):
        i = slots[a]
        if i < 0 or i >= features.shape[0]:
            raise ValueError("update_comotion: slot out of range")
        best_d2 = radius2
        best_dv2 = max_dv2
        best = -1
        found = False
        m = _cell_candidates(a, cell_of, n_x, n_y, cell_start, order, buf)
        for q in range(m):
            b = buf[q]
            de = x[b, 0] - x[a, 0]
            dn = x[b, 1] - x[a, 1]
            d2 = de * de + dn * dn
            if d2 > best_d2:
                continue
            dve = x[b, 3] - x[a, 3]
            dvn = x[b, 4] - x[a, 4]
            dvu = x[b, 5] - x[a, 5]
            dv2 = dve * dve + dvn * dvn + dvu * dvu
            if dv2 >= max_dv2:
                continue
            if not found or d2 < best_d2 or dv2 < best_dv2:
                best_d2 = d2
                best_dv2 = dv2
                best = b
                found = True
        kin = 0.0
        if found:
            j = slots[best]
            if j < 0 or j >= features.shape[0]:
                raise ValueError("update_comotion: slot out of range")
            kin = features[j, F_P_DRONE_LAST]
        _fold_comotion(features[i], found, np.sqrt(best_d2), np.sqrt(best_dv2), kin, t_epoch)


# ---------------------------------------------------------------------------
# Python wrappers
# ---------------------------------------------------------------------------

def flock_neighbours(x, radius_m, max_dv_mps):
    """Validate and run :func:`count_flock_neighbours`.

    Parameters
    ----------
    x : array_like, shape (k, 6)
        Track states at one epoch, finite.
    radius_m : float
        Horizontal radius (m), positive and finite.
    max_dv_mps : float
        Velocity difference bound (m/s), finite.

    Returns
    -------
    ndarray, shape (k,), int64
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 6:
        raise ValueError(f"x must have shape (k, 6), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("x must be finite")
    radius_m = float(radius_m)
    max_dv_mps = float(max_dv_mps)
    if not (math.isfinite(radius_m) and radius_m > 0.0):
        raise ValueError(f"radius_m must be positive and finite, got {radius_m}")
    if not math.isfinite(max_dv_mps):
        raise ValueError(f"max_dv_mps must be finite, got {max_dv_mps}")
    out = np.empty(x.shape[0], dtype=np.int64)
    count_flock_neighbours(x, radius_m, max_dv_mps, out)
    return out


def classify_tracks(features, slots, neighbours=None, params=None):
    """Validate and run :func:`classify`.

    Parameters
    ----------
    features : array_like, shape (capacity, N_FEATURES)
    slots : array_like of int, shape (k,)
        Track slots in ``[0, capacity)``.
    neighbours : array_like of int, shape (k,), optional
        Flocking counts; zeros when None.
    params : array_like, shape (N_CLASSIFY_PARAMS,), optional
        :func:`default_classify_params` when None.

    Returns
    -------
    ndarray, shape (k, 4)
        ``[p_drone, p_bird, p_aircraft, p_unknown]`` per track.
    """
    features = np.ascontiguousarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != N_FEATURES:
        raise ValueError(f"features must have shape (capacity, {N_FEATURES}), "
                         f"got {features.shape}")
    slots = np.asarray(slots)
    if slots.ndim != 1:
        raise ValueError(f"slots must be one-dimensional, got shape {slots.shape}")
    if slots.size and not np.issubdtype(slots.dtype, np.integer):
        raise TypeError(f"slots must hold integers, got dtype {slots.dtype}")
    slots = np.ascontiguousarray(slots, dtype=np.int64)
    if slots.size and (slots.min() < 0 or slots.max() >= features.shape[0]):
        raise ValueError(f"slots must lie in [0, capacity={features.shape[0]}), got values in "
                         f"[{int(slots.min())}, {int(slots.max())}]")
    if neighbours is None:
        neighbours = np.zeros(slots.shape[0], dtype=np.int64)
    neighbours = np.ascontiguousarray(neighbours, dtype=np.int64)
    if neighbours.shape != slots.shape:
        raise ValueError(f"neighbours must have one entry per slot ({slots.shape[0]}), "
                         f"got shape {neighbours.shape}")
    params = default_classify_params() if params is None else validate_classify_params(params)
    out = np.empty((slots.shape[0], N_CLASSES))
    classify(features, slots, neighbours, params, out)
    return out
