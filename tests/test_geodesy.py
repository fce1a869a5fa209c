"""Tests of kernels.geodesy against pymap3d, slow references and exact properties."""
import math

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive_geodesy as naive
from kernels import geodesy

SETTINGS = settings(max_examples=100, deadline=None)

latitudes = st.floats(-90.0, 90.0)
longitudes = st.floats(-180.0, 180.0)
altitudes = st.floats(-1000.0, 100_000.0)
# A site anywhere but the polar caps (where azimuth from north degenerates).
site_latitudes = st.floats(-85.0, 85.0)


def _random_geodetic(rng, n):
    lat = rng.uniform(-90.0, 90.0, n)
    lon = rng.uniform(-180.0, 180.0, n)
    alt = rng.uniform(-1000.0, 100_000.0, n)
    # Edge points: poles, equator, antimeridian, the height limits.
    lat[:6] = [90.0, -90.0, 0.0, 0.0, 45.0, -45.0]
    lon[:6] = [0.0, 37.0, 180.0, -180.0, 0.0, 179.999]
    alt[:6] = [-1000.0, 100_000.0, 0.0, 50_000.0, -1000.0, 100_000.0]
    return lat, lon, alt


def _ecef(lat, lon, alt):
    out = np.empty((len(lat), 3))
    geodesy.geodetic_to_ecef(np.asarray(lat, float), np.asarray(lon, float),
                             np.asarray(alt, float), out)
    return out


def _frame(lat_deg, lon_deg, alt_m):
    origin = _ecef([lat_deg], [lon_deg], [alt_m])[0]
    return origin, geodesy.enu_rotation(lat_deg, lon_deg)


def _lon_difference_deg(a, b):
    return (np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0


def _sites(rng, n_radars, origin_lat=None, origin_lon=None):
    """An origin and radars 5-20 km from it at different heights, with their frames."""
    if origin_lat is None:
        origin_lat = rng.uniform(-70.0, 70.0)
        origin_lon = rng.uniform(-180.0, 180.0)
    origin_alt = rng.uniform(-50.0, 500.0)
    distance_m = rng.uniform(5_000.0, 20_000.0, n_radars)
    bearing_deg = rng.uniform(0.0, 360.0, n_radars)
    radar_alt = rng.uniform(0.0, 800.0, n_radars)
    lat_r, lon_r, _ = pymap3d.aer2geodetic(bearing_deg, 0.0, distance_m,
                                           origin_lat, origin_lon, 0.0)
    radars = np.column_stack([lat_r, lon_r, radar_alt])
    M = np.empty((n_radars, 3, 3))
    b = np.empty((n_radars, 3))
    for k, (lat, lon, alt) in enumerate(radars):
        M[k], b[k] = geodesy.radar_frame(lat, lon, alt, origin_lat, origin_lon, origin_alt)
    return (origin_lat, origin_lon, origin_alt), radars, M, b


def _polar(range_m, azimuth_deg, elevation_deg, radar_index, M, b, sigma):
    n = len(range_m)
    z = np.empty((n, 3))
    R = np.empty((n, 3, 3))
    geodesy.polar_to_enu(np.asarray(range_m, float), np.asarray(azimuth_deg, float),
                         np.asarray(elevation_deg, float),
                         np.asarray(radar_index, np.int64), M, b, sigma, z, R)
    return z, R


# ---------------------------------------------------------------- geodetic/ECEF

def test_geodetic_to_ecef_matches_pymap3d_and_reference():
    lat, lon, alt = _random_geodetic(np.random.default_rng(1), 3000)
    ecef = _ecef(lat, lon, alt)
    expected = np.column_stack(pymap3d.geodetic2ecef(lat, lon, alt))
    np.testing.assert_allclose(ecef, expected, rtol=0, atol=1e-6)
    for j in range(0, 3000, 97):
        np.testing.assert_allclose(ecef[j], naive.geodetic_to_ecef(lat[j], lon[j], alt[j]),
                                   rtol=0, atol=1e-6)


def test_ecef_to_geodetic_matches_pymap3d_and_reference():
    lat, lon, alt = _random_geodetic(np.random.default_rng(2), 3000)
    ecef = np.column_stack(pymap3d.geodetic2ecef(lat, lon, alt))
    out = np.empty_like(ecef)
    geodesy.ecef_to_geodetic(ecef, out)
    pm_lat, pm_lon, pm_alt = pymap3d.ecef2geodetic(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    np.testing.assert_allclose(out[:, 0], pm_lat, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out[:, 2], pm_alt, rtol=0, atol=1e-3)
    off_axis = np.abs(lat) < 89.99
    assert np.all(np.abs(_lon_difference_deg(out[off_axis, 1], pm_lon[off_axis])) < 1e-9)
    # Against the input itself and the long fixed-point reference.
    np.testing.assert_allclose(out[:, 0], lat, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out[:, 2], alt, rtol=0, atol=1e-4)
    # Iterated to convergence: micrometre level, not just sub-millimetre.
    for j in range(0, 3000, 61):
        ref = naive.ecef_to_geodetic(*ecef[j])
        assert abs(out[j, 0] - ref[0]) < 1e-11
        assert abs(out[j, 2] - ref[2]) < 1e-6


def test_ecef_to_geodetic_on_polar_axis():
    b_m = geodesy.WGS84_B_M
    ecef = np.array([[0.0, 0.0, b_m + 1234.5], [0.0, 0.0, -(b_m - 800.0)]])
    out = np.empty_like(ecef)
    geodesy.ecef_to_geodetic(ecef, out)
    np.testing.assert_allclose(out[:, 0], [90.0, -90.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[:, 2], [1234.5, -800.0], rtol=0, atol=1e-6)


@SETTINGS
@given(latitudes, longitudes, altitudes)
def test_geodetic_ecef_geodetic_round_trip(lat, lon, alt):
    ecef = _ecef([lat], [lon], [alt])
    out = np.empty((1, 3))
    geodesy.ecef_to_geodetic(ecef, out)
    # Distance in metres between the point and the round-tripped point.
    error_m = np.linalg.norm(naive.geodetic_to_ecef(*out[0]) - naive.geodetic_to_ecef(lat, lon, alt))
    assert error_m < 1e-3
    assert abs(out[0, 0] - lat) < 1e-11
    assert abs(out[0, 2] - alt) < 1e-6


# ---------------------------------------------------------------- ENU

@pytest.mark.parametrize("lat, lon", [(31.30, 120.62), (-33.9, 18.4), (0.0, 0.0),
                                      (64.1, -21.9), (-77.8, 166.7), (12.0, -179.5)])
def test_enu_rotation_matches_reference(lat, lon):
    rot = geodesy.enu_rotation(lat, lon)
    np.testing.assert_allclose(rot, naive.enu_rotation(lat, lon), rtol=0, atol=1e-8)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), rtol=0, atol=1e-15)
    assert np.linalg.det(rot) == pytest.approx(1.0, abs=1e-14)
    # Each row as pymap3d sees it: a unit step along E, N, U from the tangent point.
    for row, enu in enumerate(np.eye(3)):
        x, y, z = pymap3d.enu2ecef(*(1000.0 * enu), lat, lon, 0.0)
        x0, y0, z0 = pymap3d.geodetic2ecef(lat, lon, 0.0)
        np.testing.assert_allclose(rot[row], np.array([x - x0, y - y0, z - z0]) / 1000.0,
                                   rtol=0, atol=1e-9)


def test_enu_conversions_match_pymap3d():
    rng = np.random.default_rng(3)
    for _ in range(8):
        lat0, lon0, alt0 = rng.uniform(-85, 85), rng.uniform(-180, 180), rng.uniform(-100, 2000)
        origin, rot = _frame(lat0, lon0, alt0)
        n = 400
        enu = np.column_stack([rng.uniform(-60e3, 60e3, n), rng.uniform(-60e3, 60e3, n),
                               rng.uniform(-1000.0, 20e3, n)])
        # enu -> geodetic
        out = np.empty((n, 3))
        geodesy.enu_to_geodetic(enu, origin, rot, out)
        lat, lon, alt = pymap3d.enu2geodetic(enu[:, 0], enu[:, 1], enu[:, 2], lat0, lon0, alt0)
        np.testing.assert_allclose(out[:, 0], lat, rtol=0, atol=1e-9)
        assert np.all(np.abs(_lon_difference_deg(out[:, 1], lon)) < 1e-9)
        np.testing.assert_allclose(out[:, 2], alt, rtol=0, atol=1e-3)
        # geodetic -> enu
        back = np.empty((n, 3))
        geodesy.geodetic_to_enu(lat, lon, alt, origin, rot, back)
        expected = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, lat0, lon0, alt0))
        np.testing.assert_allclose(back, expected, rtol=0, atol=1e-3)
        np.testing.assert_allclose(back, enu, rtol=0, atol=1e-3)
        # ecef <-> enu
        ecef = np.column_stack(pymap3d.enu2ecef(enu[:, 0], enu[:, 1], enu[:, 2], lat0, lon0, alt0))
        to_ecef = np.empty((n, 3))
        geodesy.enu_to_ecef(enu, origin, rot, to_ecef)
        np.testing.assert_allclose(to_ecef, ecef, rtol=0, atol=1e-3)
        to_enu = np.empty((n, 3))
        geodesy.ecef_to_enu(ecef, origin, rot, to_enu)
        expected = np.column_stack(pymap3d.ecef2enu(ecef[:, 0], ecef[:, 1], ecef[:, 2],
                                                    lat0, lon0, alt0))
        np.testing.assert_allclose(to_enu, expected, rtol=0, atol=1e-3)


@SETTINGS
@given(site_latitudes, longitudes, st.floats(-100.0, 3000.0),
       st.floats(-80e3, 80e3), st.floats(-80e3, 80e3), st.floats(-1000.0, 30e3))
def test_enu_geodetic_enu_round_trip(lat0, lon0, alt0, east, north, up):
    origin, rot = _frame(lat0, lon0, alt0)
    enu = np.array([[east, north, up]])
    geodetic = np.empty((1, 3))
    geodesy.enu_to_geodetic(enu, origin, rot, geodetic)
    back = np.empty((1, 3))
    geodesy.geodetic_to_enu(geodetic[:, 0].copy(), geodetic[:, 1].copy(),
                            geodetic[:, 2].copy(), origin, rot, back)
    assert np.linalg.norm(back - enu) < 1e-3


def test_local_frame_matches_kernels_and_pymap3d():
    frame = geodesy.LocalFrame(31.30, 120.62, 12.0)
    lat = np.array([31.31, 31.25, 31.40])
    lon = np.array([120.60, 120.70, 120.55])
    alt = np.array([25.0, 300.0, 1500.0])
    enu = frame.from_geodetic(lat, lon, alt)
    expected = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, 31.30, 120.62, 12.0))
    np.testing.assert_allclose(enu, expected, rtol=0, atol=1e-3)
    geodetic = frame.to_geodetic(enu)
    np.testing.assert_allclose(geodetic[:, :2], np.column_stack([lat, lon]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(geodetic[:, 2], alt, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="enu must have shape"):
        frame.to_geodetic(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="lat_deg must be within"):
        geodesy.LocalFrame(91.0, 0.0)


# ---------------------------------------------------------------- radars

def test_radar_frame_is_the_exact_rigid_transform():
    rng = np.random.default_rng(4)
    for _ in range(5):
        (lat0, lon0, alt0), radars, M, b = _sites(rng, 4)
        for k, (lat, lon, alt) in enumerate(radars):
            np.testing.assert_allclose(M[k] @ M[k].T, np.eye(3), rtol=0, atol=1e-14)
            assert np.linalg.det(M[k]) == pytest.approx(1.0, abs=1e-14)
            np.testing.assert_allclose(
                b[k], pymap3d.geodetic2enu(lat, lon, alt, lat0, lon0, alt0), rtol=0, atol=1e-3)
    with pytest.raises(ValueError, match="radar_lat_deg must be within"):
        geodesy.radar_frame(95.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="origin_alt_m must be finite"):
        geodesy.radar_frame(1.0, 0.0, 0.0, 0.0, 0.0, np.nan)


def test_polar_to_enu_matches_pymap3d_aer():
    """pymap3d's aer (azimuth clockwise from north, elevation above the local
    horizontal of the ellipsoid normal) is the radar convention."""
    rng = np.random.default_rng(5)
    for site in range(6):
        (lat0, lon0, alt0), radars, M, b = _sites(rng, 3)
        n = 600
        radar_index = rng.integers(0, 3, n)
        range_m = rng.uniform(50.0, 25_000.0, n)
        azimuth_deg = rng.uniform(0.0, 360.0, n)
        elevation_deg = rng.uniform(-5.0, 85.0, n)
        z, _ = _polar(range_m, azimuth_deg, elevation_deg, radar_index, M, b, np.zeros((3, 3)))
        lat_r, lon_r, alt_r = radars[radar_index].T
        lat, lon, alt = pymap3d.aer2geodetic(azimuth_deg, elevation_deg, range_m,
                                             lat_r, lon_r, alt_r)
        expected = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, lat0, lon0, alt0))
        np.testing.assert_allclose(z, expected, rtol=0, atol=1e-3)
        # And the same points as geodetic coordinates through the origin frame.
        origin, rot = _frame(lat0, lon0, alt0)
        geodetic = np.empty((n, 3))
        geodesy.enu_to_geodetic(z, origin, rot, geodetic)
        np.testing.assert_allclose(geodetic[:, 0], lat, rtol=0, atol=1e-9)
        assert np.all(np.abs(_lon_difference_deg(geodetic[:, 1], lon)) < 1e-9)
        np.testing.assert_allclose(geodetic[:, 2], alt, rtol=0, atol=1e-3)


def test_offsets_are_not_enough_ten_km_from_the_origin():
    """Adding the radar-local vector to the radar's position (no rotation
    between tangent planes) is metres wrong at 10 km; the exact path is not."""
    lat0, lon0, alt0 = 31.30, 120.62, 0.0
    lat_r, lon_r, _ = pymap3d.aer2geodetic(45.0, 0.0, 10_000.0, lat0, lon0, 0.0)
    M, b = geodesy.radar_frame(lat_r, lon_r, 30.0, lat0, lon0, alt0)
    azimuth_deg = np.arange(0.0, 360.0, 15.0)
    n = len(azimuth_deg)
    range_m = np.full(n, 10_000.0)
    elevation_deg = np.full(n, 2.0)
    z, _ = _polar(range_m, azimuth_deg, elevation_deg, np.zeros(n, np.int64),
                  M[None], b[None], np.zeros((1, 3)))
    lat, lon, alt = pymap3d.aer2geodetic(azimuth_deg, elevation_deg, range_m, lat_r, lon_r, 30.0)
    truth = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, lat0, lon0, alt0))
    local = np.column_stack(pymap3d.aer2enu(azimuth_deg, elevation_deg, range_m))
    exact_error = np.linalg.norm(z - truth, axis=1)
    offset_error = np.linalg.norm(local + b - truth, axis=1)
    assert exact_error.max() < 1e-3
    assert offset_error.max() > 1.0
    assert offset_error.mean() > 1.0


def test_polar_to_enu_matches_reference_with_noise_model():
    rng = np.random.default_rng(6)
    _, _, M, b = _sites(rng, 4)
    sigma = np.column_stack([rng.uniform(1.0, 30.0, 4), rng.uniform(0.05, 3.0, 4),
                             rng.uniform(0.05, 3.0, 4)])
    n = 300
    args = (rng.uniform(10.0, 20_000.0, n), rng.uniform(-180.0, 540.0, n),
            rng.uniform(-10.0, 89.0, n), rng.integers(0, 4, n))
    z, R = _polar(*args, M, b, sigma)
    z_ref, R_ref = naive.polar_to_enu(*args, M, b, sigma)
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-8)
    scale = np.abs(R_ref).max(axis=(1, 2))[:, None, None]
    assert np.all(np.abs(R - R_ref) <= 1e-12 * scale)


plot_strategy = st.tuples(st.floats(1.0, 30_000.0), st.floats(0.0, 360.0),
                          st.floats(-30.0, 85.0))


@SETTINGS
@given(site_latitudes, longitudes, st.floats(0.0, 360.0), st.floats(5e3, 20e3),
       st.floats(-50.0, 800.0), st.lists(plot_strategy, min_size=1, max_size=8))
def test_polar_enu_polar_round_trip(lat0, lon0, bearing_deg, distance_m, radar_alt, plots):
    lat_r, lon_r, _ = pymap3d.aer2geodetic(bearing_deg, 0.0, distance_m, lat0, lon0, 0.0)
    M, b = geodesy.radar_frame(lat_r, lon_r, radar_alt, lat0, lon0, 0.0)
    polar = np.array(plots)
    z, _ = _polar(polar[:, 0], polar[:, 1], polar[:, 2], np.zeros(len(polar), np.int64),
                  M[None], b[None], np.zeros((1, 3)))
    back = np.empty_like(polar)
    geodesy.enu_to_polar(z, M, b, back)
    assert np.all((back[:, 1] >= 0.0) & (back[:, 1] < 360.0))
    np.testing.assert_allclose(back[:, 0], polar[:, 0], rtol=1e-12, atol=1e-8)
    np.testing.assert_allclose(back[:, 2], polar[:, 2], rtol=0, atol=1e-9)
    assert np.all(np.abs(_lon_difference_deg(back[:, 1], polar[:, 1])) < 1e-9)
    reference = naive.enu_to_polar(z, M, b)
    np.testing.assert_allclose(back[:, [0, 2]], reference[:, [0, 2]], rtol=1e-12, atol=1e-9)
    assert np.all(np.abs(_lon_difference_deg(back[:, 1], reference[:, 1])) < 1e-9)


def test_enu_to_polar_azimuth_wraps_to_zero():
    M = np.eye(3)
    b = np.zeros(3)
    enu = np.array([[-1e-300, 1000.0, 0.0], [0.0, 1000.0, 0.0], [-1000.0, 0.0, 0.0],
                    [0.0, -1000.0, 5.0]])
    out = np.empty((4, 3))
    geodesy.enu_to_polar(enu, M, b, out)
    np.testing.assert_allclose(out[:, 1], [0.0, 0.0, 270.0, 180.0])
    assert np.all(out[:, 1] < 360.0)


@SETTINGS
@given(st.floats(10.0, 30_000.0), st.floats(0.0, 360.0), st.floats(-20.0, 80.0),
       st.floats(0.5, 50.0), st.floats(0.01, 3.0), st.floats(0.01, 3.0),
       st.floats(-85.0, 85.0), st.floats(0.0, 360.0))
def test_covariance_is_symmetric_positive_definite(range_m, azimuth_deg, elevation_deg,
                                                   sigma_r, sigma_a, sigma_e, lat0, bearing):
    lat_r, lon_r, _ = pymap3d.aer2geodetic(bearing, 0.0, 12_000.0, lat0, 10.0, 0.0)
    M, b = geodesy.radar_frame(lat_r, lon_r, 40.0, lat0, 10.0, 0.0)
    sigma = np.array([[sigma_r, sigma_a, sigma_e]])
    _, R = _polar([range_m], [azimuth_deg], [elevation_deg], [0], M[None], b[None], sigma)
    assert np.array_equal(R[0], R[0].T)
    np.linalg.cholesky(R[0])  # raises LinAlgError unless positive definite
    # The trace is invariant under the rotation M: sr^2 + (r sa)^2 cos^2(e) + (r se)^2.
    expected_trace = (sigma_r ** 2
                      + (range_m * math.radians(sigma_a) * math.cos(math.radians(elevation_deg))) ** 2
                      + (range_m * math.radians(sigma_e)) ** 2)
    assert np.trace(R[0]) == pytest.approx(expected_trace, rel=1e-10)


@SETTINGS
@given(st.floats(100.0, 30_000.0), st.floats(0.0, 360.0), st.floats(-20.0, 80.0),
       st.floats(0.5, 50.0), st.floats(0.01, 3.0), st.floats(0.01, 3.0))
def test_covariance_matches_finite_difference_jacobian(range_m, azimuth_deg, elevation_deg,
                                                       sigma_r, sigma_a, sigma_e):
    lat0, lon0 = 31.30, 120.62
    lat_r, lon_r, _ = pymap3d.aer2geodetic(300.0, 0.0, 15_000.0, lat0, lon0, 0.0)
    M, b = geodesy.radar_frame(lat_r, lon_r, 120.0, lat0, lon0, 0.0)
    M, b = M[None], b[None]
    zero_sigma = np.zeros((1, 3))
    point = np.array([range_m, azimuth_deg, elevation_deg])
    steps = np.array([1e-2, 1e-5, 1e-5])  # metres, degrees, degrees
    G = np.empty((3, 3))
    for column in range(3):
        shifted = np.array([point + steps[column] * np.eye(3)[column],
                            point - steps[column] * np.eye(3)[column]])
        z, _ = _polar(shifted[:, 0], shifted[:, 1], shifted[:, 2], [0, 0], M, b, zero_sigma)
        G[:, column] = (z[0] - z[1]) / (2.0 * steps[column])
    # G is per degree, so the angular variances stay in degrees squared here.
    R_fd = G @ np.diag([sigma_r ** 2, sigma_a ** 2, sigma_e ** 2]) @ G.T
    _, R = _polar([range_m], [azimuth_deg], [elevation_deg], [0], M, b,
                  np.array([[sigma_r, sigma_a, sigma_e]]))
    assert np.abs(R[0] - R_fd).max() <= 1e-6 * np.abs(R_fd).max()


def test_debiasing_removes_the_mean_error():
    """With 3 degree angular noise the plain conversion is biased towards the
    radar by a few metres; the multiplicative debias removes it."""
    rng = np.random.default_rng(7)
    M, b = geodesy.radar_frame(31.39, 120.62, 50.0, 31.30, 120.62, 0.0)
    M, b = M[None], b[None]
    sigma = np.array([[7.5, 3.0, 3.0]])
    true_polar = np.array([6000.0, 40.0, 25.0])
    truth, _ = _polar(true_polar[[0]], true_polar[[1]], true_polar[[2]], [0], M, b,
                      np.zeros((1, 3)))
    n = 200_000
    range_m = true_polar[0] + rng.normal(0.0, sigma[0, 0], n)
    azimuth_deg = true_polar[1] + rng.normal(0.0, sigma[0, 1], n)
    elevation_deg = true_polar[2] + rng.normal(0.0, sigma[0, 2], n)
    index = np.zeros(n, np.int64)
    raw, _ = _polar(range_m, azimuth_deg, elevation_deg, index, M, b, np.zeros((1, 3)))
    debiased, _ = _polar(range_m, azimuth_deg, elevation_deg, index, M, b, sigma)
    raw_error = raw - truth
    debiased_error = debiased - truth
    standard_error = debiased_error.std(axis=0) / math.sqrt(n)
    raw_mean = raw_error.mean(axis=0)
    debiased_mean = debiased_error.mean(axis=0)
    assert np.linalg.norm(debiased_mean) < np.linalg.norm(raw_mean)
    assert np.linalg.norm(raw_mean) > 10.0 * np.linalg.norm(standard_error)  # test has power
    assert np.all(np.abs(debiased_mean) < 4.0 * standard_error)


# ---------------------------------------------------------------- Doppler

def test_radial_velocity_matches_reference_and_range_rate():
    rng = np.random.default_rng(8)
    _, _, M, b = _sites(rng, 1)
    M, b = M[0], b[0]
    n = 200
    enu = b + rng.uniform(-20e3, 20e3, (n, 3))
    v_enu = rng.uniform(-80.0, 80.0, (n, 3))
    out = np.empty(n)
    geodesy.radial_velocity(enu, v_enu, b, out)
    np.testing.assert_allclose(out, naive.radial_velocity(enu, v_enu, b), rtol=1e-12, atol=1e-12)
    dt_s = 1e-3
    ahead = np.empty((n, 3))
    behind = np.empty((n, 3))
    geodesy.enu_to_polar(enu + v_enu * dt_s, M, b, ahead)
    geodesy.enu_to_polar(enu - v_enu * dt_s, M, b, behind)
    np.testing.assert_allclose(out, (ahead[:, 0] - behind[:, 0]) / (2 * dt_s), rtol=0, atol=1e-5)
    # Moving straight away is positive, and a point at the radar gives 0.
    geodesy.radial_velocity(np.array([b + [0.0, 100.0, 0.0], b]),
                            np.array([[0.0, 5.0, 0.0], [1.0, 1.0, 1.0]]), b, out[:2])
    np.testing.assert_allclose(out[:2], [5.0, 0.0])


# ---------------------------------------------------------------- argument checks

def test_kernels_reject_bad_shapes_and_radar_index():
    origin, rot = _frame(31.3, 120.6, 0.0)
    with pytest.raises(ValueError, match="geodetic_to_ecef: out must have shape"):
        geodesy.geodetic_to_ecef(np.zeros(3), np.zeros(3), np.zeros(3), np.empty((2, 3)))
    with pytest.raises(ValueError, match="same length"):
        geodesy.geodetic_to_enu(np.zeros(3), np.zeros(2), np.zeros(3), origin, rot,
                                np.empty((3, 3)))
    with pytest.raises(ValueError, match="enu must have shape"):
        geodesy.enu_to_geodetic(np.zeros((3, 2)), origin, rot, np.empty((3, 3)))
    with pytest.raises(ValueError, match="ecef_to_enu: origin_ecef must have shape"):
        geodesy.ecef_to_enu(np.zeros((3, 3)), np.zeros(2), rot, np.empty((3, 3)))
    M = np.eye(3)[None]
    b = np.zeros((1, 3))
    sigma = np.ones((1, 3))
    with pytest.raises(IndexError, match="radar_index out of range"):
        _polar([100.0, 100.0], [0.0, 0.0], [0.0, 0.0], [0, 1], M, b, sigma)
    with pytest.raises(IndexError, match="radar_index out of range"):
        _polar([100.0], [0.0], [0.0], [-1], M, b, sigma)
    with pytest.raises(ValueError, match="sigma must have shape"):
        _polar([100.0], [0.0], [0.0], [0], M, b, np.ones((2, 3)))
    with pytest.raises(ValueError, match="R_out must have shape"):
        geodesy.polar_to_enu(np.ones(2), np.ones(2), np.ones(2), np.zeros(2, np.int64),
                             M, b, sigma, np.empty((2, 3)), np.empty((2, 3, 2)))
