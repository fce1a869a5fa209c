"""Threat evaluation and the alert lifecycle.

Every output epoch, each confirmed or coasting track is evaluated against
every zone of every asset (``kernels.zones``, vectorised over tracks x
zones): inside now, time to entry along the predicted straight-line path
within ``horizon_s``, probability of entry from the track covariance, and per
asset the closest point of approach and closing speed.

**Threat level** of a (track, asset): the most severe zone level of the
asset whose zone alerts on the track's class and that the track is inside,
or will enter within the horizon with probability at least ``p_entry_min``.
The track's class is the class whose probability is at least
``class_min_p``, else ``unknown``: a bird is only a bird when the classifier
is sure of it.  A bird's straight-line path says little about where it goes
next, so a bird threatens only the zones it is inside.  A track still of
unknown class is not raised during its first ``unknown_hold_s`` seconds unless
it is inside a ``critical`` zone.

**Class policy.** A track's class is *settled* when ``bird`` has
probability at least ``class_min_p``, or when ``drone`` or ``aircraft`` has
and that call has ``drone_hold_s`` seconds of evidence behind it (an
up-down count per track, :meth:`AlertManager._accumulate_calls`: a call
that comes and goes for an epoch never settles, a settled call survives a
brief dip); otherwise it is unsettled (``unknown``: thin evidence, features
that fit no class, or a call still being held).

- A settled track alerts by the zones' ``alert_on`` as above (by default a
  bird only inside a ``critical`` zone).
- An unsettled track is *advised*, not alerted: the first time it threatens
  an asset, and again when its threat level rises, an ``advisory`` event is
  written (the operator sees it; it opens no alert and is not counted as
  one).  It is alerted only where waiting could be too late: inside a
  ``critical`` zone, or predicted to enter one within
  ``unsettled_lead_s`` when ``p(drone) + p(aircraft)`` is at least
  ``unsettled_threat_min_p``.
- A track whose class settles as ``drone`` or ``aircraft`` while it
  threatens an asset after an advisory, or after having been a bird, is
  raised at once: the ``escalate_updates`` hold does not apply to that
  raise.  An advisory's ``alert_id`` is the id the alert gets if it is
  raised later.  A new track that may succeed a dropped alerted track
  (handover, below) gets no advisory: it takes the alert over once its
  class settles.

**Lifecycle**, one alert (one stable ``alert_id``) per (track, asset):

- ``raise``: a threat level has held for ``escalate_updates`` epochs;
- ``escalate``: a higher level has held for ``escalate_updates`` epochs;
- ``deescalate`` / ``clear``: a lower level (or none) has held for ``hold_s``
  and the track is at least ``margin_m`` outside every zone above the new
  level, so a track on a boundary does not flap;
- **handover**: when an alerted track is dropped, its alert waits
  ``handover_s``; a confirmed track that appears within ``handover_m`` of
  where the dropped track was going takes the alert over (same
  ``alert_id``, no new ``raise``); otherwise the alert clears.

Events are dicts with the fields of docs/formats.md alerts.jsonl plus the
track's class and confidence, closing speed, probability of entry and CPA
time.

**Cost.** The arithmetic of a decision on all its rows (the class policy and
call evidence above, the zone and asset levels, which tracks of the live
picture must be looked at) is one compiled call each (``kernels.alerts``, the
NumPy statement of the same rules kept as the slow reference in
tests/naive_alert_policy.py); Python runs per alert only for the alerts that
may change or say something (the lifecycle above).
"""
from dataclasses import dataclass
import json
import math

import numpy as np

from kernels import alerts as _kernel
from kernels.alerts import accumulate_calls, due_rows, threat_policy
from kernels.zones import (PARALLEL_MIN_PAIRS, _asset_cpa_loop, _bounding_radius, _evaluate_zones_parallel,
                          _evaluate_zones_serial, asset_cpa, check_zone_table, evaluate_zones)
from radarcore.core.config import TRACK_CLASSES, ZONE_LEVELS

NONE = -1
UNKNOWN_CLASS = TRACK_CLASSES.index("unknown")
BIRD_CLASS = TRACK_CLASSES.index("bird")
DRONE_CLASS = TRACK_CLASSES.index("drone")
AIRCRAFT_CLASS = TRACK_CLASSES.index("aircraft")
CRITICAL_LEVEL = ZONE_LEVELS.index("critical")
if (_kernel.UNKNOWN, _kernel.BIRD, _kernel.DRONE, _kernel.AIRCRAFT, _kernel.CRITICAL, _kernel.NONE) != (
        UNKNOWN_CLASS, BIRD_CLASS, DRONE_CLASS, AIRCRAFT_CLASS, CRITICAL_LEVEL, NONE):
    raise ImportError("kernels.alerts names other class or level indices than radarcore.core.config")
#: What :meth:`AlertManager.geometry` gives per row: the state, per zone (inside, signed
#: distance, time to entry, probability of entry) and per asset (CPA, its time, closing
#: speed, range).
#: The state columns of a row, in the order of the tracker's state vector.
_STATE_COLUMNS = ("east_m", "north_m", "up_m", "v_east_mps", "v_north_mps", "v_up_mps")
GEOMETRY = ("x", "inside", "distance", "tte", "p_entry", "cpa", "t_cpa", "closing", "range")
#: Depth samples of a path entering a polygon (``kernels.zones.evaluate_zones``' default).
ZONE_DEPTH_SAMPLES = 16
#: Event kinds the manager writes (``advisory`` opens no alert).
EVENTS = ("raise", "escalate", "deescalate", "clear", "advisory")


@dataclass
class _Alert:
    alert_id: int
    asset: int
    track_id: int
    level: int                       # published level
    pending_level: int = NONE        # a higher level waiting to hold
    pending_count: int = 0           # epochs it has held (see AlertManager.epoch_s)
    pending_since: float = None      # time of its first evaluation
    immediate: bool = False          # raise without the escalate_updates hold
    lower_since: float = None        # time the threat first fell below ``level``
    orphan_since: float = None       # time the track was dropped
    ref: tuple = None                # where its latest evaluation is (built into ``last`` on demand)
    last: dict = None                # event fields of the latest evaluation
    seq: int = 0                     # when it was entered in ``AlertManager.alerts`` (its order)


class AlertManager:
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
    epoch_s : float or None
        None: every :meth:`update` is one epoch (the output epochs of a
        replay).  Else updates come more often than the epochs of this
        period (live mode decides on every track update), and a pending
        level has held ``n`` epochs once ``(n - 1) * epoch_s`` seconds have
        passed since its first evaluation (the ``escalate_updates`` hold
        lasts as long in both modes).
    """

    def __init__(self, zones, config, q_h=0.0, q_v=0.0, epoch_s=None):
        self.zones = zones
        self.config = config
        self.q_h = float(q_h)
        self.q_v = float(q_v)
        self.epoch_s = None if epoch_s is None else float(epoch_s)
        self._bound_radius = None
        if zones.n_zones and math.isfinite(config.horizon_s) and config.horizon_s >= 0.0 \
                and self.q_h >= 0.0 and self.q_v >= 0.0:
            check_zone_table(zones.zone_kind, zones.zone_center, zones.zone_radius, zones.zone_floor,
                             zones.zone_ceiling, zones.poly_start, zones.poly_xy)
            self._bound_radius = np.empty(zones.n_zones)
            _bounding_radius(zones.zone_kind, zones.zone_center, zones.zone_radius, zones.poly_start,
                             zones.poly_xy, self._bound_radius)
        # the asset positions, checked once for the unchecked CPA loop (None: check every call)
        asset_en = np.ascontiguousarray(zones.asset_en, np.float64)
        self._asset_en = asset_en if (asset_en.ndim == 2 and asset_en.shape[1:] == (2,)
                                      and np.isfinite(asset_en).all()) else None
        self.alerts = {}          # (track_id, asset index) -> _Alert
        self.orphans = []         # alerts of dropped tracks waiting for a successor
        # beside ``orphans``, in its order: asset, time dropped, last (east, north, v_east, v_north)
        self._orphan_asset = np.zeros(0, np.int64)
        self._orphan_since = np.zeros(0)
        self._orphan_xv = np.zeros((0, 4))
        self._orphan_at = np.zeros((0, 2))
        self.next_alert_id = 1
        self.advised = {}         # (track id, asset index) -> (advised level, alert id to use)
        self._advised_array = None  # ``advised`` as rows (track id, asset, level), built when needed
        self.counts = {e: 0 for e in EVENTS}
        # per track of the picture, sorted by track id: first epoch seen, the
        # latest settled class (not unknown), the call evidence, the latest
        # class probabilities, call and zone figures
        self._tracks = {"ids": np.zeros(0, np.int64), "first_seen": np.zeros(0),
                        **{name: np.full(0, fill, _STATE_DTYPE[name]) for name, fill in _STATE_FILL.items()},
                        "called": np.zeros(0, np.int64), "class_p": np.zeros((0, len(TRACK_CLASSES))),
                        **{name: value for name, value in self.geometry(None, None).items()}}
        self._kept = None             # (see update: figures not yet gathered by track)
        self._t_prev = -math.inf      # time of the previous decision
        self._orphans_before = False  # whether orphans looked for successors at the previous decision
        self._visited = set()         # the alerts decided on at the previous decision
        # the steady alerts (published level > none, nothing pending or
        # lower), by track_id * n_assets + asset, sorted; the others by key
        self._quiet_key = np.zeros(0, np.int64)
        self._quiet_level = np.zeros(0, np.int64)
        self._active = set()
        self._next_seq = 0
        self._first_seen_row = np.zeros(0)

    # ----------------------------------------------------------- evaluation
    def called_class(self, class_p):
        """The class each row's probabilities call (``unknown`` below ``class_min_p``) and
        the top probability."""
        k = class_p.shape[0]
        best = class_p.argmax(axis=1) if k else np.zeros(0, int)
        confidence = class_p[np.arange(k), best] if k else np.zeros(0)
        return np.where(confidence >= self.config.class_min_p, best, UNKNOWN_CLASS), confidence

    def geometry(self, rows, P):
        """The class-free threat figures of each row, each row on its own (the
        compiled zone and CPA evaluation): a dict of arrays, by row, named
        :data:`GEOMETRY`.

        A caller that keeps them for rows that did not change (live mode
        keeps them per track) passes them to :meth:`update` instead of
        having every row evaluated again.
        """
        z = self.zones
        k = 0 if rows is None else rows.size
        x = np.empty((k, 6))
        for j, name in enumerate(_STATE_COLUMNS if k else ()):
            x[:, j] = rows[name]
        P = np.ascontiguousarray(P)
        n_z, n_a = z.n_zones, z.n_assets
        inside = np.zeros((k, n_z), bool)
        distance = np.zeros((k, n_z))
        tte = np.zeros((k, n_z))
        p_entry = np.zeros((k, n_z))
        H = self.config.horizon_s
        # the zone table was validated once; the per-call checks of evaluate_zones and
        # asset_cpa cost more than the evaluation of a frame's few tracks
        checked = self._bound_radius is not None and k and np.isfinite(x).all() and np.isfinite(P).all()
        if k and n_z:
            if not checked:
                # (the validating entry point: a clear error for a bad table or state)
                evaluate_zones(x, P, z.zone_kind, z.zone_center, z.zone_radius, z.zone_floor,
                               z.zone_ceiling, z.poly_start, z.poly_xy, H, self.q_h, self.q_v,
                               inside, distance, tte, p_entry)
            else:
                loop = _evaluate_zones_parallel if k * n_z >= PARALLEL_MIN_PAIRS else _evaluate_zones_serial
                loop(x, P, z.zone_kind, z.zone_center, z.zone_radius, self._bound_radius, z.zone_floor,
                     z.zone_ceiling, z.poly_start, z.poly_xy, float(H), self.q_h, self.q_v, ZONE_DEPTH_SAMPLES,
                     inside, distance, tte, p_entry)
        cpa = np.zeros((k, n_a))
        t_cpa = np.zeros((k, n_a))
        closing = np.zeros((k, n_a))
        rng = np.zeros((k, n_a))
        if k and n_a:
            if checked and self._asset_en is not None:
                _asset_cpa_loop(x, self._asset_en, float(H), cpa, t_cpa, closing, rng)
            else:
                asset_cpa(x, np.ascontiguousarray(z.asset_en), H, cpa, t_cpa, closing, rng)
        return {"x": x, "inside": inside, "distance": distance, "tte": tte, "p_entry": p_entry,
                "cpa": cpa, "t_cpa": t_cpa, "closing": closing, "range": rng}

    def evaluate(self, rows, P, class_p, held_s=None, geometry=None, first_seen=None, t=0.0):
        """Threat figures of the rows of one epoch (arrays, no lifecycle).

        ``held_s`` (per row) is how long the row's called class has held
        (default: long enough); ``geometry``: the rows' :meth:`geometry`,
        if known; ``first_seen`` (per row, default ``t``) and ``t``: the
        rows' first decision and this one, for ``held`` below.

        Besides the geometry: per row ``class`` (the class the policy uses),
        ``called`` and ``confidence``; per row and zone ``zone_level`` (the
        level the class and geometry threaten, -1 none) and ``alert_level``
        (the level alerted on); per row and asset ``level`` and
        ``advisory`` (their maxima over the asset's zones) and ``held`` (an
        unknown track younger than ``unknown_hold_s`` inside no critical zone
        of the asset).  One compiled call (:func:`kernels.alerts.threat_policy`).
        """
        z = self.zones
        cfg = self.config
        k = class_p.shape[0]
        n_z, n_a = z.n_zones, z.n_assets
        g = self.geometry(rows, P) if geometry is None else geometry
        held_s = np.full(k, np.inf) if held_s is None else np.asarray(held_s, float)
        first_seen = np.full(k, float(t)) if first_seen is None else np.asarray(first_seen, float)
        out = {"called": np.empty(k, np.int64), "confidence": np.empty(k),
               "class": np.empty(k, np.int64), "zone_level": np.empty((k, n_z), np.int64),
               "alert_level": np.empty((k, n_z), np.int64), "level": np.empty((k, n_a), np.int64),
               "advisory": np.empty((k, n_a), np.int64), "held": np.empty((k, n_a), bool)}
        if k:
            threat_policy(np.ascontiguousarray(class_p, np.float64), np.ascontiguousarray(held_s),
                          g["inside"], g["tte"], g["p_entry"], z.zone_level, z.alert_on, z.asset_start,
                          np.ascontiguousarray(first_seen), float(t), float(cfg.class_min_p),
                          float(cfg.drone_hold_s), float(cfg.horizon_s), float(cfg.p_entry_min),
                          float(cfg.unsettled_threat_min_p), float(cfg.unsettled_lead_s),
                          float(cfg.unknown_hold_s), out["called"], out["confidence"], out["class"],
                          out["zone_level"], out["alert_level"], out["level"], out["advisory"], out["held"])
        return {**g, **out}

    # ------------------------------------------------------------ lifecycle
    def update(self, t, rows, P, class_p, geometry=None):
        """Advance the alerts to epoch ``t`` on the whole picture; return the events (dicts) in order.

        Parameters
        ----------
        t : float
        rows : ndarray of TRACK_ROW_DTYPE
            The track rows of this epoch (any status; only confirmed and
            coasting tracks are evaluated).  A track evaluated before and
            absent now is gone (its alerts wait for a successor).
        P : ndarray, shape (len(rows), 6, 6)
            Track covariances at ``t``.
        class_p : ndarray, shape (len(rows), 4)
            Class probabilities in ``TRACK_CLASSES`` order.
        geometry : dict or None
            The rows' :meth:`geometry`, when the caller kept it (rows of
            unchanged tracks need no new zone evaluation); None: evaluated here.

        The per-track state (first epoch seen, latest settled class, call
        evidence, the latest class probabilities and zone figures) and the
        steady alerts are kept as arrays and matched to the rows with
        ``np.searchsorted``; Python runs only for the alerts that may change
        or say something (a level differs from the published one, a pending
        or lower level, a new threat, a dropped track), so its cost grows
        with the events, not with the tracks in the zones.
        """
        rows, P, class_p, geometry = _confirmed(rows, P, class_p, geometry)
        tids = rows["track_id"].astype(np.int64)
        order = np.argsort(tids, kind="stable")
        ids_sorted = tids[order]
        self._forget(t, self._tracks["ids"][~_match(ids_sorted, self._tracks["ids"])[1]], whole=True)
        prev = self._tracks
        p_idx, p_found = _match(prev["ids"], tids)
        state = {name: _pick(prev[name], p_idx, p_found, fill) for name, fill in _STATE_FILL.items()}
        state["first_seen"] = _pick(prev["first_seen"], p_idx, p_found, float(t))
        called = self.called_class(class_p)[0]
        held_s, calls = self._accumulate_calls(t, state, called)
        ev = self.evaluate(rows, P, class_p, held_s, geometry, state["first_seen"], t)
        events = self._decide(t, ev, rows, tids, order, ids_sorted, state["first_seen"], state["last_settled"])
        last_settled = np.where(ev["class"] != UNKNOWN_CLASS, ev["class"], state["last_settled"])
        self._tracks = {"ids": ids_sorted, "first_seen": state["first_seen"][order],
                        "last_settled": last_settled[order].astype(np.int64),
                        **{n: v[order] for n, v in calls.items()}}
        # the latest call, class probabilities and zone figures by track are gathered only
        # when needed (a gone track's alert, a decision on changed tracks): a replay never does
        self._kept = (order, called, class_p, ev)
        return self._finish(t, events)

    def _figures(self):
        """The per-track state with the latest call, class probabilities and zone figures."""
        if self._kept is not None:
            order, called, class_p, ev = self._kept
            self._kept = None
            self._tracks.update({"called": called[order], "class_p": class_p[order],
                                 **{n: ev[n][order] for n in GEOMETRY}})
        return self._tracks

    def update_tracks(self, t, rows, P, class_p, geometry=None, gone=()):
        """Advance the alerts to ``t`` when only some tracks changed (live mode); the events.

        The picture is the one of the previous call with ``rows`` (the
        tracks updated or started since, at their own state time) put in and
        the ``gone`` track ids taken out.  The events are exactly those of
        :meth:`update` on that whole picture: only the tracks whose outcome
        can differ from the previous decision are evaluated, that is the
        updated ones and those a clock has come due for (their class call
        settling after ``drone_hold_s``, the ``unknown_hold_s`` and
        ``handover_s`` ages, a pending or lower level of their alert, young
        tracks while orphaned alerts look for a successor); the call evidence
        of the others, which grows or drains with time, is advanced on its
        own, with the same arithmetic.

        Parameters
        ----------
        t : float
            Decision time, never before the previous one.
        rows : ndarray of TRACK_ROW_DTYPE
            The changed tracks (any status: only confirmed and coasting ones
            enter the picture; the caller names those that leave it in ``gone``).
        P, class_p, geometry : as in :meth:`update`, for ``rows``.
        gone : sequence of int
            Ids of tracks that left the picture (deleted); unknown ids are ignored.
        """
        rows, P, class_p, geometry = _confirmed(rows, P, class_p, geometry)
        if geometry is None:
            geometry = self.geometry(rows, P)
        gone = np.asarray(gone, np.int64)
        self._figures()
        if gone.size:
            self._forget(t, gone[_match(self._tracks["ids"], gone)[1]])
        updated = self._put(t, rows["track_id"].astype(np.int64), class_p, geometry)
        store = self._tracks
        cfg = self.config
        first_seen = store["first_seen"]
        # the tracks whose outcome can change now (see above): the updated ones, and
        # (a pending or lower level whose time has come; an alert decided on last time:
        # opened, raised or cleared, it changes what the track's next evaluation says)
        due = updated
        keys = self._visited | self._timed_out(t)
        if keys:
            at, found = _match(store["ids"], [key[0] for key in keys])
            due[at[found]] = True
        # with the ages and the call evidence that grows (not settled yet) or drains with time
        called = store["called"]
        cand = due_rows(due, first_seen, float(t), float(self._t_prev), float(cfg.unknown_hold_s),
                        float(cfg.handover_s), bool(self.orphans or self._orphans_before), called,
                        store["has_call"], store["call"], store["count"], float(cfg.drone_hold_s))
        state = {name: store[name][cand] for name in _STATE_FILL}
        held_s, calls = self._accumulate_calls(t, state, called[cand])
        for name, value in calls.items():
            store[name][cand] = value
        # a call that settles changes the track's class: it is decided on too
        pick = due[cand] | (calls["settled"] & ~state["settled"])
        r = cand[pick]
        ids = store["ids"][r]
        ev = self.evaluate(None, None, store["class_p"][r], held_s[pick],
                           {name: store[name][r] for name in GEOMETRY}, first_seen[r], t)
        settled_before = store["last_settled"][r]
        k = r.size
        events = self._decide(t, ev, _id_rows(ids), ids, np.arange(k), ids, first_seen[r], settled_before)
        store["last_settled"][r] = np.where(ev["class"] != UNKNOWN_CLASS, ev["class"], settled_before)
        return self._finish(t, events)

    def _timed_out(self, t):
        """The alerts with a pending or lower level that a visit now could change although their
        track did not: a pending level that has held ``escalate_updates`` epochs of time, a
        lower one whose ``hold_s`` has just passed (after that, its margin changes only with
        the track).  All of them when updates are counted (no ``epoch_s``)."""
        if self.epoch_s is None:
            return set(self._active)
        alerts, epoch_s, t_prev = self.alerts, self.epoch_s, self._t_prev
        escalate, hold_s = self.config.escalate_updates, self.config.hold_s
        keys = set()
        for key in self._active:
            alert = alerts[key]
            if alert.pending_count:
                n = 1 + int(math.floor((t - alert.pending_since) / epoch_s + 1e-9))
                if n >= escalate:
                    keys.add(key)
            elif alert.lower_since is not None:
                if not t - alert.lower_since < hold_s and t_prev - alert.lower_since < hold_s:
                    keys.add(key)
            else:
                keys.add(key)
        return keys

    def _put(self, t, tids, class_p, geometry):
        """Put the changed tracks' class probabilities and zone figures in the per-track state
        (new tracks with a fresh state); a mask of their places in it."""
        store = self._tracks
        called = self.called_class(class_p)[0]
        idx, found = _match(store["ids"], tids)
        every = found.all()
        at, sel = (idx, slice(None)) if every else (idx[found], found)
        store["called"][at] = called[sel]
        store["class_p"][at] = class_p[sel]
        for name in GEOMETRY:
            store[name][at] = geometry[name][sel]
        if not every:
            fresh = ~found
            store = self._tracks = _insert_tracks(store, tids[fresh], float(t), called[fresh],
                                                  class_p[fresh], {name: geometry[name][fresh]
                                                                   for name in GEOMETRY})
            idx = _match(store["ids"], tids)[0]
        mask = np.zeros(store["ids"].size, bool)
        mask[idx] = True
        return mask

    def _forget(self, t, gone, whole=False):
        """Tracks gone from the picture: their advisories are forgotten, their alerts wait for a
        successor (in the order the alerts were opened, as the orphans' clears are written in
        it), their per-track state goes (``whole``: it is replaced next anyway)."""
        if gone.size == 0:
            return
        n_a = max(self.zones.n_assets, 1)
        gone_set = set(gone.tolist())
        for key in [key for key in self.advised if key[0] in gone_set]:
            del self.advised[key]
            self._advised_array = None
        q_key = self._quiet_key
        lost = np.isin(q_key // n_a, gone)
        gone_keys = [(int(code) // n_a, int(code) % n_a) for code in q_key[lost].tolist()]
        gone_keys += [key for key in self._active if key[0] in gone_set]
        if gone_keys:
            self._figures()
            last = self._last_evaluation(np.array(sorted({key[0] for key in gone_keys}), np.int64))
            new = []
            for key in sorted(gone_keys, key=lambda key: self.alerts[key].seq):
                alert = self.alerts.pop(key)
                alert.last = last(alert)
                alert.ref = None
                alert.orphan_since = t
                new.append(alert)
            self.orphans += new
            self._orphan_asset = np.concatenate([self._orphan_asset, [o.asset for o in new]]).astype(np.int64)
            self._orphan_since = np.concatenate([self._orphan_since, np.full(len(new), float(t))])
            self._orphan_xv = np.concatenate([self._orphan_xv, [o.last["x"][[0, 1, 3, 4]] for o in new]])
            self._active -= set(gone_keys)
            self._quiet_key, self._quiet_level = q_key[~lost], self._quiet_level[~lost]
        if not whole:
            store = self._figures()
            keep = ~np.isin(store["ids"], gone)
            self._tracks = {name: value[keep] for name, value in store.items()}

    def _last_evaluation(self, ids):
        """The tracks' evaluation at the previous decision, from their kept state: a function
        giving an alert's event fields (its track one of ``ids``, sorted)."""
        store = self._tracks
        r = _match(store["ids"], ids)[0]
        called = store["called"][r]
        alerting = (called != UNKNOWN_CLASS) & (called != BIRD_CLASS)
        held_s = np.where(alerting & store["has_call"][r] & ~store["settled"][r], store["count"][r], np.inf)
        ev = self.evaluate(None, None, store["class_p"][r], held_s, {name: store[name][r] for name in GEOMETRY})
        rows = _id_rows(ids)
        z = self.zones

        def last(alert):
            i = int(np.searchsorted(ids, alert.track_id))
            a = alert.asset
            lo, hi = z.asset_start[a], z.asset_start[a + 1]
            return self._describe(ev, rows, i, a, lo, hi, int(ev["level"][i, a]))
        return last

    def _decide(self, t, ev, rows, tids, order, ids_sorted, first_seen, settled_before):
        """The advisories and the lifecycle of the evaluated rows (``ev``, any order: ``order``
        sorts ``tids`` into ``ids_sorted``); the events, in asset and track-id order."""
        z = self.zones
        cfg = self.config
        n_a = z.n_assets
        k = tids.size
        events = []
        self._first_seen_row = first_seen
        track_class = ev["class"]
        # a track that was a bird and is now a drone or an aircraft, or was
        # advised, is raised at once
        promoted = ((track_class != UNKNOWN_CLASS) & (track_class != BIRD_CLASS)
                    & (settled_before == BIRD_CLASS))

        # the evaluated rows' advisory levels by row and asset
        adv_level = np.full((k, n_a), NONE, np.int64)
        if self.advised and len(self.advised) > k * n_a:
            # (a few rows of a live decision: looked up, not the whole table built)
            get = self.advised.get
            tid_list = tids.tolist()
            for a in range(n_a):
                adv_level[:, a] = [get((tid, a), _NOT_ADVISED)[0] for tid in tid_list]
        elif self.advised:
            if self._advised_array is None:
                adv = np.empty((len(self.advised), 3), np.int64)
                adv[:, :2] = list(self.advised)
                adv[:, 2] = [v[0] for v in self.advised.values()]
                self._advised_array = adv
            adv = self._advised_array
            at, found = _match(ids_sorted, adv[:, 0])
            adv_level[order[at[found]], adv[found, 1]] = adv[found, 2]

        # the steady alerts of the evaluated rows (the others' stay as they are)
        q_key, q_level = self._quiet_key, self._quiet_level
        q_idx, q_found = _match(ids_sorted, q_key // max(n_a, 1))
        m_level, m_asset = q_level[q_found], q_key[q_found] % max(n_a, 1)
        m_row = order[q_idx[q_found]]
        # where each orphan's track would be now (successors are looked for there)
        dt = t - self._orphan_since + 1.0       # the track was last seen one epoch before
        self._orphan_at = self._orphan_xv[:, :2] + self._orphan_xv[:, 2:] * dt[:, None]
        self._orphans_before = bool(self.orphans)

        visited = set()
        waited = []     # pending or lower alerts this visit left as they were
        for a in range(n_a):
            lo, hi = z.asset_start[a], z.asset_start[a + 1]
            if hi == lo:
                continue
            level, advisory, held = ev["level"][:, a], ev["advisory"][:, a], ev["held"][:, a]
            mine = m_asset == a
            has_alert = np.zeros(k, bool)
            has_alert[m_row[mine]] = True
            # advisories: only where the level rises above the one advised and
            # no alert is published (a quiet alert is; the rest of _advise's
            # conditions are checked there)
            advise = np.flatnonzero((advisory > level) & (track_class == UNKNOWN_CLASS) & ~held
                                    & (advisory > adv_level[:, a]) & ~has_alert)
            if advise.size and self.orphans:
                advise = advise[~self._successors(t, a, advise, ev["x"])]
            for r in advise.tolist():
                event = self._advise(t, ev, rows, r, a, lo, hi, int(advisory[r]))
                if event:
                    events.append(event)
            # steady alerts (published level held, nothing pending) are skipped
            changing = np.zeros(k, bool)
            changing[m_row[mine][level[m_row[mine]] != m_level[mine]]] = True
            active_rows = [key[0] for key in self._active if key[1] == a]
            if active_rows:
                at, found = _match(ids_sorted, active_rows)
                rr = order[at[found]]          # (live: those of the tracks evaluated now)
                has_alert[rr] = True
                changing[rr] = True
            adoptable = bool((self._orphan_asset == a).any())
            may_adopt = (t - first_seen <= cfg.handover_s) if adoptable else np.zeros(k, bool)
            changing |= ~has_alert & (level > NONE) & (~held | may_adopt)
            # rows are sorted by track id, so are the events of one epoch
            level_list = level.tolist()
            for r in np.flatnonzero(changing).tolist():
                track_id = int(tids[r])
                threat = level_list[r]
                alert = self.alerts.get((track_id, a))
                if alert is None and self.orphans:
                    alert = self._adopt_orphan(t, a, track_id, r, ev["x"][r])
                    if alert is not None:
                        alert.track_id = track_id
                        self._open(alert)
                if alert is None:
                    if threat == NONE or self._held_as_unknown(t, ev, track_id, r, lo, hi):
                        continue
                    alert = _Alert(alert_id=0, asset=a, track_id=track_id, level=NONE)
                    self._open(alert)
                visited.add((track_id, a))
                if alert.level == NONE:
                    alert.immediate = bool(promoted[r]) or (track_id, a) in self.advised
                alert.ref = (ev, rows, r, a, lo, hi, threat)
                alert.last = None
                if threat == alert.level and alert.pending_count == 0 and alert.lower_since is None:
                    continue            # steady: nothing to decide, nothing to say
                before = _waiting(alert)
                event = self._step(t, alert, threat)
                if alert.level == NONE and alert.pending_level == NONE:
                    del self.alerts[(track_id, a)]
                if event:
                    events.append(event)
                elif before is not None and _waiting(alert) == before:
                    waited.append((track_id, a))

        # the visited alerts that are steady now join the quiet arrays
        if visited:
            quiet, active = [], set()
            for key in visited:
                alert = self.alerts.get(key)
                if alert is None:
                    continue
                if alert.pending_count == 0 and alert.lower_since is None and alert.level > NONE:
                    quiet.append((key[0] * n_a + key[1], alert.level))
                else:
                    active.add(key)
            visited_code = np.array([tid * n_a + a for tid, a in visited], np.int64)
            stay = np.ones(q_key.size, bool)       # (q_key is sorted and unique)
            if q_key.size:
                at = np.minimum(np.searchsorted(q_key, visited_code), q_key.size - 1)
                stay[at[q_key[at] == visited_code]] = False
            add = np.array(quiet, np.int64).reshape(-1, 2)
            q_key = np.concatenate([q_key[stay], add[:, 0]])
            q_level = np.concatenate([q_level[stay], add[:, 1]])
            o = np.argsort(q_key, kind="stable")
            q_key, q_level = q_key[o], q_level[o]
            self._active = (self._active - visited) | active
        self._quiet_key, self._quiet_level = q_key, q_level
        # the next decision visits these again although their track did not change; not
        # a pending or lower alert this visit left as it was: with its track unchanged the
        # next visit could only do the same, until its time comes (_timed_out)
        self._visited = visited.difference(waited) if waited else visited

        return events

    def _finish(self, t, events):
        """Clear the orphaned alerts that found no successor in time; count the events."""
        cfg = self.config
        self._t_prev = float(t)
        expired = t - self._orphan_since > cfg.handover_s
        if expired.any():
            for i in np.flatnonzero(expired).tolist():
                alert = self.orphans[i]
                events.append(self._event(t, alert, "clear", alert.level, alert.last))
            self.orphans = [o for o, gone in zip(self.orphans, expired.tolist()) if not gone]
            self._orphan_asset = self._orphan_asset[~expired]
            self._orphan_since = self._orphan_since[~expired]
            self._orphan_xv = self._orphan_xv[~expired]
            self._orphan_at = self._orphan_at[~expired]
        for e in events:
            self.counts[e["event"]] += 1
        return events

    def _open(self, alert):
        """Enter an alert in ``alerts`` (its ``seq`` keeps the order they were opened in)."""
        alert.seq = self._next_seq
        self._next_seq += 1
        self.alerts[(alert.track_id, alert.asset)] = alert

    def _accumulate_calls(self, t, state, called):
        """Seconds of evidence behind each row's drone or aircraft call (``inf`` once settled
        and for rows with another call), and the new per-row call state.

        ``state``: the rows' call state after the previous decision
        (``has_call``, ``call``, ``count``, ``settled``; a new track has none).
        Per track, an up-down count of the seconds its call has been made:
        it grows by the time since the previous decision while the
        classifier makes the same call, shrinks by it while the classifier
        calls nothing (``unknown``), and restarts at 0 when it makes another
        call.  Once the count reaches ``drone_hold_s`` the call is settled
        and stays so until the count has drained back to 0 or the call
        changes: a call that comes and goes for an epoch at a time never
        settles, and a settled call survives a brief dip.  One compiled call
        (:func:`kernels.alerts.accumulate_calls`).
        """
        k = called.size
        held_s = np.empty(k)
        new = {"has_call": np.empty(k, bool), "call": np.empty(k, np.int64), "count": np.empty(k),
               "settled": np.empty(k, bool)}
        if k:
            accumulate_calls(np.ascontiguousarray(called, np.int64),
                             np.ascontiguousarray(state["has_call"], bool),
                             np.ascontiguousarray(state["call"], np.int64),
                             np.ascontiguousarray(state["count"], np.float64),
                             np.ascontiguousarray(state["settled"], bool), float(t), float(self._t_prev),
                             float(self.config.drone_hold_s), held_s, new["has_call"], new["call"],
                             new["count"], new["settled"])
        return held_s, new

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
        if self._find_orphan(t, a, r, ev["x"][r]) is not None:
            return None             # a successor of an alerted track: it takes the alert over once settled
        if alert_id == 0:
            alert_id = self.next_alert_id
            self.next_alert_id += 1
        self.advised[key] = (level, alert_id)
        self._advised_array = None
        note = _Alert(alert_id=alert_id, asset=a, track_id=track_id, level=level,
                      ref=(ev, rows, r, a, lo, hi, level))
        return self._event(t, note, "advisory", level, self._info(note))

    def _held_as_unknown(self, t, ev, track_id, r, lo, hi):
        """A young track of unknown class outside every critical zone waits."""
        if ev["class"][r] != UNKNOWN_CLASS:
            return False
        if t - self._first_seen_row[r] >= self.config.unknown_hold_s:
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
            "distance_by_level": self._distance_by_level(ev)[r, a].tolist(),
        }

    def _distance_by_level(self, ev):
        """Signed distance of every row to the nearest zone of each level of each asset, shape
        (rows, assets, levels) (``inf`` where none): computed once per epoch, when an event
        first needs it."""
        by_level = ev.get("distance_by_level")
        if by_level is None:
            z = self.zones
            k = ev["distance"].shape[0]
            by_level = np.full((k, z.n_assets, len(ZONE_LEVELS)), np.inf)
            for a in range(z.n_assets):
                lo, hi = z.asset_start[a], z.asset_start[a + 1]
                for lv in range(len(ZONE_LEVELS)):
                    columns = lo + np.flatnonzero(z.zone_level[lo:hi] == lv)
                    if columns.size and k:
                        by_level[:, a, lv] = ev["distance"][:, columns].min(axis=1)
            ev["distance_by_level"] = by_level
        return by_level

    def _step(self, t, alert, threat):
        cfg = self.config
        if threat > alert.level:
            # a higher level must hold: publish the lowest level seen above
            # the current one over the last escalate_updates epochs
            alert.lower_since = None
            alert.pending_level = threat if alert.pending_count == 0 else min(alert.pending_level, threat)
            if alert.pending_count == 0:
                alert.pending_since = t
            if self.epoch_s is None:
                alert.pending_count += 1
            else:
                alert.pending_count = 1 + int(math.floor((t - alert.pending_since) / self.epoch_s + 1e-9))
            if alert.pending_count >= cfg.escalate_updates or (alert.level == NONE and alert.immediate):
                old = alert.level
                alert.level = alert.pending_level
                alert.pending_level, alert.pending_count = NONE, 0
                if old == NONE:
                    advised = self.advised.pop((alert.track_id, alert.asset), None)
                    self._advised_array = None
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

    def _adopt_orphan(self, t, a, track_id, r, x_new):
        """Take over the orphaned alert of asset ``a`` the track of row ``r`` succeeds (None
        if none)."""
        i = self._find_orphan(t, a, r, x_new)
        if i is None:
            return None
        best = self.orphans.pop(i)
        self._orphan_asset = np.delete(self._orphan_asset, i)
        self._orphan_since = np.delete(self._orphan_since, i)
        self._orphan_xv = np.delete(self._orphan_xv, i, axis=0)
        self._orphan_at = np.delete(self._orphan_at, i, axis=0)
        best.orphan_since = None
        return best

    def _find_orphan(self, t, a, r, x_new):
        """The index in ``orphans`` of an orphaned alert of asset ``a`` whose track was heading
        to where row ``r``'s is (the nearest within ``handover_m``, the last of equals), or None.

        Only a track that appeared after the orphan's track was dropped can
        be its successor.
        """
        first_seen = self._first_seen_row[r]
        if not self.orphans or t - first_seen > self.config.handover_s:
            return None
        since = self._orphan_since
        ok = (self._orphan_asset == a) & ~(first_seen < since - 1.0)
        if not ok.any():
            return None
        at = self._orphan_at
        d = np.hypot(x_new[0] - at[:, 0], x_new[1] - at[:, 1])
        near = ok & (d <= self.config.handover_m)
        if not near.any():
            return None
        best_d = d[near].min()
        return int(np.flatnonzero(near & (d == best_d))[-1])

    def _successors(self, t, a, r, x):
        """Whether :meth:`_find_orphan` finds an orphan for each of rows ``r`` (all at once)."""
        found = np.zeros(r.size, bool)
        young = np.flatnonzero(t - self._first_seen_row[r] <= self.config.handover_s)
        mine = self._orphan_asset == a
        since, at = self._orphan_since[mine] - 1.0, self._orphan_at[mine]
        for lo in range(0, young.size, 256):        # (rows x orphans) a block at a time
            i = young[lo:lo + 256]
            rr = r[i]
            ok = ~(self._first_seen_row[rr][:, None] < since[None, :])
            d = np.hypot(x[rr, 0][:, None] - at[None, :, 0], x[rr, 1][:, None] - at[None, :, 1])
            found[i] = (ok & (d <= self.config.handover_m)).any(axis=1)
        return found

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


#: The per-track call state (see :meth:`AlertManager._accumulate_calls`) and the latest
#: settled class, as a track without any starts.
#: What ``advised.get`` gives for a track and asset not advised (its level first).
_NOT_ADVISED = (NONE,)
_STATE_FILL = {"last_settled": NONE, "has_call": False, "call": NONE, "count": 0.0, "settled": False}
_STATE_DTYPE = {"last_settled": np.int64, "has_call": bool, "call": np.int64, "count": np.float64,
                "settled": bool}


def _waiting(alert):
    """What a visit to a pending or lower alert can change (None for any other alert)."""
    if alert.pending_count == 0 and alert.lower_since is None:
        return None
    return (alert.level, alert.pending_level, alert.pending_since, alert.lower_since)


def _confirmed(rows, P, class_p, geometry):
    """The confirmed and coasting rows (and their covariances, probabilities and figures)."""
    keep = (rows["status"] == 2) | (rows["status"] == 3)
    if keep.all():
        return rows, P, class_p, geometry
    if geometry is not None:
        geometry = {name: value[keep] for name, value in geometry.items()}
    return rows[keep], (None if P is None else P[keep]), class_p[keep], geometry


def _id_rows(ids):
    """Rows holding only the track ids (what an event description reads of a row)."""
    rows = np.empty(ids.size, [("track_id", np.int64)])
    rows["track_id"] = ids
    return rows


def _insert_tracks(store, ids, t, called, class_p, geometry):
    """The per-track state ``store`` (sorted by id) with new tracks ``ids`` (none of them in it,
    any order) put in their places: first seen at ``t``, the state of a fresh track.  Each
    array is written once into its new place (not concatenated and re-sorted)."""
    old_ids = store["ids"]
    m, n = old_ids.size, ids.size
    o = np.argsort(ids, kind="stable")
    new_ids = ids[o]
    new = {"ids": new_ids, "first_seen": t, "called": called[o], "class_p": class_p[o],
           **{name: value[o] for name, value in geometry.items()}, **_STATE_FILL}
    if m == 0 or new_ids[0] > old_ids[-1]:
        # (new tracks of higher ids: appended)
        dest_old, dest_new = slice(0, m), slice(m, m + n)
    else:
        dest_new = np.searchsorted(old_ids, new_ids) + np.arange(n)
        dest_old = np.searchsorted(new_ids, old_ids) + np.arange(m)
    merged = {}
    for name, value in store.items():
        out = np.empty((m + n,) + value.shape[1:], value.dtype)
        out[dest_old] = value
        out[dest_new] = new[name]
        merged[name] = out
    return merged


def _match(ids_sorted, query):
    """Where each of ``query`` is in ``ids_sorted`` (clipped) and whether it is there."""
    query = np.asarray(query, np.int64)
    if ids_sorted.size == 0:
        return np.zeros(query.size, np.intp), np.zeros(query.size, bool)
    idx = np.minimum(np.searchsorted(ids_sorted, query), ids_sorted.size - 1)
    return idx, ids_sorted[idx] == query


def _pick(values, idx, found, fill):
    """``values[idx]`` where found, else ``fill``."""
    if values.size == 0:
        return np.full(idx.size, fill, values.dtype)
    return np.where(found, values[idx], fill).astype(values.dtype, copy=False)


def _round(value, digits=3):
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


class AlertJsonlWriter:
    """Appends alert events to an alerts.jsonl file, one JSON object per line."""

    def __init__(self, path):
        self._file = open(path, "w", encoding="utf-8")
        self.events_written = 0

    def write(self, events):
        for event in events:
            self._file.write(json.dumps(event, separators=(", ", ": ")) + "\n")
        self.events_written += len(events)

    def flush(self):
        self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
