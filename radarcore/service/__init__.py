"""The live service: ``serve``, ``emulate``, ``record``, ``keys`` and the
Prometheus endpoint. Uses ``radarcore.core`` and ``ingest``; nothing of the
core imports it.
"""
