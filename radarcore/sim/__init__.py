"""Scenario simulator internals: trajectories, radar model and named scenarios.

The public entry points are in :mod:`radarcore.sim.simulate`.
"""
