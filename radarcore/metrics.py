"""Scoring tracks against truth: GOSPA and track-to-truth association.

GOSPA (Rahmathullah, Garcia-Fernandez, Svensson 2017) with ``alpha = 2``
between a truth set ``X`` and an estimate set ``Y`` at one epoch::

    d(X, Y) = ( min_gamma  sum_{(i,j) in gamma} d(x_i, y_j)^p
                + c^p / 2 * (|X| + |Y| - 2 |gamma|) )^(1/p)

over partial assignments ``gamma`` of pairs with ``d(x_i, y_j) < c``.  It is
the optimal assignment of ``min(d, c)^p`` costs plus ``c^p / 2`` per
cardinality mismatch, decomposed into localisation (assigned pairs), missed
(unassigned truths) and false (unassigned tracks) parts.
"""
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

CONFIRMED_STATUSES = (2, 3)


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


def gospa(truth_xyz, track_xyz, c=50.0, p=2.0):
    """GOSPA (alpha = 2) between two point sets of shape (n, d) and (m, d)."""
    truth_xyz = np.asarray(truth_xyz, float).reshape(-1, 3)
    track_xyz = np.asarray(track_xyz, float).reshape(-1, 3)
    n, m = truth_xyz.shape[0], track_xyz.shape[0]
    half = c ** p / 2.0
    if n == 0 or m == 0:
        missed, false = half * n, half * m
        empty = (np.zeros(0, int), np.zeros(0, int))
        return GospaResult((missed + false) ** (1 / p), 0.0, missed, false, 0, n, m, empty)
    d = np.linalg.norm(truth_xyz[:, None, :] - track_xyz[None, :, :], axis=2)
    cost = np.minimum(d, c) ** p
    rows, cols = linear_sum_assignment(cost)
    close = d[rows, cols] < c
    rows, cols = rows[close], cols[close]
    loc = float(np.sum(d[rows, cols] ** p))
    k = rows.size
    missed, false = half * (n - k), half * (m - k)
    return GospaResult((loc + missed + false) ** (1 / p), loc, missed, false, k, n - k, m - k,
                       (rows, cols))


def interpolate_truth(truth, times):
    """Truth states at the given epochs, linearly interpolated per target.

    Returns a dict of arrays (time_s, target_id, xyz (n, 3), v (n, 3), kind)
    with one row per (epoch, target alive at that epoch).
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
    """Mask of points within range of at least one radar (positions in the same ENU frame)."""
    xyz = np.asarray(xyz).reshape(-1, 3)
    d = np.linalg.norm(xyz[:, None, :] - np.asarray(radar_pos)[None, :, :], axis=2)
    return np.any(d <= np.asarray(max_range_m)[None, :], axis=1)


@dataclass
class Scores:
    """Track quality over a whole run (confirmed and coasting tracks only)."""

    gospa_mean: float
    gospa_localisation_mean: float
    gospa_missed_mean: float
    gospa_false_mean: float
    position_rmse_m: float       # over truth-track pairs closer than c
    velocity_rmse_mps: float
    n_epochs: int
    id_switches: int             # a truth's assigned track id changed to another live id
    false_tracks: int            # track ids never assigned to any truth
    truth_targets: int
    targets_confirmed: int       # truths assigned to some track at some epoch
    per_epoch_gospa: np.ndarray
    first_assigned_s: dict       # truth id -> first epoch a track was assigned to it
    truth_ids_of_track: dict     # track id -> set of truth ids it was assigned to
    track_swaps: int             # a track's truth changed and stayed changed (>= min_run epochs)
    truth_track_changes: int     # a truth's track changed and stayed changed (swaps and breaks)


def score(truth, tracks, c=50.0, p=2.0, coverage=None, statuses=CONFIRMED_STATUSES, min_run=5):
    """GOSPA and association figures of ``tracks`` (TRACK_ROW_DTYPE) against ``truth``.

    ``coverage`` is an optional ``(radar_pos (k, 3), max_range_m (k,))``: truths
    outside every radar's range do not count.
    """
    tracks = tracks[np.isin(tracks["status"], statuses)]
    epochs = np.unique(tracks["time_s"])
    if epochs.size == 0:
        epochs = np.unique(np.round(truth["time_s"]))
    tr = interpolate_truth(truth, epochs)
    if coverage is not None and tr["time_s"].size:
        keep = in_coverage(tr["xyz"], *coverage)
        tr = {k: v[keep] for k, v in tr.items()}
    per_epoch = np.zeros(epochs.size)
    loc = np.zeros(epochs.size)
    miss = np.zeros(epochs.size)
    false = np.zeros(epochs.size)
    sq_pos, sq_vel, n_pairs = 0.0, 0.0, 0
    last_track_of_truth = {}
    switches = 0
    assigned_tracks = set()
    assigned_truths = set()
    first_assigned = {}
    truths_of_track = {}
    truths_seq = {}
    tracks_seq = {}
    t_idx = np.searchsorted(epochs, tr["time_s"]) if tr["time_s"].size else np.zeros(0, int)
    k_idx = np.searchsorted(epochs, tracks["time_s"])
    truth_order = np.argsort(t_idx, kind="stable")
    t_bounds = np.searchsorted(t_idx[truth_order], np.arange(epochs.size + 1))
    k_order = np.argsort(k_idx, kind="stable")
    k_sorted = k_idx[k_order]
    k_bounds = np.searchsorted(k_sorted, np.arange(epochs.size + 1))
    track_xyz_all = np.column_stack([tracks["east_m"], tracks["north_m"], tracks["up_m"]])
    track_v_all = np.column_stack([tracks["v_east_mps"], tracks["v_north_mps"], tracks["v_up_mps"]])
    for e in range(epochs.size):
        ti = truth_order[t_bounds[e]:t_bounds[e + 1]]
        ki = k_order[k_bounds[e]:k_bounds[e + 1]]
        res = gospa(tr["xyz"][ti], track_xyz_all[ki], c, p)
        per_epoch[e], loc[e], miss[e], false[e] = res.gospa, res.localisation, res.missed, res.false
        rows, cols = res.assignment
        for r, col in zip(rows, cols):
            truth_id = int(tr["target_id"][ti[r]])
            track_id = int(tracks["track_id"][ki[col]])
            d = track_xyz_all[ki[col]] - tr["xyz"][ti[r]]
            dv = track_v_all[ki[col]] - tr["v"][ti[r]]
            sq_pos += float(d @ d)
            sq_vel += float(dv @ dv)
            n_pairs += 1
            first_assigned.setdefault(truth_id, float(epochs[e]))
            truths_of_track.setdefault(track_id, set()).add(truth_id)
            prev = last_track_of_truth.get(truth_id)
            if prev is not None and prev != track_id:
                switches += 1
            last_track_of_truth[truth_id] = track_id
            assigned_tracks.add(track_id)
            assigned_truths.add(truth_id)
            truths_seq.setdefault(track_id, []).append(truth_id)
            tracks_seq.setdefault(truth_id, []).append(track_id)
    all_tracks = set(np.unique(tracks["track_id"]).tolist())
    return Scores(
        gospa_mean=float(per_epoch.mean()) if epochs.size else 0.0,
        gospa_localisation_mean=float(loc.mean()) if epochs.size else 0.0,
        gospa_missed_mean=float(miss.mean()) if epochs.size else 0.0,
        gospa_false_mean=float(false.mean()) if epochs.size else 0.0,
        position_rmse_m=float(np.sqrt(sq_pos / n_pairs)) if n_pairs else float("nan"),
        velocity_rmse_mps=float(np.sqrt(sq_vel / n_pairs)) if n_pairs else float("nan"),
        n_epochs=int(epochs.size),
        id_switches=switches,
        false_tracks=len(all_tracks - assigned_tracks),
        truth_targets=int(np.unique(tr["target_id"]).size),
        targets_confirmed=len(assigned_truths),
        per_epoch_gospa=per_epoch,
        first_assigned_s=first_assigned,
        truth_ids_of_track=truths_of_track,
        track_swaps=sum(persistent_changes(seq, min_run) for seq in truths_seq.values()),
        truth_track_changes=sum(persistent_changes(seq, min_run) for seq in tracks_seq.values()),
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


@dataclass
class AlertScores:
    """Alerts scored against truth (see :func:`alert_scores`)."""

    intrusions: list          # dicts: target_id, kind, asset_id, level, entry_time_s, alerted, lead_s
    missed_intrusions: int    # intrusions into alert-level zones with no alert before entry
    lead_times_s: list        # for drones entering alert-level zones, raise -> entry
    false_alerts: dict        # kind nearest the raise ('bird', 'drone', 'none', ...) -> count
    false_bird_alerts: int    # raises on birds that never entered a critical zone of that asset
    alert_truth: dict         # alert_id -> target_id (0: none) at its raise
    flaps: int                # clear followed by a raise of the same truth/asset within 10 s
    hours: float


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


def alert_scores(events, truth, zone_events, kinds, hours, level="alert"):
    """Lead times, missed intrusions and false alerts.

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
        Intrusions into zones of this level are scored.

    Notes
    -----
    An alert belongs to the truth target nearest its ``raise`` (within
    150 m).  An intrusion is alerted when an alert of that target and asset
    was raised before the entry.  A raise is false when its target never
    entered any zone of the asset that alerts on its kind: a bird that
    never entered a critical zone, or no target at all.
    """
    truth_of = attribute_events(events, truth)
    raises = [(e, tid) for e, tid in zip(events, truth_of) if e["event"] == "raise"]
    alert_truth = {e["alert_id"]: tid for e, tid in raises}
    first_raise = {}
    for e, tid in raises:
        key = (tid, e["asset_id"])
        first_raise[key] = min(first_raise.get(key, np.inf), e["time_s"])
    entered = {}
    for z in zone_events:
        entered.setdefault((int(z["target_id"]), str(z["asset_id"])), set()).add(str(z["level"]))
    intrusions, lead, missed = [], [], 0
    for z in zone_events:
        if str(z["level"]) != level or int(z["entry_index"]) != 0 or bool(z["at_start"]):
            continue
        tid, asset = int(z["target_id"]), str(z["asset_id"])
        t_raise = first_raise.get((tid, asset), np.inf)
        alerted = t_raise <= float(z["entry_time_s"])
        lead_s = float(z["entry_time_s"]) - t_raise if alerted else None
        intrusions.append({"target_id": tid, "kind": kinds.get(tid, "none"), "asset_id": asset,
                           "level": level, "entry_time_s": float(z["entry_time_s"]),
                           "alerted": alerted, "lead_s": lead_s})
        if kinds.get(tid) == "drone":
            if alerted:
                lead.append(lead_s)
            else:
                missed += 1
    false_alerts, false_bird = {}, 0
    for e, tid in raises:
        kind = kinds.get(tid, "none") if tid else "none"
        levels = entered.get((tid, e["asset_id"]), set())
        legitimate = bool(levels) and (kind != "bird" or "critical" in levels)
        if not legitimate:
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
    return AlertScores(intrusions, missed, lead, false_alerts, false_bird, alert_truth, flaps, hours)
