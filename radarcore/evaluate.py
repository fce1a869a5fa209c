"""``radarcore evaluate``: fused tracks scored against ground truth.

::

    radarcore evaluate --truth truth.csv --tracks tracks.csv
                       [--alerts alerts.jsonl --site site.toml] [--report DIR] [--cutoff C]

Works on a tracks.csv written by any tracker: only the columns of
interfaces.md are read.  Rows whose status is ``confirmed`` or ``coasting``
are scored when the file has any; otherwise (a tracker that writes only
``tentative``, say) every row is scored.  Truth and tracks must share one
time axis.

With ``--site``, truths farther than every radar's ``max_range_m`` (3-D
distance in the site's ENU frame) do not count; without it every truth
counts.  With ``--alerts`` (which needs ``--site``), alerts are scored
against the true zone entries of the truth
(:func:`radarcore.sim.intrusions.truth_zone_events`), with the kinds of the
truth's ``kind`` column.

The figures and their definitions are those of :mod:`radarcore.metrics`:
GOSPA (``p = 2``, ``alpha = 2``, cut-off ``C``, default 50 m) per output
epoch and averaged, with its localisation, missed and false parts; OSPA;
completeness, spuriousness, ambiguity, id switches and breaks, longest
segment, time to confirm, false tracks per hour, position and velocity RMSE,
horizontal NEES from ``sigma_pos_m``; intrusions alerted before entry with
lead times, missed intrusions, false alerts by the kind of the nearest truth,
level churn.

Output: a table on stdout and ``metrics.json`` (NaN written as null) in the
tracks' folder, or in ``DIR`` with ``--report``, which also writes the
figures and ``index.html`` (:mod:`radarcore.report`).
"""
import json
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from ingest.csvio import read_tracks_csv, read_truth_csv
from ingest.schema import TRACK_STATUS_NAMES
from radarcore.config import ZONE_LEVELS, ConfigError, load_site
from radarcore.metrics import (
    ALL_STATUSES,
    CONFIRMED_STATUSES,
    AlertScores,
    Scores,
    alert_scores,
    score,
)

__all__ = ["DEFAULT_CUTOFF_M", "Evaluation", "evaluate", "site_coverage", "scored_statuses",
           "read_alerts_jsonl", "table_rows", "format_table", "flat_metrics", "write_metrics_json",
           "add_parser", "run"]

#: Default GOSPA/OSPA cut-off and association distance (m).
DEFAULT_CUTOFF_M = 50.0

ALERT_EVENT_KEYS = ("time_s", "alert_id", "event", "asset_id", "level", "track_id", "east_m", "north_m")
ALERT_EVENTS = ("raise", "escalate", "deescalate", "clear")


@dataclass
class Evaluation:
    """Everything :func:`evaluate` found; ``metrics`` is what metrics.json holds.

    Attributes
    ----------
    metrics : dict
        Sections ``inputs``, ``gospa``, ``tracks``, ``per_truth``, ``alerts``
        (None without alerts).
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


def site_coverage(site):
    """Radar positions in the site's ENU frame and their maximum ranges.

    Returns
    -------
    radar_pos : ndarray, shape (n_radars, 3)
    max_range_m : ndarray, shape (n_radars,)
    """
    from kernels.geodesy import radar_frame

    o = site.origin
    radar_pos = np.array([radar_frame(r.lat_deg, r.lon_deg, r.alt_m, o.lat_deg, o.lon_deg, o.alt_m)[1]
                          for r in site.radars]).reshape(-1, 3)
    return radar_pos, np.array([r.max_range_m for r in site.radars], float)


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


def evaluate(truth, tracks, site=None, alert_events=None, cutoff_m=DEFAULT_CUTOFF_M, inputs=None):
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
    }
    return Evaluation(metrics, scores, alerts, truth, scored, site, alert_events, zone_events)


# --------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------

def _fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):d}"
    value = float(value)
    if not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def table_rows(metrics):
    """The headline figures as ``(section, name, value text, unit)`` rows."""
    g, t, a = metrics["gospa"], metrics["tracks"], metrics["alerts"]
    c = g["cutoff_m"]
    gospa_title = f"GOSPA (p = 2, alpha = 2, c = {c:g} m), {g['n_epochs']} epochs"
    rows = [
        (gospa_title, "GOSPA, mean over epochs", _fmt(g["gospa_mean"]), "m"),
        (gospa_title, "  localisation part (mean of sum d^2)", _fmt(g["gospa_localisation_mean"], 0), "m^2"),
        (gospa_title, "  missed part (mean of c^2/2 per missed truth)",
         _fmt(g["gospa_missed_mean"], 0), "m^2"),
        (gospa_title, "  false part (mean of c^2/2 per false track)", _fmt(g["gospa_false_mean"], 0), "m^2"),
        (gospa_title, "OSPA, mean over epochs", _fmt(g["ospa_mean"]), "m"),
    ]
    ts = "Tracks"
    rows += [
        (ts, "truth targets (in coverage)", _fmt(t["truth_targets"]), ""),
        (ts, "truth targets never tracked", _fmt(t["truths_never_tracked"]), ""),
        (ts, "track ids scored", _fmt(t["n_tracks"]), ""),
        (ts, "completeness", _fmt(t["completeness"], 3), ""),
        (ts, "spuriousness", _fmt(t["spuriousness"], 3), ""),
        (ts, "ambiguity (tracks per tracked truth)", _fmt(t["ambiguity"], 3), ""),
        (ts, "track-id switches", _fmt(t["id_switches"]), ""),
        (ts, "track breaks", _fmt(t["track_breaks"]), ""),
        (ts, "longest segment / truth time (mean)", _fmt(t["longest_segment_fraction_mean"], 3), ""),
        (ts, "time to confirm, mean", _fmt(t["time_to_confirm_mean_s"], 1), "s"),
        (ts, "time to confirm, max", _fmt(t["time_to_confirm_max_s"], 1), "s"),
        (ts, "false tracks", _fmt(t["false_tracks"]), ""),
        (ts, "false tracks per hour", _fmt(t["false_tracks_per_hour"], 1), "1/h"),
        (ts, "redundant tracks", _fmt(t["redundant_tracks"]), ""),
        (ts, "position RMSE (3-D)", _fmt(t["position_rmse_m"]), "m"),
        (ts, "velocity RMSE (3-D)", _fmt(t["velocity_rmse_mps"]), "m/s"),
        (ts, "horizontal NEES, mean (2 if consistent)", _fmt(t["nees_mean"]), ""),
        (ts, "  95 % band of a consistent mean",
         f"{_fmt(t['nees_interval'][0])}-{_fmt(t['nees_interval'][1])}", ""),
    ]
    if a is not None:
        al = "Alerts"
        by_kind = ", ".join(f"{k} {n}" for k, n in a["false_alerts_by_kind"].items()) or "none"
        rows += [
            (al, "alerts (raises)", f"{a['alerts']} ({a['raises']})", ""),
            (al, "intrusions expected to alert", _fmt(a["expected_intrusions"]), ""),
            (al, "alerted before entry", _fmt(a["alerted_before_entry"]), ""),
            (al, "missed intrusions", _fmt(a["missed_intrusions"]), ""),
        ]
        for level in ZONE_LEVELS:
            b = a["by_level"][level]
            if b["intrusions"]:
                rows.append((al, f"  {level}: alerted/intrusions, median lead",
                             f"{b['alerted_before_entry']}/{b['intrusions']}, "
                             f"{_fmt(b['lead_time_median_s'], 1)}", "s"))
        rows += [
            (al, "lead time, median (min)",
             f"{_fmt(a['lead_time_median_s'], 1)} ({_fmt(a['lead_time_min_s'], 1)})", "s"),
            (al, "false alerts (by nearest truth kind)", f"{a['false_alerts']} ({by_kind})", ""),
            (al, "false alerts per hour", _fmt(a["false_alerts_per_hour"], 1), "1/h"),
            (al, "level changes (per alert)",
             f"{a['level_changes']} ({_fmt(a['level_changes_per_alert'])})", ""),
            (al, "flaps (raise < 10 s after a clear)", _fmt(a["flaps"]), ""),
        ]
    return rows


def format_table(metrics):
    """The table printed on stdout."""
    rows = table_rows(metrics)
    width = max(len(name) for _, name, _, _ in rows)
    lines, section = [], None
    for sec, name, value, unit in rows:
        if sec != section:
            lines.append(sec)
            section = sec
        lines.append(f"  {name:<{width}}  {value:>12} {unit}".rstrip())
    return "\n".join(lines)


def flat_metrics(metrics):
    """The scalar figures of a ``metrics`` dict in one flat dict (for sweeps)."""
    out = {}
    for k, v in metrics["gospa"].items():
        if k not in ("cutoff_m", "p"):
            out[k] = v
    for k, v in metrics["tracks"].items():
        if k not in ("cutoff_m", "p", "nees_interval", "nees_dof", "hours", "output_period_s"):
            out[k] = v
    a = metrics["alerts"]
    if a is not None:
        for k in ("alerts", "expected_intrusions", "missed_intrusions", "lead_time_median_s",
                  "false_alerts", "false_alerts_per_hour", "level_changes", "flaps"):
            out[k] = a[k]
    return out


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_metrics_json(metrics, path):
    """Write ``metrics`` as JSON; NaN and infinities become null."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_json_safe(metrics), f, indent=2, allow_nan=False)
        f.write("\n")


def read_alerts_jsonl(path):
    """Read alerts.jsonl (interfaces.md): one JSON object per non-blank line.

    Raises
    ------
    ValueError
        A line that is not a JSON object, lacks one of ``time_s``,
        ``alert_id``, ``event``, ``asset_id``, ``level``, ``track_id``,
        ``east_m``, ``north_m`` or has an unknown ``event`` (the message
        names the file and the line).
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
            missing = [k for k in ALERT_EVENT_KEYS if k not in event]
            if missing:
                raise ValueError(f"{path}: line {line_number}: missing key(s) {', '.join(missing)}")
            if event["event"] not in ALERT_EVENTS:
                raise ValueError(f"{path}: line {line_number}: unknown event {event['event']!r} "
                                 f"(expected one of {', '.join(ALERT_EVENTS)})")
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
    p.add_argument("--truth", required=True, metavar="CSV", help="truth.csv (interfaces.md)")
    p.add_argument("--tracks", required=True, metavar="CSV", help="tracks.csv (interfaces.md)")
    p.add_argument("--alerts", default=None, metavar="JSONL", help="alerts.jsonl (needs --site)")
    p.add_argument("--site", default=None, metavar="TOML",
                   help="site.toml: coverage of the radars, zones for the alerts")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write metrics.json, PNG figures and index.html into DIR")
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
    for path in (args.truth, args.tracks, args.alerts):
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
    except ValueError as e:
        return _fail(str(e))
    inputs = {"truth": args.truth, "tracks": args.tracks, "alerts": args.alerts, "site": args.site}
    evaluation = evaluate(truth, tracks, site, events, args.cutoff, inputs)
    out_dir = args.report if args.report is not None else (os.path.dirname(args.tracks) or ".")
    os.makedirs(out_dir, exist_ok=True)
    print(format_table(evaluation.metrics))
    metrics_path = os.path.join(out_dir, "metrics.json")
    write_metrics_json(evaluation.metrics, metrics_path)
    print(f"wrote {metrics_path}")
    if args.report is not None:
        from radarcore.report import write_report

        written = write_report(evaluation, args.report)
        print(f"wrote {written['index.html']} and {len(written) - 1} other file(s)")
    return 0
