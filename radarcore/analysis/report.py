"""The visual report of ``radarcore evaluate --report DIR``.

:func:`write_report` writes into ``DIR``:

``map.png``
    Truth paths (coloured by kind), track paths (grey), the zones of the
    site's assets (coloured by level), the radars and their maximum range.
``gospa.png``
    GOSPA parts over time (localisation, missed and false, stacked, in m^2:
    they sum to GOSPA^2), GOSPA and OSPA (m), and the number of truths and
    tracks per epoch.
``errors.png``
    Error distributions over the primary truth-track pairs: horizontal and
    vertical position error, velocity error, and the horizontal NEES against
    the chi-square density with 2 degrees of freedom.
``truths.png``
    Per truth target, which track held it over time: switches and breaks at
    a glance.
``alerts.png`` (with alert events)
    One row per alert, coloured by level from raise to clear, with the true
    zone entries of its target; expected intrusions never alerted on extra
    rows.
``classes.png`` (when the track classes are known: ``--classes`` or
the classes on the alert events)
    Confusion matrix, truth behaviour (or kind) x track class, each row
    normalised, with the counts; and the reliability (calibration) diagram:
    top-label confidence against the observed share correct, and
    ``P(drone)`` against the observed share of drones, with the bin counts.
``epochs.csv``
    The per-epoch GOSPA parts, OSPA and counts.
``index.html``
    The table of ``radarcore evaluate``, the figures, the per-truth table
    and the intrusions.

Figures are drawn with matplotlib's object interface on the Agg canvas
(no pyplot, no global backend change).
"""
import html
import math
import os

import numpy as np

__all__ = ["write_report", "FIGURES"]

#: The figures written, in page order (``alerts.png`` only with alert events).
FIGURES = ("map.png", "gospa.png", "errors.png", "truths.png", "alerts.png", "classes.png")

LEVEL_COLOURS = {"warning": "#e0b000", "alert": "#ff7f0e", "critical": "#d62728"}
KIND_COLOURS = {"drone": "#1f77b4", "bird": "#2ca02c", "aircraft": "#9467bd", "balloon": "#8c564b"}
OTHER_KIND_COLOUR = "#7f7f7f"
MAX_TRUTH_ROWS = 80
MAX_ALERT_ROWS = 80


def _figure(width_in, height_in):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    fig.savefig(path, format="png")
    return path


def _empty_note(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def _track_colour(track_id):
    from matplotlib import colormaps

    return colormaps["tab20"]((int(track_id) * 7) % 20)


# --------------------------------------------------------------------------
# Figures


def _paths(rows, id_field):
    """East/north paths (km) of each id, in time order: list of (n, 2) arrays."""
    if rows.size == 0:
        return []
    rows = rows[np.lexsort((rows["time_s"], rows[id_field]))]
    starts = np.unique(rows[id_field], return_index=True)[1]
    xy = np.column_stack([rows["east_m"], rows["north_m"]]) / 1e3
    return np.split(xy, starts[1:])


def map_figure(evaluation, path):
    """Truth paths, track paths, zones and radars (east/north, km)."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle, Polygon

    truth, tracks, site = evaluation.truth, evaluation.tracks, evaluation.site
    fig = _figure(9, 8)
    ax = fig.add_subplot()
    ax.add_collection(LineCollection(_paths(tracks, "track_id"), colors="0.35", linewidths=0.8,
                                     alpha=0.8, zorder=2))
    paths = _paths(truth, "target_id")
    in_order = truth[np.lexsort((truth["time_s"], truth["target_id"]))]
    kinds = in_order["kind"][np.unique(in_order["target_id"], return_index=True)[1]]
    for kind in sorted(set(str(k) for k in kinds)):
        mine = [path for path, k in zip(paths, kinds) if str(k) == kind]
        colour = KIND_COLOURS.get(kind, OTHER_KIND_COLOUR)
        ax.add_collection(LineCollection(mine, colors=colour, linewidths=2.0, alpha=0.45, zorder=1,
                                         label=f"truth: {kind or 'unknown'}"))
        starts = np.array([path[0] for path in mine])
        ax.plot(starts[:, 0], starts[:, 1], "o", ms=3, color=colour, zorder=1)
    ax.plot([], [], color="0.35", lw=0.8, label="tracks")
    if site is not None:
        from radarcore.analysis.scores import site_coverage
        from radarcore.sim.intrusions import zone_geometry

        radar_pos, max_range = site_coverage(site)
        for k, (pos, r) in enumerate(zip(radar_pos, max_range)):
            ax.plot(pos[0] / 1e3, pos[1] / 1e3, "k^", ms=8, zorder=4,
                    label="radars (max range dashed)" if k == 0 else None)
            ax.add_patch(Circle((pos[0] / 1e3, pos[1] / 1e3), r / 1e3, fill=False, ls="--",
                                lw=0.8, ec="0.5", zorder=0))
        levels_seen = set()
        for zone in zone_geometry(site):
            colour = LEVEL_COLOURS.get(zone["level"], "k")
            label = f"zone: {zone['level']}" if zone["level"] not in levels_seen else None
            levels_seen.add(zone["level"])
            if zone["kind"] == "circle":
                patch = Circle(zone["centre_m"] / 1e3, zone["radius_m"] / 1e3, fill=False,
                               ec=colour, lw=1.6, zorder=3, label=label)
            else:
                patch = Polygon(zone["vertices_m"] / 1e3, closed=True, fill=False, ec=colour,
                                lw=1.6, zorder=3, label=label)
            ax.add_patch(patch)
            ax.plot(*(zone["centre_m"] / 1e3), "k*", ms=9, zorder=4)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.set_xlabel("east (km)")
    ax.set_ylabel("north (km)")
    ax.set_title("Truth paths, tracks and zones")
    ax.grid(True, lw=0.3)
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def gospa_figure(evaluation, path):
    """GOSPA parts, GOSPA and OSPA, truths and tracks over time."""
    pe = evaluation.scores.per_epoch
    c = evaluation.scores.cutoff_m
    fig = _figure(10, 7.5)
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True, height_ratios=(2, 2, 1))
    t = pe.get("time_s", np.zeros(0))
    if t.size:
        ax1.stackplot(t, pe["localisation"], pe["missed"], pe["false"],
                      labels=("localisation", "missed", "false"),
                      colors=("#1f77b4", "#ff7f0e", "#d62728"), alpha=0.8)
        ax1.legend(loc="upper right", fontsize=8)
        ax2.plot(t, pe["gospa"], color="k", lw=1.2, label="GOSPA")
        ax2.plot(t, pe["ospa"], color="#9467bd", lw=1.0, label="OSPA")
        ax2.axhline(c, color="0.6", ls=":", lw=0.8, label=f"c = {c:g} m")
        ax2.legend(loc="upper right", fontsize=8)
        ax3.step(t, pe["n_truths"], where="mid", color="#2ca02c", label="truths")
        ax3.step(t, pe["n_tracks"], where="mid", color="0.3", label="tracks")
        ax3.step(t, pe["n_assigned"], where="mid", color="#1f77b4", ls="--", label="assigned")
        ax3.legend(loc="upper right", fontsize=8)
    else:
        _empty_note(ax1, "no epochs")
    ax1.set_ylabel("GOSPA^2 parts (m^2)")
    ax1.set_title(f"GOSPA (p = 2, alpha = 2, c = {c:g} m) over time")
    ax2.set_ylabel("distance (m)")
    ax3.set_ylabel("count")
    ax3.set_xlabel("time (s)")
    for ax in (ax1, ax2, ax3):
        ax.grid(True, lw=0.3)
    return _save(fig, path)


def errors_figure(evaluation, path):
    """Histograms of position, velocity and NEES over the primary pairs."""
    from scipy.stats import chi2

    pairs = evaluation.scores.pairs
    fig = _figure(10, 7.5)
    axes = fig.subplots(2, 2)
    e = pairs.get("error_xyz_m", np.zeros((0, 3)))
    v = pairs.get("error_v_mps", np.zeros((0, 3)))
    nees = pairs.get("nees", np.zeros(0))
    panels = [
        (axes[0, 0], np.hypot(e[:, 0], e[:, 1]), "horizontal position error (m)"),
        (axes[0, 1], e[:, 2], "vertical position error, track - truth (m)"),
        (axes[1, 0], np.linalg.norm(v, axis=1) if v.size else np.zeros(0), "velocity error (m/s)"),
    ]
    for ax, values, label in panels:
        values = values[np.isfinite(values)]
        if values.size:
            ax.hist(values, bins=min(60, max(10, int(math.sqrt(values.size)))), color="#1f77b4",
                    alpha=0.85)
            rms = float(np.sqrt(np.mean(values ** 2)))
            ax.axvline(rms, color="k", ls="--", lw=1, label=f"RMS {rms:.1f}")
            ax.legend(fontsize=8)
        else:
            _empty_note(ax, "no assigned pairs")
        ax.set_xlabel(label)
        ax.set_ylabel("pairs")
        ax.grid(True, lw=0.3)
    ax = axes[1, 1]
    nees = nees[np.isfinite(nees)]
    if nees.size:
        top = float(np.quantile(nees, 0.99)) if nees.size > 10 else float(nees.max())
        top = max(top, 8.0)
        ax.hist(np.minimum(nees, top), bins=50, range=(0, top), density=True, color="#2ca02c",
                alpha=0.7, label=f"NEES, mean {nees.mean():.2f}")
        x = np.linspace(0, top, 200)
        ax.plot(x, chi2.pdf(x, 2), "k", lw=1.2, label="chi-square, 2 dof")
        ax.legend(fontsize=8)
    else:
        _empty_note(ax, "no sigma_pos_m in the tracks")
    ax.set_xlabel("horizontal NEES from sigma_pos_m")
    ax.set_ylabel("density")
    ax.grid(True, lw=0.3)
    fig.suptitle("Errors of the primary truth-track pairs")
    return _save(fig, path)


def truths_figure(evaluation, path):
    """Per truth: the primary track over time, one colour per track id."""
    scores = evaluation.scores
    per_truth = scores.per_truth[:MAX_TRUTH_ROWS]
    pairs = scores.pairs
    period = scores.output_period_s if math.isfinite(scores.output_period_s) else 1.0
    fig = _figure(10, max(3.0, 0.5 + 0.22 * len(per_truth)))
    ax = fig.add_subplot()
    for row, truth in enumerate(per_truth):
        target_id = truth["target_id"]
        mine = pairs["target_id"] == target_id
        t = pairs["time_s"][mine]
        ids = pairs["track_id"][mine]
        start = truth["first_in_coverage_s"]
        ax.plot([min(start, truth["first_epoch_s"]), truth["last_epoch_s"]], [row, row],
                color="0.85", lw=5,
                solid_capstyle="butt", zorder=0)
        if t.size:
            for track_id in np.unique(ids):
                ts = t[ids == track_id]
                ax.broken_barh([(x - period / 2, period) for x in ts], (row - 0.35, 0.7),
                               color=_track_colour(track_id), zorder=1)
    ax.set_yticks(range(len(per_truth)))
    ax.set_yticklabels([f"{t['target_id']} {t['kind']}  sw {t['id_switches']} br {t['breaks']}"
                        for t in per_truth], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    shown = "" if len(scores.per_truth) <= MAX_TRUTH_ROWS else f" (first {MAX_TRUTH_ROWS})"
    ax.set_title("Primary track of each truth target (colour = track id, grey = untracked)" + shown)
    ax.grid(True, axis="x", lw=0.3)
    if not per_truth:
        _empty_note(ax, "no truth targets in coverage")
    return _save(fig, path)


def alerts_figure(evaluation, path):
    """Alert timeline: level over time per alert, true zone entries, missed intrusions."""
    from matplotlib.lines import Line2D

    from radarcore.analysis.scores import attribute_events

    lifecycle = ("raise", "escalate", "deescalate", "clear")     # not advisories, acknowledgements
    events = sorted((e for e in evaluation.alert_events or [] if e["event"] in lifecycle),
                    key=lambda e: (e["alert_id"], e["time_s"]))
    alerts = evaluation.alerts
    truth = evaluation.truth
    truth_of = dict(zip([id(e) for e in events], attribute_events(events, truth))) if events else {}
    by_alert = {}
    for e in events:
        by_alert.setdefault(e["alert_id"], []).append(e)
    rows = list(by_alert.items())[:MAX_ALERT_ROWS]
    missed = [i for i in (alerts.intrusions if alerts else []) if i["expected"] and not i["alerted"]]
    n_rows = len(rows) + len(missed)
    fig = _figure(10, max(3.0, 1.2 + 0.25 * n_rows))
    ax = fig.add_subplot()
    t_end = float(np.max(truth["time_s"])) if truth.size else 0.0
    zone_events = evaluation.zone_events if evaluation.zone_events is not None else np.zeros(0)
    kinds = {}
    for target_id, kind in zip(truth["target_id"].tolist(), truth["kind"].tolist()):
        kinds.setdefault(int(target_id), kind)
    labels = []
    for row, (alert_id, evs) in enumerate(rows):
        target_id = truth_of.get(id(evs[0]), 0)
        for k, e in enumerate(evs):
            if e["event"] == "clear":
                break
            t1 = evs[k + 1]["time_s"] if k + 1 < len(evs) else t_end
            ax.broken_barh([(e["time_s"], max(t1 - e["time_s"], 0.5))], (row - 0.35, 0.7),
                           color=LEVEL_COLOURS.get(e["level"], "0.5"))
        if target_id and zone_events.size:
            mine = zone_events[(zone_events["target_id"] == target_id)
                               & (zone_events["asset_id"] == evs[0]["asset_id"])]
            for z in mine:
                ax.plot(z["entry_time_s"], row, marker="v", ms=7, mec="k", mew=0.6,
                        color=LEVEL_COLOURS.get(str(z["level"]), "k"), ls="none")
        who = f"target {target_id} ({kinds.get(target_id, '?')})" if target_id else "no truth"
        labels.append(f"alert {alert_id} {evs[0]['asset_id']} track {evs[0]['track_id']}: {who}")
    for k, i in enumerate(missed):
        row = len(rows) + k
        ax.plot(i["entry_time_s"], row, marker="X", ms=9, color=LEVEL_COLOURS.get(i["level"], "k"),
                mec="k", ls="none")
        labels.append(f"MISSED {i['level']} entry: target {i['target_id']} ({i['kind']}) "
                      f"{i['asset_id']}")
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title("Alert timeline (bars: alert level; triangles: true zone entries of its target)")
    handles = [Line2D([], [], color=c, lw=6, label=level) for level, c in LEVEL_COLOURS.items()]
    handles.append(Line2D([], [], marker="v", color="0.5", mec="k", ls="none", label="true entry"))
    handles.append(Line2D([], [], marker="X", color="0.5", mec="k", ls="none", label="missed entry"))
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncols=len(handles))
    ax.grid(True, axis="x", lw=0.3)
    if not n_rows:
        ax.set_ylim(-1, 1)
        _empty_note(ax, "no alerts and no missed intrusions")
    return _save(fig, path)


def classes_figure(evaluation, path):
    """Confusion matrix (truth behaviour x track class) and reliability diagram."""
    from radarcore.core.config import TRACK_CLASSES

    birds = evaluation.metrics.get("birds") or {}
    confusion = birds.get("confusion") or {}
    fig = _figure(13, max(4.5, 1.5 + 0.35 * len(confusion)))
    ax_c, ax_r = fig.subplots(1, 2, width_ratios=(1.2, 1.0))
    names = sorted(confusion, key=lambda b: (b not in ("drone",), b))
    if names:
        counts = np.array([[confusion[b][c] for c in TRACK_CLASSES] for b in names], float)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
        ax_c.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        for i in range(len(names)):
            for j in range(len(TRACK_CLASSES)):
                ax_c.text(j, i, f"{share[i, j]:.2f}\n({int(counts[i, j])})", ha="center",
                          va="center", fontsize=7, color="white" if share[i, j] > 0.6 else "black")
        ax_c.set_xticks(range(len(TRACK_CLASSES)), TRACK_CLASSES)
        ax_c.set_yticks(range(len(names)), names)
    else:
        _empty_note(ax_c, "no class rows paired with a truth")
    ax_c.set_xlabel("track class (top probability >= 0.6, else unknown)")
    ax_c.set_ylabel("truth behaviour (or kind)")
    ax_c.set_title(f"Confusion matrix ({birds.get('class_source') or 'no classes'}), rows normalised")
    ax_r.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
    for key, label, colour in (("reliability", "top class", "#1f77b4"),
                               ("drone_reliability", "P(drone)", "#d62728")):
        r = birds.get(key)
        if not r or not r["rows"]:
            continue
        bins = [b for b in r["bins"] if b["count"]]
        ax_r.plot([b["confidence"] for b in bins], [b["frequency"] for b in bins], marker="o",
                  color=colour, label=f"{label} (ECE {r['ece']:.3f}, {r['rows']} rows)")
    ax_r.set_xlim(0, 1)
    ax_r.set_ylim(0, 1)
    ax_r.set_xlabel("predicted probability (bin mean)")
    ax_r.set_ylabel("observed frequency")
    ax_r.set_title("Reliability diagram")
    ax_r.grid(True, lw=0.3)
    if ax_r.get_legend_handles_labels()[0]:
        ax_r.legend(fontsize=7, loc="upper left")
    else:
        _empty_note(ax_r, "no class rows")
    return _save(fig, path)


# --------------------------------------------------------------------------
# Files


def write_epochs_csv(evaluation, path):
    """The per-epoch GOSPA parts, OSPA and counts as CSV."""
    pe = evaluation.scores.per_epoch
    names = ("time_s", "gospa", "localisation", "missed", "false", "ospa", "n_truths", "n_tracks",
             "n_assigned", "n_redundant", "n_spurious")
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(names) + "\n")
        for k in range(pe["time_s"].size if pe else 0):
            f.write(",".join(f"{pe[n][k]:.6g}" if pe[n].dtype.kind == "f" else str(int(pe[n][k]))
                             for n in names) + "\n")
    return path


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; }
th { background: #eee; text-align: left; }
td.num { text-align: right; font-family: monospace; }
tr.section td { background: #f4f4f4; font-weight: bold; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0 1.5em; }
"""


def _html_table(header, rows, numeric=()):
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cells = []
        for k, value in enumerate(row):
            cls = ' class="num"' if k in numeric else ""
            cells.append(f"<td{cls}>{html.escape(str(value))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def index_html(evaluation, figures, title="radarcore evaluation"):
    """The report page: table, figures, per-truth table, intrusions."""
    from radarcore.analysis.tables import format_value, table_rows

    metrics = evaluation.metrics
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    inputs = metrics["inputs"]
    parts.append("<p>" + "<br>".join(
        f"{html.escape(k)}: "
        f"{html.escape(', '.join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))}"
        for k, v in inputs.items() if v is not None) + "</p>")
    section = None
    out = ["<table>", "<tr><th>figure</th><th>value</th><th>unit</th></tr>"]
    for sec, name, value, unit in table_rows(metrics):
        if sec != section:
            out.append(f'<tr class="section"><td colspan="3">{html.escape(sec)}</td></tr>')
            section = sec
        out.append(f"<tr><td>{html.escape(name.strip())}</td><td class=\"num\">{html.escape(value)}"
                   f"</td><td>{html.escape(unit)}</td></tr>")
    out.append("</table>")
    parts.append("<h2>Metrics</h2>\n" + "\n".join(out))
    captions = {
        "map.png": "Truth paths, track paths, zones and radars",
        "gospa.png": "GOSPA parts over time",
        "errors.png": "Error distributions",
        "truths.png": "Primary track of each truth target",
        "alerts.png": "Alert timeline",
        "classes.png": "Track classes: confusion matrix and reliability diagram",
    }
    parts.append("<h2>Figures</h2>")
    for name in figures:
        parts.append(f"<h3>{html.escape(captions.get(name, name))}</h3>\n"
                     f"<img src=\"{html.escape(name)}\" alt=\"{html.escape(captions.get(name, name))}\">")
    per_truth = metrics["per_truth"]
    if per_truth:
        parts.append("<h2>Per truth target</h2>")
        parts.append(_html_table(
            ("target", "kind", "epochs", "completeness", "switches", "breaks", "longest segment (s)",
             "time to confirm (s)", "track ids"),
            [(t["target_id"], t["kind"], t["epochs"], format_value(t["completeness"], 3), t["id_switches"],
              t["breaks"], format_value(t["longest_segment_s"], 1), format_value(t["time_to_confirm_s"], 1),
              " ".join(str(i) for i in t["track_ids"])) for t in per_truth],
            numeric=(0, 2, 3, 4, 5, 6, 7)))
    alerts = metrics["alerts"]
    if alerts is not None and alerts["intrusion_list"]:
        parts.append("<h2>Intrusions</h2>")
        parts.append(_html_table(
            ("target", "kind", "asset", "level", "entry (s)", "expected", "alerted before entry",
             "lead (s)"),
            [(i["target_id"], i["kind"], i["asset_id"], i["level"], format_value(i["entry_time_s"], 1),
              format_value(i["expected"]), format_value(i["alerted"]), format_value(i["lead_s"], 1))
             for i in alerts["intrusion_list"]],
            numeric=(0, 4, 7)))
    parts.append(_birds_html(metrics.get("birds")))
    parts.append("<p>metrics.json and epochs.csv hold every figure.</p></body></html>")
    return "\n".join(p for p in parts if p)


def _percent(value):
    from radarcore.analysis.tables import format_value

    return "-" if value is None or not math.isfinite(float(value)) else format_value(100.0 * value, 1)


def _birds_html(b):
    """Tables of the bird and drone figures: per bird behaviour, per drone
    behaviour, the confusion matrix counts."""
    from radarcore.analysis.tables import format_value
    from radarcore.core.config import TRACK_CLASSES

    if not b:
        return ""
    parts = []
    birds = b.get("birds")
    if birds is not None and birds.get("by_behaviour"):
        per_hour = birds.get("raises_per_hour_by_behaviour", {})
        parts.append("<h2>Birds that raised an alert, by behaviour</h2>")
        parts.append(_html_table(
            ("behaviour", "birds", "any level (%)", "alert or critical (%)", "critical (%)",
             "with an advisory (%)", "raises per hour"),
            [(name, v["birds"], _percent(v["share_any"]), _percent(v["share_alert_or_higher"]),
              _percent(v["share_critical_or_higher"]), _percent(v["share_with_advisory"]),
              format_value(per_hour.get(name, 0.0), 1))
             for name, v in birds["by_behaviour"].items()],
            numeric=(1, 2, 3, 4, 5, 6)))
    drones = b.get("drone_alerts")
    timing = (b.get("drone_class") or {}).get("by_behaviour", {})
    if drones is not None or timing:
        names = sorted(set((drones or {}).get("by_behaviour", {})) | set(timing))
        parts.append("<h2>Drones: alerts before zone entry and time to a confident class</h2>")
        rows = []
        for name in names:
            d = (drones or {}).get("by_behaviour", {}).get(name)
            c = timing.get(name)
            rows.append((name,
                         f"{d['alerted_before_entry']}/{d['entries']}" if d else "-",
                         format_value(d["lead_time_median_s"], 1) if d else "-",
                         format_value(d["lead_time_min_s"], 1) if d else "-",
                         c["drones"] if c else "-",
                         _percent(c["within_share"]) if c else "-",
                         format_value(c["delay_median_s"], 1) if c else "-",
                         c["never"] if c else "-"))
        parts.append(_html_table(
            ("behaviour", "entries alerted before entry", "median lead (s)", "min lead (s)",
             "drones confirmed", "called drone within 10 s (%)", "median delay (s)",
             "never called drone"), rows, numeric=(2, 3, 4, 5, 6, 7)))
    confusion = b.get("confusion")
    if confusion:
        parts.append(f"<h2>Confusion matrix ({html.escape(str(b['class_source']))})</h2>")
        parts.append(_html_table(("truth",) + TRACK_CLASSES,
                                 [(name,) + tuple(row[c] for c in TRACK_CLASSES)
                                  for name, row in sorted(confusion.items())],
                                 numeric=tuple(range(1, len(TRACK_CLASSES) + 1))))
    return "\n".join(parts)


def write_report(evaluation, out_dir, title="radarcore evaluation"):
    """Write the figures, epochs.csv and index.html into ``out_dir``.

    Parameters
    ----------
    evaluation : radarcore.analysis.evaluate.Evaluation
    out_dir : str
        Created when missing.

    Returns
    -------
    dict
        File name -> path of every file written (``index.html`` included).
    """
    os.makedirs(out_dir, exist_ok=True)
    draw = {"map.png": map_figure, "gospa.png": gospa_figure, "errors.png": errors_figure,
            "truths.png": truths_figure}
    if evaluation.alert_events is not None:
        draw["alerts.png"] = alerts_figure
    if (evaluation.metrics.get("birds") or {}).get("class_source"):
        draw["classes.png"] = classes_figure
    written = {}
    for name, function in draw.items():
        written[name] = function(evaluation, os.path.join(out_dir, name))
    written["epochs.csv"] = write_epochs_csv(evaluation, os.path.join(out_dir, "epochs.csv"))
    figures = [name for name in FIGURES if name in written]
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(index_html(evaluation, figures, title))
    written["index.html"] = path
    return written
