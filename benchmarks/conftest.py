"""Options and fixtures of the kernel benchmark suites (``python -m pytest benchmarks``).

The suites are outside ``testpaths`` (setup.cfg), so a plain ``python -m
pytest`` never runs them.  Sizes are 100, 1,000 and 10,000 tracks by
default; ``--bench-full`` (or ``RADARCORE_BENCH_FULL=1``) adds 100,000.
``--benchmark-disable`` (pytest-benchmark) runs each check and the timed
function once, without timing: the form for CI.
"""
import os
import sys


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the slow reference twins (tests/naive*.py) and the test helpers beside them
sys.path.insert(0, os.path.join(REPO, "tests"))

DEFAULT_SIZES = (100, 1_000, 10_000)
FULL_SIZES = DEFAULT_SIZES + (100_000,)


def pytest_addoption(parser):
    parser.addoption("--bench-full", action="store_true", default=False,
                     help="also run the 100,000-track sizes (or set RADARCORE_BENCH_FULL=1)")


def full_run(config):
    return bool(config.getoption("--bench-full")) or os.environ.get("RADARCORE_BENCH_FULL", "") not in ("", "0")


def pytest_generate_tests(metafunc):
    if "n_tracks" in metafunc.fixturenames:
        sizes = FULL_SIZES if full_run(metafunc.config) else DEFAULT_SIZES
        metafunc.parametrize("n_tracks", sizes, ids=[f"n{n}" for n in sizes])


def pytest_configure(config):
    # half a second of timing per benchmark keeps the default suite near a minute;
    # an explicit --benchmark-max-time wins
    if getattr(config.option, "benchmark_max_time", None) == 1.0:
        config.option.benchmark_max_time = 0.5
