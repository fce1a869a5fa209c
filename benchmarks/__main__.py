"""``python -m benchmarks [--quick] [--json FILE] [--out DIR]``: the end-to-end figures.

The same command as ``radarcore bench`` (:mod:`radarcore.bench`).
"""
import sys

from radarcore.bench import main

if __name__ == "__main__":
    sys.exit(main())
