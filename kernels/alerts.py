"""The per-decision arithmetic of the alert policy, compiled: arrays in, arrays out.

:class:`radarcore.core.alerts.AlertManager` decides on the rows of a
decision (all tracks of a replay epoch, or the few tracks a live frame
changed) in three steps that used to be some hundred NumPy operations on
small arrays each, a fixed cost per decision that dominated a live frame:

- :func:`due_rows`: which tracks of the live picture a decision must look at
  (updated, an age threshold just crossed, young while orphaned alerts look
  for a successor, call evidence that grows or drains with time);
- :func:`accumulate_calls`: the up-down count of seconds behind each
  track's drone or aircraft call (``AlertManager._accumulate_calls``);
- :func:`threat_policy`: the class policy (called class, settled or held
  call), the zone levels a track's class and geometry threaten, the levels it
  is alerted on, and per asset the alert level, the advisory level and
  whether an unknown young track is held.

The rules are those of the module docstring of ``radarcore.core.alerts``;
tests/naive_alert_policy.py keeps the NumPy statement of them, and
tests/test_alert_kernels.py checks these kernels against it.  Each loop does,
element by element, exactly the comparisons and the one subtraction or
addition the NumPy expressions did, so the results are the same bits.
"""
import numpy as np

from kernels._jit import njit

#: Indices into ``TRACK_CLASSES`` and ``ZONE_LEVELS`` (radarcore.core.config); checked
#: against them in radarcore.core.alerts at import.
DRONE = 0
BIRD = 1
AIRCRAFT = 2
UNKNOWN = 3
CRITICAL = 2
NONE = -1


@njit
def _minimum(a, b):
    """``np.minimum`` of two floats (NaN wins)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


@njit
def accumulate_calls(called, has, call, count, settled, t, t_prev, hold,
                     out_held_s, out_has, out_call, out_count, out_settled):
    """Advance the call evidence of each row to ``t`` (the previous decision at ``t_prev``).

    ``called``: each row's call now; ``has``, ``call``, ``count``,
    ``settled``: its call state after the previous decision (a row without
    one has ``has`` False).  Writes the seconds of evidence behind a drone or
    aircraft call that has not settled (``inf`` otherwise) and the new state.
    The output arrays may be the input ones.
    """
    for i in range(called.size):
        c = called[i]
        h = has[i]
        alerting = c != UNKNOWN and c != BIRD
        cl = call[i] if h else c
        cnt = count[i] if h else 0.0
        t_last = t_prev if h else t
        st = h and settled[i]
        dt = t - t_last
        same = c == cl
        drain = (not same) and c == UNKNOWN
        other = (not same) and not drain
        if same:
            cnt = _minimum(cnt + dt, hold)
        elif drain:
            cnt = cnt - dt
        else:
            cnt = 0.0
        if other:
            cl = c
            st = False
        dropped = (not alerting) and (c != UNKNOWN or cnt <= 0.0)
        hc = (alerting or h) and not dropped
        st = st or cnt >= hold
        out_held_s[i] = cnt if (alerting and hc and not st) else np.inf
        out_has[i] = hc
        out_call[i] = cl
        out_count[i] = cnt
        out_settled[i] = st


@njit
def threat_policy(class_p, held_s, inside, tte, p_entry, zone_level, alert_on, asset_start,
                  first_seen, t, class_min_p, drone_hold_s, horizon_s, p_entry_min,
                  unsettled_threat_min_p, unsettled_lead_s, unknown_hold_s,
                  out_called, out_confidence, out_class, out_zone_level, out_alert_level,
                  out_level, out_advisory, out_held):
    """The class policy and threat levels of each row (``AlertManager.evaluate``).

    Per row: ``out_called`` the class the probabilities call (``unknown``
    below ``class_min_p``), ``out_confidence`` the top probability,
    ``out_class`` the class the policy uses (a drone or aircraft call held
    less than ``drone_hold_s`` is ``unknown``).  Per row and zone:
    ``out_zone_level`` the zone's level where the class may alert there and
    the track is inside or predicted in (not a bird) within the horizon with
    ``p_entry_min``, else -1; ``out_alert_level`` the same, -1 for an
    unsettled track outside the urgent cases.  Per row and asset:
    ``out_level`` and ``out_advisory`` the maxima of those over the asset's
    zones (-1 for none), ``out_held`` whether a young (``t - first_seen <
    unknown_hold_s``) unknown track inside no critical zone of the asset is
    held.
    """
    k = class_p.shape[0]
    n_c = class_p.shape[1]
    n_z = zone_level.size
    n_a = asset_start.size - 1
    for i in range(k):
        # argmax, the first maximum (a NaN counts as the maximum, as in NumPy)
        best = 0
        bv = class_p[i, 0]
        if bv == bv:
            for j in range(1, n_c):
                v = class_p[i, j]
                if v != v:
                    best = j
                    bv = v
                    break
                if v > bv:
                    best = j
                    bv = v
        called = best if bv >= class_min_p else UNKNOWN
        pending = called != UNKNOWN and called != BIRD and held_s[i] < drone_hold_s
        cls = UNKNOWN if pending else called
        out_called[i] = called
        out_confidence[i] = bv
        out_class[i] = cls
        unsettled = cls == UNKNOWN
        may_threaten = (class_p[i, DRONE] + class_p[i, AIRCRAFT]) >= unsettled_threat_min_p
        for z in range(n_z):
            entering = tte[i, z] <= horizon_s and p_entry[i, z] >= p_entry_min
            predicted = entering and cls != BIRD
            ins = inside[i, z]
            threatened = alert_on[cls, z] and (ins or predicted)
            zl = zone_level[z] if threatened else NONE
            urgent = zone_level[z] >= CRITICAL and (
                ins or (entering and tte[i, z] <= unsettled_lead_s and may_threaten))
            out_zone_level[i, z] = zl
            out_alert_level[i, z] = NONE if (unsettled and not urgent) else zl
        young_unknown = unsettled and t - first_seen[i] < unknown_hold_s
        for a in range(n_a):
            lvl = NONE
            adv = NONE
            inside_critical = False
            for z in range(asset_start[a], asset_start[a + 1]):
                if out_alert_level[i, z] > lvl:
                    lvl = out_alert_level[i, z]
                if out_zone_level[i, z] > adv:
                    adv = out_zone_level[i, z]
                if inside[i, z] and zone_level[z] >= CRITICAL:
                    inside_critical = True
            out_level[i, a] = lvl
            out_advisory[i, a] = adv
            out_held[i, a] = young_unknown and not inside_critical


@njit
def due_rows(updated, first_seen, t, t_prev, unknown_hold_s, handover_s, orphans,
             called, has_call, call, count, drone_hold_s):
    """The rows of the live picture a decision at ``t`` must look at (indices, ascending).

    ``updated`` (bool per row) is changed in place to the rows whose outcome
    can change now: updated, their ``unknown_hold_s`` or ``handover_s`` age
    just passed, or young (``handover_s``) while ``orphans``.  The indices
    returned add the rows whose call evidence changes with time (a call not
    yet at ``drone_hold_s``, or draining while nothing is called).
    """
    n = updated.size
    cand = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        age = t - first_seen[i]
        age_before = t_prev - first_seen[i]
        due = updated[i]
        if age_before < unknown_hold_s and not age < unknown_hold_s:
            due = True
        young = age <= handover_s
        if age_before <= handover_s and not young:
            due = True
        if orphans and young:
            due = True
        updated[i] = due
        c = called[i]
        timer = has_call[i] and ((call[i] == c and count[i] < drone_hold_s) or c == UNKNOWN)
        if due or timer:
            cand[m] = i
            m += 1
    return cand[:m]
