"""The evaluation figures as text and JSON: the table printed by ``radarcore
evaluate``, the rows of its HTML report, the flat figures of a sweep."""
import json
import math

import numpy as np

from radarcore.core.config import ZONE_LEVELS


def format_value(value, digits=2):
    """A figure as table text: integers as such, floats to ``digits``, None/NaN as ``-``."""
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
        (gospa_title, "GOSPA, mean over epochs", format_value(g["gospa_mean"]), "m"),
        (gospa_title, "  localisation part (mean of sum d^2)", format_value(g["gospa_localisation_mean"], 0), "m^2"),
        (gospa_title, "  missed part (mean of c^2/2 per missed truth)",
         format_value(g["gospa_missed_mean"], 0), "m^2"),
        (gospa_title, "  false part (mean of c^2/2 per false track)", format_value(g["gospa_false_mean"], 0), "m^2"),
        (gospa_title, "OSPA, mean over epochs", format_value(g["ospa_mean"]), "m"),
    ]
    ts = "Tracks"
    rows += [
        (ts, "truth targets (in coverage)", format_value(t["truth_targets"]), ""),
        (ts, "truth targets never tracked", format_value(t["truths_never_tracked"]), ""),
        (ts, "track ids scored", format_value(t["n_tracks"]), ""),
        (ts, "completeness", format_value(t["completeness"], 3), ""),
        (ts, "spuriousness", format_value(t["spuriousness"], 3), ""),
        (ts, "ambiguity (tracks per tracked truth)", format_value(t["ambiguity"], 3), ""),
        (ts, "track-id switches", format_value(t["id_switches"]), ""),
        (ts, "track breaks", format_value(t["track_breaks"]), ""),
        (ts, "longest segment / truth time (mean)", format_value(t["longest_segment_fraction_mean"], 3), ""),
        (ts, "time to confirm, mean", format_value(t["time_to_confirm_mean_s"], 1), "s"),
        (ts, "time to confirm, max", format_value(t["time_to_confirm_max_s"], 1), "s"),
        (ts, "false tracks", format_value(t["false_tracks"]), ""),
        (ts, "false tracks per hour", format_value(t["false_tracks_per_hour"], 1), "1/h"),
        (ts, "redundant tracks", format_value(t["redundant_tracks"]), ""),
        (ts, "position RMSE (3-D)", format_value(t["position_rmse_m"]), "m"),
        (ts, "velocity RMSE (3-D)", format_value(t["velocity_rmse_mps"]), "m/s"),
        (ts, "horizontal NEES, mean (2 if consistent)", format_value(t["nees_mean"]), ""),
        (ts, "  95 % band of a consistent mean",
         f"{format_value(t['nees_interval'][0])}-{format_value(t['nees_interval'][1])}", ""),
    ]
    if a is not None:
        al = "Alerts"
        by_kind = ", ".join(f"{k} {n}" for k, n in a["false_alerts_by_kind"].items()) or "none"
        rows += [
            (al, "alerts (raises)", f"{a['alerts']} ({a['raises']})", ""),
            (al, "intrusions expected to alert", format_value(a["expected_intrusions"]), ""),
            (al, "alerted before entry", format_value(a["alerted_before_entry"]), ""),
            (al, "missed intrusions", format_value(a["missed_intrusions"]), ""),
        ]
        for level in ZONE_LEVELS:
            b = a["by_level"][level]
            if b["intrusions"]:
                rows.append((al, f"  {level}: alerted/intrusions, median lead",
                             f"{b['alerted_before_entry']}/{b['intrusions']}, "
                             f"{format_value(b['lead_time_median_s'], 1)}", "s"))
        rows += [
            (al, "lead time, median (min)",
             f"{format_value(a['lead_time_median_s'], 1)} ({format_value(a['lead_time_min_s'], 1)})", "s"),
            (al, "false alerts (by nearest truth kind)", f"{a['false_alerts']} ({by_kind})", ""),
            (al, "false alerts per hour", format_value(a["false_alerts_per_hour"], 1), "1/h"),
            (al, "level changes (per alert)",
             f"{a['level_changes']} ({format_value(a['level_changes_per_alert'])})", ""),
            (al, "flaps (raise < 10 s after a clear)", format_value(a["flaps"]), ""),
        ]
    rows += bird_rows(metrics.get("birds"))
    return rows


def _percent(value):
    return "-" if value is None or not math.isfinite(float(value)) else f"{100.0 * float(value):.1f} %"


def bird_rows(b):
    """Rows of the bird and drone figures (``metrics["birds"]``)."""
    if not b:
        return []
    rows = []
    bs = "Birds and drones"
    birds = b.get("birds")
    if birds is not None:
        rows += [
            (bs, "birds (in coverage)", format_value(birds["birds"]), ""),
            (bs, "birds that raised an alert, any level",
             f"{birds['with_alert']} ({_percent(birds['share_any'])})", ""),
            (bs, "  reaching alert or critical", _percent(birds["share_alert_or_higher"]), ""),
            (bs, "  reaching critical", _percent(birds["share_critical_or_higher"]), ""),
            (bs, "birds with an advisory", _percent(birds["share_with_advisory"]), ""),
        ]
        for kind in ("bird", "none"):
            per = birds["raises_per_hour"][kind]
            rows.append((bs, f"raises per hour on {'birds' if kind == 'bird' else 'no target'}",
                         f"{format_value(per['total'], 1)} (" + ", ".join(
                             f"{level[0]} {format_value(per[level], 1)}" for level in ZONE_LEVELS)
                         + ")", "1/h"))
        for behaviour, v in birds.get("by_behaviour", {}).items():
            rows.append((bs, f"  {behaviour}: birds alerted (alert or critical)",
                         f"{v['with_alert']}/{v['birds']} ({_percent(v['share_any'])}, "
                         f"{_percent(v['share_alert_or_higher'])})", ""))
    drones = b.get("drone_alerts")
    if drones is not None:
        a = drones["all"]
        rows.append((bs, "drone zone entries alerted before entry, median lead",
                     f"{a['alerted_before_entry']}/{a['entries']}, "
                     f"{format_value(a['lead_time_median_s'], 1)}", "s"))
        for behaviour, v in drones["by_behaviour"].items():
            rows.append((bs, f"  {behaviour}: alerted/entries, median (min) lead",
                         f"{v['alerted_before_entry']}/{v['entries']}, "
                         f"{format_value(v['lead_time_median_s'], 1)} "
                         f"({format_value(v['lead_time_min_s'], 1)})", "s"))
    dc = b.get("drone_class")
    if dc is not None:
        # From alert events the class is seen only at events: a lower bound.
        bound = ">= " if dc.get("upper_bound") else ""
        rows += [
            (bs, f"drones called drone (p >= {dc['p_min']:g}) within {dc['within_s']:g} s",
             f"{bound}{_percent(dc['within_share'])} of {dc['drones_confirmed']}", ""),
            (bs, "  delay after confirmation, median; never called drone",
             f"{format_value(dc['delay_median_s'], 1)}; {dc['never']}", "s"),
        ]
    if b.get("reliability") is not None:
        rows.append((bs, f"class calibration error (ECE, top class; {b['class_source']})",
                     format_value(b["reliability"]["ece"], 3), ""))
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
    b = metrics.get("birds") or {}
    if b.get("birds") is not None:
        out["birds_alerted_share"] = b["birds"]["share_any"]
        out["birds_alert_or_critical_share"] = b["birds"]["share_alert_or_higher"]
        out["bird_raises_per_hour"] = b["birds"]["raises_per_hour"]["bird"]["total"]
    a = metrics["alerts"]
    if a is not None:
        for k in ("alerts", "expected_intrusions", "missed_intrusions", "lead_time_median_s",
                  "false_alerts", "false_alerts_per_hour", "level_changes", "flaps"):
            out[k] = a[k]
    return out


def json_safe(value):
    """``value`` with NumPy scalars and arrays as Python ones and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
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
        json.dump(json_safe(metrics), f, indent=2, allow_nan=False)
        f.write("\n")
