"""Array layouts shared by every plot source and the engine.

A plot batch is a NumPy structured array of :data:`PLOT_DTYPE`, one row per
plot.  Optional measurements (``radial_velocity_mps``, ``snr_db``) are NaN when
the radar did not give them.  Units and conventions are those of plots.csv in
docs/formats.md: seconds, metres, degrees (azimuth clockwise from true north,
elevation above the radar's ellipsoid-normal horizontal plane), positive radial
velocity moving away from the radar.
"""
import numpy as np

PLOT_DTYPE = np.dtype([
    ("time_s", "f8"),
    ("radar_id", "i8"),
    ("range_m", "f8"),
    ("azimuth_deg", "f8"),
    ("elevation_deg", "f8"),
    ("radial_velocity_mps", "f8"),
    ("snr_db", "f8"),
])

PLOT_COLUMNS = PLOT_DTYPE.names
REQUIRED_PLOT_COLUMNS = ("time_s", "radar_id", "range_m", "azimuth_deg", "elevation_deg")
OPTIONAL_PLOT_COLUMNS = ("radial_velocity_mps", "snr_db")

TRUTH_DTYPE = np.dtype([
    ("time_s", "f8"),
    ("target_id", "i8"),
    ("east_m", "f8"),
    ("north_m", "f8"),
    ("up_m", "f8"),
    ("v_east_mps", "f8"),
    ("v_north_mps", "f8"),
    ("v_up_mps", "f8"),
    ("kind", "U16"),
])

#: Truth rows with the optional ``behaviour`` column of truth.csv (the motion
#: model of the target: ``soaring``, ``formation``, ``commuter``, ...).
#: :func:`ingest.csvio.read_truth_csv` returns this layout when the file has
#: the column and :data:`TRUTH_DTYPE` when it does not.
TRUTH_BEHAVIOUR_DTYPE = np.dtype(TRUTH_DTYPE.descr + [("behaviour", "U16")])

TRACK_COLUMNS = (
    "time_s", "track_id", "status", "east_m", "north_m", "up_m",
    "v_east_mps", "v_north_mps", "v_up_mps", "lat_deg", "lon_deg", "alt_m",
    "sigma_pos_m",
)

TRACK_STATUS_NAMES = ("free", "tentative", "confirmed", "coasting")


def empty_plots(n=0):
    """A plot batch of ``n`` rows, all NaN / zero."""
    plots = np.zeros(n, dtype=PLOT_DTYPE)
    plots["radial_velocity_mps"] = np.nan
    plots["snr_db"] = np.nan
    return plots

#: One row of the periodic track output (tracks.csv); ``status`` holds a
#: :data:`TRACK_STATUS_NAMES` index (1 tentative, 2 confirmed, 3 coasting).
TRACK_ROW_DTYPE = np.dtype([
    ("time_s", "f8"),
    ("track_id", "i8"),
    ("status", "i1"),
    ("east_m", "f8"),
    ("north_m", "f8"),
    ("up_m", "f8"),
    ("v_east_mps", "f8"),
    ("v_north_mps", "f8"),
    ("v_up_mps", "f8"),
    ("lat_deg", "f8"),
    ("lon_deg", "f8"),
    ("alt_m", "f8"),
    ("sigma_pos_m", "f8"),
])
