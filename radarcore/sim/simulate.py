"""Scenario simulator: named scenarios with known truth.

A scenario is a site (origin, radars, one protected asset with zones), a set
of targets (drones, birds, light aircraft, balloons) flying smooth
trajectories in the site ENU frame, and the plots the radars report of them,
false plots included.  :func:`simulate` builds one in memory and
:func:`write_scenario` writes the three interchange files of docs/formats.md:
``site.toml``, ``plots.csv`` and ``truth.csv``.

Scenarios (:data:`SCENARIOS`):

``sparse``
    2 rotating radars (1 s, one with Doppler), 4 drones, a light aircraft and
    a balloon, 180 s, little clutter.
``crossing``
    2 rotating Doppler radars, 6 pairs of straight-flying drones whose paths
    cross: at one point at different times, at one time with 80-150 m of
    height between them, or at one time and height at 60-120 degrees.
``swarm``
    2 rotating radars and 1 staring radar (0.25 s); 12-20 drones in a loose
    formation (about 50 m pitch) approaching the asset from 7 km at
    12-18 m/s, 300 s.
``birds``
    3 radars with heavy clutter (3e-10 per m^3 per scan), 15-30 flocks of
    3-12 birds, 3-6 single birds and 3 drones, 300 s.
``large``
    4 rotating radars (2 s) around the site, ``n_targets`` (default 2000)
    mixed targets, 60 s, truth every 1 s.
``intrusion``
    3 radars, two assets (plant-1 and substation-2, each with warning, alert
    and critical zones); 6-9 drones at 12-20 m/s start 7-9 km from plant-1
    and fly in: some into its alert zone, some on into its critical zone,
    one or two turn back inside the warning zone; one more drone flies into
    substation-2's critical zone.  400 s.
``skirt``
    3 radars; drones flying arcs and tangent lines 300-800 m outside the
    warning and the alert circles, a skimmer weaving in and out of the alert
    circle by 30-50 m every 25-35 s, and a drone that stays over 1500 m from
    every zone.  360 s.
``birdzone``
    3 radars with heavy-ish clutter (1.5e-10), 8-13 bird flocks circling
    inside the critical and alert zones, around them and crossing them, 3-6
    single birds and 3 drones entering the alert zone.  600 s.
``hover``
    2 Doppler radars; drones that fly in and hover 270-330 m outside the
    alert circle, inside the warning zone, and 70-120 m outside the critical
    polygon.  400 s.
``birdrich``
    The bird-rich picture: 4 radars, 50 clutter plots per scan per radar,
    300 targets: 30 drones (multirotor, fixed-wing, loiter, one swarm...),
    269 birds of five behaviours (soaring, V formation, commuter, agile
    flock, gull; a third in flocks of 3-6) and a light aircraft.  300 s.
``birdmix``
    4 radars, 20 clutter plots per scan, 12 drones (multirotor, fixed-wing,
    loiter) flying in among 214 soaring, V-formation, commuting and
    agile-flock birds.  500 s.
``birdlarge``
    8 radars, 200 clutter plots per scan, 3,000 targets: 400 drones and
    2,600 birds.  120 s.

The three bird scenes draw every target's behaviour parameters per target
(:mod:`radarcore.sim.behaviours`, docs/behaviours.md), write the
``behaviour`` column of truth.csv, and take options: ``n_drones``,
``n_radars`` (2-8), ``clutter_per_scan``, ``behaviours`` and
``exclude_behaviours`` (draw only some behaviours).  Their targets' radar
cross-sections fluctuate from plot to plot and detection follows the SNR
(:mod:`radarcore.sim.sensors`).

In the zone scenarios ``info["roles"]`` gives each target's role
(``enters_alert``, ``enters_critical``, ``turns_back``, ``skirt_warning``,
``skirt_alert``, ``skimmer``, ``far``, ``hover_outside_alert``, ...), and
:mod:`radarcore.sim.intrusions` computes the true zone entries from the truth
(:func:`truth_zone_events`, :func:`truth_min_distance`).

The trajectory model is in :mod:`radarcore.sim.trajectories`, the radar model
(beam timing, coverage, detection, noise, SNR, clutter) in
:mod:`radarcore.sim.sensors` and the sites in :mod:`radarcore.sim.scenarios`.
Everything is deterministic for a seed: the seed is split into independent
streams for the targets, the measurements and the random biases.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.csvio import write_plots_csv, write_truth_csv
from radarcore.core.config import SiteConfig, dump_site
from radarcore.sim.intrusions import truth_min_distance, truth_zone_events, zone_geometry
from radarcore.sim.behaviours import BEHAVIOURS
from radarcore.sim.scenarios import SPECS, grid_step
from radarcore.sim.sensors import observe
from radarcore.sim.trajectories import Trajectories

__all__ = ["SCENARIOS", "Scenario", "simulate", "observe", "write_scenario", "add_parser", "run",
           "random_bias", "zone_geometry", "truth_zone_events", "truth_min_distance"]

#: Names of the scenarios, in the order of the module docstring.
SCENARIOS = tuple(SPECS)

#: Bounds of the random per-radar biases of ``bias=True``.
RANDOM_RANGE_BIAS_M = 20.0
RANDOM_AZIMUTH_BIAS_DEG = 0.5


@dataclass
class Scenario:
    """A simulated scenario.

    Attributes
    ----------
    site : SiteConfig
        The deployment (written to site.toml).
    plots : ndarray of PLOT_DTYPE, shape (n_plots,)
        Target and false plots of every radar, sorted by time_s.
    truth : ndarray of TRUTH_DTYPE, shape (n_truth,)
        Every target every ``info["truth_period_s"]``, sorted by time, then
        target_id; false plots have no truth.
    info : dict
        ``scenario``, ``seed``, ``duration_s``, ``truth_period_s``, ``step_s``
        (trajectory grid), ``n_targets``, ``kind`` (target_id -> kind),
        ``bias`` (radar_id -> (range_bias_m, azimuth_bias_deg), the simulated
        truth, not in site.toml), ``n_target_plots``, ``n_clutter_plots``,
        ``plot_target_id`` (ndarray, shape (n_plots,), the target of each
        plot, 0 for a false plot), ``radars`` (radar_id -> timing and counts,
        see :func:`radarcore.sim.sensors.observe`) and scenario facts
        (``crossings``, ``swarm``, ``flocks``; in the zone scenarios
        ``roles``, ``role_asset`` and ``skirt``, ``skimmer``, ``far``,
        ``hover``, ``flock_kind``).
    trajectories : Trajectories
        The targets' continuous-time truth (position and velocity at any time).
    """

    site: SiteConfig
    plots: np.ndarray
    truth: np.ndarray
    info: dict = field(default_factory=dict)
    trajectories: Trajectories | None = None


def _spec(name):
    if name not in SPECS:
        raise ValueError(f"unknown scenario {name!r}; choose from: {', '.join(SCENARIOS)}")
    return SPECS[name]


def random_bias(site, seed=0):
    """Small random biases for every radar of a site.

    Range bias uniform in +-20 m, azimuth bias uniform in +-0.5 degrees.

    Returns
    -------
    dict
        ``radar_id -> (range_bias_m, azimuth_bias_deg)``.
    """
    rng = np.random.default_rng(seed)
    return {radar_id: (float(rng.uniform(-RANDOM_RANGE_BIAS_M, RANDOM_RANGE_BIAS_M)),
                       float(rng.uniform(-RANDOM_AZIMUTH_BIAS_DEG, RANDOM_AZIMUTH_BIAS_DEG)))
            for radar_id in site.radar_ids}


def _resolve_bias(bias, site, sequence):
    if bias is None or bias is False:
        return {}
    if bias is True:
        return random_bias(site, sequence)
    if not isinstance(bias, dict):
        raise TypeError(f"bias must be None, True or a dict radar_id -> (range_bias_m, "
                        f"azimuth_bias_deg), got {type(bias).__name__}")
    resolved = {}
    for radar_id, value in bias.items():
        if radar_id not in site.radar_ids:
            raise ValueError(f"bias given for unknown radar id {radar_id!r} "
                             f"(site radars: {list(site.radar_ids)})")
        try:
            range_bias_m, azimuth_bias_deg = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"bias of radar {radar_id} must be a pair (range_bias_m, "
                             f"azimuth_bias_deg) of numbers, got {value!r}") from None
        if not (math.isfinite(range_bias_m) and math.isfinite(azimuth_bias_deg)):
            raise ValueError(f"bias of radar {radar_id} must be finite, got {value!r}")
        resolved[radar_id] = (range_bias_m, azimuth_bias_deg)
    return resolved


def simulate(name, seed=0, duration_s=None, n_targets=None, bias=None, n_drones=None,
             n_radars=None, clutter_per_scan=None, behaviours=None, exclude_behaviours=None):
    """Simulate a named scenario.

    Parameters
    ----------
    name : str
        One of :data:`SCENARIOS`.
    seed : int
        Seed of every random draw (``numpy.random.SeedSequence(seed)``).
    duration_s : float, optional
        Length of the run (s); the scenario's default when None.  Rounded up
        to a whole number of truth periods.
    n_targets : int, optional
        ``sparse``: targets (one aircraft, one balloon, the rest drones);
        ``crossing``: drones (rounded down to whole pairs); ``swarm``: swarm
        size; ``birds``: number of flocks; ``large``: targets;
        ``intrusion``: plant-1 drones (at least 3; one more flies at
        substation-2); ``birdzone``: number of flocks; ``skirt`` and
        ``hover``: fixed (6 and 3); ``birdrich``, ``birdmix``,
        ``birdlarge``: all targets (the drones keep their share unless
        ``n_drones`` is given).  The scenario's default when None.
    bias : None, bool or dict
        None or False: unbiased radars.  True: small random biases
        (:func:`random_bias`).  A dict ``radar_id -> (range_bias_m,
        azimuth_bias_deg)``: those biases (other radars unbiased).
    n_drones, n_radars, clutter_per_scan, behaviours, exclude_behaviours
        Bird scenes only (see :class:`radarcore.sim.scenarios.BirdMix`):
        drone count, 2-8 radars, mean false plots per scan per radar, the
        behaviours to draw (sequence of names; None: all) and those not to
        draw.  An error for the other scenarios.

    Returns
    -------
    Scenario
    """
    spec = _spec(name)
    if duration_s is None:
        duration_s = spec.duration_s
    duration_s = float(duration_s)
    if not (math.isfinite(duration_s) and duration_s > 0.0):
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s}")
    if n_targets is not None:
        if isinstance(n_targets, bool) or int(n_targets) != n_targets:
            raise ValueError(f"n_targets must be a whole number, got {n_targets!r}")
        n_targets = int(n_targets)
    options = dict(n_drones=n_drones, n_radars=n_radars, clutter_per_scan=clutter_per_scan,
                   behaviours=behaviours, exclude_behaviours=exclude_behaviours)
    given = sorted(key for key, value in options.items() if value is not None)
    if spec.mix is None and given:
        raise ValueError(f"option(s) {', '.join(given)} apply to the bird scenes only "
                         f"({', '.join(n for n, s in SPECS.items() if s.mix is not None)}), "
                         f"not to {name!r}")
    period = spec.truth_period_s
    duration_s = period * math.ceil(duration_s / period - 1e-9)

    target_seed, sensor_seed, bias_seed = np.random.SeedSequence(seed).spawn(3)
    if spec.mix is not None:
        mix = spec.mix.with_options(n_targets=n_targets, **options)
        step_s = grid_step(mix.n_targets, duration_s, period)
        site = spec.site(mix)
        trajectories, facts = spec.targets(np.random.default_rng(target_seed), duration_s,
                                           step_s, mix)
        threshold_db = mix.detection_threshold_db
    else:
        step_s = grid_step(spec.max_targets(n_targets), duration_s, period)
        site = spec.site()
        trajectories, facts = spec.targets(np.random.default_rng(target_seed), duration_s,
                                           step_s, n_targets)
        threshold_db = None
    bias_by_radar = _resolve_bias(bias, site, bias_seed)
    plots, plot_target_id, radars = observe(site, trajectories, sensor_seed, bias_by_radar,
                                            detection_threshold_db=threshold_db)
    truth = trajectories.truth(period)
    n_clutter = int(np.count_nonzero(plot_target_id == 0))
    info = {
        "scenario": name,
        "seed": seed,
        "duration_s": duration_s,
        "truth_period_s": period,
        "step_s": step_s,
        "n_targets": trajectories.n_targets,
        "kind": {int(i): str(k) for i, k in zip(trajectories.target_id, trajectories.kind)},
        "bias": {radar_id: radars[radar_id]["bias"] for radar_id in site.radar_ids},
        "n_target_plots": int(plots.shape[0]) - n_clutter,
        "n_clutter_plots": n_clutter,
        "plot_target_id": plot_target_id,
        "radars": radars,
        **facts,
    }
    return Scenario(site=site, plots=plots, truth=truth, info=info, trajectories=trajectories)


def write_scenario(scenario, out_dir):
    """Write site.toml, plots.csv and truth.csv into a directory.

    Parameters
    ----------
    scenario : Scenario
    out_dir : str or pathlib.Path
        Created (with parents) when missing; existing files are replaced.

    Returns
    -------
    dict
        File name -> pathlib.Path of each file written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("site.toml", "plots.csv", "truth.csv")}
    paths["site.toml"].write_text(dump_site(scenario.site), encoding="utf-8")
    write_plots_csv(paths["plots.csv"], scenario.plots)
    write_truth_csv(paths["truth.csv"], scenario.truth)
    return paths


# --------------------------------------------------------------------------
# Command line: radarcore simulate NAME --out DIR
# --------------------------------------------------------------------------

def add_parser(subparsers):
    """Add the ``simulate`` command to an ``argparse`` sub-parser set."""
    parser = subparsers.add_parser(
        "simulate", help="write site.toml, plots.csv and truth.csv of a named scenario",
        description="Simulate a named scenario and write site.toml, plots.csv and truth.csv. "
                    "Scenarios: " + ", ".join(SCENARIOS) + ".")
    parser.add_argument("name", metavar="NAME", help="scenario: " + ", ".join(SCENARIOS))
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="run length in seconds (default: the scenario's)")
    parser.add_argument("--targets", type=int, default=None, metavar="N",
                        help="target count (see radarcore.sim.simulate.simulate; default: the scenario's)")
    parser.add_argument("--bias", action="store_true",
                        help="give every radar a small random range and azimuth bias")
    bird = parser.add_argument_group(
        "bird scenes", "options of birdrich, birdmix and birdlarge (docs/behaviours.md)")
    bird.add_argument("--drones", type=int, default=None, metavar="N",
                      help="drone count (default: the scene's share of --targets)")
    bird.add_argument("--radars", type=int, default=None, metavar="N",
                      help="radars on the ring around the asset, 2 to 8")
    bird.add_argument("--clutter", type=float, default=None, metavar="N",
                      help="mean false plots per scan per radar")
    bird.add_argument("--behaviours", default=None, metavar="LIST",
                      help="comma-separated behaviours to draw, the others not "
                           "(" + ", ".join(BEHAVIOURS) + ")")
    bird.add_argument("--exclude-behaviours", default=None, metavar="LIST",
                      help="comma-separated behaviours not to draw")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Run ``radarcore simulate``; return the exit status.

    Prints one line per file written.  An unknown scenario name or a bad
    value is reported on stderr with exit status 2.
    """
    if args.name not in SPECS:
        print(f"radarcore simulate: unknown scenario {args.name!r}; choose from: "
              f"{', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    def names(text):
        return None if text is None else tuple(name.strip() for name in text.split(",")
                                               if name.strip())

    try:
        scenario = simulate(args.name, seed=args.seed, duration_s=args.duration,
                            n_targets=args.targets, bias=True if args.bias else None,
                            n_drones=args.drones, n_radars=args.radars,
                            clutter_per_scan=args.clutter, behaviours=names(args.behaviours),
                            exclude_behaviours=names(args.exclude_behaviours))
    except ValueError as exc:
        print(f"radarcore simulate: {exc}", file=sys.stderr)
        return 2
    paths = write_scenario(scenario, args.out)
    info = scenario.info
    site = scenario.site
    print(f"{paths['site.toml']}: {len(site.radars)} radars, {len(site.assets)} asset(s)")
    print(f"{paths['plots.csv']}: {scenario.plots.shape[0]} plots ({info['n_target_plots']} "
          f"target, {info['n_clutter_plots']} clutter)")
    print(f"{paths['truth.csv']}: {scenario.truth.shape[0]} rows, {info['n_targets']} targets, "
          f"{info['duration_s']:g} s")
    return 0
