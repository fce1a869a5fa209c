import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so that the suite passes or
# fails the same way on every machine.  HYPOTHESIS_PROFILE=explore draws afresh
# (with more examples); pin what it finds with @example.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# tests/naive*.py are plain modules beside the tests
sys.path.insert(0, os.path.dirname(__file__))


def straight_line_plots(seed=0, n_targets=5, duration_s=120, p_detection=0.9):
    """Two rotating radars (one with Doppler) and targets on straight lines.

    Returns (site, plots sorted by time, truth function t -> (n_targets, 3)).
    """
    from ingest.schema import empty_plots
    from kernels.geodesy import enu_to_polar, radar_frame
    from radarcore.core.config import Origin, RadarConfig, SiteConfig

    site = SiteConfig(origin=Origin(31.3, 120.62, 0.0), radars=(
        RadarConfig(id=1, lat_deg=31.31, lon_deg=120.60, alt_m=25.0, sigma_range_m=7.5,
                    sigma_azimuth_deg=0.4, sigma_elevation_deg=0.8, scan_period_s=1.0,
                    max_range_m=8000.0, sigma_radial_velocity_mps=0.5),
        RadarConfig(id=2, lat_deg=31.28, lon_deg=120.65, alt_m=25.0, sigma_range_m=7.5,
                    sigma_azimuth_deg=0.4, sigma_elevation_deg=0.8, scan_period_s=1.0,
                    max_range_m=8000.0)))
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(-3000, 3000, (n_targets, 3))
    p0[:, 2] = rng.uniform(50, 300, n_targets)
    v = rng.normal(0, 12, (n_targets, 3))
    v[:, 2] = 0
    chunks = []
    for r, radar in enumerate(site.radars):
        M, b = radar_frame(radar.lat_deg, radar.lon_deg, radar.alt_m, 31.3, 120.62, 0.0)
        for k in range(duration_s):
            t = k + 0.3 * r + rng.uniform(0, 0.9, n_targets)
            pos = p0 + v * t[:, None]
            polar = np.empty((n_targets, 3))
            enu_to_polar(np.ascontiguousarray(pos), M, b, polar)
            u = (pos - b) / np.linalg.norm(pos - b, axis=1)[:, None]
            detected = rng.random(n_targets) < p_detection
            n = int(detected.sum())
            plots = empty_plots(n)
            plots["time_s"] = t[detected]
            plots["radar_id"] = radar.id
            plots["range_m"] = polar[detected, 0] + rng.normal(0, 7.5, n)
            plots["azimuth_deg"] = polar[detected, 1] + rng.normal(0, 0.4, n)
            plots["elevation_deg"] = polar[detected, 2] + rng.normal(0, 0.8, n)
            if radar.sigma_radial_velocity_mps:
                plots["radial_velocity_mps"] = (u * v).sum(1)[detected] + rng.normal(0, 0.5, n)
            chunks.append(plots)
    plots = np.concatenate(chunks)
    plots = plots[np.argsort(plots["time_s"], kind="stable")]
    return site, plots, lambda t: p0 + v * t


@pytest.fixture(scope="session")
def straight_scenario():
    return straight_line_plots()


# The engine's compiled plan takes minutes to compile on a clean checkout (about
# 200 s of CPU, once: later runs load it from Numba's cache).  A session that runs
# both kernel tests and engine tests compiles it in a second process on the other
# core while the tests that never run the plan (KERNEL_MODULES) run first, and the first engine test waits for that
# process, then loads the plan from the cache instead of compiling it again.  The
# order changes nothing else: kernel tests share no state with engine tests.
# RADARCORE_TEST_WARM=0 turns this off (the plan then compiles in the first engine test).
KERNEL_MODULES = frozenset({
    "test_alert_kernels", "test_assign", "test_asterix", "test_cat062_twin", "test_chi2",
    "test_classify", "test_classify_evidence", "test_classify_fit", "test_classify_kin",
    "test_classify_trees", "test_codec", "test_config", "test_config_fuzz", "test_csvio",
    "test_cv_covariance", "test_docs", "test_filters", "test_fuzz_inputs", "test_gating",
    "test_geodesy", "test_grid", "test_jit", "test_merge", "test_metrics", "test_oosm",
    "test_recording", "test_simulate", "test_zones",
})
_WARM = {"process": None, "log": None}


def _is_kernel_test(item):
    module = getattr(item, "module", None)
    return module is not None and module.__name__.rpartition(".")[2] in KERNEL_MODULES


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: not _is_kernel_test(item))  # stable: order kept within each part


def pytest_collection_finish(session):
    if os.environ.get("RADARCORE_TEST_WARM", "1") == "0":
        return
    kinds = {_is_kernel_test(item) for item in session.items}
    if kinds != {True, False}:
        return  # nothing to overlap with
    log = tempfile.TemporaryFile()
    _WARM["log"] = log
    _WARM["process"] = subprocess.Popen(
        [sys.executable, "-c", "from radarcore.core.engine import Engine; Engine.warmup()"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def pytest_runtest_setup(item):
    process = _WARM["process"]
    if process is None or _is_kernel_test(item):
        return
    _WARM["process"] = None
    tracker = sys.modules.get("kernels.tracker")
    if tracker is not None and tracker.run_plan.signatures:
        warnings.warn("a test of KERNEL_MODULES ran the engine's plan (compiled twice): "
                      "take its module out of KERNEL_MODULES in tests/conftest.py")
    try:
        rc = process.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        process.kill()
        rc = "timeout"
    if rc != 0:
        _WARM["log"].seek(0)
        tail = _WARM["log"].read()[-2000:].decode(errors="replace")
        warnings.warn(f"the engine's warm-up process failed ({rc}); the plan compiles in-process:\n{tail}")
    _WARM["log"].close()


def pytest_sessionfinish(session, exitstatus):
    process = _WARM["process"]
    if process is not None:  # the session ended before any engine test ran
        process.kill()
        process.wait()
