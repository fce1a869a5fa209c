"""The alert lifecycle as it was written first, one alert at a time in Python: the slow twin
of :class:`radarcore.core.alerts.AlertManager` (same rules, same events), kept to check the
array path against (tests/test_alerts.py).
"""
from dataclasses import dataclass
import json

import numpy as np

from kernels.zones import asset_cpa, evaluate_zones
from radarcore.core.config import TRACK_CLASSES, ZONE_LEVELS

NONE = -1
UNKNOWN_CLASS = TRACK_CLASSES.index("unknown")
BIRD_CLASS = TRACK_CLASSES.index("bird")
DRONE_CLASS = TRACK_CLASSES.index("drone")
AIRCRAFT_CLASS = TRACK_CLASSES.index("aircraft")
CRITICAL_LEVEL = ZONE_LEVELS.index("critical")
#: Event kinds the manager writes (``advisory`` opens no alert).
EVENTS = ("raise", "escalate", "deescalate", "clear", "advisory")


@dataclass
class _Alert:
    alert_id: int
    asset: int
    track_id: int
    level: int                       # published level
    pending_level: int = NONE        # a higher level waiting to hold
    pending_count: int = 0
    immediate: bool = False          # raise without the escalate_updates hold
    lower_since: float = None        # time the threat first fell below ``level``
    orphan_since: float = None       # time the track was dropped
    ref: tuple = None                # where its latest evaluation is (built into ``last`` on demand)
    last: dict = None                # event fields of the latest evaluation


class NaiveAlertManager:
    """Turns per-epoch track states into alert events.

    Parameters
    ----------
    zones : radarcore.core.zones.ZoneTable
    config : radarcore.core.config.AlertConfig
    q_h, q_v : float
        Process-noise densities used to grow the covariance along the
        predicted path.  The default 0 extrapolates the uncertainty of the
        current estimate only: over a two-minute horizon the tracking
        filter's manoeuvre noise would make every prediction a coin toss,
        and manoeuvres are caught anyway by evaluating every epoch.
    """

    def __init__(self, zones, config, q_h=0.0, q_v=0.0):
        self.zones = zones
        self.config = config
        self.q_h = float(q_h)
        self.q_v = float(q_v)
        self.alerts = {}          # (track_id, asset index) -> _Alert
        self.orphans = []         # alerts of dropped tracks waiting for a successor
        self.next_alert_id = 1
        self.first_seen = {}      # track id -> first epoch it was evaluated
        self.advised = {}         # (track id, asset index) -> (advised level, alert id to use)
        self.last_settled = {}    # track id -> the latest settled class index (not unknown)
        self.call_since = {}      # track id -> (call, seconds of evidence, time, settled)
        self.counts = {e: 0 for e in EVENTS}

    # ----------------------------------------------------------- evaluation
    def called_class(self, class_p):
        """The class each row's probabilities call (``unknown`` below ``class_min_p``) and
        the top probability."""
        k = class_p.shape[0]
        best = class_p.argmax(axis=1) if k else np.zeros(0, int)
        confidence = class_p[np.arange(k), best] if k else np.zeros(0)
        return np.where(confidence >= self.config.class_min_p, best, UNKNOWN_CLASS), confidence

    def evaluate(self, rows, P, class_p, held_s=None):
        """Threat figures of the rows of one epoch (arrays, no lifecycle).

        ``held_s`` (per row) is how long the row's called class has held
        (default: long enough).
        """
        z = self.zones
        k = rows.size
        x = np.column_stack([rows[n] for n in ("east_m", "north_m", "up_m", "v_east_mps",
                                               "v_north_mps", "v_up_mps")]) if k else np.zeros((0, 6))
        x = np.ascontiguousarray(x)
        P = np.ascontiguousarray(P)
        n_z, n_a = z.n_zones, z.n_assets
        inside = np.zeros((k, n_z), bool)
        distance = np.zeros((k, n_z))
        tte = np.zeros((k, n_z))
        p_entry = np.zeros((k, n_z))
        H = self.config.horizon_s
        if k and n_z:
            evaluate_zones(x, P, z.zone_kind, z.zone_center, z.zone_radius, z.zone_floor,
                           z.zone_ceiling, z.poly_start, z.poly_xy, H, self.q_h, self.q_v,
                           inside, distance, tte, p_entry)
        cpa = np.zeros((k, n_a))
        t_cpa = np.zeros((k, n_a))
        closing = np.zeros((k, n_a))
        rng = np.zeros((k, n_a))
        if k and n_a:
            asset_cpa(x, np.ascontiguousarray(z.asset_en), H, cpa, t_cpa, closing, rng)
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
        return {"x": x, "inside": inside, "distance": distance, "tte": tte, "p_entry": p_entry,
                "cpa": cpa, "t_cpa": t_cpa, "closing": closing, "range": rng,
                "class": track_class, "called": called, "confidence": confidence,
                "zone_level": zone_level,
                "alert_level": alert_level}

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

    def _info(self, alert):
        """The event fields of an alert's latest evaluation (built when needed)."""
        if alert.last is None:
            alert.last = self._describe(*alert.ref)
        return alert.last

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

    def _step(self, t, alert, threat):
        cfg = self.config
        if threat > alert.level:
            # a higher level must hold: publish the lowest level seen above
            # the current one over the last escalate_updates epochs
            alert.lower_since = None
            alert.pending_level = threat if alert.pending_count == 0 else min(alert.pending_level, threat)
            alert.pending_count += 1
            if alert.pending_count >= cfg.escalate_updates or (alert.level == NONE and alert.immediate):
                old = alert.level
                alert.level = alert.pending_level
                alert.pending_level, alert.pending_count = NONE, 0
                if old == NONE:
                    advised = self.advised.pop((alert.track_id, alert.asset), None)
                    if advised is not None:
                        alert.alert_id = advised[1]
                    else:
                        alert.alert_id = self.next_alert_id
                        self.next_alert_id += 1
                    return self._event(t, alert, "raise", old, self._info(alert))
                return self._event(t, alert, "escalate", old, self._info(alert))
            return None
        alert.pending_level, alert.pending_count = NONE, 0
        if threat == alert.level:
            alert.lower_since = None
            return None
        # threat below the published level: hold, and keep the margin
        if alert.lower_since is None:
            alert.lower_since = t
        if t - alert.lower_since < cfg.hold_s:
            return None
        info = self._info(alert)
        if all(d >= cfg.margin_m for d in info["distance_by_level"][threat + 1:]):
            old = alert.level
            alert.level = threat
            alert.lower_since = None
            return self._event(t, alert, "clear" if threat == NONE else "deescalate", old, info)
        return None

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

    def _event(self, t, alert, kind, old_level, info):
        level = alert.level if kind != "clear" else old_level
        x = info["x"]
        event = {
            "time_s": round(float(t), 3),
            "alert_id": alert.alert_id,
            "event": kind,
            "asset_id": self.zones.asset_ids[alert.asset],
            "level": ZONE_LEVELS[level] if level > NONE else None,
            "track_id": alert.track_id,
            "time_to_entry_s": _round(info["time_to_entry_s"]),
            "cpa_m": _round(info["cpa_m"]),
            "east_m": _round(x[0]),
            "north_m": _round(x[1]),
            "up_m": _round(x[2]),
            "speed_mps": _round(float(np.hypot(x[3], x[4]))),
            "class": info["class"],
            "class_confidence": _round(info["class_confidence"]),
            "cpa_time_s": _round(info["cpa_time_s"]),
            "closing_mps": _round(info["closing_mps"]),
            "p_entry": _round(info["p_entry"]),
        }
        if kind in ("escalate", "deescalate"):
            event["previous_level"] = ZONE_LEVELS[old_level]
        return event


def _round(value, digits=3):
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)
