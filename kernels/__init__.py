"""Numba kernels: pure functions on arrays.

``kernels`` never imports ``radarcore`` or ``ingest``.  Every kernel is compiled
with :data:`kernels._jit.njit` (``cache=True``, plain IEEE arithmetic:
no fast-math flag) and has a slow reference twin in ``tests/naive.py`` or in a
reference library (FilterPy, SciPy, pymap3d).
"""
