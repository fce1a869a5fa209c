"""EUROCONTROL ASTERIX: CAT048/CAT034 plots in, CAT062 system tracks out.

Decoding
--------
:func:`decode_datagram` takes the bytes of one datagram (one or more data
blocks, each of one or more records) and returns an
:class:`AsterixDecodeResult`: the CAT048 target reports as a plot batch of
:data:`ingest.schema.PLOT_DTYPE` (what the engine takes), the CAT034 north
markers and sector crossings, and counts of everything rejected.
:func:`iter_ast_file` does the same for an ".ast" recording (data blocks
back to back), chunk by chunk.  The decoder is compiled
(:mod:`ingest._asterix_kernels`), checks every read against the end of its
data block and never raises on the bytes themselves: what it cannot use is
counted in ``rejected`` (see :data:`REJECT_REASONS`) and skipped.  Items it
does not use are skipped by their FSPEC bit and length rules (fixed,
extended, repetitive, compound, explicit SP/RE), whatever the edition
(CAT048 1.2x-1.3x, CAT034 1.2x).

Radars are found by the SAC/SIC of I048/010 / I034/010 in a
:class:`RadarMap` (from the ``sac``/``sic`` keys of site.toml).

=================  ====================================  =========================
plot field         from                                  resolution (LSB)
=================  ====================================  =========================
time_s             I048/140 time of day, unwrapped       1/128 s
range_m            I048/040 RHO                          1/256 NM = 7.234375 m
azimuth_deg        I048/040 THETA                        360/2^16 deg
elevation_deg      derived from I048/110 3-D height,     25 ft = 7.62 m of height
                   else I048/090 flight level (V=G=0)
radial_velocity    I048/120 CAL (NaN if absent, or D=1)  1 m/s
snr_db             I048/130 PAM, else SAM (NaN if none)  1 dB
=================  ====================================  =========================

*Time.*  ASTERIX carries UTC seconds since midnight, wrapping at 86400.  A
:class:`TimeOfDayUnwrapper` carried from call to call puts them on a
monotonic axis: ``midnight_s + tod + 86400 k``, ``k`` chosen to land nearest
the newest time seen so far (so a midnight wrap moves on a day, and a late
message from just before midnight goes back one).  With ``midnight_s = 0``
the axis is seconds since the first UTC midnight of the stream; with the UTC
epoch seconds of that midnight it is UTC epoch seconds.

*Elevation.*  A CAT048 plot gives a height, not an elevation.  With the
radar's antenna height ``h_r`` (site.toml ``alt_m``), the target height
``h`` and the slant range ``r``, on a sphere of the earth's radius of
curvature in the azimuth direction at the radar, ``R = k M N / (N cos^2(az)
+ M sin^2(az))`` (M, N: WGS-84 meridian and prime-vertical radii; ``k``:
:attr:`RadarMap.earth_radius_factor`)::

    sin(el) = ((h - h_r)(2R + h + h_r) - r^2) / (2 r (R + h_r))

With ``k = 1`` (the default) this is the straight-line geometry the engine
uses to convert plots (within about 1 mm of height at 30 km against the
exact ellipsoid); ``k = 4/3`` is the standard-refraction effective earth for
radars whose heights include that correction.  Heights (I048/110, and
flight levels taken as 100 ft each) are used as heights above the WGS-84
ellipsoid, like every height of the site.  A record with no usable height
is rejected as ``no_height``; one whose height cannot be reached at its range
as ``bad_height``.

*Radial velocity.*  I048/120 CAL is taken as the range rate: positive when
the target moves away from the radar (the plots.csv convention).

*SNR.*  ASTERIX has no SNR item.  radarcore writes ``snr_db`` into I048/130
PAM (primary plot amplitude, 1 dB) and reads PAM back, else SAM (SSR reply
amplitude), else NaN.

Encoding
--------
:func:`encode_cat062` writes the periodic track output
(:data:`ingest.schema.TRACK_ROW_DTYPE` rows) as CAT062 system track data:

=========  =================================  ==================================
item       from                               resolution (LSB)
=========  =================================  ==================================
I062/010   ``sac``, ``sic``
I062/015   ``service_id``
I062/070   ``time_s`` as time of day          1/128 s
I062/105   ``lat_deg``, ``lon_deg``           180/2^25 deg
I062/100   ``east_m``, ``north_m`` (X, Y)     0.5 m (origin: the site origin)
I062/185   ``v_east_mps``, ``v_north_mps``    0.25 m/s
I062/040   ``track_id`` modulo 65536
I062/080   ``status``                         tentative: CNF = 1; confirmed:
                                              CNF = 0; coasting: CNF = 0, CST = 1
I062/136   ``alt_m`` as flight level          1/4 FL (alt_m / 30.48 m)
I062/130   ``alt_m`` (geometric altitude)     6.25 ft
I062/220   ``v_up_mps`` (rate of climb)       6.25 ft/min
I062/500   APC X = Y = sigma_pos_m / sqrt(2)  0.5 m (saturates at 32767.5 m)
=========  =================================  ==================================

Items whose values are NaN are left out.  :func:`encode_cat048` and
:func:`encode_cat034` build test and replay inputs with the decoder's
conventions.  Every encoder writes one data block, or several when the
records do not fit in ``max_block_bytes`` (at most 65535).

Every public kernel is compiled by :func:`warmup`.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from ingest import _asterix_kernels as K
from ingest.schema import PLOT_DTYPE, TRACK_ROW_DTYPE
from kernels.geodesy import WGS84_A_M, WGS84_E2, LocalFrame

__all__ = [
    "REJECT_REASONS",
    "PLOT_INFO_DTYPE",
    "NORTH_MARKER_DTYPE",
    "SECTOR_CROSSING_DTYPE",
    "AsterixError",
    "RadarEntry",
    "RadarMap",
    "TimeOfDayUnwrapper",
    "AsterixDecodeResult",
    "decode_datagram",
    "iter_ast_file",
    "encode_cat048",
    "encode_cat034",
    "encode_cat062",
    "warmup",
]

#: Rejection reasons, the keys of :attr:`AsterixDecodeResult.rejected`.
#: Buffer and block level (each stops decoding the rest of the buffer or of
#: the data block): ``truncated`` (the buffer ends inside a block),
#: ``bad_length`` (block LEN < 3), ``unknown_category`` (a block of a
#: category other than 34 and 48, skipped), ``fspec_overrun`` (an FSPEC runs
#: past its block), ``unknown_item`` (an FSPEC longer than the UAP),
#: ``truncated_record`` (an item runs past its block), ``bad_item`` (an
#: explicit item of length 0, a compound subfield the edition does not
#: define).  Record level (one parsed record rejected): ``no_source``,
#: ``unknown_radar``, ``no_time``, ``bad_time`` (>= 24 h), ``no_position``,
#: ``no_height``, ``bad_height``, ``test_target`` (I048/020 SIM or TST),
#: ``other_message`` (CAT034 types other than north marker and sector
#: crossing), ``no_sector`` (a sector crossing without I034/020).
REJECT_REASONS = K.REJECT_REASONS
#: Per-plot side information (aligned with the plot batch).
PLOT_INFO_DTYPE = K.PLOT_INFO_DTYPE
#: CAT034 north markers (I034/000 = 1); ``rotation_period_s`` from I034/041, NaN if absent.
NORTH_MARKER_DTYPE = np.dtype([("time_s", "f8"), ("radar_id", "i8"), ("rotation_period_s", "f8")])
#: CAT034 sector crossings (I034/000 = 2); ``azimuth_deg`` from I034/020.
SECTOR_CROSSING_DTYPE = np.dtype([("time_s", "f8"), ("radar_id", "i8"), ("azimuth_deg", "f8")])

_MAX_BLOCK_BYTES = 65535
# Most rows allocated up front by the decoder (it grows past them).
_MAX_ROWS = 1 << 24


class AsterixError(ValueError):
    """Arguments an ASTERIX encoder cannot represent, or an invalid radar map."""


# --------------------------------------------------------------------------
# Radars
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class RadarEntry:
    """One radar as ASTERIX names it.

    Attributes
    ----------
    sac, sic : int
        System area and identification codes, 0-255.
    radar_id : int
        The site's radar id.
    lat_deg, lon_deg : float
        Antenna position (WGS-84).
    alt_m : float
        Antenna height above the ellipsoid (m).
    """

    sac: int
    sic: int
    radar_id: int
    lat_deg: float
    lon_deg: float
    alt_m: float


def _radii_of_curvature(lat_deg):
    """WGS-84 meridian (M) and prime-vertical (N) radii of curvature (m)."""
    s2 = math.sin(math.radians(lat_deg)) ** 2
    w = math.sqrt(1.0 - WGS84_E2 * s2)
    return WGS84_A_M * (1.0 - WGS84_E2) / w ** 3, WGS84_A_M / w


class RadarMap:
    """Radars by SAC/SIC, with what the decoder needs of each.

    Parameters
    ----------
    entries : iterable of RadarEntry
        At most one radar per (sac, sic) and one (sac, sic) per radar.
    earth_radius_factor : float
        ``k`` of the elevation geometry (module docstring): 1 for the
        straight-line geometry, 4/3 for a standard-refraction effective earth.

    Raises
    ------
    AsterixError
        For a code outside 0-255, a duplicate, a non-finite position or a
        non-positive ``earth_radius_factor``.
    """

    def __init__(self, entries: Iterable[RadarEntry], earth_radius_factor: float = 1.0):
        entries = tuple(entries)
        factor = float(earth_radius_factor)
        if not (math.isfinite(factor) and factor > 0.0):
            raise AsterixError(f"earth_radius_factor must be a positive number, got {earth_radius_factor!r}")
        self.earth_radius_factor = factor
        self.lookup = np.full(65536, -1, np.int64)
        self.radar_id = np.empty(len(entries), np.int64)
        self.radar_alt_m = np.empty(len(entries))
        self.radar_radius_m = np.empty((len(entries), 2))
        self._by_id = {}
        for r, entry in enumerate(entries):
            if not isinstance(entry, RadarEntry):
                raise AsterixError(f"radar map entry {r} is a {type(entry).__name__}, not a RadarEntry")
            for name in ("sac", "sic"):
                value = getattr(entry, name)
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 255:
                    raise AsterixError(f"radar {entry.radar_id!r}: {name} must be an integer in [0, 255], "
                                       f"got {value!r}")
            for name in ("lat_deg", "lon_deg", "alt_m"):
                if not math.isfinite(float(getattr(entry, name))):
                    raise AsterixError(f"radar {entry.radar_id!r}: {name} must be finite")
            if not -90.0 <= entry.lat_deg <= 90.0:
                raise AsterixError(f"radar {entry.radar_id!r}: lat_deg must be in [-90, 90]")
            key = int(entry.sac) * 256 + int(entry.sic)
            if self.lookup[key] >= 0:
                raise AsterixError(f"radars {int(self.radar_id[self.lookup[key]])} and {entry.radar_id} "
                                   f"share sac={entry.sac}, sic={entry.sic}")
            if int(entry.radar_id) in self._by_id:
                raise AsterixError(f"radar {entry.radar_id} appears twice in the radar map")
            self.lookup[key] = r
            self.radar_id[r] = int(entry.radar_id)
            self.radar_alt_m[r] = float(entry.alt_m)
            M, N = _radii_of_curvature(float(entry.lat_deg))
            self.radar_radius_m[r] = (factor * M, factor * N)
            self._by_id[int(entry.radar_id)] = r
        self.entries = entries

    @classmethod
    def from_site(cls, site, earth_radius_factor: float = 1.0) -> "RadarMap":
        """The radars of a site configuration that have both ``sac`` and ``sic``.

        Parameters
        ----------
        site : radarcore.core.config.SiteConfig (or any object with ``radars``
            whose items have ``id, lat_deg, lon_deg, alt_m, sac, sic``)
        earth_radius_factor : float

        Raises
        ------
        AsterixError
            If a radar has only one of ``sac`` and ``sic``.
        """
        entries = []
        for radar in site.radars:
            if radar.sac is None and radar.sic is None:
                continue
            if radar.sac is None or radar.sic is None:
                raise AsterixError(f"radar {radar.id}: give both sac and sic, or neither")
            entries.append(RadarEntry(int(radar.sac), int(radar.sic), int(radar.id), float(radar.lat_deg),
                                      float(radar.lon_deg), float(radar.alt_m)))
        return cls(entries, earth_radius_factor)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        pairs = ", ".join(f"({e.sac},{e.sic})->{e.radar_id}" for e in self.entries)
        return f"RadarMap([{pairs}], earth_radius_factor={self.earth_radius_factor})"

    def radar_for(self, sac: int, sic: int) -> int | None:
        """The radar id of a SAC/SIC, None if unknown."""
        if not (0 <= sac <= 255 and 0 <= sic <= 255):
            return None
        r = int(self.lookup[int(sac) * 256 + int(sic)])
        return None if r < 0 else int(self.radar_id[r])

    def entry(self, radar_id: int) -> RadarEntry:
        """The entry of a radar id (KeyError, listing the known ids, if none)."""
        try:
            return self.entries[self._by_id[int(radar_id)]]
        except KeyError:
            known = ", ".join(str(i) for i in self._by_id)
            raise KeyError(f"radar {radar_id} is not in the radar map (known: {known})") from None

    def index_of(self, radar_ids: np.ndarray) -> np.ndarray:
        """Table index of each radar id; -1 where unknown."""
        index = np.full(radar_ids.shape[0], -1, np.int64)
        for radar_id, r in self._by_id.items():
            index[radar_ids == radar_id] = r
        return index


# --------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------

class TimeOfDayUnwrapper:
    """Puts UTC times of day (wrapping at midnight) on a monotonic axis.

    Parameters
    ----------
    midnight_s : float
        Axis time of the UTC midnight that starts the stream's first day:
        0 for seconds since that midnight, its UTC epoch seconds for UTC
        epoch seconds.

    Notes
    -----
    Each time of day ``tod`` becomes ``midnight_s + tod + 86400 k`` with the
    ``k`` that puts it nearest to the newest time given so far (the first
    gets ``k = 0``).  Times within 12 hours either side of the newest are
    therefore placed right across any number of midnights.
    """

    def __init__(self, midnight_s: float = 0.0):
        midnight_s = float(midnight_s)
        if not math.isfinite(midnight_s):
            raise ValueError(f"midnight_s must be finite, got {midnight_s!r}")
        self.clock = np.array([midnight_s, np.nan])

    @property
    def midnight_s(self) -> float:
        return float(self.clock[0])

    @property
    def newest_s(self) -> float | None:
        """Newest time given so far; None before the first."""
        value = float(self.clock[1])
        return None if math.isnan(value) else value

    def reset(self) -> None:
        """Forget the times seen (the next time gets ``k = 0`` again)."""
        self.clock[1] = np.nan

    def unwrap(self, time_of_day_s) -> np.ndarray:
        """Unwrap times of day, in order.

        Parameters
        ----------
        time_of_day_s : array_like, shape (n,)
            Seconds since UTC midnight, in [0, 86400).

        Returns
        -------
        ndarray, shape (n,)
        """
        tod = np.ascontiguousarray(np.atleast_1d(np.asarray(time_of_day_s, dtype=np.float64)))
        if tod.ndim != 1:
            raise ValueError("time_of_day_s must be one-dimensional")
        bad = ~((tod >= 0.0) & (tod < K.DAY_S))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"time_of_day_s[{j}] = {tod[j]!r} is not in [0, 86400)")
        out = np.empty_like(tod)
        K.unwrap_time_of_day(tod, self.clock, out)
        return out

    def __repr__(self) -> str:
        return f"TimeOfDayUnwrapper(midnight_s={self.midnight_s}, newest_s={self.newest_s})"


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------

@dataclass
class AsterixDecodeResult:
    """What a datagram (or a chunk of a recording) held.

    Attributes
    ----------
    plots : ndarray of ingest.schema.PLOT_DTYPE, shape (n_plots,)
        CAT048 plots in arrival order.
    plot_info : ndarray of PLOT_INFO_DTYPE, shape (n_plots,)
        SAC/SIC, I048/161 track number, I048/170 status octet, I048/020 TYP
        and the height used, per plot.
    north_markers : ndarray of NORTH_MARKER_DTYPE
    sector_crossings : ndarray of SECTOR_CROSSING_DTYPE
    rejected : dict
        Count per reason, every one of :data:`REJECT_REASONS` present.
    records : int
        Records parsed (used or rejected at record level).
    blocks : int
        Data blocks with a valid header.
    """

    plots: np.ndarray
    plot_info: np.ndarray
    north_markers: np.ndarray
    sector_crossings: np.ndarray
    rejected: dict = field(default_factory=lambda: {reason: 0 for reason in REJECT_REASONS})
    records: int = 0
    blocks: int = 0

    @property
    def n_rejected(self) -> int:
        """Total of :attr:`rejected`."""
        return sum(self.rejected.values())

    @classmethod
    def empty(cls) -> "AsterixDecodeResult":
        return cls(np.empty(0, PLOT_DTYPE), np.empty(0, PLOT_INFO_DTYPE),
                   np.empty(0, NORTH_MARKER_DTYPE), np.empty(0, SECTOR_CROSSING_DTYPE))

    @classmethod
    def concatenate(cls, results: Iterable["AsterixDecodeResult"]) -> "AsterixDecodeResult":
        """One result holding several, in order (counts added)."""
        results = list(results)
        if not results:
            return cls.empty()
        rejected = {reason: sum(r.rejected[reason] for r in results) for reason in REJECT_REASONS}
        return cls(np.concatenate([r.plots for r in results]),
                   np.concatenate([r.plot_info for r in results]),
                   np.concatenate([r.north_markers for r in results]),
                   np.concatenate([r.sector_crossings for r in results]),
                   rejected, sum(r.records for r in results), sum(r.blocks for r in results))


def _as_byte_array(buf) -> np.ndarray:
    """A read-only, contiguous uint8 view of ``buf`` (one kernel specialisation)."""
    if isinstance(buf, np.ndarray):
        if buf.dtype != np.uint8 or buf.ndim != 1:
            raise TypeError(f"buf must be a one-dimensional uint8 array, got {buf.dtype} with "
                            f"shape {buf.shape}")
        array = np.ascontiguousarray(buf)
    elif isinstance(buf, (bytes, bytearray, memoryview)):
        try:
            array = np.frombuffer(buf, dtype=np.uint8)
        except ValueError as error:
            raise TypeError(f"buf must be contiguous bytes: {error}") from None
    else:
        raise TypeError(f"buf must be bytes, bytearray, memoryview or a uint8 array, "
                        f"got {type(buf).__name__}")
    view = array.view()
    view.flags.writeable = False
    return view


def _check_decode_args(radars, unwrapper):
    if not isinstance(radars, RadarMap):
        raise TypeError(f"radars must be a RadarMap, got {type(radars).__name__}")
    if unwrapper is None:
        return TimeOfDayUnwrapper()
    if not isinstance(unwrapper, TimeOfDayUnwrapper):
        raise TypeError(f"unwrapper must be a TimeOfDayUnwrapper or None, got {type(unwrapper).__name__}")
    return unwrapper


def _complete_block_at(data, pos):
    """Whether a whole data block (valid header) starts at ``pos``."""
    n = data.shape[0]
    if n - pos < 3:
        return False
    length = (int(data[pos + 1]) << 8) | int(data[pos + 2])
    return 3 <= length <= n - pos


def _grown(array, n_used, capacity):
    """``array`` with room for ``capacity`` rows, its first ``n_used`` kept."""
    if capacity <= array.shape[0]:
        return array
    bigger = np.empty(capacity, array.dtype)
    bigger[:n_used] = array[:n_used]
    return bigger


def _decode(data, radars, clock, keep_test_targets, partial_ok):
    """Run the kernel over ``data`` until done; (result, stop offset).

    The outputs are allocated at the most rows the buffer could hold (pages
    never written are never touched), up to :data:`_MAX_ROWS`; past that
    they grow by doubling.
    """
    n = data.shape[0]
    counters = np.zeros(K.N_COUNTERS, np.int64)
    plots = np.empty(min(n // K.MIN_PLOT_RECORD_BYTES + 1, _MAX_ROWS), PLOT_DTYPE)
    info = np.empty(plots.shape[0], PLOT_INFO_DTYPE)
    services = np.empty(min(n // K.MIN_SERVICE_RECORD_BYTES + 1, _MAX_ROWS), K.SERVICE_DTYPE)
    pos = n_plots = n_services = 0
    while True:
        stop, more_plots, more_services = K.decode_blocks(
            data, pos, partial_ok, radars.lookup, radars.radar_id, radars.radar_alt_m,
            radars.radar_radius_m, int(keep_test_targets), clock, counters,
            plots[n_plots:], info[n_plots:], services[n_services:])
        n_plots += more_plots
        n_services += more_services
        pos = stop
        # The kernel stops early only when an output is full (a whole block
        # waits at ``stop``) or, with partial_ok, at a cut-off block.
        if pos >= n or not _complete_block_at(data, pos):
            break
        bound = (n - pos) // K.MIN_PLOT_RECORD_BYTES + 1
        plots = _grown(plots, n_plots, n_plots + min(max(plots.shape[0], 8192), bound))
        info = _grown(info, n_plots, plots.shape[0])
        bound = (n - pos) // K.MIN_SERVICE_RECORD_BYTES + 1
        services = _grown(services, n_services, n_services + min(max(services.shape[0], 16384), bound))
    plots, info, services = plots[:n_plots], info[:n_plots], services[:n_services]
    north = services[services["message_type"] == K.MESSAGE_NORTH_MARKER]
    sector = services[services["message_type"] == K.MESSAGE_SECTOR_CROSSING]
    north_markers = np.empty(north.shape[0], NORTH_MARKER_DTYPE)
    for name in NORTH_MARKER_DTYPE.names:
        north_markers[name] = north[name]
    sector_crossings = np.empty(sector.shape[0], SECTOR_CROSSING_DTYPE)
    for name in SECTOR_CROSSING_DTYPE.names:
        sector_crossings[name] = sector[name]
    rejected = {reason: int(counters[K.C_FIRST_REASON + k]) for k, reason in enumerate(REJECT_REASONS)}
    result = AsterixDecodeResult(plots, info, north_markers, sector_crossings, rejected,
                                 int(counters[K.C_RECORDS]), int(counters[K.C_BLOCKS]))
    return result, pos


def decode_datagram(buf, radars: RadarMap, unwrapper: TimeOfDayUnwrapper | None = None, *,
                    keep_test_targets: bool = False) -> AsterixDecodeResult:
    """Decode the CAT048 and CAT034 data blocks of a datagram.

    Parameters
    ----------
    buf : bytes, bytearray, memoryview or ndarray of uint8, shape (n_bytes,)
        One or more data blocks back to back.  Never read past its end.
    radars : RadarMap
    unwrapper : TimeOfDayUnwrapper, optional
        Carry one from datagram to datagram of a stream (it is updated).
        None: a fresh one, so that ``time_s`` is the time of day of this
        datagram (unwrapped within it only).
    keep_test_targets : bool
        Keep plots flagged simulated or test (I048/020 SIM, TST); by default
        they are rejected as ``test_target``.

    Returns
    -------
    AsterixDecodeResult

    Raises
    ------
    TypeError
        If ``buf``, ``radars`` or ``unwrapper`` is of the wrong type (never
        because of the bytes' content).
    """
    data = _as_byte_array(buf)
    unwrapper = _check_decode_args(radars, unwrapper)
    result, _ = _decode(data, radars, unwrapper.clock, keep_test_targets, 0)
    return result


def iter_ast_file(path, radars: RadarMap, chunk_bytes: int = 1 << 20,
                  unwrapper: TimeOfDayUnwrapper | None = None, *,
                  keep_test_targets: bool = False) -> Iterator[AsterixDecodeResult]:
    """Decode an ".ast" recording (data blocks back to back), chunk by chunk.

    A data block cut by a chunk boundary is decoded with the next chunk.  A
    block header with LEN < 3 cannot be stepped over: it is counted as
    ``bad_length`` and the rest of the file is not decoded; a file ending
    inside a block counts one ``truncated``.  A file that does not start
    with a whole data block (empty, shorter than its first block, or a first
    header with LEN < 3) is not an ASTERIX recording: :class:`AsterixError`
    names the file, at the first ``next()``.

    Parameters
    ----------
    path : str or os.PathLike
    radars : RadarMap
    chunk_bytes : int
        Bytes read at a time (at least 65535, the largest data block).
    unwrapper : TimeOfDayUnwrapper, optional
        Shared by every chunk; a fresh one (``midnight_s = 0``) when None.
    keep_test_targets : bool
        As :func:`decode_datagram`.

    Yields
    ------
    AsterixDecodeResult
        One per chunk that held at least one complete data block (and one
        for the cut-off end of the file, if any).

    Raises
    ------
    AsterixError
        (a ValueError) For a file that does not start with a whole data block.
    """
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, (int, np.integer)) or \
            chunk_bytes < _MAX_BLOCK_BYTES:
        raise ValueError(f"chunk_bytes must be an integer >= {_MAX_BLOCK_BYTES}, got {chunk_bytes!r}")
    unwrapper = _check_decode_args(radars, unwrapper)
    with open(os.fspath(path), "rb") as file:
        _check_first_block(path, file)
        carry = b""
        while True:
            chunk = file.read(int(chunk_bytes))
            at_end = not chunk
            data_bytes = carry + chunk
            if not data_bytes:
                return
            data = _as_byte_array(data_bytes)
            result, stop = _decode(data, radars, unwrapper.clock, keep_test_targets, 0 if at_end else 1)
            if result.blocks or result.n_rejected:
                yield result
            if result.rejected["bad_length"] or at_end:
                return
            carry = data_bytes[stop:]


def _check_first_block(path, file):
    """AsterixError unless ``file`` starts with a whole data block (CAT, LEN >= 3, LEN bytes there)."""
    size = os.fstat(file.fileno()).st_size
    head = file.read(3)
    file.seek(0)
    if size == 0:
        raise AsterixError(f"{os.fspath(path)}: empty file: no ASTERIX data block")
    if len(head) < 3:
        raise AsterixError(f"{os.fspath(path)}: {size} bytes, shorter than an ASTERIX data block header")
    category, length = head[0], (head[1] << 8) | head[2]
    if length < 3 or length > size:
        raise AsterixError(f"{os.fspath(path)}: not an ASTERIX recording: the first data block header "
                           f"(category {category}, length {length}) is not valid for a file of "
                           f"{size} bytes")


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------

def _fail(function, array_name, j, value, what):
    raise AsterixError(f"{function}: {array_name}[{j}] = {value!r} {what}")


def _time_of_day_raw(function, time_s, time_offset_s):
    """``rint(((t + offset) mod 86400) * 128) mod 86400 * 128``."""
    time_s = np.asarray(time_s, dtype=np.float64)
    if not np.isfinite(time_s).all():
        j = int(np.flatnonzero(~np.isfinite(time_s))[0])
        _fail(function, "time_s", j, float(time_s[j]), "is not finite")
    offset = float(time_offset_s)
    if not math.isfinite(offset):
        raise AsterixError(f"{function}: time_offset_s must be finite, got {time_offset_s!r}")
    tod = np.mod(time_s + offset, K.DAY_S)
    return np.mod(np.rint(tod / K.TIME_LSB_S), 86400 * 128).astype(np.int64)


def _check_max_block_bytes(function, max_block_bytes, record_bytes):
    if isinstance(max_block_bytes, bool) or not isinstance(max_block_bytes, (int, np.integer)) or \
            not 3 + record_bytes <= max_block_bytes <= _MAX_BLOCK_BYTES:
        raise AsterixError(f"{function}: max_block_bytes must be an integer in "
                           f"[{3 + record_bytes}, {_MAX_BLOCK_BYTES}], got {max_block_bytes!r}")


def _frame_blocks(category, data, n_bytes, record_end, max_block_bytes):
    """Cut packed records into data blocks of at most ``max_block_bytes``."""
    if record_end.shape[0] == 0:
        return bytes([category, 0, 3])
    out = []
    start = 0
    first = 0
    n = record_end.shape[0]
    while first < n:
        # last record whose end keeps the block within bounds
        last = int(np.searchsorted(record_end, start + max_block_bytes - 3, side="right")) - 1
        last = max(last, first)
        end = int(record_end[last])
        length = end - start + 3
        out.append(bytes([category, length >> 8, length & 0xFF]))
        out.append(data[start:end].tobytes())
        start = end
        first = last + 1
    return b"".join(out)


def _field(array, name, function):
    if array.dtype.names is None or name not in array.dtype.names:
        raise AsterixError(f"{function}: the rows have no field {name!r}")
    return np.ascontiguousarray(array[name])


@dataclass(frozen=True)
class _Subfield:
    """A run of ``octets`` octets of an item, written big endian.

    Its value is ``constant``, or else the value named ``name`` (see
    :func:`_encode`): an integer already in range when ``lsb`` is None;
    otherwise a float, written as ``rint(value / lsb)`` in ``bits`` bits (two's
    complement if ``signed``).  A float outside that range is an error whose
    message calls the values ``label``, or, with ``saturate``, the largest
    value.  With ``when``, the subfield is written only where the flag named
    ``when`` is true.
    """

    name: str | None
    octets: int
    lsb: float | None = None
    bits: int | None = None
    signed: bool = True
    saturate: bool = False
    label: str | None = None
    constant: int = 0
    when: str | None = None

    @property
    def width(self):
        """Bits of the value."""
        return 8 * self.octets if self.bits is None else self.bits

    @property
    def raw_range(self):
        bits = self.width
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)

    def quantise(self, function, values, present):
        """Raw values where ``present`` (0 elsewhere), in the subfield's width."""
        values = np.asarray(values, dtype=np.float64)
        low, high = self.raw_range
        bad = present & ~np.isfinite(values)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            _fail(function, self.label, j, float(values[j]), "is not finite")
        raw = np.zeros(values.shape, np.float64)
        raw[present] = np.rint(values[present] / self.lsb)
        if self.saturate:
            raw = np.minimum(raw, high)
        bad = present & ((raw < low) | (raw > high))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            _fail(function, self.label, j, float(values[j]),
                  f"is outside the item's range [{low * self.lsb:g}, {high * self.lsb:g}]")
        return raw.astype(np.int64) & ((1 << self.width) - 1)      # two's complement


def _raw(name, octets, when=None):
    """A subfield holding an integer value as it is."""
    return _Subfield(name, octets, when=when)


def _constant(value, octets, when=None):
    """A subfield holding a constant (a compound item's subfield octet, an extension)."""
    return _Subfield(None, octets, constant=value, when=when)


def _scaled(name, octets, lsb, label, bits=None, signed=True, saturate=False):
    """A subfield holding a float value in units of ``lsb``."""
    return _Subfield(name, octets, lsb, bits, signed, saturate, label)


@dataclass(frozen=True)
class _Item:
    """A data item: its FRN and subfields.

    It is written where the flag named ``when`` is true (everywhere if
    None) and, if ``optional``, its scaled values are all finite; a
    non-finite scaled value of a written item that is not optional is an
    error.
    """

    name: str
    frn: int
    subfields: tuple
    optional: bool = False
    when: str | None = None


class _RecordLayout:
    """The items a category's encoder writes, in UAP order, as the tables of
    :func:`ingest._asterix_kernels.pack_records`."""

    def __init__(self, category, items):
        self.category = category
        self.items = tuple(items)
        self.n_frn = max(item.frn for item in self.items)
        names = [sub.name for item in self.items for sub in item.subfields if sub.name is not None]
        flags = [sub.when for item in self.items for sub in item.subfields if sub.when is not None]
        self.flags = tuple(dict.fromkeys(flags))
        self.column = {name: k for k, name in enumerate(dict.fromkeys(names + flags))}
        n_values = len(self.column)
        self.n_fields = n_values + len(self.items)          # then one presence flag per item
        parts = []
        self.item_table = np.zeros((len(self.items), K.N_ITEM_COLUMNS), np.int64)
        for i, item in enumerate(self.items):
            for sub in item.subfields:
                parts.append((-1 if sub.name is None else self.column[sub.name], sub.constant, sub.octets,
                              -1 if sub.when is None else self.column[sub.when]))
            self.item_table[i] = (item.frn, n_values + i, len(parts))
        self.part_table = np.array(parts, np.int64).reshape(-1, K.N_PART_COLUMNS)
        self.max_record_bytes = (self.n_frn + 6) // 7 + int(self.part_table[:, K.PART_OCTETS].sum())


def _encode(function, layout, n, values, max_block_bytes):
    """Data blocks of ``n`` records by ``layout``.

    ``values`` maps each subfield name and flag of the layout to an array of
    ``n`` values (or one value for all): raw integers, floats for scaled
    subfields (NaN where an optional item is absent), booleans for flags.
    """
    fields = np.zeros((n, layout.n_fields), np.int64)
    for i, item in enumerate(layout.items):
        present = np.ones(n, bool) if item.when is None else np.broadcast_to(values[item.when], (n,)).copy()
        scaled = [sub for sub in item.subfields if sub.lsb is not None]
        if item.optional:
            for sub in scaled:
                present &= np.isfinite(np.broadcast_to(values[sub.name], (n,)))
        fields[:, layout.item_table[i, K.ITEM_PRESENT]] = present
        for sub in item.subfields:         # written where the item is: two items may share a value
            if sub.name is None:
                continue
            value = np.broadcast_to(values[sub.name], (n,))
            raw = value if sub.lsb is None else sub.quantise(function, value, present)
            fields[present, layout.column[sub.name]] = raw[present]
    for flag in layout.flags:
        fields[:, layout.column[flag]] = values[flag]
    out = np.empty(n * layout.max_record_bytes, np.uint8)
    record_end = np.empty(n, np.int64)
    n_bytes = K.pack_records(fields, layout.item_table, layout.part_table, layout.n_frn, out, record_end)
    return _frame_blocks(layout.category, out, n_bytes, record_end, int(max_block_bytes))


def _height_from_elevation(range_m, azimuth_deg, elevation_deg, radar_alt_m, radius_m):
    """Inverse of the decoder's elevation formula (module docstring)."""
    az = np.radians(azimuth_deg)
    M, N = radius_m[:, 0], radius_m[:, 1]
    R = M * N / (N * np.cos(az) ** 2 + M * np.sin(az) ** 2)
    base = R + radar_alt_m
    rise = range_m * range_m + 2.0 * range_m * base * np.sin(np.radians(elevation_deg))
    # h - h_r = sqrt(base^2 + rise) - base, without cancellation
    return radar_alt_m + rise / (np.sqrt(base * base + rise) + base)



#: CAT048 items of :func:`encode_cat048`, in UAP order.
_CAT048 = _RecordLayout(48, [
    _Item("I048/010", 1, (_raw("sac", 1), _raw("sic", 1))),
    _Item("I048/140", 2, (_raw("time_of_day", 3),)),
    _Item("I048/020", 3, (_raw("typ_octet", 1),)),
    _Item("I048/040", 4, (_scaled("rho", 2, K.RHO_LSB_M, "plots.range_m", signed=False), _raw("theta", 2))),
    _Item("I048/090", 6, (_scaled("height", 2, K.HEIGHT_LSB_M, "height of plots", bits=14),), when="090"),
    _Item("I048/130", 7, (_constant(0x08, 1), _scaled("pam", 1, 1.0, "plots.snr_db")), optional=True),
    _Item("I048/161", 11, (_raw("track_number", 2),), when="has_track_number"),
    _Item("I048/110", 19, (_scaled("height", 2, K.HEIGHT_LSB_M, "height of plots", bits=14),), when="110"),
    _Item("I048/120", 20, (_constant(0x80, 1), _scaled("cal", 2, 1.0, "plots.radial_velocity_mps", bits=10)),
          optional=True),
])

def encode_cat048(plots, radars: RadarMap, *, height_item: str = "110", time_offset_s: float = 0.0,
                  detection_type: int = 1, track_numbers=None,
                  max_block_bytes: int = _MAX_BLOCK_BYTES) -> bytes:
    """Encode plots as CAT048 target reports, in their order.

    Each record holds I048/010 (the radar's SAC/SIC), 140 (time of day
    ``(time_s + time_offset_s) mod 86400``), 020 (TYP = ``detection_type``),
    040, the height as 110 or 090 (from the elevation, by the inverse of the
    decoder's geometry with the same :class:`RadarMap`), 130 PAM (snr_db,
    when finite), 161 (when ``track_numbers`` gives one) and 120 CAL
    (radial velocity, when finite).

    Parameters
    ----------
    plots : ndarray of PLOT_DTYPE, shape (n,)
    radars : RadarMap
        Must hold every ``radar_id`` of ``plots``.
    height_item : {"110", "090"}
        I048/110 3-D height or I048/090 flight level (both 25 ft LSB).
    time_offset_s : float
        Added to ``time_s`` before taking the time of day.
    detection_type : int
        I048/020 TYP, 0-7 (1: single PSR detection).
    track_numbers : array_like of int, shape (n,), optional
        I048/161 per plot, 0-4095, or -1 for none.
    max_block_bytes : int

    Returns
    -------
    bytes

    Raises
    ------
    AsterixError
        For a value the items cannot hold (the message names the row).
    """
    function = "encode_cat048"
    if not isinstance(radars, RadarMap):
        raise TypeError(f"{function}: radars must be a RadarMap, got {type(radars).__name__}")
    if height_item not in ("110", "090"):
        raise AsterixError(f"{function}: height_item must be '110' or '090', got {height_item!r}")
    if isinstance(detection_type, bool) or not isinstance(detection_type, (int, np.integer)) or \
            not 0 <= detection_type <= 7:
        raise AsterixError(f"{function}: detection_type must be an integer in [0, 7], got {detection_type!r}")
    _check_max_block_bytes(function, max_block_bytes, _CAT048.max_record_bytes)
    plots = np.atleast_1d(np.asarray(plots))
    n = plots.shape[0]
    radar_ids = _field(plots, "radar_id", function).astype(np.int64)
    index = radars.index_of(radar_ids)
    if (index < 0).any():
        j = int(np.flatnonzero(index < 0)[0])
        _fail(function, "plots.radar_id", j, int(radar_ids[j]), "is not in the radar map")
    range_m = _field(plots, "range_m", function).astype(np.float64)
    azimuth_deg = _field(plots, "azimuth_deg", function).astype(np.float64)
    elevation_deg = _field(plots, "elevation_deg", function).astype(np.float64)
    if not np.isfinite(azimuth_deg).all():
        j = int(np.flatnonzero(~np.isfinite(azimuth_deg))[0])
        _fail(function, "plots.azimuth_deg", j, float(azimuth_deg[j]), "is not finite")
    if not np.isfinite(elevation_deg).all() or (np.abs(elevation_deg) > 90.0).any():
        j = int(np.flatnonzero(~(np.abs(elevation_deg) <= 90.0))[0])
        _fail(function, "plots.elevation_deg", j, float(elevation_deg[j]), "is not in [-90, 90]")
    if track_numbers is None:
        track_numbers = np.full(n, -1, np.int64)
    else:
        track_numbers = np.asarray(track_numbers)
        if track_numbers.shape != (n,) or not np.issubdtype(track_numbers.dtype, np.integer):
            raise AsterixError(f"{function}: track_numbers must be {n} integers")
        bad = (track_numbers < -1) | (track_numbers > 4095)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            _fail(function, "track_numbers", j, int(track_numbers[j]), "is not in [-1, 4095]")
    codes = np.array([(e.sac, e.sic) for e in radars.entries], np.int64).reshape(-1, 2)
    values = {
        "sac": codes[index, 0],
        "sic": codes[index, 1],
        "time_of_day": _time_of_day_raw(function, _field(plots, "time_s", function), time_offset_s),
        "typ_octet": int(detection_type) << 5,                 # TYP, SIM = RDP = SPI = RAB = 0, FX = 0
        "rho": range_m,
        "theta": np.mod(np.rint(np.mod(azimuth_deg, 360.0) / K.THETA_LSB_DEG), 65536).astype(np.int64),
        "height": _height_from_elevation(range_m, azimuth_deg, elevation_deg, radars.radar_alt_m[index],
                                         radars.radar_radius_m[index]),
        "090": height_item == "090",
        "110": height_item == "110",
        "pam": _field(plots, "snr_db", function).astype(np.float64),
        "track_number": np.maximum(track_numbers, 0),
        "has_track_number": track_numbers >= 0,
        "cal": _field(plots, "radial_velocity_mps", function).astype(np.float64),
    }
    return _encode(function, _CAT048, n, values, max_block_bytes)


#: CAT034 items of :func:`encode_cat034`, in UAP order.
_CAT034 = _RecordLayout(34, [
    _Item("I034/010", 1, (_raw("sac", 1), _raw("sic", 1))),
    _Item("I034/000", 2, (_raw("message_type", 1),)),
    _Item("I034/030", 3, (_raw("time_of_day", 3),)),
    _Item("I034/020", 4, (_raw("sector", 1),), when="has_sector"),
    _Item("I034/041", 5, (_scaled("period", 2, K.TIME_LSB_S, "rotation_period_s", signed=False),),
          optional=True),
])


def encode_cat034(time_s, message_type, sac, sic, *, sector_azimuth_deg=None, rotation_period_s=None,
                  time_offset_s: float = 0.0, max_block_bytes: int = _MAX_BLOCK_BYTES) -> bytes:
    """Encode CAT034 service messages (north markers, sector crossings).

    Each record holds I034/010, 000, 030 (time of day of ``time_s +
    time_offset_s``), 020 (sector azimuth, where given and finite) and 041
    (antenna rotation period, where given and finite).  Arguments broadcast
    against ``time_s``.

    Parameters
    ----------
    time_s : array_like of float, shape (n,)
    message_type : int or array_like of int
        I034/000: 1 north marker, 2 sector crossing (any 1-255 is written).
    sac, sic : int or array_like of int
    sector_azimuth_deg : float or array_like, optional
        Quantised to 360/256 degrees.
    rotation_period_s : float or array_like, optional
        Quantised to 1/128 s, at most 511.99 s.
    time_offset_s : float
    max_block_bytes : int

    Returns
    -------
    bytes
    """
    function = "encode_cat034"
    _check_max_block_bytes(function, max_block_bytes, _CAT034.max_record_bytes)
    time_s = np.atleast_1d(np.asarray(time_s, dtype=np.float64))
    if time_s.ndim != 1:
        raise AsterixError(f"{function}: time_s must be one-dimensional")
    n = time_s.shape[0]

    def integers(name, value, low, high):
        array = np.broadcast_to(np.asarray(value), (n,))
        if not np.issubdtype(array.dtype, np.integer):
            raise AsterixError(f"{function}: {name} must be integers, got {array.dtype}")
        bad = (array < low) | (array > high)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            _fail(function, name, j, int(array[j]), f"is not in [{low}, {high}]")
        return array.astype(np.int64)

    azimuth = np.broadcast_to(np.asarray(np.nan if sector_azimuth_deg is None else sector_azimuth_deg,
                                         dtype=np.float64), (n,))
    has_sector = np.isfinite(azimuth)
    values = {
        "sac": integers("sac", sac, 0, 255),
        "sic": integers("sic", sic, 0, 255),
        "message_type": integers("message_type", message_type, 0, 255),
        "time_of_day": _time_of_day_raw(function, time_s, time_offset_s),
        "sector": np.mod(np.rint(np.mod(np.where(has_sector, azimuth, 0.0), 360.0) / K.SECTOR_LSB_DEG),
                         256).astype(np.int64),
        "has_sector": has_sector,
        "period": np.broadcast_to(np.asarray(np.nan if rotation_period_s is None else rotation_period_s,
                                             dtype=np.float64), (n,)),
    }
    return _encode(function, _CAT034, n, values, max_block_bytes)


#: I062/105 latitude and longitude LSB: 180/2^25 degrees.
WGS84_LSB_DEG = 180.0 / 2 ** 25
#: I062/100 LSB (m), I062/185 LSB (m/s), I062/500 APC LSB (m).
CARTESIAN_LSB_M = 0.5
VELOCITY_LSB_MPS = 0.25
#: I062/136 LSB: 1/4 flight level (25 ft); I062/130 LSB: 6.25 ft; I062/220 LSB: 6.25 ft/min.
FLIGHT_LEVEL_LSB_M = 25.0 * K.FT_M
GEOMETRIC_ALTITUDE_LSB_M = 6.25 * K.FT_M
CLIMB_RATE_LSB_MPS = 6.25 * K.FT_M / 60.0
#: I062/080 SRC written when the altitude is known: 2, "3D radar".
SRC_3D_RADAR = 2



#: CAT062 items of :func:`encode_cat062`, in UAP order: the resolutions of
#: the module docstring's table.  I062/080 is MON = SPI = 0, MRH = 1, SRC,
#: CNF, then for a coasting track the extension to its fourth octet, CST = 1.
_CAT062 = _RecordLayout(62, [
    _Item("I062/010", 1, (_raw("sac", 1), _raw("sic", 1))),
    _Item("I062/015", 3, (_raw("service_id", 1),)),
    _Item("I062/070", 4, (_raw("time_of_day", 3),)),
    _Item("I062/105", 5, (_scaled("lat_deg", 4, WGS84_LSB_DEG, "rows.lat_deg"),
                          _scaled("lon_deg", 4, WGS84_LSB_DEG, "rows.lon_deg")), optional=True),
    _Item("I062/100", 6, (_scaled("east_m", 3, CARTESIAN_LSB_M, "rows.east_m"),
                          _scaled("north_m", 3, CARTESIAN_LSB_M, "rows.north_m")), optional=True),
    _Item("I062/185", 7, (_scaled("v_east_mps", 2, VELOCITY_LSB_MPS, "rows.v_east_mps"),
                          _scaled("v_north_mps", 2, VELOCITY_LSB_MPS, "rows.v_north_mps")), optional=True),
    _Item("I062/040", 12, (_raw("track_number", 2),)),
    _Item("I062/080", 13, (_raw("status_octet", 1), _constant(0x010180, 3, when="coasting"))),
    _Item("I062/136", 17, (_scaled("flight_level", 2, FLIGHT_LEVEL_LSB_M, "rows.alt_m (as flight level)"),),
          optional=True),
    _Item("I062/130", 18, (_scaled("alt_m", 2, GEOMETRIC_ALTITUDE_LSB_M, "rows.alt_m"),), optional=True),
    _Item("I062/220", 20, (_scaled("v_up_mps", 2, CLIMB_RATE_LSB_MPS, "rows.v_up_mps"),), optional=True),
    _Item("I062/500", 27, (_constant(0x80, 1),                 # subfield APC only
                           _scaled("apc", 2, CARTESIAN_LSB_M, "APC", signed=False, saturate=True),
                           _scaled("apc", 2, CARTESIAN_LSB_M, "APC", signed=False, saturate=True)),
          optional=True),
])


def encode_cat062(rows, sac: int, sic: int, origin_lat_deg: float, origin_lon_deg: float,
                  origin_alt_m: float, *, service_id: int = 1, time_offset_s: float = 0.0,
                  max_block_bytes: int = _MAX_BLOCK_BYTES) -> bytes:
    """Encode periodic track rows as CAT062 system track data (table in the module docstring).

    Parameters
    ----------
    rows : ndarray of ingest.schema.TRACK_ROW_DTYPE, shape (n,)
        ``status`` 1 tentative, 2 confirmed, 3 coasting.  Where ``lat_deg``,
        ``lon_deg`` or ``alt_m`` is NaN but the ENU position is finite, they
        are computed from the ENU position and the origin.
    sac, sic : int
        The fusion system's codes (I062/010).
    origin_lat_deg, origin_lon_deg, origin_alt_m : float
        The site origin: the system reference point of I062/100 (X east,
        Y north of it) and the tangent point of the rows' ENU frame.
    service_id : int
        I062/015, 0-255.
    time_offset_s : float
        I062/070 is the time of day of ``time_s + time_offset_s``.
    max_block_bytes : int

    Returns
    -------
    bytes

    Raises
    ------
    AsterixError
        For a value the items cannot hold (the message names the row).
    """
    function = "encode_cat062"
    for name, value in (("sac", sac), ("sic", sic), ("service_id", service_id)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 255:
            raise AsterixError(f"{function}: {name} must be an integer in [0, 255], got {value!r}")
    for name, value in (("origin_lat_deg", origin_lat_deg), ("origin_lon_deg", origin_lon_deg),
                        ("origin_alt_m", origin_alt_m)):
        if not math.isfinite(float(value)):
            raise AsterixError(f"{function}: {name} must be finite, got {value!r}")
    _check_max_block_bytes(function, max_block_bytes, _CAT062.max_record_bytes)
    rows = np.atleast_1d(np.asarray(rows))
    n = rows.shape[0]
    get = {name: _field(rows, name, function) for name in TRACK_ROW_DTYPE.names}
    status = get["status"].astype(np.int64)
    bad = (status < 1) | (status > 3)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        _fail(function, "rows.status", j, int(status[j]), "is not 1 (tentative), 2 (confirmed) or 3 (coasting)")
    track_id = get["track_id"].astype(np.int64)
    if (track_id < 0).any():
        j = int(np.flatnonzero(track_id < 0)[0])
        _fail(function, "rows.track_id", j, int(track_id[j]), "is negative")
    enu = np.stack([get["east_m"], get["north_m"], get["up_m"]], axis=1).astype(np.float64)
    lat = get["lat_deg"].astype(np.float64)
    lon = get["lon_deg"].astype(np.float64)
    alt = get["alt_m"].astype(np.float64)
    fill = ~(np.isfinite(lat) & np.isfinite(lon) & np.isfinite(alt)) & np.isfinite(enu).all(axis=1)
    if fill.any():
        geodetic = LocalFrame(float(origin_lat_deg), float(origin_lon_deg),
                              float(origin_alt_m)).to_geodetic(np.ascontiguousarray(enu[fill]))
        lat, lon, alt = lat.copy(), lon.copy(), alt.copy()
        lat[fill] = np.where(np.isfinite(lat[fill]), lat[fill], geodetic[:, 0])
        lon[fill] = np.where(np.isfinite(lon[fill]), lon[fill], geodetic[:, 1])
        alt[fill] = np.where(np.isfinite(alt[fill]), alt[fill], geodetic[:, 2])
    sigma = get["sigma_pos_m"].astype(np.float64)
    coasting = status == 3
    src = np.where(np.isfinite(alt), SRC_3D_RADAR, 0)
    values = {
        "sac": int(sac),
        "sic": int(sic),
        "service_id": int(service_id),
        "time_of_day": _time_of_day_raw(function, get["time_s"], time_offset_s),
        "lat_deg": lat,
        "lon_deg": np.mod(lon + 180.0, 360.0) - 180.0,          # longitude 180 is -180
        "east_m": enu[:, 0],
        "north_m": enu[:, 1],
        "v_east_mps": get["v_east_mps"].astype(np.float64),
        "v_north_mps": get["v_north_mps"].astype(np.float64),
        "track_number": np.mod(track_id, 65536),
        "status_octet": 0x20 | (src << 2) | np.where(status == 1, 0x02, 0) | coasting,   # MRH, SRC, CNF, FX
        "coasting": coasting,
        "flight_level": alt,
        "alt_m": alt,
        "v_up_mps": get["v_up_mps"].astype(np.float64),
        # APC X = APC Y, each the standard deviation of one axis; a negative sigma leaves the item out
        "apc": np.where(sigma >= 0.0, sigma / math.sqrt(2.0), np.nan),
    }
    return _encode(function, _CAT062, n, values, max_block_bytes)


def warmup() -> None:
    """Compile every ASTERIX kernel (from the cache after the first run)."""
    radars = RadarMap([RadarEntry(0, 1, 1, 31.3, 120.6, 20.0)])
    plots = np.zeros(1, PLOT_DTYPE)
    plots["range_m"] = 1000.0
    plots["radar_id"] = 1
    plots["radial_velocity_mps"] = 1.0
    plots["snr_db"] = 10.0
    data = encode_cat048(plots, radars) + encode_cat034([0.0], 1, 0, 1)
    decode_datagram(data, radars)
    TimeOfDayUnwrapper().unwrap([0.0])
    rows = np.zeros(1, TRACK_ROW_DTYPE)
    rows["status"] = 2
    encode_cat062(rows, 0, 1, 31.3, 120.6, 0.0)

