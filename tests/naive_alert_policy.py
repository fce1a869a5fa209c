"""The alert policy's per-decision arithmetic as it was written in NumPy (one array
operation per rule): the slow reference of the compiled kernels in kernels/alerts.py
(tests/test_alert_kernels.py), and the evaluation :class:`naive_alerts.NaiveAlertManager` uses.

The functions take the manager as ``self`` (its zones, config and previous decision time).
"""
import numpy as np

from radarcore.core.alerts import (AIRCRAFT_CLASS, BIRD_CLASS, CRITICAL_LEVEL, DRONE_CLASS, NONE,
                                   UNKNOWN_CLASS)


def evaluate(self, rows, P, class_p, held_s=None, geometry=None, first_seen=None, t=0.0):
    """Threat figures of the rows of one epoch (arrays, no lifecycle).

    ``held_s`` (per row) is how long the row's called class has held
    (default: long enough); ``geometry``: the rows' :meth:`geometry`,
    if known.
    """
    z = self.zones
    k = class_p.shape[0]
    n_z = z.n_zones
    g = self.geometry(rows, P) if geometry is None else geometry
    inside, tte, p_entry = g["inside"], g["tte"], g["p_entry"]
    H = self.config.horizon_s
    called, confidence = self.called_class(class_p)
    held_s = np.full(k, np.inf) if held_s is None else np.asarray(held_s, float)
    # a drone or aircraft call counts once it has held for drone_hold_s:
    # until then the track is unsettled (a one-epoch call is not evidence)
    pending = (called != UNKNOWN_CLASS) & (called != BIRD_CLASS) & (held_s < self.config.drone_hold_s)
    track_class = np.where(pending, UNKNOWN_CLASS, called)
    allowed = z.alert_on[track_class] if k else np.zeros((0, n_z), bool)
    # a bird's straight-line path says little about where it goes next:
    # birds count only where they are, never where they are predicted
    entering = (tte <= H) & (p_entry >= self.config.p_entry_min)
    predicted = entering & (track_class != BIRD_CLASS)[:, None]
    threatened = allowed & (inside | predicted)
    zone_level = np.where(threatened, z.zone_level[None, :], NONE)
    # an unsettled track is alerted only inside or just before a critical
    # zone; just before, only if it may be a drone or an aircraft at all
    unsettled = (track_class == UNKNOWN_CLASS)[:, None]
    threat_p = (class_p[:, DRONE_CLASS] + class_p[:, AIRCRAFT_CLASS]) if k else np.zeros(0)
    may_threaten = (threat_p >= self.config.unsettled_threat_min_p)[:, None]
    urgent = (z.zone_level[None, :] >= CRITICAL_LEVEL) & (
        inside | (entering & (tte <= self.config.unsettled_lead_s) & may_threaten))
    alert_level = np.where(unsettled & ~urgent, NONE, zone_level)
    # per asset: the levels' maxima over its zones, and whether a young unknown track
    # inside none of its critical zones is held
    n_a = z.n_assets
    first_seen = np.full(k, float(t)) if first_seen is None else np.asarray(first_seen, float)
    level = np.full((k, n_a), NONE, np.int64)
    advisory = np.full((k, n_a), NONE, np.int64)
    held = np.zeros((k, n_a), bool)
    for a in range(n_a):
        lo, hi = z.asset_start[a], z.asset_start[a + 1]
        if hi > lo and k:
            level[:, a] = alert_level[:, lo:hi].max(axis=1)
            advisory[:, a] = zone_level[:, lo:hi].max(axis=1)
        inside_critical = (inside[:, lo:hi] & (z.zone_level[lo:hi] >= CRITICAL_LEVEL)).any(axis=1)
        held[:, a] = (track_class == UNKNOWN_CLASS) & (t - first_seen < self.config.unknown_hold_s) \
            & ~inside_critical
    return {**g, "class": track_class, "called": called, "confidence": confidence,
            "zone_level": zone_level, "alert_level": alert_level, "level": level,
            "advisory": advisory, "held": held}


def accumulate_calls(self, t, state, called):
    """``AlertManager._accumulate_calls`` (the rules are in its docstring), one NumPy
    operation per rule."""
    hold = self.config.drone_hold_s
    has = state["has_call"]
    alerting_call = (called != UNKNOWN_CLASS) & (called != BIRD_CLASS)
    call = np.where(has, state["call"], called)
    count = np.where(has, state["count"], 0.0)
    t_last = np.where(has, self._t_prev, float(t))
    settled = has & state["settled"]
    dt = t - t_last
    same = called == call
    drain = ~same & (called == UNKNOWN_CLASS)
    other = ~same & ~drain
    count = np.where(same, np.minimum(count + dt, hold), np.where(drain, count - dt, 0.0))
    call = np.where(other, called, call)
    settled = np.where(other, False, settled)
    # a bird call, or the evidence has drained: the track's state goes
    dropped = ~alerting_call & ((called != UNKNOWN_CLASS) | (count <= 0.0))
    has_call = (alerting_call | has) & ~dropped
    settled = settled | (count >= hold)
    held_s = np.where(alerting_call & has_call & ~settled, count, np.inf)
    return held_s, {"has_call": has_call, "call": call.astype(np.int64), "count": count,
                    "settled": settled}
