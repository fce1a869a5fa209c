"""Scoring tracks against truth: GOSPA, OSPA, SIAP-style track figures, alerts.

Multi-target distances
----------------------
GOSPA (Rahmathullah, Garcia-Fernandez, Svensson 2017) with ``alpha = 2``
between a truth set ``X`` (``n`` points) and an estimate set ``Y`` (``m``
points) at one epoch::

    d(X, Y) = ( min_gamma  sum_{(i,j) in gamma} d(x_i, y_j)^p
                + c^p / 2 * (|X| + |Y| - 2 |gamma|) )^(1/p)

over partial assignments ``gamma`` (each point in at most one pair).  A pair
with ``d >= c`` never lowers the sum (leaving both points out costs the same
``c^p``), so the optimum is the optimal assignment of ``min(d, c)^p`` costs
with the pairs closer than ``c`` kept.  ``d^p`` splits exactly into
localisation (kept pairs), missed (``c^p / 2`` per unassigned truth) and
false (``c^p / 2`` per unassigned track) parts; :class:`GospaResult` holds
the parts before the ``1/p`` root.

OSPA (Schuhmacher, Vo, Vo 2008) with ``n = max(|X|, |Y|) > 0``::

    d_OSPA(X, Y) = ( 1/n ( min_pi sum_i min(d(x_i, y_pi(i)), c)^p
                           + c^p |  |X| - |Y|  | ) )^(1/p)

and 0 for two empty sets.  From the GOSPA assignment with ``k`` kept pairs
of localisation ``L``: ``d_OSPA^p = (L + c^p (n - k)) / n``.

Only pairs closer than ``c`` interact, so the assignment splits into the
connected components of the "closer than c" graph (found with a k-d tree);
each component is solved alone with :func:`scipy.optimize.linear_sum_assignment`.
Thousands of targets per epoch cost milliseconds, not a dense n x m problem.

Track figures (:func:`score`)
-----------------------------
At every output epoch the truth is interpolated linearly to the epoch and
truths outside every radar's range (``coverage``) are dropped.  The GOSPA
assignment gives each truth at most one *primary* track.  A track that is
not primary but within ``c`` of a truth is *redundant* (it belongs to its
nearest truth); a track farther than ``c`` from every counted truth is
*spurious* at that epoch.  In the SIAP style (Stone Soup, MATLAB
``trackAssignmentMetrics``), summed over epochs:

- completeness = truth-epochs with a primary track / truth-epochs;
- spuriousness = spurious track-epochs / track-epochs;
- ambiguity = (primary + redundant track-epochs) / primary track-epochs
  (1 when no truth is held by two tracks at once);
- per truth, over its counted epochs in time order: an id *switch* each time
  its primary track id differs from the one it had last (an untracked gap in
  between does not matter); a *break* each time it goes from tracked to
  untracked; its *longest segment*, the longest run of consecutive counted
  epochs held by one track id; its *time to confirm*, from its first truth
  sample inside coverage to its first tracked epoch;
- a *false track* is a track id never within ``c`` of any counted truth (not
  primary, not redundant, at any of its epochs); a *redundant track* is one
  never primary but sometimes redundant;
- position and velocity RMSE (3-D) over primary pairs;
- horizontal NEES from ``sigma_pos_m`` when the track rows give it: tracks.csv
  carries only ``sigma_pos_m = sqrt(P_ee + P_nn)``, so the horizontal
  covariance is taken as isotropic, ``P_h = (sigma_pos_m^2 / 2) I_2``, and
  ``NEES = 2 (de^2 + dn^2) / sigma_pos_m^2``, chi-square with 2 degrees of
  freedom (mean 2) for a consistent tracker.  Only primary pairs (closer than
  ``c``) enter, which truncates the largest errors.

Output epochs are the times of the track rows; gaps longer than 1.5 output
periods (the median spacing) between the first and the last of them are
filled with periodic epochs, so that an epoch at which the tracker wrote no
track still counts its missed truths.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.stats import chi2

from kernels.geodesy import radar_frame
from radarcore.core.config import TRACK_CLASSES

CONFIRMED_STATUSES = (2, 3)
ALL_STATUSES = (0, 1, 2, 3)

#: Below this many point pairs the "closer than c" pairs are found densely.
_DENSE_MAX_PAIRS = 4096

#: Degrees of freedom of the horizontal NEES.
NEES_DOF = 2


@dataclass
class GospaResult:
    gospa: float          # d(X, Y)
    localisation: float   # sum of d^p over assigned pairs (before the 1/p root)
    missed: float         # c^p / 2 * unassigned truths
    false: float          # c^p / 2 * unassigned tracks
    n_assigned: int
    n_missed: int
    n_false: int
    assignment: tuple     # (truth indices, track indices) of pairs closer than c
    ospa: float = 0.0     # OSPA of the same sets (same c and p)
    nearest_truth: np.ndarray = field(default=None, repr=False)
    """Per track: index of the nearest truth closer than c, -1 if none; shape (m,)."""


def _check_cutoff(c, p):
    c, p = float(c), float(p)
    if not (np.isfinite(c) and c > 0.0):
        raise ValueError(f"cut-off c must be a positive number of metres, got {c}")
    if not (np.isfinite(p) and p >= 1.0):
        raise ValueError(f"order p must be a number >= 1, got {p}")
    return c, p


def _points(xyz, name, dim=None):
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.size == 0:
        return xyz.reshape(0, dim if dim is not None else (xyz.shape[-1] if xyz.ndim == 2 else 3))
    if xyz.ndim == 1:
        xyz = xyz.reshape(1, -1)
    if xyz.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {xyz.shape}")
    if not np.all(np.isfinite(xyz)):
        raise ValueError(f"{name} holds NaN or infinite coordinates")
    return xyz


def _close_pairs(truth_xyz, track_xyz, c):
    """(i, j, d) of every truth-track pair closer than ``c``."""
    n, m = truth_xyz.shape[0], track_xyz.shape[0]
    if n * m <= _DENSE_MAX_PAIRS:
        d = np.sqrt(((truth_xyz[:, None, :] - track_xyz[None, :, :]) ** 2).sum(axis=2))
        i, j = np.nonzero(d < c)
        return i, j, d[i, j]
    found = cKDTree(truth_xyz).sparse_distance_matrix(cKDTree(track_xyz), c, output_type="ndarray")
    keep = found["v"] < c
    return found["i"][keep], found["j"][keep], found["v"][keep]


def _assign_components(i, j, d, n, m, c, p):
    """Optimal assignment of min(d, c)^p costs, solved per connected component.

    Returns the kept pairs' (truth index, track index), sorted by truth index.
    """
    if i.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(i.size), (i, n + j)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    edge_label = label[i]
    edges_per_label = np.bincount(edge_label, minlength=n + m)
    single = edges_per_label[edge_label] == 1          # a lone truth-track pair
    rows = [i[single]]
    cols = [j[single]]
    multi = np.flatnonzero(~single)
    if multi.size:
        order = multi[np.argsort(edge_label[multi], kind="stable")]
        bounds = np.flatnonzero(np.diff(edge_label[order])) + 1
        for group in np.split(order, bounds):
            gi, gj, gd = i[group], j[group], d[group]
            truths, ti = np.unique(gi, return_inverse=True)
            tracks, tj = np.unique(gj, return_inverse=True)
            cost = np.full((truths.size, tracks.size), c ** p)  # not closer than c
            cost[ti, tj] = gd ** p
            r, k = linear_sum_assignment(cost)
            close = cost[r, k] < c ** p
            rows.append(truths[r[close]])
            cols.append(tracks[k[close]])
    rows = np.concatenate(rows).astype(np.int64)
    cols = np.concatenate(cols).astype(np.int64)
    order = np.argsort(rows, kind="stable")
    return rows[order], cols[order]


def ospa_from_parts(localisation, n_assigned, n_truths, n_tracks, c=50.0, p=2.0):
    """OSPA from a GOSPA decomposition (see the module docstring).

    ``d_OSPA = ((L + c^p (n - k)) / n)^(1/p)`` with ``n = max(n_truths,
    n_tracks)``, ``k`` the pairs kept and ``L`` their localisation sum; 0 when
    both sets are empty.
    """
    n = max(int(n_truths), int(n_tracks))
    if n == 0:
        return 0.0
    return float(((localisation + c ** p * (n - n_assigned)) / n) ** (1.0 / p))


def gospa(truth_xyz, track_xyz, c=50.0, p=2.0):
    """GOSPA (alpha = 2) between two point sets, decomposed, with the OSPA.

    Parameters
    ----------
    truth_xyz : array_like, shape (n, d)
    track_xyz : array_like, shape (m, d)
        Points in the same Cartesian frame (metres); ``d`` is usually 3.
    c : float
        Cut-off distance (m), > 0.
    p : float
        Order, >= 1.

    Returns
    -------
    GospaResult
        ``gospa^p = localisation + missed + false``; ``assignment`` holds the
        pairs closer than ``c`` (truth indices ascending); ``nearest_truth``
        per track the nearest truth closer than ``c`` (-1 if none).
    """
    c, p = _check_cutoff(c, p)
    truth_xyz = _points(truth_xyz, "truth_xyz")
    track_xyz = _points(track_xyz, "track_xyz", truth_xyz.shape[1])
    if truth_xyz.shape[0] == 0:
        truth_xyz = truth_xyz.reshape(0, track_xyz.shape[1])
    if truth_xyz.shape[1] != track_xyz.shape[1]:
        raise ValueError(f"truth_xyz and track_xyz have different dimensions "
                         f"({truth_xyz.shape[1]} and {track_xyz.shape[1]})")
    n, m = truth_xyz.shape[0], track_xyz.shape[0]
    half = c ** p / 2.0
    nearest = np.full(m, -1, np.int64)
    if n == 0 or m == 0:
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        missed, false = half * n, half * m
        return GospaResult(float((missed + false) ** (1 / p)), 0.0, missed, false, 0, n, m, empty,
                           ospa_from_parts(0.0, 0, n, m, c, p), nearest)
    i, j, d = _close_pairs(truth_xyz, track_xyz, c)
    rows, cols = _assign_components(i, j, d, n, m, c, p)
    loc = float(np.sum(np.sum((truth_xyz[rows] - track_xyz[cols]) ** 2, axis=1) ** (p / 2.0)))
    if i.size:
        by_distance = np.lexsort((i, d))
        first = np.unique(j[by_distance], return_index=True)[1]
        nearest[j[by_distance][first]] = i[by_distance][first]
    k = rows.size
    missed, false = half * (n - k), half * (m - k)
    return GospaResult(float((loc + missed + false) ** (1 / p)), loc, missed, false, k, n - k, m - k,
                       (rows, cols), ospa_from_parts(loc, k, n, m, c, p), nearest)


def ospa(truth_xyz, track_xyz, c=50.0, p=2.0):
    """OSPA distance (m) between two point sets of shape (n, d) and (m, d).

    See the module docstring; equal to ``gospa(...).ospa``.
    """
    return gospa(truth_xyz, track_xyz, c, p).ospa


def interpolate_truth(truth, times):
    """Truth states at the given epochs, linearly interpolated per target.

    Parameters
    ----------
    truth : ndarray of TRUTH_DTYPE, shape (n_rows,)
    times : array_like, shape (n_epochs,)

    Returns
    -------
    dict
        Arrays ``time_s`` (k,), ``target_id`` (k,), ``xyz`` (k, 3), ``v``
        (k, 3), ``kind`` (k,): one row per (target, epoch inside the
        target's first and last sample), sorted by target id, then time.
    """
    out_t, out_id, out_xyz, out_v, out_kind = [], [], [], [], []
    times = np.asarray(times, float)
    order = np.lexsort((truth["time_s"], truth["target_id"]))
    truth = truth[order]
    ids, starts = np.unique(truth["target_id"], return_index=True)
    ends = np.append(starts[1:], truth.size)
    for target_id, lo, hi in zip(ids, starts, ends):
        tt = truth["time_s"][lo:hi]
        sel = times[(times >= tt[0]) & (times <= tt[-1])]
        if sel.size == 0:
            continue
        xyz = np.column_stack([np.interp(sel, tt, truth[k][lo:hi]) for k in ("east_m", "north_m", "up_m")])
        v = np.column_stack([np.interp(sel, tt, truth[k][lo:hi])
                             for k in ("v_east_mps", "v_north_mps", "v_up_mps")])
        out_t.append(sel)
        out_id.append(np.full(sel.size, target_id))
        out_xyz.append(xyz)
        out_v.append(v)
        out_kind.append(np.full(sel.size, truth["kind"][lo]))
    if not out_t:
        return {"time_s": np.zeros(0), "target_id": np.zeros(0, int), "xyz": np.zeros((0, 3)),
                "v": np.zeros((0, 3)), "kind": np.zeros(0, "U16")}
    return {"time_s": np.concatenate(out_t), "target_id": np.concatenate(out_id),
            "xyz": np.concatenate(out_xyz), "v": np.concatenate(out_v),
            "kind": np.concatenate(out_kind)}


def in_coverage(xyz, radar_pos, max_range_m):
    """Mask of points within range of at least one radar (positions in the same ENU frame).

    Parameters
    ----------
    xyz : array_like, shape (n, 3)
    radar_pos : array_like, shape (k, 3)
    max_range_m : array_like, shape (k,)

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    xyz = np.asarray(xyz, float).reshape(-1, 3)
    radar_pos = np.asarray(radar_pos, float).reshape(-1, 3)
    inside = np.zeros(xyz.shape[0], bool)
    for position, max_range in zip(radar_pos, np.asarray(max_range_m, float).reshape(-1)):
        inside |= ((xyz - position) ** 2).sum(axis=1) <= max_range ** 2
    return inside


def output_epochs(times, gap_factor=1.5):
    """Output epochs of a periodic track output.

    The distinct ``times``; where two consecutive ones are more than
    ``gap_factor`` output periods (the median spacing) apart, the periodic
    epochs in between are added.

    Parameters
    ----------
    times : array_like, shape (n_rows,)
        Times of the track rows (s).

    Returns
    -------
    ndarray, shape (n_epochs,)
        Sorted.
    """
    times = np.unique(np.asarray(times, float))
    if times.size < 3:
        return times
    gaps = np.diff(times)
    period = float(np.median(gaps))
    if period <= 0.0:
        return times
    fill = []
    for k in np.flatnonzero(gaps > gap_factor * period):
        n_missing = int(round(gaps[k] / period)) - 1
        fill.append(times[k] + period * np.arange(1, n_missing + 1))
    if fill:
        times = np.union1d(times, np.concatenate(fill))
    return times


@dataclass
class Scores:
    """Track quality over a whole run (see the module docstring for the definitions).

    ``per_epoch`` holds arrays of shape (n_epochs,): ``time_s``, ``gospa``,
    ``localisation``, ``missed``, ``false`` (parts before the 1/p root),
    ``ospa``, ``n_truths``, ``n_tracks``, ``n_assigned``, ``n_redundant``,
    ``n_spurious``.  ``per_truth`` has one dict per truth target (id order):
    ``target_id``, ``kind``, ``epochs``, ``tracked_epochs``,
    ``completeness``, ``id_switches``, ``breaks``, ``track_ids``,
    ``longest_segment_epochs``, ``longest_segment_s``,
    ``longest_segment_fraction``, ``first_in_coverage_s``, ``first_epoch_s``,
    ``last_epoch_s``, ``time_to_confirm_s`` (None if never tracked).
    ``pairs`` holds the primary pairs: ``time_s``, ``target_id``,
    ``track_id`` (n_pairs,), ``error_xyz_m``, ``error_v_mps`` (n_pairs, 3),
    track minus truth, and ``nees`` (n_pairs,), NaN without ``sigma_pos_m``.
    """

    gospa_mean: float
    gospa_localisation_mean: float   # mean over epochs of the parts before the 1/p root
    gospa_missed_mean: float
    gospa_false_mean: float
    position_rmse_m: float       # over truth-track pairs closer than c
    velocity_rmse_mps: float
    n_epochs: int
    id_switches: int             # a truth's primary track id changed to another id
    false_tracks: int            # track ids never within c of a counted truth
    truth_targets: int
    targets_confirmed: int       # truths held by a primary track at some epoch
    per_epoch_gospa: np.ndarray
    first_assigned_s: dict       # truth id -> first epoch a track was assigned to it
    truth_ids_of_track: dict     # track id -> set of truth ids it was primary for
    track_swaps: int             # a track's truth changed and stayed changed (>= min_run epochs)
    truth_track_changes: int     # a truth's track changed and stayed changed (swaps and breaks)
    ospa_mean: float = 0.0
    completeness: float = float("nan")
    spuriousness: float = float("nan")
    ambiguity: float = float("nan")
    track_breaks: int = 0
    redundant_tracks: int = 0    # track ids never primary but sometimes within c of a truth
    n_tracks: int = 0            # distinct track ids scored
    longest_segment_fraction_mean: float = float("nan")
    time_to_confirm_mean_s: float = float("nan")
    time_to_confirm_max_s: float = float("nan")
    truths_never_tracked: int = 0
    false_tracks_per_hour: float = float("nan")
    hours: float = 0.0           # epoch span (last - first + one period)
    output_period_s: float = float("nan")
    nees_mean: float = float("nan")  # horizontal NEES from sigma_pos_m (mean 2 if consistent)
    nees_pairs: int = 0
    nees_interval: tuple = (float("nan"), float("nan"))  # 95 % band of nees_mean
    cutoff_m: float = 50.0
    p: float = 2.0
    per_epoch: dict = field(default_factory=dict, repr=False)
    per_truth: list = field(default_factory=list, repr=False)
    pairs: dict = field(default_factory=dict, repr=False)

    def summary(self):
        """The scalar figures, as a JSON-friendly dict (NaN stays NaN)."""
        names = ("gospa_mean", "gospa_localisation_mean", "gospa_missed_mean", "gospa_false_mean",
                 "ospa_mean", "position_rmse_m", "velocity_rmse_mps", "n_epochs", "truth_targets",
                 "targets_confirmed", "truths_never_tracked", "n_tracks", "completeness",
                 "spuriousness", "ambiguity", "id_switches", "track_breaks", "track_swaps",
                 "truth_track_changes", "longest_segment_fraction_mean", "time_to_confirm_mean_s",
                 "time_to_confirm_max_s", "false_tracks", "false_tracks_per_hour",
                 "redundant_tracks", "hours", "output_period_s", "nees_mean", "nees_pairs",
                 "cutoff_m", "p")
        out = {name: getattr(self, name) for name in names}
        out["nees_interval"] = list(self.nees_interval)
        out["nees_dof"] = NEES_DOF
        return {k: (int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else
                    float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}


def _runs(labels):
    """(label, length) of the runs of equal values of a 1-D array."""
    if labels.size == 0:
        return np.zeros(0, labels.dtype), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.append(True, labels[1:] != labels[:-1]))
    lengths = np.diff(np.append(starts, labels.size))
    return labels[starts], lengths


def score(truth, tracks, c=50.0, p=2.0, coverage=None, statuses=CONFIRMED_STATUSES, min_run=5,
          epochs=None):
    """GOSPA, OSPA and SIAP-style figures of ``tracks`` against ``truth``.

    Parameters
    ----------
    truth : ndarray of TRUTH_DTYPE, shape (n_truth_rows,)
    tracks : ndarray of TRACK_ROW_DTYPE, shape (n_track_rows,)
        Periodic track rows; rows with a non-finite position are ignored.
    c, p : float
        GOSPA/OSPA cut-off (m) and order.  ``c`` is also the association
        distance of the track figures.
    coverage : tuple, optional
        ``(radar_pos (k, 3), max_range_m (k,))``: truths outside every
        radar's range do not count.
    statuses : tuple of int
        Status codes of the rows scored (default confirmed and coasting).
    min_run : int
        Shortest run that :func:`persistent_changes` keeps.
    epochs : array_like, optional
        Epochs to score; default :func:`output_epochs` of all the track rows
        (any status), or the whole seconds of the truth when there are none.

    Returns
    -------
    Scores
    """
    c, p = _check_cutoff(c, p)
    if epochs is None:
        epochs = output_epochs(tracks["time_s"])
        if epochs.size == 0:
            epochs = np.unique(np.round(truth["time_s"]))
    epochs = np.unique(np.asarray(epochs, float))
    position_ok = np.isfinite(tracks["east_m"]) & np.isfinite(tracks["north_m"]) & np.isfinite(tracks["up_m"])
    tracks = tracks[np.isin(tracks["status"], statuses) & position_ok]
    k_idx = np.searchsorted(epochs, tracks["time_s"])
    k_idx_clipped = np.minimum(k_idx, max(epochs.size - 1, 0))
    on_epoch = (k_idx < epochs.size) & (epochs[k_idx_clipped] == tracks["time_s"]) if epochs.size else \
        np.zeros(tracks.size, bool)
    tracks, k_idx = tracks[on_epoch], k_idx[on_epoch]
    tr = interpolate_truth(truth, epochs)
    covered_sample = np.ones(truth.size, bool)
    if coverage is not None:
        if tr["time_s"].size:
            keep = in_coverage(tr["xyz"], *coverage)
            tr = {k: v[keep] for k, v in tr.items()}
        covered_sample = in_coverage(
            np.column_stack([truth["east_m"], truth["north_m"], truth["up_m"]]), *coverage)
    n_epochs = epochs.size
    period = float(np.median(np.diff(epochs))) if n_epochs >= 2 else float("nan")
    per = {name: np.zeros(n_epochs) for name in ("gospa", "localisation", "missed", "false", "ospa")}
    counts = {name: np.zeros(n_epochs, np.int64)
              for name in ("n_truths", "n_tracks", "n_assigned", "n_redundant", "n_spurious")}

    t_idx = np.searchsorted(epochs, tr["time_s"]) if tr["time_s"].size else np.zeros(0, np.int64)
    truth_order = np.argsort(t_idx, kind="stable")
    t_bounds = np.searchsorted(t_idx[truth_order], np.arange(n_epochs + 1))
    k_order = np.argsort(k_idx, kind="stable")
    k_bounds = np.searchsorted(k_idx[k_order], np.arange(n_epochs + 1))
    track_xyz = np.column_stack([tracks["east_m"], tracks["north_m"], tracks["up_m"]])
    track_v = np.column_stack([tracks["v_east_mps"], tracks["v_north_mps"], tracks["v_up_mps"]])

    primary_track_row = np.full(tr["time_s"].size, -1, np.int64)   # per truth row
    role = np.zeros(tracks.size, np.int8)        # per track row: 0 spurious, 1 primary, 2 redundant
    owner = np.full(tracks.size, -1, np.int64)   # per track row: the truth row it belongs to
    for e in range(n_epochs):
        ti = truth_order[t_bounds[e]:t_bounds[e + 1]]
        ki = k_order[k_bounds[e]:k_bounds[e + 1]]
        res = gospa(tr["xyz"][ti], track_xyz[ki], c, p)
        per["gospa"][e], per["localisation"][e] = res.gospa, res.localisation
        per["missed"][e], per["false"][e], per["ospa"][e] = res.missed, res.false, res.ospa
        rows, cols = res.assignment
        primary_track_row[ti[rows]] = ki[cols]
        near = res.nearest_truth >= 0
        role[ki[near]] = 2
        owner[ki[near]] = ti[res.nearest_truth[near]]
        role[ki[cols]] = 1
        owner[ki[cols]] = ti[rows]
        counts["n_truths"][e], counts["n_tracks"][e] = ti.size, ki.size
        counts["n_assigned"][e] = rows.size
        counts["n_redundant"][e] = int(np.count_nonzero(near)) - rows.size
        counts["n_spurious"][e] = ki.size - int(np.count_nonzero(near))

    # primary pairs: errors, NEES
    truth_rows = np.flatnonzero(primary_track_row >= 0)
    track_rows = primary_track_row[truth_rows]
    d_xyz = track_xyz[track_rows] - tr["xyz"][truth_rows]
    d_v = track_v[track_rows] - tr["v"][truth_rows]
    n_pairs = truth_rows.size
    sigma = tracks["sigma_pos_m"][track_rows]
    nees_ok = np.isfinite(sigma) & (sigma > 0.0)
    nees = np.full(n_pairs, np.nan)
    nees[nees_ok] = 2.0 * (d_xyz[nees_ok, 0] ** 2 + d_xyz[nees_ok, 1] ** 2) / sigma[nees_ok] ** 2
    n_nees = int(np.count_nonzero(nees_ok))
    if n_nees:
        nees_mean = float(nees[nees_ok].mean())
        nees_interval = (float(chi2.ppf(0.025, NEES_DOF * n_nees) / n_nees),
                         float(chi2.ppf(0.975, NEES_DOF * n_nees) / n_nees))
    else:
        nees_mean, nees_interval = float("nan"), (float("nan"), float("nan"))

    # per truth: switches, breaks, segments, time to confirm
    primary_id = np.where(primary_track_row >= 0,
                          tracks["track_id"][np.maximum(primary_track_row, 0)] if tracks.size else -1, -1)
    truth_ids, first_row = np.unique(tr["target_id"], return_index=True)
    row_bounds = np.append(first_row, tr["target_id"].size)
    covered_t = truth["time_s"][covered_sample]
    covered_id = truth["target_id"][covered_sample]
    per_truth = []
    first_assigned = {}
    switches = breaks = changes = 0
    for k, target_id in enumerate(truth_ids.tolist()):
        lo, hi = row_bounds[k], row_bounds[k + 1]
        seq = primary_id[lo:hi]                  # time order: interpolate_truth sorts by time
        tracked = seq >= 0
        ids = seq[tracked]
        n_switches = int(np.count_nonzero(ids[1:] != ids[:-1]))
        n_breaks = int(np.count_nonzero(tracked[:-1] & ~tracked[1:]))
        labels, lengths = _runs(seq)
        held = labels >= 0
        longest = int(lengths[held].max()) if held.any() else 0
        mine = covered_t[covered_id == target_id]
        start_s = float(mine.min()) if mine.size else float(tr["time_s"][lo])
        first_s = float(tr["time_s"][lo:hi][tracked][0]) if tracked.any() else None
        if first_s is not None:
            first_assigned[target_id] = first_s
        switches += n_switches
        breaks += n_breaks
        changes += persistent_changes(ids.tolist(), min_run)
        per_truth.append({
            "target_id": target_id, "kind": str(tr["kind"][lo]), "epochs": int(hi - lo),
            "tracked_epochs": int(tracked.sum()), "completeness": float(tracked.mean()),
            "id_switches": n_switches, "breaks": n_breaks,
            "track_ids": sorted(set(ids.tolist())),
            "longest_segment_epochs": longest,
            "longest_segment_s": longest * period,
            "longest_segment_fraction": longest / (hi - lo),
            "first_in_coverage_s": start_s,
            "first_epoch_s": float(tr["time_s"][lo]), "last_epoch_s": float(tr["time_s"][hi - 1]),
            "time_to_confirm_s": None if first_s is None else first_s - start_s,
        })

    # per track: primary, redundant or false
    track_ids_all = np.unique(tracks["track_id"])
    primary_tracks = set(tracks["track_id"][role == 1].tolist())
    near_tracks = set(tracks["track_id"][role > 0].tolist())
    truths_of_track = {}
    sequences = {}
    track_order = np.lexsort((k_idx, tracks["track_id"]))
    for row in track_order[role[track_order] == 1]:
        track_id = int(tracks["track_id"][row])
        truth_id = int(tr["target_id"][owner[row]])
        truths_of_track.setdefault(track_id, set()).add(truth_id)
        sequences.setdefault(track_id, []).append(truth_id)
    false_tracks = int(track_ids_all.size - len(near_tracks))
    hours = (epochs[-1] - epochs[0] + (period if np.isfinite(period) else 0.0)) / 3600.0 \
        if n_epochs else 0.0
    confirm = [t["time_to_confirm_s"] for t in per_truth if t["time_to_confirm_s"] is not None]
    n_truth_epochs = int(counts["n_truths"].sum())
    n_track_epochs = int(counts["n_tracks"].sum())
    n_assigned = int(counts["n_assigned"].sum())

    def mean(values):
        return float(np.mean(values)) if n_epochs else 0.0

    per_epoch = {"time_s": epochs, **per, **counts}
    pairs = {"time_s": tr["time_s"][truth_rows], "target_id": tr["target_id"][truth_rows],
             "track_id": tracks["track_id"][track_rows], "error_xyz_m": d_xyz, "error_v_mps": d_v,
             "nees": nees}
    return Scores(
        gospa_mean=mean(per["gospa"]),
        gospa_localisation_mean=mean(per["localisation"]),
        gospa_missed_mean=mean(per["missed"]),
        gospa_false_mean=mean(per["false"]),
        position_rmse_m=float(np.sqrt((d_xyz ** 2).sum() / n_pairs)) if n_pairs else float("nan"),
        velocity_rmse_mps=float(np.sqrt((d_v ** 2).sum() / n_pairs)) if n_pairs else float("nan"),
        n_epochs=int(n_epochs),
        id_switches=switches,
        false_tracks=false_tracks,
        truth_targets=int(truth_ids.size),
        targets_confirmed=len(first_assigned),
        per_epoch_gospa=per["gospa"],
        first_assigned_s=first_assigned,
        truth_ids_of_track=truths_of_track,
        track_swaps=sum(persistent_changes(seq, min_run) for seq in sequences.values()),
        truth_track_changes=changes,
        ospa_mean=mean(per["ospa"]),
        completeness=n_assigned / n_truth_epochs if n_truth_epochs else float("nan"),
        spuriousness=float(counts["n_spurious"].sum()) / n_track_epochs if n_track_epochs else float("nan"),
        ambiguity=((n_assigned + float(counts["n_redundant"].sum())) / n_assigned if n_assigned
                   else float("nan")),
        track_breaks=breaks,
        redundant_tracks=len(near_tracks - primary_tracks),
        n_tracks=int(track_ids_all.size),
        longest_segment_fraction_mean=(float(np.mean([t["longest_segment_fraction"] for t in per_truth]))
                                       if per_truth else float("nan")),
        time_to_confirm_mean_s=float(np.mean(confirm)) if confirm else float("nan"),
        time_to_confirm_max_s=float(np.max(confirm)) if confirm else float("nan"),
        truths_never_tracked=int(truth_ids.size - len(first_assigned)),
        false_tracks_per_hour=false_tracks / hours if hours > 0 else float("nan"),
        hours=float(hours),
        output_period_s=period,
        nees_mean=nees_mean,
        nees_pairs=n_nees,
        nees_interval=nees_interval,
        cutoff_m=c,
        p=p,
        per_epoch=per_epoch,
        per_truth=per_truth,
        pairs=pairs,
    )


def persistent_changes(labels, min_run=5):
    """Changes of label in a sequence, ignoring runs shorter than ``min_run``.

    Two targets that meet can swap their nearest tracks for an epoch or two
    without any track following the wrong target; only a change that lasts
    counts.
    """
    runs = []
    for label in labels:
        if runs and runs[-1][0] == label:
            runs[-1][1] += 1
        else:
            runs.append([label, 1])
    kept = [label for label, n in runs if n >= min_run]
    return sum(1 for a, b in zip(kept, kept[1:]) if a != b)


# --------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------

@dataclass
class AlertScores:
    """Alerts scored against truth (see :func:`alert_scores`)."""

    intrusions: list          # dicts: target_id, kind, asset_id, level, zone_index, entry_time_s,
    #                           expected, alerted, lead_s
    missed_intrusions: int    # expected intrusions with no alert before entry
    lead_times_s: list        # expected intrusions alerted before entry: raise -> entry
    false_alerts: dict        # kind nearest the raise ('bird', 'drone', 'none', ...) -> count
    false_bird_alerts: int    # false raises on birds or on no target at all
    alert_truth: dict         # alert_id -> target_id (0: none) at its raise
    flaps: int                # clear followed by a raise of the same truth/asset within 10 s
    hours: float
    alerts: int = 0           # distinct alert ids
    raises: int = 0
    level_changes: int = 0    # escalate and deescalate events (level churn)


def track_class_of_kind(kind):
    """The track class (:data:`radarcore.core.config.TRACK_CLASSES`) a truth kind stands for.

    ``drone``, ``bird`` and ``aircraft`` (any case) are themselves; any other
    kind (balloon, empty, ...) is ``unknown``.
    """
    kind = str(kind).strip().lower()
    return kind if kind in TRACK_CLASSES else "unknown"


def attribute_events(events, truth, radius_m=150.0):
    """Target id of the truth nearest (horizontally) each event, 0 if none within ``radius_m``."""
    times = np.unique([e["time_s"] for e in events])
    tr = interpolate_truth(truth, times)
    out = []
    for e in events:
        sel = tr["time_s"] == e["time_s"]
        if not sel.any():
            out.append(0)
            continue
        d = np.hypot(tr["xyz"][sel, 0] - e["east_m"], tr["xyz"][sel, 1] - e["north_m"])
        k = int(np.argmin(d))
        out.append(int(tr["target_id"][sel][k]) if d[k] <= radius_m else 0)
    return out


def alert_scores(events, truth, zone_events, kinds, hours, level="alert", site=None, levels=None):
    """Lead times, missed intrusions, false alerts and level churn.

    Parameters
    ----------
    events : list of dict
        Alert events (alerts.jsonl).
    truth : ndarray of TRUTH_DTYPE
    zone_events : ndarray
        True zone entries (``radarcore.sim.intrusions.truth_zone_events``).
    kinds : dict
        target id -> kind.
    hours : float
        Scenario length, for rates.
    level : str
        Intrusions into zones of this level are scored (when ``levels`` is None).
    site : SiteConfig, optional
        With a site, a zone is expected to alert on a target when the zone
        alerts on its class (:meth:`ZoneConfig.alerts_on` of
        :func:`track_class_of_kind`); without one, the default policy
        applies: every target but a bird is expected to be alerted in every
        zone, a bird only in critical zones.
    levels : tuple of str, optional
        Zone levels whose intrusions are scored; default ``(level,)``.

    Notes
    -----
    Only the lifecycle events (``raise``, ``escalate``, ``deescalate``,
    ``clear``) are scored; ``advisory`` and ``acknowledge`` events are
    skipped.  An alert belongs to the truth target nearest its ``raise`` (within
    150 m).  An intrusion is a target's first entry into a zone (not one it
    starts inside); it is alerted when an alert of that target and asset
    was raised at or before the entry, with lead time entry - first raise.
    Missed intrusions and lead times are counted over the expected
    intrusions.  A raise is false when its target never entered a zone of
    the asset that is expected to alert on it (or there is no target).
    Level churn is the number of escalate and deescalate events; a flap is
    a raise of a target and asset less than 10 s after a clear of the same.
    """
    levels = (level,) if levels is None else tuple(levels)
    # Advisories and acknowledgements are not alerts (docs/formats.md).
    events = [e for e in events if e["event"] in ("raise", "escalate", "deescalate", "clear")]
    zones_of = {}
    if site is not None:
        zones_of = {asset.id: asset.zones for asset in site.assets}

    def expected(target_id, asset_id, zone_index, zone_level):
        kind = kinds.get(target_id, "none") if target_id else "none"
        if target_id == 0:
            return False
        if site is not None and asset_id in zones_of and 0 <= zone_index < len(zones_of[asset_id]):
            return zones_of[asset_id][zone_index].alerts_on(track_class_of_kind(kind))
        return kind != "bird" or zone_level == "critical"

    truth_of = attribute_events(events, truth)
    raises = [(e, tid) for e, tid in zip(events, truth_of) if e["event"] == "raise"]
    alert_truth = {e["alert_id"]: tid for e, tid in raises}
    first_raise = {}
    for e, tid in raises:
        key = (tid, e["asset_id"])
        first_raise[key] = min(first_raise.get(key, np.inf), e["time_s"])
    legitimate_keys = set()
    for z in zone_events:
        tid, asset = int(z["target_id"]), str(z["asset_id"])
        if expected(tid, asset, int(z["zone_index"]), str(z["level"])):
            legitimate_keys.add((tid, asset))
    intrusions, lead, missed = [], [], 0
    for z in zone_events:
        if str(z["level"]) not in levels or int(z["entry_index"]) != 0 or bool(z["at_start"]):
            continue
        tid, asset = int(z["target_id"]), str(z["asset_id"])
        t_raise = first_raise.get((tid, asset), np.inf)
        alerted = bool(t_raise <= float(z["entry_time_s"]))
        lead_s = float(z["entry_time_s"]) - t_raise if alerted else None
        is_expected = bool(expected(tid, asset, int(z["zone_index"]), str(z["level"])))
        intrusions.append({"target_id": tid, "kind": kinds.get(tid, "none"), "asset_id": asset,
                           "level": str(z["level"]), "zone_index": int(z["zone_index"]),
                           "entry_time_s": float(z["entry_time_s"]), "expected": is_expected,
                           "alerted": alerted, "lead_s": lead_s})
        if is_expected:
            if alerted:
                lead.append(lead_s)
            else:
                missed += 1
    false_alerts, false_bird = {}, 0
    for e, tid in raises:
        kind = kinds.get(tid, "none") if tid else "none"
        if (tid, e["asset_id"]) not in legitimate_keys:
            false_alerts[kind] = false_alerts.get(kind, 0) + 1
            if kind in ("bird", "none"):
                false_bird += 1
    flaps = 0
    last_clear = {}
    for e, tid in zip(events, truth_of):
        key = (tid, e["asset_id"])
        if e["event"] == "clear":
            last_clear[key] = e["time_s"]
        elif e["event"] == "raise" and tid and e["time_s"] - last_clear.get(key, -np.inf) < 10.0:
            flaps += 1
    level_changes = sum(1 for e in events if e["event"] in ("escalate", "deescalate"))
    return AlertScores(intrusions, missed, lead, false_alerts, false_bird, alert_truth, flaps, hours,
                       alerts=len({e["alert_id"] for e in events}), raises=len(raises),
                       level_changes=level_changes)


def site_coverage(site):
    """Radar positions in the site's ENU frame and their maximum ranges.

    Returns
    -------
    radar_pos : ndarray, shape (n_radars, 3)
    max_range_m : ndarray, shape (n_radars,)
    """
    o = site.origin
    radar_pos = np.array([radar_frame(r.lat_deg, r.lon_deg, r.alt_m, o.lat_deg, o.lon_deg, o.alt_m)[1]
                          for r in site.radars]).reshape(-1, 3)
    return radar_pos, np.array([r.max_range_m for r in site.radars], float)
