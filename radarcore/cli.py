"""The ``radarcore`` command."""
import argparse
import sys

from radarcore import __version__


def build_parser():
    from radarcore import emulate, evaluate, keys, record, replay, serve, simulate, sweep
    from radarcore import bench

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
    evaluate.add_parser(sub)
    sweep.add_parser(sub)
    bench.add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
