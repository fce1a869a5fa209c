"""One bird-rich scene end to end: simulate, run the engine keeping the track
classes, evaluate with ``--classes`` and write the report.

``python benchmarks/bird_scene.py SCENE --seed N --out DIR``
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from radarcore.analysis.birds import run_engine_with_classes, write_classes_csv  # noqa: E402


def main(argv=None):
    """Simulate a scene, run the engine keeping the track classes, evaluate.

    Writes into ``DIR`` the scene (site.toml, plots.csv, truth.csv), the
    engine's tracks.csv, alerts.jsonl and classes.csv (per track and epoch,
    :func:`run_engine_with_classes`), and the ``radarcore evaluate`` report
    with ``--classes`` (``DIR/report``).  The same as::

        radarcore simulate SCENE --out DIR --seed N
        radarcore replay DIR/plots.csv --site DIR/site.toml --out DIR
        radarcore evaluate --truth DIR/truth.csv --tracks DIR/tracks.csv \\
            --alerts DIR/alerts.jsonl --site DIR/site.toml --classes DIR/classes.csv \\
            --report DIR/report

    except that replay does not write classes.csv.
    """
    import argparse
    import os

    from ingest.csvio import TrackCsvWriter
    from radarcore.analysis.evaluate import run as evaluate_run
    from radarcore.core.alerts import AlertJsonlWriter
    from radarcore.sim.simulate import simulate, write_scenario

    parser = argparse.ArgumentParser(prog="python benchmarks/bird_scene.py",
                                     description=main.__doc__.split("\n")[0])
    parser.add_argument("scene")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    scenario = simulate(args.scene, seed=args.seed, duration_s=args.duration)
    paths = write_scenario(scenario, args.out)
    tracks, events, classes = run_engine_with_classes(scenario.site, scenario.plots)
    with TrackCsvWriter(os.path.join(args.out, "tracks.csv")) as writer:
        writer.write(tracks)
    with AlertJsonlWriter(os.path.join(args.out, "alerts.jsonl")) as writer:
        writer.write(events)
    write_classes_csv(os.path.join(args.out, "classes.csv"), classes)
    return evaluate_run(argparse.Namespace(
        truth=str(paths["truth.csv"]), tracks=os.path.join(args.out, "tracks.csv"),
        alerts=os.path.join(args.out, "alerts.jsonl"), site=str(paths["site.toml"]),
        classes=os.path.join(args.out, "classes.csv"), report=os.path.join(args.out, "report"),
        cutoff=50.0))


if __name__ == "__main__":
    raise SystemExit(main())
