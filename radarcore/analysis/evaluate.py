"""``radarcore evaluate``: fused tracks scored against ground truth.

::

    radarcore evaluate --truth truth.csv --tracks tracks.csv
                       [--alerts alerts.jsonl --site site.toml] [--report DIR] [--cutoff C]

Works on a tracks.csv written by any tracker: only the columns of
docs/formats.md are read.  Rows whose status is ``confirmed`` or ``coasting``
are scored when the file has any; otherwise (a tracker that writes only
``tentative``, say) every row is scored.  Truth and tracks must share one
time axis.

With ``--site``, truths farther than every radar's ``max_range_m`` (3-D
distance in the site's ENU frame) do not count; without it every truth
counts.  With ``--alerts`` (which needs ``--site``), alerts are scored
against the true zone entries of the truth
(:func:`radarcore.sim.intrusions.truth_zone_events`), with the kinds of the
truth's ``kind`` column.

The figures and their definitions are those of :mod:`radarcore.analysis.scores`:
GOSPA (``p = 2``, ``alpha = 2``, cut-off ``C``, default 50 m) per output
epoch and averaged, with its localisation, missed and false parts; OSPA;
completeness, spuriousness, ambiguity, id switches and breaks, longest
segment, time to confirm, false tracks per hour, position and velocity RMSE,
horizontal NEES from ``sigma_pos_m``; intrusions alerted before entry with
lead times, missed intrusions, false alerts by the kind of the nearest truth,
level churn; and the bird and drone figures of :mod:`radarcore.analysis.birds`:
the share of birds that raised an alert (by level and by behaviour, when
truth.csv has the ``behaviour`` column), raises per hour attributed to birds
and to no target, drone recall and lead time per behaviour, time from a
drone's confirmation to a confident ``drone`` class, a confusion matrix and
a reliability diagram of the track classes (``--classes CSV``, or the
classes written on the alert events).  ``advisory`` and ``acknowledge``
events are read and never counted as alerts.

Output: a table on stdout and ``metrics.json`` (NaN written as null) in the
tracks' folder, or in ``DIR`` with ``--report``, which also writes the
figures and ``index.html`` (:mod:`radarcore.analysis.report`).
"""
import json
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from ingest.csvio import read_tracks_csv, read_truth_csv
from ingest.schema import TRACK_STATUS_NAMES
from radarcore.core.config import ZONE_LEVELS, ConfigError, load_site
from radarcore.analysis.tables import flat_metrics, format_table, table_rows, write_metrics_json
from radarcore.analysis.scores import (
    ALL_STATUSES,
    CONFIRMED_STATUSES,
    AlertScores,
    Scores,
    alert_scores,
    score,
    site_coverage,
)

__all__ = ["DEFAULT_CUTOFF_M", "Evaluation", "evaluate", "site_coverage", "scored_statuses",
           "read_alerts_jsonl", "table_rows", "format_table", "flat_metrics", "write_metrics_json",
           "add_parser", "run"]

#: Default GOSPA/OSPA cut-off and association distance (m).
DEFAULT_CUTOFF_M = 50.0

ALERT_EVENT_KEYS = ("time_s", "alert_id", "event", "asset_id", "level", "track_id", "east_m", "north_m")
#: The alert lifecycle: only ``raise`` opens an alert.
ALERT_EVENTS = ("raise", "escalate", "deescalate", "clear")
#: Events that are not part of an alert's lifecycle (docs/formats.md): an
#: ``advisory`` is a track worth the operator's eye, not an alert; an
#: ``acknowledge`` is the operator's.  Neither is counted as an alert.
OTHER_EVENTS = ("advisory", "acknowledge")
#: Keys each of those must have.
OTHER_EVENT_KEYS = {"advisory": ("time_s", "event", "track_id", "east_m", "north_m"),
                    "acknowledge": ("time_s", "event", "alert_id")}


@dataclass
class Evaluation:
    """Everything :func:`evaluate` found; ``metrics`` is what metrics.json holds.

    Attributes
    ----------
    metrics : dict
        Sections ``inputs``, ``gospa``, ``tracks``, ``per_truth``, ``alerts``
        (None without alerts), ``birds`` (bird and drone figures,
        :func:`radarcore.analysis.birds.bird_drone_scores`).
    scores : Scores
        Per-epoch arrays, per-truth figures and the primary pairs.
    alerts : AlertScores or None
    truth : ndarray of TRUTH_DTYPE
    tracks : ndarray of TRACK_ROW_DTYPE
        The rows scored (status filter applied).
    site : SiteConfig or None
    alert_events : list of dict or None
    zone_events : ndarray of ZONE_EVENT_DTYPE or None
    """

    metrics: dict
    scores: Scores
    alerts: AlertScores | None
    truth: np.ndarray
    tracks: np.ndarray
    site: object = None
    alert_events: list | None = None
    zone_events: np.ndarray | None = None


def scored_statuses(tracks):
    """Status codes to score: confirmed and coasting when present, else all."""
    if np.isin(tracks["status"], CONFIRMED_STATUSES).any():
        return CONFIRMED_STATUSES
    return ALL_STATUSES


def _finite(value):
    return float(value) if value is not None and math.isfinite(float(value)) else float("nan")


def _alert_section(a):
    expected = [i for i in a.intrusions if i["expected"]]
    lead = np.array(a.lead_times_s, float)
    by_level = {}
    for level in ZONE_LEVELS:
        mine = [i for i in expected if i["level"] == level]
        leads = [i["lead_s"] for i in mine if i["alerted"]]
        by_level[level] = {
            "intrusions": len(mine),
            "alerted_before_entry": sum(1 for i in mine if i["alerted"]),
            "missed": sum(1 for i in mine if not i["alerted"]),
            "lead_time_median_s": float(np.median(leads)) if leads else float("nan"),
        }
    false_total = sum(a.false_alerts.values())
    return {
        "alerts": a.alerts,
        "raises": a.raises,
        "intrusions": len(a.intrusions),
        "expected_intrusions": len(expected),
        "alerted_before_entry": len(expected) - a.missed_intrusions,
        "missed_intrusions": a.missed_intrusions,
        "lead_time_mean_s": float(lead.mean()) if lead.size else float("nan"),
        "lead_time_median_s": float(np.median(lead)) if lead.size else float("nan"),
        "lead_time_min_s": float(lead.min()) if lead.size else float("nan"),
        "false_alerts": false_total,
        "false_alerts_by_kind": dict(sorted(a.false_alerts.items())),
        "false_alerts_per_hour": false_total / a.hours if a.hours > 0 else float("nan"),
        "level_changes": a.level_changes,
        "level_changes_per_alert": a.level_changes / a.alerts if a.alerts else float("nan"),
        "flaps": a.flaps,
        "hours": a.hours,
        "by_level": by_level,
        "intrusion_list": a.intrusions,
    }


def evaluate(truth, tracks, site=None, alert_events=None, cutoff_m=DEFAULT_CUTOFF_M, inputs=None,
             classes=None):
    """Score track rows (and alert events) against truth.

    Parameters
    ----------
    truth : ndarray of TRUTH_DTYPE, shape (n_truth_rows,)
    tracks : ndarray of TRACK_ROW_DTYPE, shape (n_track_rows,)
        From any tracker; see :func:`scored_statuses` for the rows scored.
    site : SiteConfig, optional
        Coverage (radar ranges) and zones.
    alert_events : list of dict, optional
        alerts.jsonl events; scored only with a ``site``.
    cutoff_m : float
        GOSPA/OSPA cut-off and association distance (m).
    inputs : dict, optional
        File names etc., copied into ``metrics["inputs"]``.
    classes : ndarray of radarcore.analysis.birds.CLASS_DTYPE, optional
        The tracks' class probabilities per epoch, for the class figures of
        ``metrics["birds"]``; from the alert events' ``class`` fields when
        None.

    Returns
    -------
    Evaluation
    """
    cutoff_m = float(cutoff_m)
    if not (math.isfinite(cutoff_m) and cutoff_m > 0.0):
        raise ValueError(f"the cut-off must be a positive number of metres, got {cutoff_m}")
    if alert_events is not None and site is None:
        raise ValueError("alert events can only be scored with a site (its zones)")
    statuses = scored_statuses(tracks)
    coverage = site_coverage(site) if site is not None else None
    scores = score(truth, tracks, c=cutoff_m, p=2.0, coverage=coverage, statuses=statuses)
    scored = tracks[np.isin(tracks["status"], statuses)]
    alerts = zone_events = None
    if alert_events is not None:
        from radarcore.sim.intrusions import truth_zone_events

        zone_events = truth_zone_events(truth, site)
        kinds = {}
        for target_id, kind in zip(truth["target_id"].tolist(), truth["kind"].tolist()):
            kinds.setdefault(int(target_id), str(kind) or "unknown")
        if scores.hours > 0:
            hours = scores.hours
        else:
            hours = float(np.ptp(truth["time_s"])) / 3600.0 if truth.size else 0.0
        alerts = alert_scores(alert_events, truth, zone_events, kinds, hours, site=site,
                              levels=ZONE_LEVELS)
    from radarcore.analysis.birds import bird_drone_scores

    coverage_ids = {int(t["target_id"]) for t in scores.per_truth} if site is not None else None
    birds = bird_drone_scores(truth, scores, alert_events, alerts, classes, coverage_ids)
    summary = scores.summary()
    gospa_keys = ("gospa_mean", "gospa_localisation_mean", "gospa_missed_mean", "gospa_false_mean",
                  "ospa_mean", "n_epochs", "output_period_s", "cutoff_m", "p")
    metrics = {
        "inputs": {**(inputs or {}),
                   "statuses": [TRACK_STATUS_NAMES[s] for s in statuses if s > 0],
                   "cutoff_m": cutoff_m, "p": 2.0, "alpha": 2.0,
                   "coverage": "site radars" if site is not None else "all truths",
                   "truth_rows": int(truth.size), "track_rows": int(tracks.size),
                   "track_rows_scored": int(scored.size)},
        "gospa": {k: summary[k] for k in gospa_keys},
        "tracks": {k: v for k, v in summary.items() if k not in gospa_keys},
        "per_truth": scores.per_truth,
        "alerts": _alert_section(alerts) if alerts is not None else None,
        "birds": birds,
    }
    return Evaluation(metrics, scores, alerts, truth, scored, site, alert_events, zone_events)


def read_alerts_jsonl(path):
    """Read alerts.jsonl (docs/formats.md): one JSON object per non-blank line.

    Raises
    ------
    ValueError
        A line that is not a JSON object, lacks one of ``time_s``,
        ``alert_id``, ``event``, ``asset_id``, ``level``, ``track_id``,
        ``east_m``, ``north_m`` or has an unknown ``event`` (the message
        names the file and the line).  ``advisory`` events need only
        ``time_s``, ``event``, ``track_id``, ``east_m``, ``north_m`` and
        ``acknowledge`` events ``time_s``, ``event``, ``alert_id``; both are
        returned but are not alerts (:data:`OTHER_EVENTS`).
    """
    events = []
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {line_number}: not JSON ({exc.msg})") from None
            if not isinstance(event, dict):
                raise ValueError(f"{path}: line {line_number}: expected a JSON object")
            kind = event.get("event")
            if kind not in ALERT_EVENTS + OTHER_EVENTS:
                raise ValueError(f"{path}: line {line_number}: unknown event {kind!r} "
                                 f"(expected one of {', '.join(ALERT_EVENTS + OTHER_EVENTS)})")
            keys = ALERT_EVENT_KEYS if kind in ALERT_EVENTS else OTHER_EVENT_KEYS[kind]
            missing = [k for k in keys if k not in event]
            if missing:
                raise ValueError(f"{path}: line {line_number}: missing key(s) {', '.join(missing)}")
            events.append(event)
    return events


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def add_parser(subparsers):
    """Add the ``evaluate`` command to an ``argparse`` sub-parser set."""
    p = subparsers.add_parser(
        "evaluate", help="score tracks.csv (and alerts.jsonl) against truth.csv",
        description="Score a tracks.csv from any tracker against truth.csv: GOSPA, OSPA, "
                    "track figures and, with --alerts and --site, alert figures.  Prints a table "
                    "and writes metrics.json beside the tracks (or into --report DIR, with "
                    "figures and index.html).")
    p.add_argument("--truth", required=True, metavar="CSV", help="truth.csv (docs/formats.md)")
    p.add_argument("--tracks", required=True, metavar="CSV", help="tracks.csv (docs/formats.md)")
    p.add_argument("--alerts", default=None, metavar="JSONL", help="alerts.jsonl (needs --site)")
    p.add_argument("--site", default=None, metavar="TOML",
                   help="site.toml: coverage of the radars, zones for the alerts")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write metrics.json, PNG figures and index.html into DIR")
    p.add_argument("--classes", default=None, metavar="CSV",
                   help="the tracks' class probabilities per epoch (time_s, track_id, p_drone, "
                        "p_bird, p_aircraft[, p_unknown] or class, class_confidence), for the "
                        "class timing, confusion matrix and calibration; default: the classes "
                        "written on the alert events")
    p.add_argument("--cutoff", type=float, default=DEFAULT_CUTOFF_M, metavar="C",
                   help=f"GOSPA/OSPA cut-off and association distance in metres "
                        f"(default {DEFAULT_CUTOFF_M:g})")
    p.set_defaults(func=run)
    return p


def _fail(message):
    print(f"radarcore evaluate: {message}", file=sys.stderr)
    return 2


def run(args):
    """Run ``radarcore evaluate``; return the exit status (2 on bad input)."""
    if not (math.isfinite(args.cutoff) and args.cutoff > 0.0):
        return _fail(f"--cutoff must be a positive number of metres, got {args.cutoff}")
    if args.alerts is not None and args.site is None:
        return _fail("--alerts needs --site (the zones the alerts refer to)")
    for path in (args.truth, args.tracks, args.alerts, args.classes):
        if path is not None and not os.path.isfile(path):
            return _fail(f"{path}: no such file")
    site = None
    if args.site is not None:
        try:
            site = load_site(args.site)
        except ConfigError as e:
            return _fail(str(e))
    try:
        truth = read_truth_csv(args.truth)
        tracks = read_tracks_csv(args.tracks)
        events = read_alerts_jsonl(args.alerts) if args.alerts is not None else None
        classes = None
        if args.classes is not None:
            from radarcore.analysis.birds import read_classes_csv

            classes = read_classes_csv(args.classes)
    except ValueError as e:
        return _fail(str(e))
    inputs = {"truth": args.truth, "tracks": args.tracks, "alerts": args.alerts, "site": args.site,
              "classes": args.classes}
    evaluation = evaluate(truth, tracks, site, events, args.cutoff, inputs, classes)
    out_dir = args.report if args.report is not None else (os.path.dirname(args.tracks) or ".")
    os.makedirs(out_dir, exist_ok=True)
    print(format_table(evaluation.metrics))
    metrics_path = os.path.join(out_dir, "metrics.json")
    write_metrics_json(evaluation.metrics, metrics_path)
    print(f"wrote {metrics_path}")
    if args.report is not None:
        from radarcore.analysis.report import write_report

        written = write_report(evaluation, args.report)
        print(f"wrote {written['index.html']} and {len(written) - 1} other file(s)")
    return 0
