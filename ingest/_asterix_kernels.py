"""Compiled ASTERIX kernels: CAT048/CAT034 decoding, CAT048/CAT034/CAT062 packing.

The Python API, its validation and the units are in :mod:`ingest.asterix`;
this module only moves bytes.  Every kernel takes its inputs first and
preallocated outputs last, allocates nothing and returns nothing or counts.

Wire format (EUROCONTROL ASTERIX, Part 1)
-----------------------------------------
A datagram (or an ".ast" file) is a sequence of data blocks::

    CAT (1 octet) | LEN (2 octets, big endian, includes these 3) | records

A record is an FSPEC followed by the items it marks, in UAP order (field
reference number FRN 1, 2, ...).  FSPEC octet ``k`` marks FRN ``7k + 1`` to
``7k + 7`` from its most significant bit down; its least significant bit (FX)
says whether another FSPEC octet follows.  Records carry no length of their
own: the length of each item follows from its type, so one undecodable item
loses the rest of its data block.  Item types:

fixed
    a known number of octets;
extended
    octets whose least significant bit (FX) says whether another follows;
repetitive
    a count octet REP, then REP fixed-size elements;
compound
    its own FSPEC (one octet here) marking fixed-size subfields;
explicit
    a length octet LEN (including itself, so LEN >= 1), then LEN - 1 octets
    (the SP and RE fields).

Bounds
------
Every read is checked against the end of its data block, and the end of a
data block against the end of the buffer, before the read: no kernel reads
past ``buf[buf.shape[0] - 1]``, whatever the bytes.

Counters
--------
The decoder adds to ``counters`` (int64, :data:`N_COUNTERS`):
``counters[C_RECORDS]`` records parsed (whether used or not),
``counters[C_BLOCKS]`` data blocks with a valid header, and one counter per
rejection reason (:data:`REJECT_REASONS`, at ``C_FIRST_REASON + reason``).
Structural reasons (before :data:`R_NO_SOURCE`) stop the data block (or the
datagram); the others reject one parsed record and go on.  So for any input::

    records == plots + service messages + sum(record-level rejections)
"""
import math

import numpy as np

from kernels._jit import njit

# --------------------------------------------------------------------------
# Specification constants (frozen into the kernels on purpose; not tunable)
# --------------------------------------------------------------------------

#: One nautical mile (m).
NM_M = 1852.0
#: One foot (m).
FT_M = 0.3048
#: Seconds in a day: ASTERIX time of day wraps here.
DAY_S = 86400.0
#: I048/140, I034/030, I062/070 time of day: 1/128 s.
TIME_LSB_S = 1.0 / 128.0
#: I048/040 rho: 1/256 NM.
RHO_LSB_M = NM_M / 256.0
#: I048/040 theta: 360/2^16 degrees.
THETA_LSB_DEG = 360.0 / 65536.0
#: I048/090 flight level: 1/4 FL = 25 ft; I048/110 3-D height: 25 ft.
HEIGHT_LSB_M = 25.0 * FT_M
#: I034/020 sector number: 360/2^8 degrees.
SECTOR_LSB_DEG = 360.0 / 256.0

_DEG = math.pi / 180.0
_RAD = 180.0 / math.pi
_DAY_TICKS = 86400 * 128

# Rejection reasons (index into REJECT_REASONS).
R_TRUNCATED = 0          # the buffer ends inside a block header or block
R_BAD_LENGTH = 1         # block LEN < 3: the rest of the buffer cannot be framed
R_UNKNOWN_CATEGORY = 2   # a block of another category (skipped whole)
R_FSPEC_OVERRUN = 3      # the FSPEC runs past the end of its block
R_UNKNOWN_ITEM = 4       # the FSPEC is longer than the UAP (marks undefined FRNs)
R_TRUNCATED_RECORD = 5   # an item runs past the end of its block
R_BAD_ITEM = 6           # an item's own structure is invalid
R_NO_SOURCE = 7          # no I048/010 or I034/010
R_UNKNOWN_RADAR = 8      # SAC/SIC not in the radar map
R_NO_TIME = 9            # no time of day
R_BAD_TIME = 10          # time of day >= 24 h
R_NO_POSITION = 11       # no I048/040
R_NO_HEIGHT = 12         # neither I048/110 nor a valid I048/090
R_BAD_HEIGHT = 13        # height not reachable at that slant range
R_TEST_TARGET = 14       # I048/020 SIM or TST set
R_OTHER_MESSAGE = 15     # a CAT034 message other than north marker / sector crossing
R_NO_SECTOR = 16         # a sector crossing without I034/020

REJECT_REASONS = (
    "truncated", "bad_length", "unknown_category", "fspec_overrun", "unknown_item",
    "truncated_record", "bad_item", "no_source", "unknown_radar", "no_time", "bad_time",
    "no_position", "no_height", "bad_height", "test_target", "other_message", "no_sector",
)
#: Reasons from here on reject one parsed record; those before stop a block.
FIRST_RECORD_REASON = R_NO_SOURCE

C_RECORDS = 0
C_BLOCKS = 1
C_FIRST_REASON = 2
N_COUNTERS = C_FIRST_REASON + len(REJECT_REASONS)

# Smallest record that can give a plot (FSPEC, 010, 140, 040) and a service
# message (FSPEC, 010, 000, 030): bounds on the records of a block.
MIN_PLOT_RECORD_BYTES = 10
MIN_SERVICE_RECORD_BYTES = 7

# Decoded service messages (I034/000).
MESSAGE_NORTH_MARKER = 1
MESSAGE_SECTOR_CROSSING = 2

# Item helpers return a position, or one of these.
_SHORT = -1   # runs past the end of the block
_BAD = -2     # invalid structure

_EMIT = -1    # record worker: the record gave an output row

#: Side information of each decoded plot (one row per row of the plot batch).
PLOT_INFO_DTYPE = np.dtype([
    ("height_m", "f8"),        # the height the elevation was derived from
    ("track_number", "i4"),    # I048/161, -1 when absent
    ("track_status", "i2"),    # first octet of I048/170, -1 when absent
    ("sac", "u1"),             # I048/010
    ("sic", "u1"),
    ("detection_type", "i1"),  # I048/020 TYP (1 single PSR, 2 single SSR, ...)
    ("height_source", "i1"),   # 1: I048/110 3-D height, 2: I048/090 flight level
], align=True)

#: Decoded CAT034 service messages, before they are split by type.
SERVICE_DTYPE = np.dtype([
    ("time_s", "f8"),
    ("radar_id", "i8"),
    ("message_type", "i8"),        # I034/000
    ("azimuth_deg", "f8"),         # I034/020, NaN when absent
    ("rotation_period_s", "f8"),   # I034/041, NaN when absent
])

# --------------------------------------------------------------------------
# Packer tables (columns of the ``items`` and ``parts`` arrays of pack_records)
# --------------------------------------------------------------------------

ITEM_FRN, ITEM_PRESENT, ITEM_PARTS_END = 0, 1, 2
N_ITEM_COLUMNS = 3
PART_FIELD, PART_CONSTANT, PART_OCTETS, PART_WHEN = 0, 1, 2, 3
N_PART_COLUMNS = 4


# --------------------------------------------------------------------------
# Reading helpers: callers have checked the bounds.
# --------------------------------------------------------------------------

@njit(inline="always")
def _u8(buf, p):
    return np.int64(buf[p])


@njit(inline="always")
def _u16(buf, p):
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@njit(inline="always")
def _u24(buf, p):
    return (np.int64(buf[p]) << 16) | (np.int64(buf[p + 1]) << 8) | np.int64(buf[p + 2])


@njit(inline="always")
def _signed(raw, bits):
    """Two's complement value of the low ``bits`` bits of ``raw``."""
    raw = raw & ((np.int64(1) << bits) - 1)
    if raw >= (np.int64(1) << (bits - 1)):
        raw -= np.int64(1) << bits
    return raw


# --------------------------------------------------------------------------
# Item skipping: each returns the position after the item, _SHORT or _BAD.
# --------------------------------------------------------------------------

@njit(inline="always")
def _fixed(pos, size, end):
    if pos + size > end:
        return _SHORT
    return pos + size


@njit(inline="always")
def _extended(buf, pos, end):
    while pos < end:
        octet = buf[pos]
        pos += 1
        if (octet & 1) == 0:
            return pos
    return _SHORT


@njit(inline="always")
def _repetitive(buf, pos, end, size):
    if pos >= end:
        return _SHORT
    return _fixed(pos + 1, _u8(buf, pos) * size, end)


@njit(inline="always")
def _explicit(buf, pos, end):
    if pos >= end:
        return _SHORT
    length = _u8(buf, pos)
    if length == 0:
        return _BAD
    return _fixed(pos, length, end)


@njit(inline="always")
def _compound(buf, pos, end, sizes0, sizes1, sizes2, sizes3, sizes4, sizes5, sizes6):
    """A one-octet-FSPEC compound item of fixed-size subfields.

    ``sizes_k`` is the size in octets of the subfield of FSPEC bit ``7 - k``
    (most significant first), 0 where the subfield is undefined.  A set bit of
    an undefined subfield or a set FX is invalid (_BAD): its size is unknown.
    """
    if pos >= end:
        return _SHORT
    fspec = _u8(buf, pos)
    if fspec & 1:
        return _BAD
    total = 0
    sizes = (sizes0, sizes1, sizes2, sizes3, sizes4, sizes5, sizes6)
    for k in range(7):
        if fspec & (0x80 >> k):
            if sizes[k] == 0:
                return _BAD
            total += sizes[k]
    return _fixed(pos + 1, total, end)


@njit(inline="always")
def _fspec_length(buf, pos, end, max_octets):
    """Octets of the FSPEC at ``pos``; -1 past the block, -2 past the UAP."""
    n = 0
    while True:
        if pos + n >= end:
            return -1
        octet = buf[pos + n]
        n += 1
        if (octet & 1) == 0:
            return n
        if n >= max_octets:
            return -2


# --------------------------------------------------------------------------
# Geometry and time workers
# --------------------------------------------------------------------------

@njit(inline="always")
def _elevation_deg(range_m, azimuth_deg, height_m, radar_alt_m, radius_meridian_m,
                   radius_normal_m):
    """Elevation of a target of known height, seen at a slant range.

    Spherical earth of the radius of curvature in the azimuth direction
    (Euler), scaled beforehand by the effective-earth factor::

        R = M N / (N cos^2(az) + M sin^2(az))
        sin(el) = ((h - h_r)(2R + h + h_r) - r^2) / (2 r (R + h_r))

    from ``(R + h)^2 = (R + h_r)^2 + r^2 + 2 r (R + h_r) sin(el)``.
    NaN when no elevation fits (``|sin(el)| > 1`` or ``r <= 0``).
    """
    if not (range_m > 0.0):
        return np.nan
    # cos^2(az) = (1 + cos 2az) / 2 and sin^2(az) = (1 - cos 2az) / 2: one cosine
    cos_2az = math.cos(2.0 * azimuth_deg * _DEG)
    R = 2.0 * radius_meridian_m * radius_normal_m / (
        (radius_normal_m + radius_meridian_m) + (radius_normal_m - radius_meridian_m) * cos_2az)
    numerator = (height_m - radar_alt_m) * (2.0 * R + height_m + radar_alt_m) - range_m * range_m
    sin_el = numerator / (2.0 * range_m * (R + radar_alt_m))
    if not (-1.0 <= sin_el <= 1.0):
        return np.nan
    return math.asin(sin_el) * _RAD


@njit(inline="always")
def _unwrap_one(time_of_day_s, clock):
    """Time of day onto the monotonic axis kept in ``clock``.

    ``clock[0]`` is the axis time of the first midnight, ``clock[1]`` the
    newest time given so far (NaN before the first).  The result is
    ``clock[0] + tod + 86400 k`` with the integer ``k`` that puts it nearest
    to ``clock[1]`` (``k = 0`` for the first), so a wrap at midnight moves
    on by a day and a late message from before midnight goes back one.
    """
    t = clock[0] + time_of_day_s
    reference = clock[1]
    if reference == reference:
        k = math.floor((reference - t) / DAY_S + 0.5)
        t += DAY_S * k
        if t > reference:
            clock[1] = t
    else:
        clock[1] = t
    return t


@njit
def unwrap_time_of_day(time_of_day_s, clock, out):
    """Unwrap times of day in order (see :func:`_unwrap_one`).

    Parameters
    ----------
    time_of_day_s : ndarray, shape (n,)
        Seconds since midnight, in [0, 86400).
    clock : ndarray, shape (2,)
        ``[midnight_s, newest_s]``, updated in place.
    out : ndarray, shape (n,)
        Written with the times on the monotonic axis.
    """
    n = time_of_day_s.shape[0]
    if out.shape[0] != n or clock.shape[0] != 2:
        raise ValueError("unwrap_time_of_day: out must match time_of_day_s, clock must have 2 values")
    for j in range(n):
        out[j] = _unwrap_one(time_of_day_s[j], clock)


# --------------------------------------------------------------------------
# Record workers
# --------------------------------------------------------------------------

@njit
def _cat048_record(buf, pos, end, lookup, radar_id, radar_alt_m, radar_radius_m,
                   keep_test_targets, clock, plots, info, j):
    """Decode one CAT048 record at ``pos``; write row ``j`` if it is a plot.

    Returns ``(next_pos, code)``: code ``_EMIT`` for a plot, else a
    rejection reason (structural ones leave ``next_pos`` meaningless).
    """
    n_fspec = _fspec_length(buf, pos, end, 4)
    if n_fspec == -1:
        return pos, R_FSPEC_OVERRUN
    if n_fspec == -2:
        return pos, R_UNKNOWN_ITEM
    fspec_pos = pos
    pos += n_fspec

    has_source = False
    sac = np.int64(0)
    sic = np.int64(0)
    tod_raw = np.int64(-1)
    typ = np.int64(0)
    test_flags = np.int64(0)
    has_position = False
    rho_raw = np.int64(0)
    theta_raw = np.int64(0)
    has_fl = False
    fl_raw = np.int64(0)
    has_height = False
    height_raw = np.int64(0)
    has_cal = False
    cal_raw = np.int64(0)
    has_pam = False
    pam_raw = np.int64(0)
    has_sam = False
    sam_raw = np.int64(0)
    track_number = np.int64(-1)
    track_status = np.int64(-1)

    for k in range(n_fspec):
        octet = _u8(buf, fspec_pos + k)
        for bit in range(7):
            if (octet & (0x80 >> bit)) == 0:
                continue
            frn = 7 * k + bit + 1
            start = pos
            if frn == 1:                                  # I048/010 SAC/SIC
                pos = _fixed(pos, 2, end)
                if pos >= 0:
                    has_source = True
                    sac = _u8(buf, start)
                    sic = _u8(buf, start + 1)
            elif frn == 2:                                # I048/140 time of day
                pos = _fixed(pos, 3, end)
                if pos >= 0:
                    tod_raw = _u24(buf, start)
            elif frn == 3:                                # I048/020 descriptor
                pos = _extended(buf, pos, end)
                if pos >= 0:
                    first = _u8(buf, start)
                    typ = first >> 5
                    test_flags = (first >> 4) & 1                  # SIM
                    if pos - start >= 2:
                        test_flags |= _u8(buf, start + 1) >> 7     # TST
            elif frn == 4:                                # I048/040 rho, theta
                pos = _fixed(pos, 4, end)
                if pos >= 0:
                    has_position = True
                    rho_raw = _u16(buf, start)
                    theta_raw = _u16(buf, start + 2)
            elif frn == 5 or frn == 11 or frn == 17 or frn == 21 or frn == 24 or frn == 26:
                pos = _fixed(pos, 2, end)                 # 070, 161, 080, 230, 050, 060
                if frn == 11 and pos >= 0:
                    track_number = _u16(buf, start) & 0x0FFF
            elif frn == 6:                                # I048/090 flight level
                pos = _fixed(pos, 2, end)
                if pos >= 0:
                    word = _u16(buf, start)
                    has_fl = (word >> 14) == 0                     # V = 0 and G = 0
                    fl_raw = _signed(word, 14)
            elif frn == 7:                                # I048/130 plot characteristics
                pos = _compound(buf, pos, end, 1, 1, 1, 1, 1, 1, 1)
                if pos >= 0:
                    sub_fspec = _u8(buf, start)
                    p = start + 1
                    if sub_fspec & 0x80:                           # SRL
                        p += 1
                    if sub_fspec & 0x40:                           # SRR
                        p += 1
                    if sub_fspec & 0x20:                           # SAM
                        has_sam = True
                        sam_raw = _signed(_u8(buf, p), 8)
                        p += 1
                    if sub_fspec & 0x10:                           # PRL
                        p += 1
                    if sub_fspec & 0x08:                           # PAM
                        has_pam = True
                        pam_raw = _signed(_u8(buf, p), 8)
            elif frn == 8:                                # I048/220 aircraft address
                pos = _fixed(pos, 3, end)
            elif frn == 9:                                # I048/240 identification
                pos = _fixed(pos, 6, end)
            elif frn == 10:                               # I048/250 BDS registers
                pos = _repetitive(buf, pos, end, 8)
            elif frn == 12 or frn == 13 or frn == 15 or frn == 18:
                pos = _fixed(pos, 4, end)                 # 042, 200, 210, 100
            elif frn == 14:                               # I048/170 track status
                pos = _extended(buf, pos, end)
                if pos >= 0:
                    track_status = _u8(buf, start)
            elif frn == 16:                               # I048/030 warnings
                pos = _extended(buf, pos, end)
            elif frn == 19:                               # I048/110 3-D height
                pos = _fixed(pos, 2, end)
                if pos >= 0:
                    has_height = True
                    height_raw = _signed(_u16(buf, start), 14)
            elif frn == 20:                               # I048/120 radial Doppler speed
                if pos >= end:
                    pos = _SHORT
                else:
                    sub_fspec = _u8(buf, pos)
                    if sub_fspec & 0x3F:                           # spare bits or FX
                        pos = _BAD
                    else:
                        p = pos + 1
                        if sub_fspec & 0x80:                       # CAL
                            p = _fixed(p, 2, end)
                            if p >= 0:
                                word = _u16(buf, p - 2)
                                has_cal = (word >> 15) == 0        # D = 0: valid
                                cal_raw = _signed(word, 10)
                        if p >= 0 and (sub_fspec & 0x40):          # RDS
                            p = _repetitive(buf, p, end, 6)
                        pos = p
            elif frn == 22:                               # I048/260 ACAS RA
                pos = _fixed(pos, 7, end)
            elif frn == 23 or frn == 25:                  # I048/055, 065
                pos = _fixed(pos, 1, end)
            elif frn == 27 or frn == 28:                  # SP, RE
                pos = _explicit(buf, pos, end)
            else:
                return start, R_UNKNOWN_ITEM
            if pos == _SHORT:
                return start, R_TRUNCATED_RECORD
            if pos == _BAD:
                return start, R_BAD_ITEM

    if not has_source:
        return pos, R_NO_SOURCE
    r = lookup[sac * 256 + sic]
    if r < 0 or r >= radar_id.shape[0]:
        return pos, R_UNKNOWN_RADAR
    if test_flags != 0 and keep_test_targets == 0:
        return pos, R_TEST_TARGET
    if tod_raw < 0:
        return pos, R_NO_TIME
    if tod_raw >= _DAY_TICKS:
        return pos, R_BAD_TIME
    if not has_position:
        return pos, R_NO_POSITION
    if has_height:
        height_m = height_raw * HEIGHT_LSB_M
        height_source = 1
    elif has_fl:
        height_m = fl_raw * HEIGHT_LSB_M
        height_source = 2
    else:
        return pos, R_NO_HEIGHT
    range_m = rho_raw * RHO_LSB_M
    azimuth_deg = theta_raw * THETA_LSB_DEG
    elevation_deg = _elevation_deg(range_m, azimuth_deg, height_m, radar_alt_m[r],
                                   radar_radius_m[r, 0], radar_radius_m[r, 1])
    if elevation_deg != elevation_deg:
        return pos, R_BAD_HEIGHT

    plots[j]["time_s"] = _unwrap_one(tod_raw * TIME_LSB_S, clock)
    plots[j]["radar_id"] = radar_id[r]
    plots[j]["range_m"] = range_m
    plots[j]["azimuth_deg"] = azimuth_deg
    plots[j]["elevation_deg"] = elevation_deg
    plots[j]["radial_velocity_mps"] = np.float64(cal_raw) if has_cal else np.nan
    if has_pam:
        plots[j]["snr_db"] = np.float64(pam_raw)
    elif has_sam:
        plots[j]["snr_db"] = np.float64(sam_raw)
    else:
        plots[j]["snr_db"] = np.nan
    info[j]["sac"] = sac
    info[j]["sic"] = sic
    info[j]["track_number"] = track_number
    info[j]["track_status"] = track_status
    info[j]["detection_type"] = typ
    info[j]["height_m"] = height_m
    info[j]["height_source"] = height_source
    return pos, _EMIT


@njit
def _cat034_record(buf, pos, end, lookup, radar_id, clock, services, j):
    """Decode one CAT034 record at ``pos``; write row ``j`` if it is used.

    Returns ``(next_pos, code)`` as :func:`_cat048_record`.
    """
    n_fspec = _fspec_length(buf, pos, end, 2)
    if n_fspec == -1:
        return pos, R_FSPEC_OVERRUN
    if n_fspec == -2:
        return pos, R_UNKNOWN_ITEM
    fspec_pos = pos
    pos += n_fspec

    has_source = False
    sac = np.int64(0)
    sic = np.int64(0)
    message_type = np.int64(-1)
    tod_raw = np.int64(-1)
    sector_raw = np.int64(-1)
    period_raw = np.int64(-1)

    for k in range(n_fspec):
        octet = _u8(buf, fspec_pos + k)
        for bit in range(7):
            if (octet & (0x80 >> bit)) == 0:
                continue
            frn = 7 * k + bit + 1
            start = pos
            if frn == 1:                                  # I034/010 SAC/SIC
                pos = _fixed(pos, 2, end)
                if pos >= 0:
                    has_source = True
                    sac = _u8(buf, start)
                    sic = _u8(buf, start + 1)
            elif frn == 2:                                # I034/000 message type
                pos = _fixed(pos, 1, end)
                if pos >= 0:
                    message_type = _u8(buf, start)
            elif frn == 3:                                # I034/030 time of day
                pos = _fixed(pos, 3, end)
                if pos >= 0:
                    tod_raw = _u24(buf, start)
            elif frn == 4:                                # I034/020 sector number
                pos = _fixed(pos, 1, end)
                if pos >= 0:
                    sector_raw = _u8(buf, start)
            elif frn == 5:                                # I034/041 rotation period
                pos = _fixed(pos, 2, end)
                if pos >= 0:
                    period_raw = _u16(buf, start)
            elif frn == 6:                                # I034/050 system status
                pos = _compound(buf, pos, end, 1, 0, 0, 1, 1, 2, 0)
            elif frn == 7:                                # I034/060 processing mode
                pos = _compound(buf, pos, end, 1, 0, 0, 1, 1, 1, 0)
            elif frn == 8:                                # I034/070 message counts
                pos = _repetitive(buf, pos, end, 2)
            elif frn == 9 or frn == 11:                   # I034/100, 120
                pos = _fixed(pos, 8, end)
            elif frn == 10:                               # I034/110 data filter
                pos = _fixed(pos, 1, end)
            elif frn == 12:                               # I034/090 collimation error
                pos = _fixed(pos, 2, end)
            elif frn == 13 or frn == 14:                  # RE, SP
                pos = _explicit(buf, pos, end)
            if pos == _SHORT:
                return start, R_TRUNCATED_RECORD
            if pos == _BAD:
                return start, R_BAD_ITEM

    if not has_source:
        return pos, R_NO_SOURCE
    r = lookup[sac * 256 + sic]
    if r < 0 or r >= radar_id.shape[0]:
        return pos, R_UNKNOWN_RADAR
    if message_type != MESSAGE_NORTH_MARKER and message_type != MESSAGE_SECTOR_CROSSING:
        return pos, R_OTHER_MESSAGE
    if tod_raw < 0:
        return pos, R_NO_TIME
    if tod_raw >= _DAY_TICKS:
        return pos, R_BAD_TIME
    if message_type == MESSAGE_SECTOR_CROSSING and sector_raw < 0:
        return pos, R_NO_SECTOR
    services[j]["time_s"] = _unwrap_one(tod_raw * TIME_LSB_S, clock)
    services[j]["radar_id"] = radar_id[r]
    services[j]["message_type"] = message_type
    services[j]["azimuth_deg"] = sector_raw * SECTOR_LSB_DEG if sector_raw >= 0 else np.nan
    services[j]["rotation_period_s"] = period_raw * TIME_LSB_S if period_raw >= 0 else np.nan
    return pos, _EMIT


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

@njit
def decode_blocks(buf, start, partial_ok, lookup, radar_id, radar_alt_m, radar_radius_m,
                  keep_test_targets, clock, counters, plots, info, services):
    """Decode the data blocks of ``buf`` from ``start`` until done or full.

    A block is decoded only when the outputs have room for every record it
    could hold (``LEN // 10`` plots, ``LEN // 7`` service messages);
    otherwise the driver stops before it and the caller calls again with
    fresh outputs from the returned position.

    Parameters
    ----------
    buf : ndarray of uint8, shape (n_bytes,)
    start : int
        Offset of the first block header.
    partial_ok : int
        1: a last block cut off by the end of ``buf`` is left for the next
        call (a file read in chunks) and not counted; 0: it is counted as
        ``truncated``.
    lookup : ndarray of int64, shape (65536,)
        ``256 sac + sic`` -> radar index, -1 (or any index outside the radar
        tables) for an unknown radar.
    radar_id : ndarray of int64, shape (n_radars,)
    radar_alt_m : ndarray, shape (n_radars,)
        Antenna heights (m).
    radar_radius_m : ndarray, shape (n_radars, 2)
        Meridian and prime-vertical radii of curvature at each radar, times
        the effective-earth factor (m).
    keep_test_targets : int
        1: keep plots whose I048/020 has SIM or TST set.
    clock : ndarray, shape (2,)
        Time-of-day unwrapping state (:func:`_unwrap_one`), updated.
    counters : ndarray of int64, shape (N_COUNTERS,)
        Added to (see the module docstring).
    plots : ndarray of ingest.schema.PLOT_DTYPE, shape (capacity,)
    info : ndarray of PLOT_INFO_DTYPE, shape (capacity,)
    services : ndarray of SERVICE_DTYPE, shape (service_capacity,)

    Returns
    -------
    stop : int
        Where decoding stopped: ``n_bytes`` when done, else the header of the
        first block not decoded (outputs full, or a cut-off block with
        ``partial_ok``).
    n_plots, n_services : int
        Rows written to ``plots``/``info`` and ``services``.
    """
    n = buf.shape[0]
    if counters.shape[0] != N_COUNTERS or clock.shape[0] != 2:
        raise ValueError("decode_blocks: counters or clock has the wrong length")
    if lookup.shape[0] != 65536 or info.shape[0] != plots.shape[0]:
        raise ValueError("decode_blocks: lookup must have 65536 entries, info match plots")
    n_radars = radar_id.shape[0]
    if radar_alt_m.shape[0] != n_radars or radar_radius_m.shape[0] != n_radars or \
            radar_radius_m.shape[1] != 2:
        raise ValueError("decode_blocks: radar tables differ in length")
    pos = start
    n_plots = 0
    n_services = 0
    while pos < n:
        if n - pos < 3:
            if partial_ok == 0:
                counters[C_FIRST_REASON + R_TRUNCATED] += 1
                pos = n
            break
        category = _u8(buf, pos)
        length = _u16(buf, pos + 1)
        if length < 3:
            counters[C_FIRST_REASON + R_BAD_LENGTH] += 1
            pos = n
            break
        if length > n - pos:
            if partial_ok == 0:
                counters[C_FIRST_REASON + R_TRUNCATED] += 1
                pos = n
            break
        if category == 48 and n_plots + length // MIN_PLOT_RECORD_BYTES + 1 > plots.shape[0]:
            break
        if category == 34 and n_services + length // MIN_SERVICE_RECORD_BYTES + 1 > services.shape[0]:
            break
        counters[C_BLOCKS] += 1
        end = pos + length
        p = pos + 3
        if category == 48:
            while p < end:
                p, code = _cat048_record(buf, p, end, lookup, radar_id, radar_alt_m, radar_radius_m,
                                         keep_test_targets, clock, plots, info, n_plots)
                if code == _EMIT:
                    counters[C_RECORDS] += 1
                    n_plots += 1
                else:
                    counters[C_FIRST_REASON + code] += 1
                    if code < FIRST_RECORD_REASON:
                        break
                    counters[C_RECORDS] += 1
        elif category == 34:
            while p < end:
                p, code = _cat034_record(buf, p, end, lookup, radar_id, clock, services, n_services)
                if code == _EMIT:
                    counters[C_RECORDS] += 1
                    n_services += 1
                else:
                    counters[C_FIRST_REASON + code] += 1
                    if code < FIRST_RECORD_REASON:
                        break
                    counters[C_RECORDS] += 1
        else:
            counters[C_FIRST_REASON + R_UNKNOWN_CATEGORY] += 1
        pos = end
    return pos, n_plots, n_services


# --------------------------------------------------------------------------
# Packing
# --------------------------------------------------------------------------

@njit(inline="always")
def _put_fspec(out, pos, present, n_frn):
    """Write the FSPEC of the FRNs whose bit ``frn - 1`` is set in ``present``."""
    last = 0
    for frn in range(1, n_frn + 1):
        if present & (np.int64(1) << (frn - 1)):
            last = frn
    n_octets = max(1, (last + 6) // 7)
    for k in range(n_octets):
        octet = 0
        for bit in range(7):
            frn = 7 * k + bit + 1
            if present & (np.int64(1) << (frn - 1)):
                octet |= 0x80 >> bit
        if k < n_octets - 1:
            octet |= 1
        out[pos + k] = octet
    return pos + n_octets


@njit(inline="always")
def _put(out, pos, value, n_octets):
    """Write the low ``8 n_octets`` bits of ``value``, big endian."""
    for k in range(n_octets):
        out[pos + k] = (value >> (8 * (n_octets - 1 - k))) & 0xFF
    return pos + n_octets


@njit
def pack_records(fields, items, parts, n_frn, out, record_end):
    """Pack records of one category by its item table (no block headers).

    Record ``j`` is the FSPEC of the items present in it, then those items
    in table (UAP) order.  Item ``i`` is at FRN ``items[i, ITEM_FRN]``, is
    present where ``fields[j, items[i, ITEM_PRESENT]] != 0``, and is the
    parts from the previous item's ``ITEM_PARTS_END`` to its own.  Part
    ``p`` writes the low ``parts[p, PART_OCTETS]`` octets, big endian, of
    ``fields[j, parts[p, PART_FIELD]]``, or of ``parts[p, PART_CONSTANT]``
    where the field is -1; it is left out where ``parts[p, PART_WHEN] >= 0``
    and ``fields[j, parts[p, PART_WHEN]] == 0``.

    Parameters
    ----------
    fields : ndarray of int64, shape (n, n_fields)
        Raw values (already quantised, range-checked and in the item's
        width) and presence flags, by record.
    items : ndarray of int64, shape (n_items, N_ITEM_COLUMNS)
    parts : ndarray of int64, shape (n_parts, N_PART_COLUMNS)
    n_frn : int
        Largest FRN of the table.
    out : ndarray of uint8, shape (>= n * largest record,)
    record_end : ndarray of int64, shape (n,)
        Written with the end offset of each record in ``out``.

    Returns
    -------
    int
        Bytes written.
    """
    n = fields.shape[0]
    if record_end.shape[0] != n or items.shape[1] != N_ITEM_COLUMNS or parts.shape[1] != N_PART_COLUMNS:
        raise ValueError("pack_records: record_end must be (n,), items (n_items, 3), parts (n_parts, 4)")
    largest = (n_frn + 6) // 7
    for p in range(parts.shape[0]):
        largest += parts[p, PART_OCTETS]
    if out.shape[0] < n * largest:
        raise ValueError("pack_records: out is too small")
    pos = 0
    for j in range(n):
        present = np.int64(0)
        for i in range(items.shape[0]):
            if fields[j, items[i, ITEM_PRESENT]] != 0:
                present |= np.int64(1) << (items[i, ITEM_FRN] - 1)
        pos = _put_fspec(out, pos, present, n_frn)
        first = 0
        for i in range(items.shape[0]):
            if fields[j, items[i, ITEM_PRESENT]] != 0:
                for p in range(first, items[i, ITEM_PARTS_END]):
                    when = parts[p, PART_WHEN]
                    if when >= 0 and fields[j, when] == 0:
                        continue
                    column = parts[p, PART_FIELD]
                    value = parts[p, PART_CONSTANT] if column < 0 else fields[j, column]
                    pos = _put(out, pos, value, parts[p, PART_OCTETS])
            first = items[i, ITEM_PARTS_END]
        record_end[j] = pos
    return pos
