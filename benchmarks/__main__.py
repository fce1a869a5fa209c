"""``python -m benchmarks [--quick] [--json FILE] [--out DIR]``: the end-to-end figures.

The same command as ``radarcore bench`` (:mod:`benchmarks.bench`).
"""
import sys

from benchmarks.bench import main

if __name__ == "__main__":
    sys.exit(main())
