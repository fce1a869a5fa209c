"""Bird and drone figures: birds that alert, drone recall, class timing and calibration.

What an operator of a protected site cares about is that every drone is
alerted early and birds almost never.  :func:`bird_drone_scores` measures it
from the truth (``kind`` and, when present, ``behaviour``), the alert events
and the tracks' classes:

Birds that raised an alert
    A bird raised an alert when a ``raise`` event is attributed to it (the
    truth nearest the event horizontally, within 150 m, as in
    :func:`radarcore.analysis.scores.attribute_events`).  The level an alert
    reached is the highest of its ``raise`` and ``escalate`` events; a bird
    reached level L when one of its alerts did.  Shares are over the birds of
    the truth (all of them; with a site, those ever in coverage), overall and
    by behaviour.  ``advisory`` events (not alerts) are counted apart, as the
    share of birds with an advisory; ``acknowledge`` events are ignored.
Raises per hour by target
    ``raise`` events attributed to birds and to no target, per hour of truth,
    by level at the raise, and per bird behaviour.
Drone recall and lead time
    Per drone behaviour (or kind without a behaviour column), over the first
    entries of drones into zones that are expected to alert on them (the
    intrusions of :func:`radarcore.analysis.scores.alert_scores`): entries,
    entries alerted before entry, recall, median and minimum lead time.
Time to a confident ``drone`` class
    Per drone: from its confirmation (the first epoch a track holds it, the
    ``first_assigned_s`` of the track scores) to the first epoch a track
    holding it says ``drone`` with probability at least ``p_min`` (0.8).
    Share of drones with a delay of at most 10 s, median delay, drones never
    called drone.  Needs the tracks' classes at every epoch (``--classes``);
    from alert events alone (the class is written on events only) the delay
    is an upper bound and is marked so.
Confusion matrix
    Truth behaviour (or kind) x track class, over class rows paired with a
    truth: track-epochs (from a class table) or events (from alert events).
    A row whose top probability is below ``class_min_p`` (0.6, the engine's
    default) is ``unknown``.
Reliability (calibration)
    Top-label confidence against the share of rows whose top class is the
    truth's class, in ten bins of confidence; expected calibration error
    ``ECE = sum_b n_b / n |accuracy_b - confidence_b|``; and, with class
    probabilities, the same for ``P(drone)`` against "the truth is a drone".

Class rows come from one of three sources, best first: a class table given
to :func:`bird_drone_scores` (from ``radarcore evaluate --classes CSV`` or
:func:`run_engine_with_classes`), class columns in tracks.csv, or the
``class`` and ``class_confidence`` fields of the alert events.
"""
from __future__ import annotations

import csv
import math

import numpy as np

from radarcore.core.config import TRACK_CLASSES, ZONE_LEVELS
from radarcore.analysis.scores import interpolate_truth, track_class_of_kind

__all__ = ["CLASS_DTYPE", "ATTRIBUTION_RADIUS_M", "bird_drone_scores", "read_classes_csv",
           "write_classes_csv", "classes_from_events", "run_engine_with_classes",
           "attribute_nearest"]

#: A track's class probabilities at one epoch: ``p`` in the order of
#: TRACK_CLASSES (drone, bird, aircraft, unknown).
CLASS_DTYPE = np.dtype([("time_s", "f8"), ("track_id", "i8"), ("p", "f8", (len(TRACK_CLASSES),))])

#: An event belongs to the truth nearest it horizontally within this (m).
ATTRIBUTION_RADIUS_M = 150.0
#: Confidence a ``drone`` call must reach for the time-to-class figure.
DRONE_P_MIN = 0.8
#: Delay (s) after confirmation within which a drone should be called drone.
DRONE_CLASS_WITHIN_S = 10.0
#: Below this top probability a track's class is ``unknown`` (engine default).
CLASS_MIN_P = 0.6
RELIABILITY_BINS = 10

_LEVEL_RANK = {level: k for k, level in enumerate(ZONE_LEVELS)}
_UNKNOWN = TRACK_CLASSES.index("unknown")


# --------------------------------------------------------------------------
# Class rows: reading, writing, from events, from the engine
# --------------------------------------------------------------------------

def read_classes_csv(path):
    """Read a track-class table.

    Header, then one row per track and epoch.  Columns by name:
    ``time_s``, ``track_id``, and either the class probabilities
    ``p_drone``, ``p_bird``, ``p_aircraft`` (``p_unknown`` optional: one
    minus the others when missing) or ``class`` and ``class_confidence``
    (the stated class gets the confidence, the rest is spread evenly).

    Returns
    -------
    ndarray of CLASS_DTYPE

    Raises
    ------
    ValueError
        A missing column, a bad number or an unknown class (the message
        names the file and the line).
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise ValueError(f"{path}: no header line")
        header = [cell.strip() for cell in header]
        with_p = all(f"p_{name}" in header for name in ("drone", "bird", "aircraft"))
        needed = ["time_s", "track_id"] + (["p_drone", "p_bird", "p_aircraft"] if with_p
                                           else ["class", "class_confidence"])
        missing = [name for name in needed if name not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (need time_s, "
                             "track_id and p_drone, p_bird, p_aircraft or class, class_confidence)")
        col = {name: header.index(name) for name in header}
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            try:
                t = float(row[col["time_s"]])
                track_id = int(row[col["track_id"]])
                if with_p:
                    p = [float(row[col[f"p_{name}"]]) for name in ("drone", "bird", "aircraft")]
                    p.append(float(row[col["p_unknown"]]) if "p_unknown" in col
                             else max(0.0, 1.0 - sum(p)))
                else:
                    p = _spread(row[col["class"]].strip(), float(row[col["class_confidence"]]))
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}: line {reader.line_num}: {exc}") from None
            rows.append((t, track_id, p))
    return np.array(rows, dtype=CLASS_DTYPE) if rows else np.zeros(0, CLASS_DTYPE)


def write_classes_csv(path, classes):
    """Write a class table (CLASS_DTYPE) with ``p_drone, p_bird, p_aircraft, p_unknown``."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("time_s,track_id," + ",".join(f"p_{name}" for name in TRACK_CLASSES) + "\n")
        for row in classes:
            f.write(f"{row['time_s']:.3f},{int(row['track_id'])},"
                    + ",".join(f"{value:.4f}" for value in row["p"]) + "\n")


def _spread(name, confidence):
    """Probabilities with ``confidence`` on class ``name`` and the rest spread evenly."""
    if name not in TRACK_CLASSES:
        raise ValueError(f"unknown class {name!r} (expected one of {', '.join(TRACK_CLASSES)})")
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise ValueError(f"class_confidence must be in [0, 1], got {confidence}")
    k = TRACK_CLASSES.index(name)
    rest = (1.0 - confidence) / (len(TRACK_CLASSES) - 1)
    return [confidence if j == k else rest for j in range(len(TRACK_CLASSES))]


def classes_from_events(events):
    """Class rows of the alert events that carry ``class`` and ``class_confidence``.

    The engine writes the track's class on every event; a class it calls
    ``unknown`` (top probability below its threshold) carries the top
    probability of another class, so only its name is known: such rows are
    kept as ``unknown`` with that confidence.
    """
    rows = []
    for e in events:
        name, confidence = e.get("class"), e.get("class_confidence")
        if name not in TRACK_CLASSES or confidence is None or e.get("track_id") is None:
            continue
        try:
            p = _spread(name, float(confidence))
        except ValueError:
            continue
        rows.append((float(e["time_s"]), int(e["track_id"]), p))
    return np.array(rows, dtype=CLASS_DTYPE) if rows else np.zeros(0, CLASS_DTYPE)


def run_engine_with_classes(site, plots, chunk_s=10.0):
    """Run the engine over plots and keep every output row's class probabilities.

    The engine computes the class probabilities of every output row for the
    alerts but does not yet publish them (tracks.csv has no class column);
    this wraps the engine's row builder to keep them.  It reads a private
    method of :class:`radarcore.core.engine.Engine` and is meant for
    evaluation only, until the engine exposes the classes.

    Returns
    -------
    tracks : ndarray of TRACK_ROW_DTYPE
    events : list of dict
        Alert events.
    classes : ndarray of CLASS_DTYPE
    """
    from radarcore.core.engine import Engine

    engine = Engine(site)
    kept = []
    original = engine._rows

    def rows_with_classes(out_t, out_id, out_status, out_x, out_sigma, out_P, out_class):
        if out_t.size:
            part = np.zeros(out_t.size, CLASS_DTYPE)
            part["time_s"], part["track_id"], part["p"] = out_t, out_id, out_class
            kept.append(part)
        return original(out_t, out_id, out_status, out_x, out_sigma, out_P, out_class)

    engine._rows = rows_with_classes
    parts, events = [], []
    t = plots["time_s"]
    edges = np.arange(t.min(), t.max() + chunk_s, chunk_s) if t.size else np.zeros(0)
    for lo, hi in zip(np.searchsorted(t, edges[:-1]), np.searchsorted(t, edges[1:])):
        parts.append(engine.process(plots[lo:hi]))
        events.extend(engine.pop_alerts())
    parts.append(engine.flush())
    events.extend(engine.pop_alerts())
    tracks = np.concatenate([p for p in parts if p is not None and p.size] or [parts[-1]])
    classes = np.concatenate(kept) if kept else np.zeros(0, CLASS_DTYPE)
    order = np.lexsort((classes["track_id"], classes["time_s"]))
    return tracks, events, classes[order]


# --------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------

def attribute_nearest(times, east_m, north_m, truth, radius_m=ATTRIBUTION_RADIUS_M):
    """Target id of the truth nearest (horizontally) each point, 0 if none within ``radius_m``.

    Truth is interpolated linearly to each distinct time.

    Parameters
    ----------
    times, east_m, north_m : array_like, shape (n,)
    truth : ndarray of TRUTH_DTYPE

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    times = np.asarray(times, float)
    east_m = np.asarray(east_m, float)
    north_m = np.asarray(north_m, float)
    out = np.zeros(times.size, np.int64)
    if times.size == 0 or truth.size == 0:
        return out
    unique = np.unique(times)
    tr = interpolate_truth(truth, unique)
    order = np.argsort(tr["time_s"], kind="stable")
    tr_t = tr["time_s"][order]
    tr_xy = tr["xyz"][order, :2]
    tr_id = tr["target_id"][order]
    for t in unique:
        lo, hi = np.searchsorted(tr_t, t, "left"), np.searchsorted(tr_t, t, "right")
        mine = np.flatnonzero(times == t)
        if hi == lo:
            continue
        d = np.hypot(tr_xy[lo:hi, 0][None, :] - east_m[mine, None],
                     tr_xy[lo:hi, 1][None, :] - north_m[mine, None])
        k = np.argmin(d, axis=1)
        near = d[np.arange(mine.size), k] <= radius_m
        out[mine[near]] = tr_id[lo:hi][k[near]]
    return out


def _pair_lookup(pairs):
    """(time_s, track_id) -> target_id of the primary pairs, as sorted keys."""
    if not pairs or len(pairs.get("time_s", ())) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = _key(pairs["time_s"], pairs["track_id"])
    order = np.argsort(keys)
    return keys[order], np.asarray(pairs["target_id"], np.int64)[order]


def _key(times, track_ids):
    return (np.round(np.asarray(times, float) * 1000.0).astype(np.int64) * (1 << 24)
            + np.asarray(track_ids, np.int64) % (1 << 24))


def _lookup(keys, values, times, track_ids):
    if keys.size == 0:
        return np.zeros(np.size(times), np.int64)
    query = _key(times, track_ids)
    at = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    return np.where(keys[at] == query, values[at], 0)


# --------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------

def _labels(truth):
    """target id -> (kind, behaviour or kind)."""
    first = {}
    has_behaviour = "behaviour" in (truth.dtype.names or ())
    for k in range(truth.size):
        target_id = int(truth["target_id"][k])
        if target_id in first:
            continue
        kind = str(truth["kind"][k]) or "unknown"
        behaviour = str(truth["behaviour"][k]) if has_behaviour else ""
        first[target_id] = (kind, behaviour or kind)
    return first, has_behaviour


def _median(values):
    return float(np.median(values)) if len(values) else float("nan")


def _alert_levels(events, truth_of_raise):
    """alert_id -> (target_id, highest level rank, first raise time, level at raise)."""
    alerts = {}
    for e in events:
        if e["event"] == "raise":
            alerts[e["alert_id"]] = [truth_of_raise[id(e)], _LEVEL_RANK.get(e.get("level"), 0),
                                     float(e["time_s"]), e.get("level")]
    for e in events:
        if e["event"] == "escalate" and e["alert_id"] in alerts:
            a = alerts[e["alert_id"]]
            a[1] = max(a[1], _LEVEL_RANK.get(e.get("level"), 0))
    return alerts


def _birds_section(events, truth, labels, birds, hours, by_behaviour):
    raises = [e for e in events if e["event"] == "raise"]
    advisories = [e for e in events if e["event"] == "advisory"
                  and e.get("east_m") is not None and e.get("north_m") is not None]
    attributed = attribute_nearest([e["time_s"] for e in raises + advisories],
                                   [e["east_m"] for e in raises + advisories],
                                   [e["north_m"] for e in raises + advisories], truth)
    truth_of = {id(e): int(t) for e, t in zip(raises + advisories, attributed)}
    alerts = _alert_levels(events, truth_of)
    reached = {}
    for target_id, rank, _, _ in alerts.values():
        if target_id:
            reached[target_id] = max(reached.get(target_id, -1), rank)
    advised = {truth_of[id(e)] for e in advisories if truth_of[id(e)]}

    def shares(group):
        n = len(group)
        out = {"birds": n}
        ranks = [reached.get(b, -1) for b in group]
        out["with_alert"] = sum(1 for r in ranks if r >= 0)
        out["share_any"] = out["with_alert"] / n if n else float("nan")
        for level, rank in _LEVEL_RANK.items():
            count = sum(1 for r in ranks if r >= rank)
            out[f"share_{level}_or_higher"] = count / n if n else float("nan")
        out["share_with_advisory"] = (sum(1 for b in group if b in advised) / n if n
                                      else float("nan"))
        return out

    section = shares(birds)
    if by_behaviour:
        section["by_behaviour"] = {
            behaviour: shares([b for b in birds if labels[b][1] == behaviour])
            for behaviour in sorted({labels[b][1] for b in birds})}
    # Raises per hour by the kind of the target they are attributed to.
    per_hour = {"bird": {}, "none": {}}
    per_behaviour = {}
    for e in raises:
        target_id = truth_of[id(e)]
        kind = labels[target_id][0] if target_id in labels else "none"
        if kind not in ("bird", "none"):
            continue
        level = e.get("level") or "none"
        per_hour[kind][level] = per_hour[kind].get(level, 0) + 1
        if kind == "bird":
            behaviour = labels[target_id][1]
            per_behaviour[behaviour] = per_behaviour.get(behaviour, 0) + 1
    rate = (lambda n: n / hours) if hours > 0 else (lambda n: float("nan"))
    section["raises"] = {kind: sum(levels.values()) for kind, levels in per_hour.items()}
    section["raises_per_hour"] = {
        kind: {"total": rate(sum(levels.values())),
               **{level: rate(levels.get(level, 0)) for level in ZONE_LEVELS}}
        for kind, levels in per_hour.items()}
    if by_behaviour:
        section["raises_per_hour_by_behaviour"] = {b: rate(n) for b, n in sorted(per_behaviour.items())}
    section["advisories"] = len(advisories)
    section["hours"] = hours
    return section


def _drone_recall(alert_scores, labels):
    groups = {}
    for i in alert_scores.intrusions:
        target_id = i["target_id"]
        if not i["expected"] or target_id not in labels or labels[target_id][0] != "drone":
            continue
        g = groups.setdefault(labels[target_id][1], {"entries": 0, "alerted": 0, "leads": [],
                                                     "drones": set(), "by_level": {}})
        g["entries"] += 1
        g["drones"].add(target_id)
        level = g["by_level"].setdefault(i["level"], {"entries": 0, "alerted": 0, "leads": []})
        level["entries"] += 1
        if i["alerted"]:
            g["alerted"] += 1
            g["leads"].append(i["lead_s"])
            level["alerted"] += 1
            level["leads"].append(i["lead_s"])

    def summary(g):
        return {"entries": g["entries"], "alerted_before_entry": g["alerted"],
                "recall": g["alerted"] / g["entries"] if g["entries"] else float("nan"),
                "lead_time_median_s": _median(g["leads"]),
                "lead_time_min_s": float(min(g["leads"])) if g["leads"] else float("nan")}

    out = {}
    total = {"entries": 0, "alerted": 0, "leads": []}
    for name, g in sorted(groups.items()):
        out[name] = {**summary(g), "drones": len(g["drones"]),
                     "by_level": {level: summary(v) for level, v in sorted(g["by_level"].items(),
                                                                           key=lambda kv: _LEVEL_RANK[kv[0]])}}
        total["entries"] += g["entries"]
        total["alerted"] += g["alerted"]
        total["leads"] += g["leads"]
    return {"all": summary(total), "by_behaviour": out}


def _classify_rows(classes, truth_of_row, labels, class_min_p):
    """Confusion counts, reliability bins and the drone-probability bins."""
    p = classes["p"]
    top = p.argmax(axis=1) if p.size else np.zeros(0, int)
    confidence = p[np.arange(p.shape[0]), top] if p.size else np.zeros(0)
    called = np.where(confidence >= class_min_p, top, _UNKNOWN)
    paired = truth_of_row > 0
    rows_truth = [labels[int(t)] if int(t) in labels else ("none", "none") for t in truth_of_row]
    confusion = {}
    for k in np.flatnonzero(paired):
        row = confusion.setdefault(rows_truth[k][1], {name: 0 for name in TRACK_CLASSES})
        row[TRACK_CLASSES[int(called[k])]] += 1
    truth_class = np.array([TRACK_CLASSES.index(track_class_of_kind(kind)) for kind, _ in rows_truth],
                           dtype=np.int64) if rows_truth else np.zeros(0, np.int64)
    correct = (top == truth_class) & paired
    reliability = _reliability(confidence[paired], correct[paired])
    is_drone = truth_class[paired] == TRACK_CLASSES.index("drone")
    drone_reliability = _reliability(p[paired, 0], is_drone) if p.size else _reliability(
        np.zeros(0), np.zeros(0, bool))
    return confusion, reliability, drone_reliability


def _reliability(confidence, outcome):
    """Ten equal bins of [0, 1]: count, mean confidence, observed frequency; and the ECE."""
    edges = np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    bins = []
    ece = 0.0
    n = confidence.size
    for b in range(RELIABILITY_BINS):
        mine = index == b
        count = int(mine.sum())
        mean_conf = float(confidence[mine].mean()) if count else float("nan")
        frequency = float(outcome[mine].mean()) if count else float("nan")
        if count:
            ece += count / n * abs(frequency - mean_conf)
        bins.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": count,
                     "confidence": mean_conf, "frequency": frequency})
    return {"bins": bins, "ece": ece if n else float("nan"), "rows": int(n)}


def _drone_class_timing(classes, truth_of_row, labels, first_assigned, p_min, within_s):
    drones = sorted(t for t, (kind, _) in labels.items() if kind == "drone" and t in first_assigned)
    first_call = {}
    drone_index = TRACK_CLASSES.index("drone")
    confident = (classes["p"][:, drone_index] >= p_min) if classes.size else np.zeros(0, bool)
    for k in np.flatnonzero(confident & (truth_of_row > 0)):
        target_id = int(truth_of_row[k])
        t = float(classes["time_s"][k])
        if t < first_call.get(target_id, np.inf):
            first_call[target_id] = t
    per = {}
    delays = []
    for target_id in drones:
        delay = (max(0.0, first_call[target_id] - first_assigned[target_id])
                 if target_id in first_call else None)
        per[target_id] = {"behaviour": labels[target_id][1], "confirmed_s": first_assigned[target_id],
                          "drone_class_s": first_call.get(target_id), "delay_s": delay}
        if delay is not None:
            delays.append(delay)
    n = len(drones)
    within = sum(1 for v in per.values() if v["delay_s"] is not None and v["delay_s"] <= within_s)
    by_behaviour = {}
    for behaviour in sorted({v["behaviour"] for v in per.values()}):
        mine = [v for v in per.values() if v["behaviour"] == behaviour]
        ok = [v["delay_s"] for v in mine if v["delay_s"] is not None]
        by_behaviour[behaviour] = {
            "drones": len(mine),
            "within_share": sum(1 for d in ok if d <= within_s) / len(mine),
            "delay_median_s": _median(ok), "never": len(mine) - len(ok)}
    return {"drones_confirmed": n, "p_min": p_min, "within_s": within_s,
            "within_share": within / n if n else float("nan"),
            "delay_median_s": _median(delays), "never": n - len(delays),
            "by_behaviour": by_behaviour, "per_drone": per}


def bird_drone_scores(truth, scores, alert_events=None, alert_scores=None, classes=None,
                      coverage_ids=None, p_min=DRONE_P_MIN, within_s=DRONE_CLASS_WITHIN_S,
                      class_min_p=CLASS_MIN_P):
    """The bird and drone figures of the module docstring.

    Parameters
    ----------
    truth : ndarray of TRUTH_DTYPE (with or without ``behaviour``)
    scores : radarcore.analysis.scores.Scores
        Track scores (primary pairs and first tracked epochs).
    alert_events : list of dict, optional
        alerts.jsonl events (``advisory`` and ``acknowledge`` included).
    alert_scores : radarcore.analysis.scores.AlertScores, optional
        For the drone intrusions.
    classes : ndarray of CLASS_DTYPE, optional
        Track classes per epoch; from the alert events when None.
    coverage_ids : set of int, optional
        Truth targets ever in coverage; the bird shares count only those.
    p_min, within_s, class_min_p : float

    Returns
    -------
    dict
        ``behaviour_column``, ``birds`` (None without events),
        ``drone_alerts`` (None without alert scores), ``class_source``
        (``table``, ``alert events`` or None), ``drone_class``,
        ``confusion``, ``reliability``, ``drone_reliability``.
    """
    labels, has_behaviour = _labels(truth)
    hours = float(np.ptp(truth["time_s"])) / 3600.0 if truth.size else 0.0
    if scores is not None and getattr(scores, "hours", 0) > 0:
        hours = scores.hours
    birds = sorted(t for t, (kind, _) in labels.items() if kind == "bird"
                   and (coverage_ids is None or t in coverage_ids))
    out = {"behaviour_column": has_behaviour, "birds": None, "drone_alerts": None,
           "class_source": None, "drone_class": None, "confusion": None, "reliability": None,
           "drone_reliability": None}
    if alert_events is not None:
        out["birds"] = _birds_section(alert_events, truth, labels, birds, hours, True)
    if alert_scores is not None:
        out["drone_alerts"] = _drone_recall(alert_scores, labels)
    source = None
    if classes is not None and classes.size:
        source = "table"
        keys, values = _pair_lookup(scores.pairs if scores is not None else {})
        truth_of_row = _lookup(keys, values, classes["time_s"], classes["track_id"])
    elif alert_events:
        lifecycle = [e for e in alert_events if e.get("east_m") is not None
                     and e.get("class") in TRACK_CLASSES and e.get("class_confidence") is not None
                     and e.get("track_id") is not None]
        classes = classes_from_events(lifecycle)
        if classes.size:
            source = "alert events"
            truth_of_row = attribute_nearest([e["time_s"] for e in lifecycle],
                                             [e["east_m"] for e in lifecycle],
                                             [e["north_m"] for e in lifecycle], truth)
    if source is None:
        return out
    out["class_source"] = source
    confusion, reliability, drone_reliability = _classify_rows(classes, truth_of_row, labels,
                                                               class_min_p)
    out["confusion"] = confusion
    out["reliability"] = reliability
    out["drone_reliability"] = drone_reliability
    first_assigned = dict(getattr(scores, "first_assigned_s", {}) or {}) if scores is not None else {}
    out["drone_class"] = _drone_class_timing(classes, truth_of_row, labels, first_assigned,
                                             p_min, within_s)
    out["drone_class"]["upper_bound"] = source != "table"
    return out
