"""Slow reference decoder for the ASTERIX kernels (ingest/_asterix_kernels.py).

Pure Python and table-driven from the user application profiles (UAPs) of
CAT048 and CAT034: each record's FSPEC is read into field reference numbers,
each item is cut by its shape (fixed, extended, repetitive, compound,
explicit), and the plot or service message is built from the items with
the same rules as the compiled decoder (sources by SAC/SIC, test targets,
time of day unwrapped by a nearest-day rule, height from I048/110 or the
Mode C code of I048/090, elevation from the height by Euler's radius of
curvature, radial velocity from I048/120, SNR from I048/030's PAM or SAM).
It must give exactly what :func:`ingest.asterix.decode_datagram` gives on
random and mutated bytes, rejections included.
"""
import math

from ingest.asterix import REJECT_REASONS

NM = 1852.0
FT = 0.3048
DAY = 86400.0


class _Short(Exception):
    pass


class _Bad(Exception):
    pass


# FRN -> item shape.  ("fixed", n), ("extended",), ("repetitive", element
# size), ("compound", subfield sizes by FSPEC bit from the top, 0 =
# undefined), ("explicit",), ("048/120",).
UAP048 = {
    1: ("fixed", 2), 2: ("fixed", 3), 3: ("extended",), 4: ("fixed", 4), 5: ("fixed", 2),
    6: ("fixed", 2), 7: ("compound", (1, 1, 1, 1, 1, 1, 1)), 8: ("fixed", 3), 9: ("fixed", 6),
    10: ("repetitive", 8), 11: ("fixed", 2), 12: ("fixed", 4), 13: ("fixed", 4), 14: ("extended",),
    15: ("fixed", 4), 16: ("extended",), 17: ("fixed", 2), 18: ("fixed", 4), 19: ("fixed", 2),
    20: ("048/120",), 21: ("fixed", 2), 22: ("fixed", 7), 23: ("fixed", 1), 24: ("fixed", 2),
    25: ("fixed", 1), 26: ("fixed", 2), 27: ("explicit",), 28: ("explicit",),
}
UAP034 = {
    1: ("fixed", 2), 2: ("fixed", 1), 3: ("fixed", 3), 4: ("fixed", 1), 5: ("fixed", 2),
    6: ("compound", (1, 0, 0, 1, 1, 2, 0)), 7: ("compound", (1, 0, 0, 1, 1, 1, 0)),
    8: ("repetitive", 2), 9: ("fixed", 8), 10: ("fixed", 1), 11: ("fixed", 8), 12: ("fixed", 2),
    13: ("explicit",), 14: ("explicit",),
}


def _take(data, pos, end, n):
    if pos + n > end:
        raise _Short
    return pos + n


def _item_end(shape, data, pos, end):
    kind = shape[0]
    if kind == "fixed":
        return _take(data, pos, end, shape[1])
    if kind == "extended":
        while True:
            _take(data, pos, end, 1)
            pos += 1
            if not data[pos - 1] & 1:
                return pos
    if kind == "repetitive":
        _take(data, pos, end, 1)
        return _take(data, pos + 1, end, data[pos] * shape[1])
    if kind == "explicit":
        _take(data, pos, end, 1)
        if data[pos] == 0:
            raise _Bad
        return _take(data, pos, end, data[pos])
    if kind == "compound":
        _take(data, pos, end, 1)
        fspec = data[pos]
        if fspec & 1:
            raise _Bad
        total = 0
        for k, size in enumerate(shape[1]):
            if fspec & (0x80 >> k):
                if size == 0:
                    raise _Bad
                total += size
        return _take(data, pos + 1, end, total)
    assert kind == "048/120"
    _take(data, pos, end, 1)
    fspec = data[pos]
    if fspec & 0x3F:
        raise _Bad
    pos += 1
    if fspec & 0x80:
        pos = _take(data, pos, end, 2)
    if fspec & 0x40:
        _take(data, pos, end, 1)
        pos = _take(data, pos + 1, end, data[pos] * 6)
    return pos


def _parse_record(data, pos, end, uap, max_fspec):
    """(items {frn: bytes}, next_pos) or raise a structural reason (str)."""
    frns = []
    k = 0
    while True:
        if pos + k >= end:
            raise LookupError("fspec_overrun")
        octet = data[pos + k]
        frns += [7 * k + bit + 1 for bit in range(7) if octet & (0x80 >> bit)]
        k += 1
        if not octet & 1:
            break
        if k == max_fspec:
            raise LookupError("unknown_item")
    pos += k
    items = {}
    for frn in frns:
        try:
            item_end = _item_end(uap[frn], data, pos, end)
        except _Short:
            raise LookupError("truncated_record") from None
        except _Bad:
            raise LookupError("bad_item") from None
        items[frn] = bytes(data[pos:item_end])
        pos = item_end
    return items, pos


def _signed(value, bits):
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def naive_elevation_deg(range_m, azimuth_deg, height_m, radar_alt_m, lat_deg, factor=1.0):
    """The elevation formula, written again: Euler's radius with sin/cos."""
    e2 = 6.69437999014e-3
    s2 = math.sin(math.radians(lat_deg)) ** 2
    M = factor * 6378137.0 * (1 - e2) / (1 - e2 * s2) ** 1.5
    N = factor * 6378137.0 / math.sqrt(1 - e2 * s2)
    az = math.radians(azimuth_deg)
    R = 1.0 / (math.cos(az) ** 2 / M + math.sin(az) ** 2 / N)
    if not range_m > 0:
        return math.nan
    # (R + h)^2 - (R + h_r)^2 factored, as cancellation would cost 1e-10 at a few metres
    x = ((height_m - radar_alt_m) * (2 * R + height_m + radar_alt_m) - range_m ** 2) / (
        2 * range_m * (R + radar_alt_m))
    if not -1 <= x <= 1:
        return math.nan
    return math.degrees(math.asin(x))


class NaiveClock:
    def __init__(self, midnight_s=0.0):
        self.midnight_s = midnight_s
        self.newest = None

    def __call__(self, tod):
        t = self.midnight_s + tod
        if self.newest is None:
            self.newest = t
            return t
        t += DAY * math.floor((self.newest - t) / DAY + 0.5)
        self.newest = max(self.newest, t)
        return t


def _plot_from_items(items, radars, keep_test):
    """(plot tuple, None) or (None, reason) from the items of a CAT048 record."""
    if 1 not in items:
        return None, "no_source"
    sac, sic = items[1]
    radar_id = radars.radar_for(sac, sic)
    if radar_id is None:
        return None, "unknown_radar"
    entry = radars.entry(radar_id)
    if 3 in items:
        descriptor = items[3]
        test = (descriptor[0] >> 4) & 1 or (len(descriptor) > 1 and descriptor[1] >> 7)
        if test and not keep_test:
            return None, "test_target"
    if 2 not in items:
        return None, "no_time"
    tod_raw = int.from_bytes(items[2], "big")
    if tod_raw >= 86400 * 128:
        return None, "bad_time"
    if 4 not in items:
        return None, "no_position"
    if 19 in items:
        height_m = _signed(int.from_bytes(items[19], "big"), 14) * 25 * FT
    elif 6 in items and items[6][0] >> 6 == 0:
        height_m = _signed(int.from_bytes(items[6], "big"), 14) * 25 * FT
    else:
        return None, "no_height"
    range_m = int.from_bytes(items[4][:2], "big") * NM / 256
    azimuth_deg = int.from_bytes(items[4][2:], "big") * 360 / 65536
    elevation_deg = naive_elevation_deg(range_m, azimuth_deg, height_m, entry.alt_m, entry.lat_deg,
                                        radars.earth_radius_factor)
    if math.isnan(elevation_deg):
        return None, "bad_height"
    radial = math.nan
    if 20 in items and items[20][0] & 0x80:
        word = int.from_bytes(items[20][1:3], "big")
        if not word >> 15:
            radial = float(_signed(word, 10))
    snr = math.nan
    if 7 in items:
        fspec, values = items[7][0], items[7][1:]
        present = [name for k, name in enumerate(("SRL", "SRR", "SAM", "PRL", "PAM", "RPD", "APD"))
                   if fspec & (0x80 >> k)]
        value = dict(zip(present, values))
        if "PAM" in value:
            snr = float(_signed(value["PAM"], 8))
        elif "SAM" in value:
            snr = float(_signed(value["SAM"], 8))
    return (tod_raw / 128, radar_id, range_m, azimuth_deg, elevation_deg, radial, snr), None


def _service_from_items(items, radars):
    if 1 not in items:
        return None, "no_source"
    radar_id = radars.radar_for(*items[1])
    if radar_id is None:
        return None, "unknown_radar"
    message_type = items[2][0] if 2 in items else None
    if message_type not in (1, 2):
        return None, "other_message"
    if 3 not in items:
        return None, "no_time"
    tod_raw = int.from_bytes(items[3], "big")
    if tod_raw >= 86400 * 128:
        return None, "bad_time"
    if message_type == 2 and 4 not in items:
        return None, "no_sector"
    azimuth = items[4][0] * 360 / 256 if 4 in items else math.nan
    period = int.from_bytes(items[5], "big") / 128 if 5 in items else math.nan
    return (tod_raw / 128, radar_id, message_type, azimuth, period), None


def naive_decode(data, radars, clock=None, keep_test=False):
    """Slow twin of decode_datagram: (plots, services, rejected, records, blocks)."""
    clock = clock or NaiveClock()
    data = bytes(data)
    rejected = dict.fromkeys(REJECT_REASONS, 0)
    plots, services = [], []
    records = blocks = 0
    pos = 0
    while pos < len(data):
        if len(data) - pos < 3:
            rejected["truncated"] += 1
            break
        category, length = data[pos], int.from_bytes(data[pos + 1:pos + 3], "big")
        if length < 3:
            rejected["bad_length"] += 1
            break
        if pos + length > len(data):
            rejected["truncated"] += 1
            break
        blocks += 1
        end = pos + length
        p = pos + 3
        if category not in (34, 48):
            rejected["unknown_category"] += 1
        while category in (34, 48) and p < end:
            uap, max_fspec = (UAP048, 4) if category == 48 else (UAP034, 2)
            try:
                items, p = _parse_record(data, p, end, uap, max_fspec)
            except LookupError as reason:
                rejected[reason.args[0]] += 1
                break
            records += 1
            if category == 48:
                row, reason = _plot_from_items(items, radars, keep_test)
            else:
                row, reason = _service_from_items(items, radars)
            if reason:
                rejected[reason] += 1
                continue
            row = (clock(row[0]),) + row[1:]
            (plots if category == 48 else services).append(row)
        pos = end
    return plots, services, rejected, records, blocks


# --------------------------------------------------------------------------
# CAT062: a slow decoder of the system track records radarcore writes
# --------------------------------------------------------------------------

# FRN -> (item, shape) of the CAT062 UAP (edition 1.18), the items radarcore
# writes and their neighbours; ("compound500",) is I062/500 with its
# subfields APC 4, COV 2, APW 4, AGA 1, ABA 1, ATV 3, AA 2, ARC 1.
UAP062 = {
    1: ("010", ("fixed", 2)), 3: ("015", ("fixed", 1)), 4: ("070", ("fixed", 3)),
    5: ("105", ("fixed", 8)), 6: ("100", ("fixed", 6)), 7: ("185", ("fixed", 4)),
    8: ("210", ("fixed", 2)), 9: ("060", ("fixed", 2)), 12: ("040", ("fixed", 2)),
    13: ("080", ("extended",)), 15: ("200", ("fixed", 1)), 17: ("136", ("fixed", 2)),
    18: ("130", ("fixed", 2)), 19: ("135", ("fixed", 2)), 20: ("220", ("fixed", 2)),
    25: ("120", ("fixed", 2)), 27: ("500", ("compound", (4, 2, 4, 1, 1, 3, 2, 1))),
}
FT = 0.3048


def _compound_end(data, pos, end, sizes):
    """End of a compound item whose FSPEC may extend (FX) over several octets."""
    bits = []
    while True:
        _take(data, pos, end, 1)
        octet = data[pos]
        bits += [bool(octet & (0x80 >> k)) for k in range(7)]
        pos += 1
        if not octet & 1:
            break
    for k, present in enumerate(bits):
        if present:
            if k >= len(sizes):
                raise _Bad
            pos = _take(data, pos, end, sizes[k])
    return pos


def _cat062_items(data, pos, end):
    frns = []
    k = 0
    while True:
        octet = data[pos + k]
        frns += [7 * k + bit + 1 for bit in range(7) if octet & (0x80 >> bit)]
        k += 1
        if not octet & 1:
            break
    pos += k
    items = {}
    for frn in frns:
        name, shape = UAP062[frn]
        if shape[0] == "compound":
            item_end = _compound_end(data, pos, end, shape[1])
        else:
            item_end = _item_end(shape, data, pos, end)
        items[name] = bytes(data[pos:item_end])
        pos = item_end
    return items, pos


def naive_decode_cat062(data):
    """Every CAT062 record of ``data`` (data blocks back to back) as a dict of
    values in SI units: ``sac``, ``sic``, ``service_id``, ``time_of_day_s``,
    ``lat_deg``, ``lon_deg``, ``east_m``, ``north_m``, ``v_east_mps``,
    ``v_north_mps``, ``track_number``, ``cnf``, ``cst``, ``src``, ``mrh``,
    ``flight_level_m``, ``geometric_altitude_m``, ``climb_mps``, ``apc_x_m``,
    ``apc_y_m`` (absent items are absent keys); also the number of blocks."""
    records = []
    blocks = 0
    pos = 0
    data = bytes(data)
    while pos < len(data):
        category, length = data[pos], int.from_bytes(data[pos + 1:pos + 3], "big")
        assert category == 62 and 3 <= length <= len(data) - pos, (category, length)
        blocks += 1
        end = pos + length
        p = pos + 3
        while p < end:
            items, p = _cat062_items(data, p, end)
            records.append(_cat062_values(items))
        pos = end
    return records, blocks


def _cat062_values(items):
    def number(raw, bits=None):
        value = int.from_bytes(raw, "big")
        return _signed(value, bits) if bits else value

    out = {}
    out["sac"], out["sic"] = items["010"][0], items["010"][1]
    out["service_id"] = items["015"][0]
    out["time_of_day_s"] = number(items["070"]) / 128.0
    if "105" in items:
        out["lat_deg"] = number(items["105"][:4], 32) * 180.0 / 2 ** 25
        out["lon_deg"] = number(items["105"][4:], 32) * 180.0 / 2 ** 25
    if "100" in items:
        out["east_m"] = number(items["100"][:3], 24) * 0.5
        out["north_m"] = number(items["100"][3:], 24) * 0.5
    if "185" in items:
        out["v_east_mps"] = number(items["185"][:2], 16) * 0.25
        out["v_north_mps"] = number(items["185"][2:], 16) * 0.25
    out["track_number"] = number(items["040"])
    status = items["080"]
    out["mrh"] = bool(status[0] & 0x20)
    out["src"] = (status[0] >> 2) & 7
    out["cnf"] = bool(status[0] & 0x02)
    out["cst"] = len(status) >= 4 and bool(status[3] & 0x80)
    if "136" in items:
        out["flight_level_m"] = number(items["136"], 16) * 25.0 * FT
    if "130" in items:
        out["geometric_altitude_m"] = number(items["130"], 16) * 6.25 * FT
    if "220" in items:
        out["climb_mps"] = number(items["220"], 16) * 6.25 * FT / 60.0
    if "500" in items:
        assert items["500"][0] == 0x80, "only the APC subfield is written"
        out["apc_x_m"] = number(items["500"][1:3]) * 0.5
        out["apc_y_m"] = number(items["500"][3:5]) * 0.5
    return out
