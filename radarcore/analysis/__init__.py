"""Scoring tracks and alerts against truth: ``evaluate``, its report, the
track scores and the Dask ``sweep``. Uses ``radarcore.core``; nothing of the
core imports it.
"""
