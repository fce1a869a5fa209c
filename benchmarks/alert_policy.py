"""Alert policies compared on the same engine runs: birds that alert, drones alerted in time, cost.

    python benchmarks/alert_policy.py [--runs birdrich:1000-1001 birdmix:1000-1001 ...]
        [--before REF] [--set KEY=VALUE ...] [--causes] [--repeat N]
        [--model FILE] [--before-model FILE] [--cache DIR]

Runs the engine once per scenario (:func:`radarcore.sim.simulate.simulate`)
and records what its alert manager receives every output epoch (the
confirmed and coasting track rows, their covariances and class
probabilities).  The recorded epochs are then fed to two alert managers:

``before``
    :class:`radarcore.core.alerts.AlertManager` as it is in the git revision
    ``--before`` (default ``main``), loaded from ``git show``;
``after``
    the working tree's, with the ``[alerts]`` values of ``--set`` applied.

So both policies see exactly the same tracks and classes; only the policy
differs.  The engine run also keeps each row's classifier feature row
(:class:`fit_classifier.CaptureEngine`), so ``--model`` and
``--before-model`` (model files of ``benchmarks/fit_classifier.py``)
recompute the class probabilities each policy sees from the same tracks
(epoch after epoch, so that a model's accumulated evidence builds up as in
the engine: :func:`fit_classifier.predict_run`): one engine run compares
classifiers and policies.  Captures are cached per
run in ``--cache`` (default ``out/fit_classifier_cache``, shared with
``benchmarks/fit_classifier.py``).  Per scenario and over all, for each policy:

- birds that raised an alert (a ``raise`` attributed to the bird: nearest
  truth horizontally within 150 m, as ``radarcore evaluate`` does), and
  those whose alert reached ``alert`` or ``critical``, over the birds of the
  truth;
- drone zone entries expected to alert (:func:`radarcore.analysis.scores.alert_scores`)
  alerted before entry, for ``alert`` and ``critical`` zones and for all
  zones, with the median lead time;
- with ``--causes``: why each bird alerted (its highest level): the track had
  followed a drone before (an identity switch, a tracking matter), the
  track's class was ``bird`` (inside a critical zone, as ``alert_on``
  allows), ``unknown`` (unsettled, inside or just before a critical zone),
  or ``drone`` / ``aircraft`` (the classifier's call); and why each
  ``alert``/``critical`` zone entry not alerted before entry was missed
  (:func:`missed_entry_cause`: an alert on the drone's track counted for a
  neighbour, or the class of the track on it);
- the alert manager's time per epoch, both policies alternating over
  ``--repeat`` rounds (the ratio's median and range; best times).
"""
import argparse
import collections
import dataclasses
import os
import statistics
import subprocess
import sys
import time
import types

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fit_classifier  # noqa: E402
from kernels import classify as K  # noqa: E402
from radarcore.analysis.birds import ATTRIBUTION_RADIUS_M, attribute_nearest  # noqa: E402
from radarcore.analysis.scores import alert_scores  # noqa: E402
from radarcore.core import alerts as alerts_module  # noqa: E402
from radarcore.core.config import ZONE_LEVELS  # noqa: E402
from radarcore.core.classify_model import load_classify_model  # noqa: E402
from radarcore.core.zones import build_zone_table  # noqa: E402
from radarcore.sim.intrusions import truth_zone_events  # noqa: E402
from radarcore.sim.simulate import simulate  # noqa: E402

#: The default runs: held-out seeds of the bird-rich and drone scenes.
DEFAULT_RUNS = ("birdrich:1000-1001", "birdmix:1000-1001", "intrusion:1000-1001", "swarm:1000-1001")
_RANK = {level: k for k, level in enumerate(ZONE_LEVELS)}


def parse_runs(specs):
    """``scene:a-b`` or ``scene:a`` -> list of (scene, seed)."""
    runs = []
    for spec in specs:
        scene, _, seeds = spec.partition(":")
        lo, _, hi = seeds.partition("-")
        runs += [(scene, seed) for seed in range(int(lo), int(hi or lo) + 1)]
    return runs


def capture(scene, seed, cache_dir=None):
    """The scenario and the alert manager's inputs per epoch (:func:`fit_classifier.capture_epochs`)."""
    return fit_classifier.capture_epochs(scene, seed, cache_dir)


def with_model(epochs, model):
    """The epochs with the class probabilities of ``model`` (None: as the engine gave them)."""
    if model is None:
        return epochs
    if not epochs:
        return []
    rows, features, neighbours = (np.concatenate([e[k] for e in epochs]) for k in (1, 4, 5))
    time_s = np.repeat([e[0] for e in epochs], [e[1].size for e in epochs])
    p = fit_classifier.predict_run(model, time_s, rows["track_id"], features, neighbours)
    bounds = np.cumsum([0] + [e[1].size for e in epochs])
    return [(t, rows_e, P, p[lo:hi], f, n)
            for (t, rows_e, P, _, f, n), lo, hi in zip(epochs, bounds[:-1], bounds[1:])]


def replay(manager_class, site, config, epochs):
    """The events of a fresh manager fed the recorded epochs, and its time (s)."""
    manager = manager_class(build_zone_table(site), config)
    events = []
    start = time.perf_counter()
    for t, rows, P, class_p, *_ in epochs:
        events.extend(manager.update(t, rows, P, class_p))
    return events, time.perf_counter() - start


def missed_entry_cause(entry, events, epochs, truth, class_min_p):
    """Why an ``alert``/``critical`` zone entry counts as not alerted before entry.

    At the last epoch at or before the entry, the tracks on the entering
    drone (their row nearest to it, within 150 m, as the score attributes):

    - ``alert on its track, raised nearer another target``: one of them
      carried an alert raised before the entry and not cleared (the score
      gives an alert to the truth nearest its ``raise``: in a swarm, a track
      raised while it was nearer a neighbour, or that moved onto this drone
      since, alerts the operator at this drone but counts for the neighbour);
    - ``track on it called C``: none carried one; C its class at the epoch
      (the highest with p >= ``class_min_p``, else ``unknown``);
    - ``no track on it``.
    """
    t_entry = entry["entry_time_s"]
    at = [e for e in epochs if e[0] <= t_entry]
    if not at:
        return "no track on it"
    t, rows, _, class_p = at[-1][:4]
    owner = attribute_nearest(np.full(rows.size, t), rows["east_m"], rows["north_m"], truth,
                              ATTRIBUTION_RADIUS_M)
    on = np.flatnonzero(owner == entry["target_id"])
    if on.size == 0:
        return "no track on it"
    track_of, open_alerts = {}, set()
    for e in events:
        if e["time_s"] > t_entry:
            break
        if e["event"] in ("raise", "escalate", "deescalate"):
            track_of[e["alert_id"]] = e["track_id"]
            if e["event"] == "raise":
                open_alerts.add(e["alert_id"])
        elif e["event"] == "clear":
            open_alerts.discard(e["alert_id"])
    alerted_tracks = {track_of[a] for a in open_alerts}
    if any(int(rows["track_id"][r]) in alerted_tracks for r in on):
        return "alert on its track, raised nearer another target"
    p = class_p[on].max(axis=0)
    best = int(np.argmax(p))
    return f"track on it called {K.CLASS_NAMES[best] if p[best] >= class_min_p else 'unknown'}"


def score(scenario, events, zone_events, followed=None, epochs=None):
    """Bird and drone alert figures of one run (counts, for summing over runs).

    With ``epochs`` (the replayed epochs), also why each ``alert``/``critical``
    zone entry not alerted before entry was missed (:func:`missed_entry_cause`).
    """
    truth = scenario.truth
    kind, behaviour = {}, {}
    for target_id, k, b in zip(truth["target_id"].tolist(), truth["kind"].tolist(),
                               truth["behaviour"].tolist() if "behaviour" in truth.dtype.names
                               else truth["kind"].tolist()):
        kind.setdefault(int(target_id), str(k))
        behaviour.setdefault(int(target_id), str(b))
    hours = float(np.ptp(truth["time_s"])) / 3600.0
    scores = alert_scores(events, truth, zone_events, kind, hours, site=scenario.site,
                          levels=ZONE_LEVELS)
    raises = [e for e in events if e["event"] == "raise"]
    top_level = collections.defaultdict(int)
    for e in events:
        if e["event"] == "escalate":
            top_level[e["alert_id"]] = max(top_level[e["alert_id"]], _RANK[e["level"]])
    owner = attribute_nearest([e["time_s"] for e in raises], [e["east_m"] for e in raises],
                              [e["north_m"] for e in raises], truth, ATTRIBUTION_RADIUS_M)
    bird_level, bird_cause = {}, {}
    followed = followed or {}
    for e, target_id in zip(raises, owner.tolist()):
        if kind.get(target_id) != "bird":
            continue
        level = max(_RANK[e["level"]], top_level[e["alert_id"]])
        if level >= bird_level.get(target_id, -1):
            bird_level[target_id] = level
            if "drone" in followed.get(e["track_id"], ()):
                bird_cause[target_id] = "track followed a drone"
            else:
                bird_cause[target_id] = f"class {e['class']}"
    entries = [i for i in scores.intrusions if i["expected"] and kind.get(i["target_id"]) == "drone"]
    serious = [i for i in entries if _RANK[i["level"]] >= _RANK["alert"]]
    out = {"birds": sum(1 for k in kind.values() if k == "bird"),
           "birds_alerted": len(bird_level),
           "birds_alert_or_critical": sum(1 for v in bird_level.values() if v >= _RANK["alert"]),
           "entries": len(entries), "entries_alerted": sum(i["alerted"] for i in entries),
           "serious_entries": len(serious), "serious_alerted": sum(i["alerted"] for i in serious),
           "leads": [i["lead_s"] for i in entries if i["alerted"]],
           "serious_leads": [i["lead_s"] for i in serious if i["alerted"]],
           "causes": collections.Counter(
               (cause, "alert or critical" if bird_level[t] >= _RANK["alert"] else "warning")
               for t, cause in bird_cause.items()),
           "bird_behaviours": collections.Counter(behaviour[t] for t in bird_level)}
    if epochs is not None:
        events = sorted(events, key=lambda e: e["time_s"])
        out["missed"] = collections.Counter(
            missed_entry_cause(i, events, epochs, truth, scenario.site.alerts.class_min_p)
            for i in serious if not i["alerted"])
    return out


def _kinds_followed(scenario, epochs):
    """track id -> kinds of the truths its rows were nearest to (within 150 m), over the run."""
    rows = np.concatenate([e[1] for e in epochs])
    owner = attribute_nearest(rows["time_s"], rows["east_m"], rows["north_m"], scenario.truth,
                              ATTRIBUTION_RADIUS_M)
    kind = dict(zip(scenario.truth["target_id"].tolist(), scenario.truth["kind"].tolist()))
    followed = collections.defaultdict(set)
    for track_id, target_id in zip(rows["track_id"].tolist(), owner.tolist()):
        if target_id:
            followed[track_id].add(str(kind[target_id]))
    return followed


def load_revision(ref):
    """The alert module as it is in git revision ``ref``."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    source = subprocess.run(["git", "-C", root, "show", f"{ref}:radarcore/core/alerts.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"alerts_{ref}")
    exec(compile(source, f"{ref}:radarcore/core/alerts.py", "exec"), module.__dict__)
    return module


def _config_value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _line(name, s):
    def share(n, d):
        return f"{n}/{d} ({100.0 * n / d:.1f} %)" if d else "-"

    def median(values):
        return f"{np.median(values):.0f} s" if values else "-"

    return (f"{name}: birds alerted {share(s['birds_alerted'], s['birds'])}, at alert or critical "
            f"{share(s['birds_alert_or_critical'], s['birds'])}; drone entries alerted before entry: "
            f"alert/critical zones {s['serious_alerted']}/{s['serious_entries']} "
            f"(median lead {median(s['serious_leads'])}), all zones "
            f"{s['entries_alerted']}/{s['entries']} (median lead {median(s['leads'])})")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/alert_policy.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS))
    parser.add_argument("--before", default="main", help="git revision of the 'before' policy")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="[alerts] values of the 'after' policy")
    parser.add_argument("--causes", action="store_true", help="why each bird alerted")
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds per run")
    parser.add_argument("--model", default=None,
                        help="classifier model file of the 'after' policy (default: the engine's)")
    parser.add_argument("--before-model", default=None,
                        help="classifier model file of the 'before' policy (default: the engine's)")
    parser.add_argument("--cache", default=os.path.join("out", "fit_classifier_cache"),
                        help="folder of the captured engine runs ('': none)")
    args = parser.parse_args(argv)
    overrides = dict((k, _config_value(v)) for k, _, v in (s.partition("=") for s in args.set))
    before = load_revision(args.before).AlertManager
    after = alerts_module.AlertManager
    models = {"before": load_classify_model(args.before_model) if args.before_model else None,
              "after": load_classify_model(args.model) if args.model else None}
    totals = {"before": collections.Counter(), "after": collections.Counter()}
    lists = {name: collections.defaultdict(list) for name in totals}
    ratios, best = [], {"before": [], "after": []}
    for scene, seed in parse_runs(args.runs):
        scenario, captured = capture(scene, seed, args.cache or None)
        runs = {"before": with_model(captured, models["before"]),
                "after": with_model(captured, models["after"])}
        zone_events = truth_zone_events(scenario.truth, scenario.site)
        followed = _kinds_followed(scenario, captured) if args.causes else None
        configs = {"before": scenario.site.alerts,
                   "after": dataclasses.replace(scenario.site.alerts, **overrides)}
        for name, manager_class in (("before", before), ("after", after)):
            events, _ = replay(manager_class, scenario.site, configs[name], runs[name])
            s = score(scenario, events, zone_events, followed,
                      runs[name] if args.causes else None)
            print(_line(f"  {name} {scene}:{seed}", s))
            for key, value in s.items():
                if isinstance(value, list):
                    lists[name][key] += value
                elif isinstance(value, collections.Counter):
                    totals[name].update({(key,) + (k if isinstance(k, tuple) else (k,)): n
                                         for k, n in value.items()})
                else:
                    totals[name][key] += value
        for _ in range(args.repeat):
            seconds = {name: replay(cls, scenario.site, configs[name], runs[name])[1]
                       for name, cls in (("before", before), ("after", after))}
            ratios.append(seconds["after"] / seconds["before"])
            for name in seconds:
                best[name].append(seconds[name] / max(len(captured), 1))
        sys.stdout.flush()
    for name in ("before", "after"):
        summary = {k: v for k, v in totals[name].items() if not isinstance(k, tuple)}
        print(_line(f"{name} ({args.before if name == 'before' else 'this tree'})",
                    {**summary, **lists[name]}))
        if args.causes:
            causes = sorted((k[1:], n) for k, n in totals[name].items()
                            if isinstance(k, tuple) and k[0] == "causes")
            print("   birds by cause (highest level):", "; ".join(f"{c} at {lv}: {n}" for (c, lv), n in causes))
            behaviours = sorted((k[1], n) for k, n in totals[name].items()
                                if isinstance(k, tuple) and k[0] == "bird_behaviours")
            print("   birds alerted by behaviour:", ", ".join(f"{b} {n}" for b, n in behaviours))
            missed = sorted((k[1], n) for k, n in totals[name].items()
                            if isinstance(k, tuple) and k[0] == "missed")
            print("   alert/critical entries missed, by cause:",
                  "; ".join(f"{c}: {n}" for c, n in missed) or "none")
    if ratios:
        print(f"alert manager time per epoch, after/before per round: median {statistics.median(ratios):.3f} "
              f"(range {min(ratios):.3f}-{max(ratios):.3f}); median over rounds: before "
              f"{1e3 * statistics.median(best['before']):.2f} ms, after {1e3 * statistics.median(best['after']):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
