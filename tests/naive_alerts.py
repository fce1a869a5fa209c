"""The alert lifecycle as it was written first, one alert at a time in Python: the slow twin
of :class:`radarcore.core.alerts.AlertManager` (same rules, same events), kept to check the
array path against (tests/test_alerts.py).
"""
import numpy as np

from radarcore.core.alerts import (BIRD_CLASS, CRITICAL_LEVEL, EVENTS, NONE, UNKNOWN_CLASS, AlertManager,
                                   _Alert)
from radarcore.core.config import TRACK_CLASSES, ZONE_LEVELS

import naive_alert_policy


class NaiveAlertManager(AlertManager):
    """The lifecycle per alert and epoch (dictionaries per track, a Python visit of every open
    alert every epoch); the threat evaluation, :meth:`_step` and the event fields are the
    manager's own, but for the policy's arithmetic, which is the NumPy statement of it (the
    manager's is compiled)."""

    evaluate = naive_alert_policy.evaluate

    def __init__(self, zones, config, q_h=0.0, q_v=0.0, epoch_s=None):
        self.zones = zones
        self.config = config
        self.q_h = float(q_h)
        self.q_v = float(q_v)
        self.epoch_s = None if epoch_s is None else float(epoch_s)
        self._bound_radius = None     # (the zone figures through the validating entry point)
        self.alerts = {}          # (track_id, asset index) -> _Alert
        self.orphans = []         # alerts of dropped tracks waiting for a successor
        self.next_alert_id = 1
        self.first_seen = {}      # track id -> first epoch it was evaluated
        self.advised = {}         # (track id, asset index) -> (advised level, alert id to use)
        self.last_settled = {}    # track id -> the latest settled class index (not unknown)
        self.call_since = {}      # track id -> (call, seconds of evidence, time, settled)
        self.counts = {e: 0 for e in EVENTS}

    # ------------------------------------------------------------ lifecycle
    def update(self, t, rows, P, class_p):
        """Advance the alerts to epoch ``t``; return the events (dicts) in order.

        Parameters
        ----------
        t : float
        rows : ndarray of TRACK_ROW_DTYPE
            The track rows of this epoch (any status; only confirmed and
            coasting tracks are evaluated).
        P : ndarray, shape (len(rows), 6, 6)
            Track covariances at ``t``.
        class_p : ndarray, shape (len(rows), 4)
            Class probabilities in ``TRACK_CLASSES`` order.
        """
        keep = (rows["status"] == 2) | (rows["status"] == 3)
        rows, P, class_p = rows[keep], P[keep], class_p[keep]
        row_of_track = {int(tid): r for r, tid in enumerate(rows["track_id"].tolist())}
        held_s = self._accumulate_calls(t, row_of_track, self.called_class(class_p)[0].tolist())
        ev = self.evaluate(rows, P, class_p, held_s)
        z = self.zones
        events = []

        for track_id in row_of_track:
            self.first_seen.setdefault(track_id, t)
        for track_id in [tid for tid in self.first_seen if tid not in row_of_track]:
            del self.first_seen[track_id]
            self.last_settled.pop(track_id, None)
            self.call_since.pop(track_id, None)
        for key in [key for key in self.advised if key[0] not in row_of_track]:
            del self.advised[key]
        class_list = ev["class"].tolist()
        # a track that was a bird and is now a drone or an aircraft, or was
        # advised, is raised at once
        promoted = {tid for tid, r in row_of_track.items()
                    if class_list[r] != UNKNOWN_CLASS and class_list[r] != BIRD_CLASS
                    and self.last_settled.get(tid) == BIRD_CLASS}

        # alerts whose track is gone wait for a successor
        for key in [key for key in self.alerts if key[0] not in row_of_track]:
            alert = self.alerts.pop(key)
            alert.last = self._info(alert)
            alert.ref = None
            alert.orphan_since = t
            self.orphans.append(alert)

        for a in range(z.n_assets):
            lo, hi = z.asset_start[a], z.asset_start[a + 1]
            if hi == lo:
                continue
            level = ev["alert_level"][:, lo:hi].max(axis=1) if rows.size else np.zeros(0, int)
            advisory = ev["zone_level"][:, lo:hi].max(axis=1) if rows.size else np.zeros(0, int)
            level_list = level.tolist()
            for r in np.flatnonzero((advisory > level) & (ev["class"] == UNKNOWN_CLASS)).tolist():
                event = self._advise(t, ev, rows, r, a, lo, hi, int(advisory[r]))
                if event:
                    events.append(event)
            candidates = set(np.flatnonzero(level > NONE).tolist())
            candidates |= {row_of_track[tid] for (tid, asset) in self.alerts if asset == a}
            # rows are sorted by track id, so are the events of one epoch
            for r in sorted(candidates):
                track_id = int(rows["track_id"][r])
                threat = level_list[r]
                alert = self.alerts.get((track_id, a))
                if alert is None and self.orphans:
                    alert = self._adopt_orphan(t, a, track_id, ev["x"][r])
                    if alert is not None:
                        alert.track_id = track_id
                        self.alerts[(track_id, a)] = alert
                if alert is None:
                    if threat == NONE or self._held_as_unknown(t, ev, track_id, r, lo, hi):
                        continue
                    alert = _Alert(alert_id=0, asset=a, track_id=track_id, level=NONE)
                    self.alerts[(track_id, a)] = alert
                if alert.level == NONE:
                    alert.immediate = track_id in promoted or (track_id, a) in self.advised
                alert.ref = (ev, rows, r, a, lo, hi, threat)
                alert.last = None
                if threat == alert.level and alert.pending_count == 0 and alert.lower_since is None:
                    continue            # steady: nothing to decide, nothing to say
                event = self._step(t, alert, threat)
                if alert.level == NONE and alert.pending_level == NONE:
                    del self.alerts[(track_id, a)]
                if event:
                    events.append(event)

        self.last_settled.update((tid, class_list[r]) for tid, r in row_of_track.items()
                                 if class_list[r] != UNKNOWN_CLASS)
        for alert in [o for o in self.orphans if t - o.orphan_since > self.config.handover_s]:
            self.orphans.remove(alert)
            events.append(self._event(t, alert, "clear", alert.level, alert.last))
        for e in events:
            self.counts[e["event"]] += 1
        return events

    def _accumulate_calls(self, t, row_of_track, called):
        """Seconds of evidence behind each row's drone or aircraft call (``inf`` once settled
        and for rows with another call).

        Per track, an up-down count of the seconds its call has been made:
        it grows by the time since the track's previous epoch while the
        classifier makes the same call, shrinks by it while the classifier
        calls nothing (``unknown``), and restarts at 0 when it makes another
        call.  Once the count reaches ``drone_hold_s`` the call is settled
        and stays so until the count has drained back to 0 or the call
        changes: a call that comes and goes for an epoch at a time never
        settles, and a settled call survives a brief dip.
        """
        hold = self.config.drone_hold_s
        held_s = np.full(len(called), np.inf)
        state = self.call_since
        for track_id, r in row_of_track.items():
            now = called[r]
            alerting_call = now != UNKNOWN_CLASS and now != BIRD_CLASS
            if not alerting_call and track_id not in state:
                continue                # nothing to hold: the usual case, kept cheap
            call, count, t_last, settled = state.get(track_id, (now, 0.0, t, False))
            if now == call:
                count = min(count + (t - t_last), hold)
            elif now == UNKNOWN_CLASS:
                count -= t - t_last
            else:
                call, count, settled = now, 0.0, False
            if not alerting_call and (now != UNKNOWN_CLASS or count <= 0.0):
                del state[track_id]     # a bird call, or the evidence has drained
                continue
            settled = settled or count >= hold
            state[track_id] = (call, count, t, settled)
            if alerting_call and not settled:
                held_s[r] = count
        return held_s

    def _advise(self, t, ev, rows, r, a, lo, hi, level):
        """An ``advisory`` event for an unsettled track when its threat to asset ``a`` first
        appears or rises; None when already advised at this level or still held as unknown."""
        track_id = int(rows["track_id"][r])
        key = (track_id, a)
        advised_level, alert_id = self.advised.get(key, (NONE, 0))
        if level <= advised_level or self._held_as_unknown(t, ev, track_id, r, lo, hi):
            return None
        if (track_id, a) in self.alerts and self.alerts[key].level > NONE:
            return None
        if self._find_orphan(t, a, track_id, ev["x"][r]) is not None:
            return None             # a successor of an alerted track: it takes the alert over once settled
        if alert_id == 0:
            alert_id = self.next_alert_id
            self.next_alert_id += 1
        self.advised[key] = (level, alert_id)
        note = _Alert(alert_id=alert_id, asset=a, track_id=track_id, level=level,
                      ref=(ev, rows, r, a, lo, hi, level))
        return self._event(t, note, "advisory", level, self._info(note))

    def _held_as_unknown(self, t, ev, track_id, r, lo, hi):
        """A young track of unknown class outside every critical zone waits."""
        if ev["class"][r] != UNKNOWN_CLASS:
            return False
        if t - self.first_seen[track_id] >= self.config.unknown_hold_s:
            return False
        inside_serious = ev["inside"][r, lo:hi] & (self.zones.zone_level[lo:hi] >= CRITICAL_LEVEL)
        return not inside_serious.any()

    def _describe(self, ev, rows, r, a, lo, hi, threat):
        # (called through _info: once per alert and epoch at most, and only
        # when an event is written or a lower level must check the margin)
        """What an event needs to say about row ``r`` and asset ``a``."""
        tte = ev["tte"][r, lo:hi]
        zl = ev["zone_level"][r, lo:hi]
        if threat > NONE:
            at_level = zl == threat
            j = lo + int(np.argmin(np.where(at_level, tte, np.inf)))
            time_to_entry = float(ev["tte"][r, j])
            p_entry = float(ev["p_entry"][r, j])
        else:
            time_to_entry, p_entry = None, 0.0
        return {
            "threat": threat,
            "track_id": int(rows["track_id"][r]),
            "x": ev["x"][r].copy(),
            "time_to_entry_s": time_to_entry,
            "p_entry": p_entry,
            "cpa_m": float(ev["cpa"][r, a]),
            "cpa_time_s": float(ev["t_cpa"][r, a]),
            "closing_mps": float(ev["closing"][r, a]),
            "class": TRACK_CLASSES[int(ev["class"][r])],
            "class_confidence": float(ev["confidence"][r]),
            # signed distance to the nearest zone of each level (for the margin)
            "distance_by_level": [float(np.min(ev["distance"][r, lo:hi][self.zones.zone_level[lo:hi] == lv],
                                               initial=np.inf)) for lv in range(len(ZONE_LEVELS))],
        }

    def _adopt_orphan(self, t, a, track_id, x_new):
        """Take over the orphaned alert of asset ``a`` this track succeeds (None if none)."""
        best = self._find_orphan(t, a, track_id, x_new)
        if best is not None:
            self.orphans.remove(best)
            best.orphan_since = None
        return best

    def _find_orphan(self, t, a, track_id, x_new):
        """An orphaned alert of asset ``a`` whose track was heading to where this one is.

        Only a track that appeared after the orphan's track was dropped can
        be its successor.
        """
        if not self.orphans or t - self.first_seen[track_id] > self.config.handover_s:
            return None
        best, best_d = None, self.config.handover_m
        for alert in self.orphans:
            if alert.asset != a or self.first_seen[track_id] < alert.orphan_since - 1.0:
                continue
            x = alert.last["x"]
            dt = t - alert.orphan_since + 1.0   # the track was last seen one epoch before
            predicted = x[:2] + x[3:5] * dt
            d = float(np.hypot(x_new[0] - predicted[0], x_new[1] - predicted[1]))
            if d <= best_d:
                best, best_d = alert, d
        return best
