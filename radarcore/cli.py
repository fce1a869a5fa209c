"""The ``radarcore`` command."""
import argparse
import os
import sys

from radarcore import __version__


#: Command name -> the module whose ``add_parser`` adds it (imported only when needed:
#: ``radarcore replay`` and ``serve`` import nothing of the analysis tools).
COMMANDS = {
    "simulate": "radarcore.sim.simulate",
    "replay": "radarcore.core.replay",
    "serve": "radarcore.service.serve",
    "emulate": "radarcore.service.emulate",
    "record": "radarcore.service.record",
    "keys": "radarcore.service.keys",
    "console": "radarcore.service.console",
    "evaluate": "radarcore.analysis.evaluate",
    "sweep": "radarcore.analysis.sweep",
    "bench": None,
}


def build_parser(command=None):
    """The argument parser: of every command, or with ``command`` of that one only."""
    import importlib

    parser = argparse.ArgumentParser(prog="radarcore",
                                     description="Low-altitude radar track fusion.")
    parser.add_argument("--version", action="version", version=f"radarcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in COMMANDS.items():
        if command is not None and name != command:
            continue
        if module is None:
            _add_bench_parser(sub)
        else:
            importlib.import_module(module).add_parser(sub)
    return parser


def _checkout_root():
    """The repository this radarcore was installed from (editable) or runs in, if it has benchmarks/."""
    import radarcore

    root = os.path.dirname(os.path.dirname(os.path.abspath(radarcore.__file__)))
    return root if os.path.isfile(os.path.join(root, "benchmarks", "bench.py")) else None


def _add_bench_parser(subparsers):
    """``radarcore bench``: the end-to-end figures of the repository's ``benchmarks/``.

    ``benchmarks`` is not installed with the package: it is imported from
    ``sys.path`` (``python -m`` in the checkout) or else from the checkout
    beside the ``radarcore`` package (an editable install).
    """
    try:
        from benchmarks import bench
    except ImportError:
        root = _checkout_root()
        if root is None:
            parser = subparsers.add_parser("bench", help="benchmarks (needs a checkout of the repository)")
            parser.set_defaults(func=_no_benchmarks)
            return
        sys.path.append(root)
        from benchmarks import bench
    bench.add_parser(subparsers)


def _no_benchmarks(args):
    print("radarcore bench: the benchmarks live in the repository's benchmarks/ folder; "
          "run it from a checkout (python -m benchmarks)", file=sys.stderr)
    return 2


#: Exit status when stdout was closed under the command (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # the first word is the command: build only its parser (help and errors build all)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(command)
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()       # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        # The reader of stdout has gone (``radarcore replay ... | head``): stop
        # quietly, and send what is still buffered to /dev/null so that the
        # flush at exit does not fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):    # stdout is not a file (in-process callers)
            pass
        return EXIT_BROKEN_PIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
