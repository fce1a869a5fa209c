"""The ``radarcore`` command."""
import argparse
import sys

from radarcore import __version__


def build_parser():
    from radarcore.analysis import evaluate, sweep
    from radarcore.core import replay
    from radarcore.service import console, emulate, keys, record, serve
    from radarcore.sim import simulate

    parser = argparse.ArgumentParser(prog="radarcore",
                                     description="Low-altitude radar track fusion.")
    parser.add_argument("--version", action="version", version=f"radarcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    simulate.add_parser(sub)
    replay.add_parser(sub)
    serve.add_parser(sub)
    emulate.add_parser(sub)
    record.add_parser(sub)
    keys.add_parser(sub)
    console.add_parser(sub)
    evaluate.add_parser(sub)
    sweep.add_parser(sub)
    _add_bench_parser(sub)
    return parser


def _add_bench_parser(subparsers):
    """``radarcore bench``: the end-to-end figures of the repository's ``benchmarks/``."""
    try:
        from benchmarks import bench
    except ImportError:
        parser = subparsers.add_parser("bench", help="benchmarks (needs a checkout of the repository)")
        parser.set_defaults(func=_no_benchmarks)
        return
    bench.add_parser(subparsers)


def _no_benchmarks(args):
    print("radarcore bench: the benchmarks live in the repository's benchmarks/ folder; "
          "run it from a checkout (python -m benchmarks)", file=sys.stderr)
    return 2


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
