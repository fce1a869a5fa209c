"""Site configuration: reading, validating and writing site.toml.

site.toml describes a deployment (see docs/formats.md): the ``[origin]`` of the
local East-North-Up frame, one ``[[radar]]`` table per radar, and optional
``[[asset]]`` tables (protected targets) with their ``[[asset.zone]]`` tables.
radarcore adds three tables of its own, ``[tracker]``, ``[alerts]`` and
``[service]`` (the live service's endpoints and limits), whose keys are all
optional (defaults in :class:`TrackerConfig`, :class:`AlertConfig` and
:class:`ServiceConfig`), one optional radar key, ``mode`` (``"rotating"`` or
``"staring"``), and one optional zone key, ``alert_on`` (the track classes a
zone alerts on; see :meth:`ZoneConfig.alerts_on`).

Everything is checked on load.  Every failure is a :class:`ConfigError` whose
text names the file, the key path and what was expected, for example::

    site.toml: radar[1](id=7).sigma_range_m: expected a number in [0.001, 10000] (metres), got 'abc'
    site.toml: asset[plant-1].zone[1].polygon: self-intersecting polygon (edges 0 and 2 cross)

Key paths are ``origin.KEY``, ``radar[INDEX](id=ID).KEY`` (index in file
order; the id is added once it is known), ``asset[ID].KEY`` (``asset[INDEX]``
while the id is not yet known), ``asset[ID].zone[INDEX].KEY`` (an element of
a list key adds ``[INDEX]``: ``asset[ID].zone[0].alert_on[1]``),
``tracker.KEY``, ``alerts.KEY`` and ``service.KEY``.  Unknown keys are errors,
at every level.

Type rules: a boolean is never a number; an integer is accepted where a
float is expected (and stored as a float); a float is not accepted where an
integer is expected; NaN and infinities are never accepted.  Every number
has a physical range (the README's tables give them), so that no accepted
value overflows or stalls the arithmetic behind it.  A file whose arrays
or inline tables nest too deeply to read is an error like any other.

:func:`dump_site` writes a :class:`SiteConfig` back as TOML text that
:func:`parse_site` reads to an equal :class:`SiteConfig`.
"""
from __future__ import annotations

import dataclasses
import math
import reprlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kernels.zones import MAX_POLYGON_VERTICES, PolygonError, check_polygon

__all__ = [
    "ConfigError",
    "Origin",
    "RadarConfig",
    "ZoneConfig",
    "AssetConfig",
    "TrackerConfig",
    "AlertConfig",
    "ServiceConfig",
    "SiteConfig",
    "ZONE_LEVELS",
    "RADAR_MODES",
    "MOTION_MODELS",
    "TRACK_CLASSES",
    "PLOT_SOCKETS",
    "load_site",
    "parse_site",
    "parse_tracker",
    "parse_alerts",
    "parse_service",
    "dump_site",
    "read_toml",
]

#: Zone levels, from the least to the most severe.
ZONE_LEVELS = ("warning", "alert", "critical")
#: Radar scan modes: a rotating radar sees a direction once per scan period,
#: a staring radar sees all of its coverage at every update.
RADAR_MODES = ("rotating", "staring")
#: Track motion models: an IMM of constant velocity and two coordinated turns,
#: or constant velocity alone.
MOTION_MODELS = ("imm", "cv")
#: Track classes a zone can alert on (the ``alert_on`` key of a zone).
TRACK_CLASSES = ("drone", "bird", "aircraft", "unknown")
#: Socket kinds the live service can take plots on: PULL (radars PUSH) or
#: SUB subscribed to everything (radars PUB).
PLOT_SOCKETS = ("pull", "sub")
#: ZeroMQ transports an endpoint may name.
ENDPOINT_TRANSPORTS = ("tcp", "ipc", "inproc", "pgm", "epgm", "vmci", "ws", "wss")

_INT64_MIN = -(2 ** 63)
_INT64_MAX = 2 ** 63 - 1


class ConfigError(ValueError):
    """An invalid site configuration.

    Parameters
    ----------
    source : str
        The file (or ``"<memory>"``) the configuration came from.
    key_path : str
        Where in the file: ``"radar[1](id=7).sigma_range_m"``; ``"(file)"``
        for a problem with the file as a whole (missing, not TOML).
    message : str
        What was expected and what was found.
    """

    def __init__(self, source: str, key_path: str, message: str):
        self.source = source
        self.key_path = key_path
        self.message = message
        # args keep the three parts so that the error pickles and copies.
        super().__init__(source, key_path, message)

    def __str__(self) -> str:
        return f"{self.source}: {self.key_path}: {self.message}"


# --------------------------------------------------------------------------
# Configuration records
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Origin:
    """Tangent point of the local East-North-Up frame (WGS-84)."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0


@dataclass(frozen=True)
class RadarConfig:
    """One radar: position, accuracy (one sigma), timing and coverage.

    ``sigma_radial_velocity_mps`` is None for a radar without Doppler;
    ``p_detection`` and ``false_alarm_density`` are None when the radar does
    not give its own, and the tracker defaults apply (see
    :meth:`SiteConfig.radar_p_detection`).
    """

    id: int
    lat_deg: float
    lon_deg: float
    alt_m: float
    sigma_range_m: float
    sigma_azimuth_deg: float
    sigma_elevation_deg: float
    scan_period_s: float
    max_range_m: float
    sigma_radial_velocity_mps: float | None = None
    p_detection: float | None = None
    false_alarm_density: float | None = None
    sac: int | None = None
    sic: int | None = None
    mode: str = "rotating"


@dataclass(frozen=True)
class ZoneConfig:
    """A protected volume around an asset.

    Horizontally either a circle of ``radius_m`` around the asset or a
    ``polygon`` of ``(lat_deg, lon_deg)`` vertices (the last joins the
    first); vertically between ``floor_m`` and ``ceiling_m`` above the asset.

    ``alert_on`` holds the track classes (from :data:`TRACK_CLASSES`, file
    order, no duplicates) whose tracks raise alerts in this zone; None
    means the default policy of :meth:`alerts_on`.
    """

    level: str
    floor_m: float
    ceiling_m: float
    radius_m: float | None = None
    polygon: tuple[tuple[float, float], ...] | None = None
    alert_on: tuple[str, ...] | None = None

    def alerts_on(self, track_class: str) -> bool:
        """Whether a track of this class raises alerts in this zone.

        With ``alert_on`` given, exactly the classes it lists alert.  Without
        it (None), the default policy: drones, aircraft and unknown tracks
        alert at every level, birds only in a ``"critical"`` zone.

        Parameters
        ----------
        track_class : str
            One of :data:`TRACK_CLASSES`.

        Returns
        -------
        bool

        Raises
        ------
        ValueError
            If ``track_class`` is not one of :data:`TRACK_CLASSES`.
        """
        if track_class not in TRACK_CLASSES:
            raise ValueError(f"unknown track class {track_class!r} (expected one of: "
                             + ", ".join(TRACK_CLASSES) + ")")
        if self.alert_on is not None:
            return track_class in self.alert_on
        return track_class != "bird" or self.level == "critical"


@dataclass(frozen=True)
class AssetConfig:
    """A protected target and its zones."""

    id: str
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    name: str = ""
    zones: tuple[ZoneConfig, ...] = ()


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker parameters (the ``[tracker]`` table; every key optional).

    Attributes
    ----------
    motion_model : str
        ``"imm"`` (constant velocity and two coordinated turns) or ``"cv"``.
    sigma_accel_mps2 : float
        Horizontal process noise (white acceleration, one sigma) of the CV model.
    sigma_accel_vertical_mps2 : float
        Vertical process noise of every model.
    vertical_speed_tau_s : float
        IMM: the vertical velocity is an Ornstein-Uhlenbeck process with this
        time constant (a climb or sink that levels off, as birds and low drones
        fly; stationary spread ``sqrt(sigma_accel_vertical_mps2^2 * tau / 2)``);
        0: a random walk, as the horizontal velocity.
    imm_turn_rate_dps : float
        Turn rate of the two coordinated-turn models (+ and -), degrees per second.
    imm_sigma_accel_mps2 : float
        Horizontal process noise of each IMM model.
    imm_p_stay : float
        Probability that the IMM stays in its model from one step to the next.
    tentative_filter : str
        ``"cv"``: a tentative track is filtered by the motion model's
        constant-velocity model alone, and by the whole model set once
        confirmed (its models start from that state); ``"imm"``: by the whole
        model set from its first plot.  The same tracks either way with
        ``motion_model = "cv"``.
    gate_probability : float
        Probability that a true plot falls inside the gate (chi-square gate).
    init_sigma_speed_mps : float
        Horizontal velocity prior of a new track, per axis.
    init_sigma_vertical_speed_mps : float
        Vertical velocity prior of a new track (birds and small drones climb
        and sink at a few metres per second, multirotors up to about 5: a
        tighter prior than the horizontal one settles the height sooner).
    initiate_beside_tracks : bool
        Whether a plot inside a track's gate, left unassigned while every
        track that gated it took another plot of the same scan, starts a
        tentative track (a flock neighbour's plot), as an ungated plot does.
    merge_after_epochs : int
        Duplicate merging: two tracks whose states stay within
        ``merge_gate_d2`` of each other (Mahalanobis distance of the 6-D state
        difference under the sum of their covariances) and within
        ``merge_radius_m`` horizontally at this many output epochs in a row
        are one object (or a flock the radar cannot resolve): the weaker
        (tentative before confirmed, then the younger) is dropped and its id
        retired.  0: never.
    merge_gate_d2 : float
        Mahalanobis bound of a close pair (6 degrees of freedom).
    merge_radius_m : float
        Horizontal bound of a close pair (m).
    confirm_hits : int
        Plots needed to confirm a tentative track.
    confirm_score : float
        Track log-likelihood ratio (sum of ``log(P_D N(y; 0, S) / lambda)``
        over its plots) a tentative track must also reach to be confirmed.
    tentative_timeout_s : float
        A tentative track not updated for this long is dropped.
    coast_after_s, delete_after_s : float
        A confirmed track not updated for ``coast_after_s`` coasts; after
        ``delete_after_s`` it is deleted.
    max_sigma_pos_m : float
        A track whose position sigma exceeds this is deleted.
    reorder_window_s : float
        Plots are held this long to put late plots back in time order.
    history_s : float
        0: plots wait in the reorder window.  Positive: live mode, each plot
        is applied as it arrives, a plot up to ``history_s`` older than the
        engine clock is fused exactly (out-of-sequence update), an older one
        is ``late``.
    alert_interval_s : float
        Live mode: alerts are decided on the track updates of every frame
        (0), or at most once per this much plot time.
    frame_s : float
        Processing frame length.
    output_period_s : float
        Period of the track output (tracks.csv epochs).
    output_tentative : bool
        Whether tentative tracks are written to the output.
    p_detection : float
        Detection probability for radars that do not give their own.
    false_alarm_density : float
        False plots per cubic metre per scan, for radars that do not give their own.
    """

    motion_model: str = "imm"
    sigma_accel_mps2: float = 2.0
    sigma_accel_vertical_mps2: float = 0.5
    vertical_speed_tau_s: float = 10.0
    imm_turn_rate_dps: float = 15.0
    imm_sigma_accel_mps2: float = 3.0
    imm_p_stay: float = 0.95
    tentative_filter: str = "cv"
    gate_probability: float = 0.9995
    init_sigma_speed_mps: float = 30.0
    init_sigma_vertical_speed_mps: float = 10.0
    initiate_beside_tracks: bool = False
    merge_after_epochs: int = 0
    merge_gate_d2: float = 50.0
    merge_radius_m: float = 60.0
    confirm_hits: int = 3
    confirm_score: float = 15.0
    tentative_timeout_s: float = 3.0
    coast_after_s: float = 2.5
    delete_after_s: float = 10.0
    max_sigma_pos_m: float = 1000.0
    reorder_window_s: float = 1.0
    history_s: float = 0.0
    alert_interval_s: float = 0.0
    frame_s: float = 0.1
    output_period_s: float = 1.0
    output_tentative: bool = False
    p_detection: float = 0.9
    false_alarm_density: float = 1e-9

    @property
    def imm_turn_rate_rad_per_s(self) -> float:
        """``imm_turn_rate_dps`` in radians per second."""
        return math.radians(self.imm_turn_rate_dps)

    @property
    def n_models(self) -> int:
        """Number of motion models: 3 for ``"imm"``, 1 for ``"cv"``."""
        return 3 if self.motion_model == "imm" else 1


@dataclass(frozen=True)
class AlertConfig:
    """Alert parameters (the ``[alerts]`` table; every key optional).

    Attributes
    ----------
    horizon_s : float
        Look-ahead for the time to entry and the closest point of approach.
    p_entry_min : float
        Probability of entry that counts as a predicted entry.
    escalate_updates : int
        Consecutive epochs a higher level must hold before the alert escalates.
    hold_s : float
        Time a lower level must hold before the alert de-escalates or clears.
    margin_m : float
        Distance a track must be outside a zone before its level drops
        (hysteresis against a track wandering along a zone edge).
    handover_s : float
        How long the alert of a dropped track waits for a successor track.
    handover_m : float
        How far from the dropped track's predicted position a successor may appear.
    class_min_p : float
        Class probability needed to treat a track as a given class (a bird,
        for instance) when checking a zone's ``alert_on``.
    unknown_hold_s : float
        A track whose class is still unknown is not alerted during its first
        ``unknown_hold_s`` seconds, unless it is already inside a
        ``critical`` zone: new tracks have not shown yet whether they are
        birds.
    unsettled_lead_s : float
        A track whose class is not settled (no class but ``unknown`` reaches
        ``class_min_p``) gets ``advisory`` events only, unless it is inside
        a ``critical`` zone or predicted to enter one within this many
        seconds.
    drone_hold_s : float
        A ``drone`` or ``aircraft`` call (probability at least
        ``class_min_p``) settles the track's class only once it has held,
        epoch after epoch, for this many seconds; until then the track is
        unsettled.
    unsettled_threat_min_p : float
        An unsettled track predicted to enter a ``critical`` zone within
        ``unsettled_lead_s`` is alerted only when ``p(drone) + p(aircraft)``
        is at least this (inside the zone it always is).
    """

    horizon_s: float = 120.0
    p_entry_min: float = 0.5
    escalate_updates: int = 2
    hold_s: float = 10.0
    margin_m: float = 150.0
    handover_s: float = 20.0
    handover_m: float = 400.0
    class_min_p: float = 0.6
    unknown_hold_s: float = 5.0
    unsettled_lead_s: float = 30.0
    drone_hold_s: float = 10.0
    unsettled_threat_min_p: float = 0.05


@dataclass(frozen=True)
class ServiceConfig:
    """The live service (the ``[service]`` table; every key optional).

    Command-line options of ``radarcore serve`` override these.  Relative
    paths are relative to the directory of the site file.

    Attributes
    ----------
    plots_endpoint : str or None
        ZeroMQ endpoint the service binds for plot frames (``tcp://*:5555``).
    publish_endpoint : str or None
        ZeroMQ endpoint the service binds for tracks, alerts and stats.
    plots_socket : str
        ``"pull"`` (radars PUSH) or ``"sub"`` (radars PUB).
    metrics_port : int
        Port of the Prometheus ``/metrics`` endpoint; 0: none.
    curve_secret_key : str or None
        The server's CurveZMQ secret key file; with ``curve_authorized_dir``
        the endpoints require CurveZMQ.
    curve_authorized_dir : str or None
        Directory of the authorised clients' public key files.
    record : str or None
        Recording every received frame is appended to.
    queue_plots : int
        Capacity, in plots, of the queue between the receiver and the engine;
        what does not fit is shed (and counted).
    high_water_mark : int
        ZeroMQ high-water mark (messages) of the plot and publish sockets.
    """

    plots_endpoint: str | None = None
    publish_endpoint: str | None = None
    plots_socket: str = "pull"
    metrics_port: int = 0
    curve_secret_key: str | None = None
    curve_authorized_dir: str | None = None
    record: str | None = None
    queue_plots: int = 1_000_000
    high_water_mark: int = 100_000


@dataclass(frozen=True)
class SiteConfig:
    """A whole deployment: origin, radars, assets, tracker, alert and service parameters.

    ``source`` (the file it was read from) is not part of equality: two
    configurations with the same content compare equal wherever they came from.
    """

    origin: Origin
    radars: tuple[RadarConfig, ...]
    assets: tuple[AssetConfig, ...] = ()
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    source: str = field(default="<memory>", compare=False)

    @property
    def radar_ids(self) -> tuple[int, ...]:
        """Radar ids in file order."""
        return tuple(radar.id for radar in self.radars)

    def radar_by_id(self, radar_id: int) -> RadarConfig:
        """The radar with this id.

        Raises
        ------
        KeyError
            If no radar has this id; the message lists the known ids.
        """
        for radar in self.radars:
            if radar.id == radar_id:
                return radar
        known = ", ".join(str(radar.id) for radar in self.radars)
        raise KeyError(f"{self.source}: no radar with id {radar_id!r} (known radar ids: {known})")

    def radar_p_detection(self, radar_id: int) -> float:
        """The radar's own detection probability, else the tracker default."""
        value = self.radar_by_id(radar_id).p_detection
        return self.tracker.p_detection if value is None else value

    def radar_false_alarm_density(self, radar_id: int) -> float:
        """The radar's own false-alarm density, else the tracker default."""
        value = self.radar_by_id(radar_id).false_alarm_density
        return self.tracker.false_alarm_density if value is None else value


# --------------------------------------------------------------------------
# Value rules
# --------------------------------------------------------------------------

_MISSING = object()


@dataclass(frozen=True)
class _Rule:
    """How one key is checked.

    ``kind`` is ``"number"`` (int or float, stored as float), ``"integer"``,
    ``"string"`` or ``"boolean"``; ``expected`` says what is wanted in words
    (``"a positive number"``), ``unit`` the unit in words (``"metres"``), and
    ``check`` is a further test on the converted value.
    """

    kind: str
    expected: str
    unit: str = ""
    check: Callable[[Any], bool] | None = None

    def describe_wrong(self) -> str:
        return f"expected {self.expected}" + (f" ({self.unit})" if self.unit else "")

    def describe_missing(self) -> str:
        return f"missing (expected {self.expected}" + (f", {self.unit})" if self.unit else ")")


def _number(expected: str, unit: str = "", check: Callable[[float], bool] | None = None) -> _Rule:
    return _Rule("number", expected, unit, check)


def _plain(value: float) -> str:
    """A bound as text: ``1000000``, ``0.001``, ``1e-09``."""
    return str(int(value)) if value == int(value) and abs(value) < 1e7 else f"{value:g}"


def _between(low: float, high: float, unit: str) -> _Rule:
    """A number in ``[low, high]``: every quantity has a physical range, so
    that no accepted value overflows or stalls the arithmetic behind it."""
    return _number(f"a number in [{_plain(low)}, {_plain(high)}]", unit, lambda v: low <= v <= high)


def _count(low: int, high: int, unit: str = "") -> _Rule:
    return _Rule("integer", f"an integer in [{low}, {high}]", unit, lambda v: low <= v <= high)


_LATITUDE = _number("a latitude in [-90, 90]", "degrees", lambda v: -90.0 <= v <= 90.0)
_LONGITUDE = _number("a longitude in [-180, 180]", "degrees", lambda v: -180.0 <= v <= 180.0)
_HEIGHT = _between(-10_000.0, 100_000.0, "metres")
_PROBABILITY = _number("a probability in (0, 1)", "", lambda v: 0.0 < v < 1.0)
_DENSITY = _between(0.0, 1.0, "per cubic metre per scan")
_BYTE = _count(0, 255)
_RADAR_ID = _Rule("integer", "a 64-bit integer", "", lambda v: _INT64_MIN <= v <= _INT64_MAX)
_TEXT = _Rule("string", "a string")
_BOOLEAN = _Rule("boolean", "true or false")
_SIGMA_ANGLE = _between(1e-4, 90.0, "degrees")
_ACCELERATION = _between(1e-4, 1000.0, "metres per second squared")
_TIMEOUT = _between(1e-3, 86_400.0, "seconds")
_DELAY = _between(0.0, 86_400.0, "seconds")


def _choice(choices: tuple[str, ...]) -> _Rule:
    return _Rule("string", "one of: " + ", ".join(f'"{c}"' for c in choices), "",
                 lambda v: v in choices)


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict = 3, 8, 8
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 70


def _show(value: Any) -> str:
    """``repr`` of a found value, shortened for messages (and safe on deeply
    nested or huge arrays)."""
    if isinstance(value, (list, dict)) and len(value) > 8:
        text = _SHORT_REPR.repr(value)
    else:
        try:
            text = repr(value)
        except RecursionError:
            text = _SHORT_REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _convert(value: Any, rule: _Rule, source: str, path: str) -> Any:
    """Check ``value`` against ``rule`` and return it converted."""
    found = value
    if rule.kind == "number":
        ok = not isinstance(value, bool) and isinstance(value, (int, float))
        if ok:
            try:
                value = float(value)
            except OverflowError:
                ok = False
        ok = ok and math.isfinite(value)
    elif rule.kind == "integer":
        ok = not isinstance(value, bool) and isinstance(value, int)
    elif rule.kind == "string":
        ok = isinstance(value, str)
    elif rule.kind == "boolean":
        ok = isinstance(value, bool)
    else:  # pragma: no cover - the rule tables below use only the kinds above
        raise AssertionError(rule.kind)
    if not ok or (rule.check is not None and not rule.check(value)):
        raise ConfigError(source, path, f"{rule.describe_wrong()}, got {_show(found)}")
    return value


def _get(table: dict, key: str, rule: _Rule, source: str, prefix: str, default: Any = _MISSING) -> Any:
    """Read ``table[key]`` by ``rule``; ``default`` when absent, else an error."""
    path = f"{prefix}.{key}"
    if key not in table:
        if default is _MISSING:
            raise ConfigError(source, path, rule.describe_missing())
        return default
    return _convert(table[key], rule, source, path)


def _read_values(table: dict, rules: dict[str, _Rule], required: tuple[str, ...],
                 defaults: dict[str, Any], source: str, prefix: str) -> dict[str, Any]:
    """Read every key of ``rules``, in order; absent optional keys take ``defaults``."""
    values = {}
    for key, rule in rules.items():
        default = _MISSING if key in required else defaults.get(key)
        values[key] = _get(table, key, rule, source, prefix, default)
    return values


def _check_unknown(table: dict, allowed: tuple[str, ...], source: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            path = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(source, path, "unknown key (expected one of: " + ", ".join(allowed) + ")")


def _as_table(value: Any, source: str, path: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(source, path, f"expected {what}, got {_show(value)}")
    return value


def _as_table_array(value: Any, source: str, path: str, header: str) -> list:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(source, path, f"expected an array of tables ({header}), got {_show(value)}")
    return value


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

_ORIGIN_RULES = {"lat_deg": _LATITUDE, "lon_deg": _LONGITUDE, "alt_m": _HEIGHT}

_RADAR_RULES = {
    "id": _RADAR_ID,
    "lat_deg": _LATITUDE,
    "lon_deg": _LONGITUDE,
    "alt_m": _HEIGHT,
    "sigma_range_m": _between(1e-3, 10_000.0, "metres"),
    "sigma_azimuth_deg": _SIGMA_ANGLE,
    "sigma_elevation_deg": _SIGMA_ANGLE,
    "sigma_radial_velocity_mps": _between(1e-3, 1000.0, "metres per second"),
    "scan_period_s": _between(1e-3, 3600.0, "seconds"),
    "max_range_m": _between(1.0, 1_000_000.0, "metres"),
    "p_detection": _PROBABILITY,
    "false_alarm_density": _DENSITY,
    "sac": _BYTE,
    "sic": _BYTE,
    "mode": _choice(RADAR_MODES),
}
_RADAR_REQUIRED = ("id", "lat_deg", "lon_deg", "alt_m", "sigma_range_m", "sigma_azimuth_deg",
                   "sigma_elevation_deg", "scan_period_s", "max_range_m")

_ASSET_RULES = {
    "id": _Rule("string", "a non-empty string", "", lambda v: v != ""),
    "name": _TEXT,
    "lat_deg": _LATITUDE,
    "lon_deg": _LONGITUDE,
    "alt_m": _HEIGHT,
}
_ASSET_KEYS = tuple(_ASSET_RULES) + ("zone",)

_ZONE_RULES = {
    "level": _choice(ZONE_LEVELS),
    "radius_m": _between(0.1, 1_000_000.0, "metres"),
    "floor_m": _between(-10_000.0, 100_000.0, "metres above the asset"),
    "ceiling_m": _between(-10_000.0, 100_000.0, "metres above the asset"),
}
_ZONE_KEYS = tuple(_ZONE_RULES) + ("polygon", "alert_on")
_POLYGON_EXPECTED = (f"an array of 3 to {MAX_POLYGON_VERTICES} [lat_deg, lon_deg] pairs")
_TRACK_CLASS = _choice(TRACK_CLASSES)
_ALERT_ON_EXPECTED = "a non-empty array of track classes (" + ", ".join(f'"{c}"' for c in TRACK_CLASSES) + ")"


def _is_endpoint(value: str) -> bool:
    transport, sep, address = value.partition("://")
    return bool(sep) and transport in ENDPOINT_TRANSPORTS and address != ""


_ENDPOINT = _Rule("string", 'a ZeroMQ endpoint ("tcp://HOST:PORT", "ipc://PATH", "inproc://NAME")', "",
                  _is_endpoint)
_PATH = _Rule("string", "a non-empty path", "", lambda v: v != "" and "\0" not in v)


def _not_above(low: str, high: str) -> Callable[[dict, str, str], None]:
    """Cross-key check: ``low`` must not exceed ``high``."""
    def check(values: dict, source: str, prefix: str) -> None:
        if values[low] > values[high]:
            raise ConfigError(source, f"{prefix}.{low}",
                              f"must not exceed {high} ({values[high]!r}), got {values[low]!r}")
    return check


def _together(first: str, second: str) -> Callable[[dict, str, str], None]:
    """Cross-key check: both keys given, or neither."""
    def check(values: dict, source: str, prefix: str) -> None:
        if (values[first] is None) != (values[second] is None):
            missing, given = (second, first) if values[second] is None else (first, second)
            raise ConfigError(source, f"{prefix}.{missing}",
                              f"missing (expected a path: {given} and {missing} go together)")
    return check


@dataclass(frozen=True)
class _Table:
    """One of radarcore's own tables: every key optional, a rule per key (in
    the record's field order), and checks across keys."""

    record: type
    rules: dict[str, _Rule]
    checks: tuple[Callable[[dict, str, str], None], ...] = ()

    @property
    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in dataclasses.fields(self.record)}

    def __post_init__(self) -> None:
        assert tuple(self.rules) == tuple(self.defaults), f"rules out of step with {self.record.__name__}"


_TRACKER_TABLE = _Table(TrackerConfig, {
    "motion_model": _choice(MOTION_MODELS),
    "sigma_accel_mps2": _ACCELERATION,
    "sigma_accel_vertical_mps2": _ACCELERATION,
    "vertical_speed_tau_s": _between(0.0, 3600.0, "seconds"),
    "imm_turn_rate_dps": _between(0.01, 360.0, "degrees per second"),
    "imm_sigma_accel_mps2": _ACCELERATION,
    "imm_p_stay": _PROBABILITY,
    "tentative_filter": _choice(MOTION_MODELS),
    "gate_probability": _PROBABILITY,
    "init_sigma_speed_mps": _between(0.01, 1000.0, "metres per second"),
    "init_sigma_vertical_speed_mps": _between(0.01, 1000.0, "metres per second"),
    "initiate_beside_tracks": _BOOLEAN,
    "merge_after_epochs": _count(0, 1000, "output epochs"),
    "merge_gate_d2": _between(0.0, 1000.0, "squared Mahalanobis distance"),
    "merge_radius_m": _between(1.0, 10_000.0, "metres"),
    "confirm_hits": _count(1, 1000),
    "confirm_score": _between(0.0, 10_000.0, "log-likelihood ratio"),
    "tentative_timeout_s": _TIMEOUT,
    "coast_after_s": _TIMEOUT,
    "delete_after_s": _TIMEOUT,
    "max_sigma_pos_m": _between(1.0, 1_000_000.0, "metres"),
    "reorder_window_s": _between(0.0, 3600.0, "seconds"),
    "history_s": _between(0.0, 3600.0, "seconds"),
    "alert_interval_s": _between(0.0, 3600.0, "seconds"),
    "frame_s": _between(1e-3, 60.0, "seconds"),
    "output_period_s": _between(1e-3, 3600.0, "seconds"),
    "output_tentative": _BOOLEAN,
    "p_detection": _PROBABILITY,
    "false_alarm_density": _DENSITY,
}, (_not_above("coast_after_s", "delete_after_s"), _not_above("frame_s", "output_period_s")))

_ALERTS_TABLE = _Table(AlertConfig, {
    "horizon_s": _between(0.1, 3600.0, "seconds"),
    "p_entry_min": _PROBABILITY,
    "escalate_updates": _count(1, 1000),
    "hold_s": _TIMEOUT,
    "margin_m": _between(0.0, 100_000.0, "metres"),
    "handover_s": _TIMEOUT,
    "handover_m": _between(0.1, 100_000.0, "metres"),
    "class_min_p": _PROBABILITY,
    "unknown_hold_s": _DELAY,
    "unsettled_lead_s": _DELAY,
    "drone_hold_s": _DELAY,
    "unsettled_threat_min_p": _PROBABILITY,
})

_SERVICE_TABLE = _Table(ServiceConfig, {
    "plots_endpoint": _ENDPOINT,
    "publish_endpoint": _ENDPOINT,
    "plots_socket": _choice(PLOT_SOCKETS),
    "metrics_port": _Rule("integer", "a port number in [0, 65535] (0: no metrics endpoint)", "",
                          lambda v: 0 <= v <= 65535),
    "curve_secret_key": _PATH,
    "curve_authorized_dir": _PATH,
    "record": _PATH,
    "queue_plots": _count(1, 1_000_000_000, "plots"),
    "high_water_mark": _count(1, 2 ** 31 - 1, "messages"),
}, (_together("curve_secret_key", "curve_authorized_dir"),))

_TRACKER_DEFAULTS = _TRACKER_TABLE.defaults
_ALERT_DEFAULTS = _ALERTS_TABLE.defaults
_SERVICE_DEFAULTS = _SERVICE_TABLE.defaults

_SITE_KEYS = ("origin", "radar", "asset", "tracker", "alerts", "service")


def _parse_table(table: _Table, data: Any, source: str, key_prefix: str) -> Any:
    """Validate one of radarcore's own tables: the one function behind
    :func:`parse_tracker`, :func:`parse_alerts` and :func:`parse_service`.

    Unknown keys are errors; keys are read in the record's field order
    (the first bad one is named); absent keys take the record's defaults;
    then the checks across keys run.
    """
    data = _as_table(data, source, key_prefix, "a table")
    _check_unknown(data, tuple(table.rules), source, key_prefix)
    values = _read_values(data, table.rules, (), table.defaults, source, key_prefix)
    for check in table.checks:
        check(values, source, key_prefix)
    return table.record(**values)


def parse_tracker(data: dict, source: str = "<memory>", key_prefix: str = "tracker") -> TrackerConfig:
    """Validate a ``[tracker]`` table (absent keys: :class:`TrackerConfig` defaults).

    ``key_prefix`` names the table in messages (``"tracker"``, or e.g.
    ``"grid[3]"`` for a parameter sweep).  Raises :class:`ConfigError` on an
    unknown key, a value of the wrong type or out of its range (README),
    ``coast_after_s > delete_after_s`` or ``frame_s > output_period_s``.
    """
    return _parse_table(_TRACKER_TABLE, data, source, key_prefix)


def parse_alerts(data: dict, source: str = "<memory>", key_prefix: str = "alerts") -> AlertConfig:
    """Validate an ``[alerts]`` table (absent keys: :class:`AlertConfig` defaults).

    Raises :class:`ConfigError` on an unknown key or a value of the wrong
    type or out of its range (README).
    """
    return _parse_table(_ALERTS_TABLE, data, source, key_prefix)


def parse_service(data: dict, source: str = "<memory>", key_prefix: str = "service") -> ServiceConfig:
    """Validate a ``[service]`` table (absent keys: :class:`ServiceConfig` defaults).

    Raises :class:`ConfigError` on an unknown key, a value of the wrong type
    or out of range (an endpoint must name a ZeroMQ transport, ``plots_socket``
    be ``"pull"`` or ``"sub"``, paths non-empty strings), or only one of
    ``curve_secret_key`` and ``curve_authorized_dir``.
    """
    return _parse_table(_SERVICE_TABLE, data, source, key_prefix)


def _parse_origin(data: Any, source: str) -> Origin:
    table = _as_table(data, source, "origin", "a table [origin]")
    _check_unknown(table, tuple(_ORIGIN_RULES), source, "origin")
    values = _read_values(table, _ORIGIN_RULES, ("lat_deg", "lon_deg"), {"alt_m": 0.0}, source, "origin")
    return Origin(**values)


def _parse_radar(table: dict, index: int, source: str) -> RadarConfig:
    radar_id = _get(table, "id", _RADAR_ID, source, f"radar[{index}]")
    prefix = f"radar[{index}](id={radar_id})"
    _check_unknown(table, tuple(_RADAR_RULES), source, prefix)
    values = _read_values(table, _RADAR_RULES, _RADAR_REQUIRED, {"mode": "rotating"}, source, prefix)
    return RadarConfig(**values)


def _parse_polygon(value: Any, source: str, path: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or len(value) > MAX_POLYGON_VERTICES + 1:
        raise ConfigError(source, path, f"expected {_POLYGON_EXPECTED}, got {_show(value)}")
    points = []
    for k, point in enumerate(value):
        point_path = f"{path}[{k}]"
        if not isinstance(point, list) or len(point) != 2:
            raise ConfigError(source, point_path, f"expected a [lat_deg, lon_deg] pair, got {_show(point)}")
        lat_deg = _convert(point[0], _LATITUDE, source, point_path + "[0]")
        lon_deg = _convert(point[1], _LONGITUDE, source, point_path + "[1]")
        points.append((lat_deg, lon_deg))
    if len(points) < 3:
        raise ConfigError(source, path, f"expected {_POLYGON_EXPECTED}, got {len(points)} pair(s)")
    # latitude and longitude as plane coordinates; the engine checks the
    # same polygon again in its ENU frame (kernels.zones.pack_polygons)
    try:
        check_polygon(points)
    except PolygonError as exc:
        raise ConfigError(source, path, exc.reason) from None
    return tuple(points)


def _parse_alert_on(value: Any, source: str, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(source, path, f"expected {_ALERT_ON_EXPECTED}, got {_show(value)}")
    first_index_of_class: dict[str, int] = {}
    for k, item in enumerate(value):
        track_class = _convert(item, _TRACK_CLASS, source, f"{path}[{k}]")
        if track_class in first_index_of_class:
            raise ConfigError(source, f"{path}[{k}]",
                              f"duplicate track class {track_class!r} "
                              f"(already at alert_on[{first_index_of_class[track_class]}])")
        first_index_of_class[track_class] = k
    return tuple(value)


def _parse_zone(table: dict, prefix: str, source: str) -> ZoneConfig:
    _check_unknown(table, _ZONE_KEYS, source, prefix)
    values = _read_values(table, {k: _ZONE_RULES[k] for k in ("level", "floor_m", "ceiling_m")},
                          ("level", "floor_m", "ceiling_m"), {}, source, prefix)
    has_radius = "radius_m" in table
    has_polygon = "polygon" in table
    if has_radius == has_polygon:
        found = "both" if has_radius else "neither"
        raise ConfigError(source, prefix, f"expected exactly one of radius_m or polygon, got {found}")
    if has_radius:
        values["radius_m"] = _get(table, "radius_m", _ZONE_RULES["radius_m"], source, prefix)
    else:
        values["polygon"] = _parse_polygon(table["polygon"], source, f"{prefix}.polygon")
    if not values["floor_m"] < values["ceiling_m"]:
        raise ConfigError(source, f"{prefix}.ceiling_m",
                          f"expected ceiling_m greater than floor_m ({values['floor_m']!r}), "
                          f"got {values['ceiling_m']!r}")
    if "alert_on" in table:
        values["alert_on"] = _parse_alert_on(table["alert_on"], source, f"{prefix}.alert_on")
    return ZoneConfig(**values)


def _parse_asset(table: dict, index: int, source: str) -> AssetConfig:
    asset_id = _get(table, "id", _ASSET_RULES["id"], source, f"asset[{index}]")
    prefix = f"asset[{asset_id}]"
    _check_unknown(table, _ASSET_KEYS, source, prefix)
    values = _read_values(table, _ASSET_RULES, ("id", "lat_deg", "lon_deg"),
                          {"alt_m": 0.0, "name": ""}, source, prefix)
    zone_tables = _as_table_array(table.get("zone", []), source, f"{prefix}.zone", "[[asset.zone]]")
    zones = tuple(_parse_zone(zone, f"{prefix}.zone[{k}]", source) for k, zone in enumerate(zone_tables))
    return AssetConfig(zones=zones, **values)


def parse_site(data: dict, source: str = "<memory>") -> SiteConfig:
    """Validate a site configuration already read from TOML.

    Parameters
    ----------
    data : dict
        The whole document, as from ``tomllib.load``.
    source : str
        File name, for error messages and :attr:`SiteConfig.source`.

    Returns
    -------
    SiteConfig

    Raises
    ------
    ConfigError
        On the first problem found (file order), naming its key path.
    """
    data = _as_table(data, source, "(file)", "a TOML document (a table)")
    _check_unknown(data, _SITE_KEYS, source, "")
    if "origin" not in data:
        raise ConfigError(source, "origin", "missing (expected a table [origin] with lat_deg, lon_deg)")
    origin = _parse_origin(data["origin"], source)

    radar_tables = _as_table_array(data.get("radar", []), source, "radar", "[[radar]]")
    if not radar_tables:
        raise ConfigError(source, "radar", "missing (expected at least one [[radar]] table)")
    radars = []
    first_index_of_id: dict[int, int] = {}
    for index, table in enumerate(radar_tables):
        radar = _parse_radar(table, index, source)
        if radar.id in first_index_of_id:
            raise ConfigError(source, f"radar[{index}](id={radar.id}).id",
                              f"duplicate radar id {radar.id} (already used by radar[{first_index_of_id[radar.id]}])")
        first_index_of_id[radar.id] = index
        radars.append(radar)

    asset_tables = _as_table_array(data.get("asset", []), source, "asset", "[[asset]]")
    assets = []
    first_index_of_asset: dict[str, int] = {}
    for index, table in enumerate(asset_tables):
        asset = _parse_asset(table, index, source)
        if asset.id in first_index_of_asset:
            raise ConfigError(source, f"asset[{asset.id}].id",
                              f"duplicate asset id {asset.id!r} (assets {first_index_of_asset[asset.id]} "
                              f"and {index} in file order)")
        first_index_of_asset[asset.id] = index
        assets.append(asset)

    tracker = parse_tracker(data.get("tracker", {}), source, "tracker")
    alerts = parse_alerts(data.get("alerts", {}), source, "alerts")
    service = parse_service(data.get("service", {}), source, "service")
    return SiteConfig(origin=origin, radars=tuple(radars), assets=tuple(assets), tracker=tracker,
                      alerts=alerts, service=service, source=source)


def load_site(path: str | Path) -> SiteConfig:
    """Read and validate a site.toml file.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    SiteConfig
        With ``source == str(path)``.

    Raises
    ------
    ConfigError
        With key path ``"(file)"`` when the file cannot be read or is not
        valid TOML (the parser's message gives the line), otherwise as
        :func:`parse_site`.
    """
    return parse_site(read_toml(path), str(path))


def read_toml(path) -> dict:
    """The tables of a TOML file; a ConfigError with key path ``"(file)"`` if unreadable."""
    source = str(path)
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(source, "(file)", "file not found") from None
    except OSError as exc:
        raise ConfigError(source, "(file)", f"cannot read file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, "(file)", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(file)", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(source, "(file)", "invalid TOML: arrays or inline tables nested too "
                                            "deeply to read") from None


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back to the same float.
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    raise TypeError(f"cannot write {value!r} as a TOML value")


def dump_site(site: SiteConfig) -> str:
    """Write a site configuration as site.toml text.

    :func:`parse_site` (or :func:`load_site`) reads the text back to a
    :class:`SiteConfig` equal to ``site``.  Optional keys whose value is None
    are left out (a zone's ``alert_on`` among them), so is a radar ``mode``
    of ``"rotating"``; the ``[tracker]``, ``[alerts]`` and ``[service]``
    tables hold only the fields that differ from the defaults and are left
    out when none does.

    Parameters
    ----------
    site : SiteConfig

    Returns
    -------
    str
        TOML text.
    """
    lines = ["[origin]"]
    lines += _key_lines((("lat_deg", float(site.origin.lat_deg)), ("lon_deg", float(site.origin.lon_deg)),
                         ("alt_m", float(site.origin.alt_m))))
    for radar in site.radars:
        lines += ["", "[[radar]]"]
        items = [("id", int(radar.id))]
        for key in ("lat_deg", "lon_deg", "alt_m", "sigma_range_m", "sigma_azimuth_deg",
                    "sigma_elevation_deg", "sigma_radial_velocity_mps", "scan_period_s", "max_range_m",
                    "p_detection", "false_alarm_density"):
            value = getattr(radar, key)
            if value is not None:
                items.append((key, float(value)))
        for key in ("sac", "sic"):
            value = getattr(radar, key)
            if value is not None:
                items.append((key, int(value)))
        if radar.mode != "rotating":
            items.append(("mode", radar.mode))
        lines += _key_lines(items)
    for asset in site.assets:
        lines += ["", "[[asset]]"]
        items = [("id", asset.id)]
        if asset.name:
            items.append(("name", asset.name))
        items += [("lat_deg", float(asset.lat_deg)), ("lon_deg", float(asset.lon_deg)),
                  ("alt_m", float(asset.alt_m))]
        lines += _key_lines(items)
        for zone in asset.zones:
            lines += ["", "[[asset.zone]]"]
            items = [("level", zone.level)]
            if zone.radius_m is not None:
                items.append(("radius_m", float(zone.radius_m)))
            items += [("floor_m", float(zone.floor_m)), ("ceiling_m", float(zone.ceiling_m))]
            lines += _key_lines(items)
            if zone.polygon is not None:
                pairs = ", ".join(f"[{float(lat)!r}, {float(lon)!r}]" for lat, lon in zone.polygon)
                lines.append(f"polygon = [{pairs}]")
            if zone.alert_on is not None:
                names = ", ".join(_toml_string(track_class) for track_class in zone.alert_on)
                lines.append(f"alert_on = [{names}]")
    lines += _changed_table("tracker", site.tracker, _TRACKER_DEFAULTS)
    lines += _changed_table("alerts", site.alerts, _ALERT_DEFAULTS)
    lines += _changed_table("service", site.service, _SERVICE_DEFAULTS)
    return "\n".join(lines) + "\n"


def _changed_table(name: str, config: Any, defaults: dict[str, Any]) -> list[str]:
    """``[name]`` and the fields of ``config`` that differ from ``defaults``; [] if none does."""
    changed = []
    for key, default in defaults.items():
        value = getattr(config, key)
        if value != default:
            changed.append((key, float(value) if isinstance(default, float) else value))
    if not changed:
        return []
    return ["", f"[{name}]"] + _key_lines(changed)


def _key_lines(items) -> list[str]:
    return [f"{key} = {_toml_value(value)}" for key, value in items]
