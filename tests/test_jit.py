"""How kernels are compiled: the same bits from a fresh compile and from the cache.

A replay must give byte-identical tracks.csv and alerts.jsonl run to run,
the first run after an install (every kernel compiled in the process) as much
as the later ones (every kernel loaded from the Numba cache).  With the
value-changing fast-math flags (``contract``: fused multiply-add; ``arcp``:
multiply by a reciprocal) the code generator decided per compiled body where
to fuse, and the body run in the compiling process and the one written to the
cache differed: a live-mode run of the crossing scene gave track states
differing in their last bits between a cold and a warm cache, all of them
identical once the flags were off.  A cold compile takes minutes, so the test
here checks the cause: no kernel is compiled with a fast-math flag.
"""
import importlib
import pkgutil

from numba.core.registry import CPUDispatcher

import ingest
import kernels
from kernels._jit import FASTMATH, njit


def _dispatchers():
    for package in (kernels, ingest):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for name, value in vars(module).items():
                if isinstance(value, CPUDispatcher) and value.__module__ == module.__name__:
                    yield f"{module.__name__}.{name}", value


def test_the_project_flag_set_is_plain_ieee():
    assert FASTMATH == frozenset()
    assert not njit(lambda x: x + 1.0).targetoptions["fastmath"]


def test_no_kernel_is_compiled_with_a_fast_math_flag():
    found = dict(_dispatchers())
    assert len(found) > 100, "the kernels were not found: the check would pass on nothing"
    flagged = {name: d.targetoptions.get("fastmath") for name, d in found.items()
               if d.targetoptions.get("fastmath")}
    assert flagged == {}

