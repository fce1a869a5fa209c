"""radarcore benchmarks: kernel suites (``python -m pytest benchmarks``) and
the end-to-end figures (``python -m benchmarks``, the same as ``radarcore bench``)."""
