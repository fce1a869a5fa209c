"""The engine and what it needs to run: site configuration, track table,
zones, alerts and the offline replay of recorded plots.

Imports flow one way: ``radarcore.service`` and ``radarcore.analysis`` use
``radarcore.core``; ``radarcore.core`` uses ``ingest`` and ``kernels``.
"""
