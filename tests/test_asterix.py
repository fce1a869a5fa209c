"""ASTERIX codecs: CAT048/CAT034 decoding, CAT048/CAT034/CAT062 encoding.

References:

* libasterix (an independent, pure-Python, specification-generated ASTERIX
  library): it decodes radarcore's CAT062 to the same values within the LSB,
  and radarcore decodes the CAT048/CAT034 records it encodes (random valid
  records with every item of the UAP) to the values it reads back.
* A slow pure-Python decoder (:func:`naive_asterix.naive_decode`,
  table-driven from the UAPs) must give exactly what the compiled decoder gives on random and
  mutated bytes, rejections included.
* Exact WGS-84 geometry (pymap3d) for the height <-> elevation conversion.
* A simulated scenario encoded as CAT048 must decode to the same plots up
  to the ASTERIX resolution: 1/128 s, 1/256 NM, 360/2^16 deg, 25 ft of
  height, 1 m/s, 1 dB.
"""
import math
from pathlib import Path

import numpy as np
import pymap3d
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ingest import _asterix_kernels as K
from ingest.asterix import (
    REJECT_REASONS, AsterixDecodeResult, AsterixError, RadarEntry, RadarMap, TimeOfDayUnwrapper,
    decode_datagram, encode_cat034, encode_cat048, encode_cat062, iter_ast_file, warmup,
)
from ingest.schema import PLOT_DTYPE, TRACK_ROW_DTYPE, empty_plots
from naive_asterix import NaiveClock, naive_decode, naive_elevation_deg

# libasterix is a test dependency (extra tests): without it these tests fail, never skip
from asterix import base as asterix_base
from asterix import generated as asterix_generated

Bits = asterix_base.Bits
RawDatablock = asterix_base.RawDatablock
Cat048 = asterix_generated.Cat_048_1_32
Cat034 = asterix_generated.Cat_034_1_29
CAT062_EDITIONS = (asterix_generated.Cat_062_1_18, asterix_generated.Cat_062_1_21)

NM = 1852.0
FT = 0.3048
DAY = 86400.0
RECORD_REASONS = REJECT_REASONS[K.FIRST_RECORD_REASON:]

RADARS = RadarMap([
    RadarEntry(0, 1, 1, 31.3135, 120.5937, 25.0),
    RadarEntry(0, 2, 2, 31.2838, 120.6494, 30.0),
    RadarEntry(5, 7, 7, -33.95, 151.18, 120.0),
])
KNOWN_CODES = [(0, 1), (0, 2), (5, 7)]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORACLE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def setup_module():
    warmup()


# asin is steep near +-90 degrees: the two writings of the formula may part by 1e-7 there.
_ATOL = {name: 1e-6 if name == "elevation_deg" else 1e-9 for name in PLOT_DTYPE.names}


def assert_same_as_naive(result, naive):
    plots, services, rejected, records, blocks = naive
    assert result.rejected == rejected
    assert (result.records, result.blocks) == (records, blocks)
    expected = np.array(plots, dtype=[(name, "f8") for name in PLOT_DTYPE.names]).reshape(-1)
    assert result.plots.shape == expected.shape
    for name in PLOT_DTYPE.names:
        np.testing.assert_allclose(result.plots[name], expected[name], rtol=0, atol=_ATOL[name], err_msg=name)
    north = [s for s in services if s[2] == 1]
    sector = [s for s in services if s[2] == 2]
    assert len(result.north_markers) == len(north) and len(result.sector_crossings) == len(sector)
    for got, want, column in ((result.north_markers, north, 4), (result.sector_crossings, sector, 3)):
        want = np.array(want).reshape(-1, 5)
        np.testing.assert_allclose(got["time_s"], want[:, 0], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(got["radar_id"], want[:, 1])
        np.testing.assert_allclose(got[got.dtype.names[2]], want[:, column], rtol=0, atol=1e-12)


def assert_accounted(result):
    """Every parsed record is a plot, a service message or a record-level rejection."""
    used = len(result.plots) + len(result.north_markers) + len(result.sector_crossings)
    assert result.records == used + sum(result.rejected[r] for r in RECORD_REASONS)
    assert set(result.rejected) == set(REJECT_REASONS)


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def random_plots(rng, n, radar_ids=(1, 2, 7)):
    plots = empty_plots(n)
    plots["time_s"] = np.sort(rng.uniform(0.0, 200.0, n))
    plots["radar_id"] = rng.choice(radar_ids, n)
    plots["range_m"] = rng.uniform(50.0, 40_000.0, n)
    plots["azimuth_deg"] = rng.uniform(0.0, 360.0, n)
    plots["elevation_deg"] = rng.uniform(-2.0, 60.0, n)
    plots["radial_velocity_mps"] = np.where(rng.random(n) < 0.5, rng.normal(0.0, 30.0, n), np.nan)
    plots["snr_db"] = np.where(rng.random(n) < 0.7, rng.uniform(-20.0, 60.0, n), np.nan)
    return plots


@st.composite
def valid_datagrams(draw):
    """A datagram of CAT048 and CAT034 blocks from radarcore's encoders."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            parts.append(encode_cat048(random_plots(rng, draw(st.integers(0, 12))), RADARS,
                                       height_item=draw(st.sampled_from(["110", "090"])),
                                       max_block_bytes=draw(st.sampled_from([80, 65535]))))
        else:
            n = draw(st.integers(0, 4))
            parts.append(encode_cat034(rng.uniform(0, 100, n), rng.choice([1, 2, 3], n), 0,
                                       rng.choice([1, 2, 9], n), sector_azimuth_deg=rng.uniform(0, 360, n),
                                       rotation_period_s=np.where(rng.random(n) < 0.5, 4.0, np.nan)))
    return b"".join(parts)


@st.composite
def libasterix_datagrams(draw):
    """CAT048 and CAT034 blocks of random valid records, every item of the UAPs."""
    parts = [Cat048.create(draw(st.lists(libasterix_cat048_records(), max_size=3))),
             Cat034.create(draw(st.lists(libasterix_cat034_records(), max_size=2)))]
    return b"".join(part.unparse().to_bytes() for part in draw(st.permutations(parts)))


@st.composite
def mutated_datagrams(draw):
    data = bytearray(draw(valid_datagrams() | libasterix_datagrams()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return bytes(data)


@st.composite
def framed_noise(draw):
    """Blocks with plausible headers around random records."""
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        body = draw(st.binary(max_size=120))
        category = draw(st.sampled_from([34, 48, 48, 62]))
        length = len(body) + 3 if draw(st.integers(0, 4)) else draw(st.integers(0, 300))
        out += bytes([category, length >> 8 & 0xFF, length & 0xFF]) + body
    return out


# --------------------------------------------------------------------------
# Hand-computed bytes
# --------------------------------------------------------------------------

def test_hand_computed_cat048_record():
    # FSPEC F1 01 0C: 1111000|1 FRN 1-4 (010, 140, 020, 040), FX; 0000000|1 FRN 8-14
    # absent, FX; 0000110|0 FRN 19 (110) and 20 (120), end.
    record = bytes([
        0xF1, 0x01, 0x0C,
        0x00, 0x02,              # I048/010 SAC 0, SIC 2
        0x00, 0x01, 0x40,        # I048/140 320/128 = 2.5 s
        0x20,                    # I048/020 TYP 1 (single PSR)
        0x05, 0x00, 0x40, 0x00,  # I048/040 rho 1280/256 = 5 NM, theta 16384 -> 90 deg
        0x00, 0x28,              # I048/110 40 x 25 ft = 1000 ft
        0x80, 0x03, 0xF6,        # I048/120 CAL: D 0, 0x3F6 = -10 m/s
    ])
    data = bytes([48, 0, 3 + len(record)]) + record
    result = decode_datagram(data, RADARS)
    assert result.records == 1 and result.blocks == 1 and result.n_rejected == 0
    plot = result.plots[0]
    assert plot["time_s"] == 2.5 and plot["radar_id"] == 2
    assert plot["range_m"] == 5 * NM and plot["azimuth_deg"] == 90.0
    assert plot["radial_velocity_mps"] == -10.0 and math.isnan(plot["snr_db"])
    assert result.plot_info[0]["height_m"] == pytest.approx(1000 * FT)
    # 1000 ft at 9260 m, from a 30 m antenna: about asin((304.8 - 30) / 9260)
    assert plot["elevation_deg"] == pytest.approx(math.degrees(math.asin(274.8 / (5 * NM))), abs=0.05)
    # the same bytes without I048/140: counted, not decoded
    no_time = bytes([0xB1, 0x01, 0x0C]) + record[3:5] + record[8:]
    result = decode_datagram(bytes([48, 0, 3 + len(no_time)]) + no_time, RADARS)
    assert result.rejected["no_time"] == 1 and len(result.plots) == 0 and result.records == 1


def test_hand_computed_cat034_and_unknown_category():
    north = bytes([0xE8, 0x00, 0x01, 0x01, 0x00, 0x00, 0x80, 0x02, 0x00])   # 010 000 030 041
    sector = bytes([0xF0, 0x00, 0x01, 0x02, 0x00, 0x01, 0x00, 0x40])        # 010 000 030 020
    cat034 = bytes([34, 0, 3 + len(north) + len(sector)]) + north + sector
    other = bytes([21, 0, 5, 0xAA, 0xBB])
    result = decode_datagram(other + cat034, RADARS)
    assert result.blocks == 2 and result.rejected["unknown_category"] == 1
    assert result.north_markers.tolist() == [(1.0, 1, 4.0)]                 # 128/128 s, 512/128 s
    assert result.sector_crossings.tolist() == [(2.0, 1, 90.0)]             # 64 x 360/256


# --------------------------------------------------------------------------
# Decoder against the slow twin, on random and mutated bytes
# --------------------------------------------------------------------------

@FUZZ
@given(st.one_of(st.binary(max_size=400), framed_noise(), mutated_datagrams()), st.binary(min_size=8, max_size=8))
def test_decoder_matches_naive_and_never_reads_past_the_end(data, tail):
    result = decode_datagram(data, RADARS)
    assert_same_as_naive(result, naive_decode(data, RADARS))
    assert_accounted(result)
    # The same bytes followed by other bytes in memory: a read past the end
    # of the buffer would see them.
    for filler in (tail, bytes(255 - b for b in tail)):
        backing = np.frombuffer(data + filler, np.uint8)
        again = decode_datagram(backing[:len(data)], RADARS)
        assert again.rejected == result.rejected and again.records == result.records
        assert again.plots.tobytes() == result.plots.tobytes()


@FUZZ
@given(valid_datagrams())
def test_radarcore_encodings_decode_cleanly(data):
    result = decode_datagram(data, RADARS)
    assert_same_as_naive(result, naive_decode(data, RADARS))
    structural = REJECT_REASONS[:K.FIRST_RECORD_REASON]
    assert all(result.rejected[r] == 0 for r in structural)


def test_every_rejection_reason_is_reachable():
    rng = np.random.default_rng(3)
    plots = random_plots(rng, 3)
    good = encode_cat048(plots, RADARS)
    record = good[3:]
    cases = {
        "truncated": good[:-1],
        "bad_length": bytes([48, 0, 2]),
        "unknown_category": bytes([1, 0, 4, 0]),
        "fspec_overrun": bytes([48, 0, 5, 0xFF, 0xFF]),
        "unknown_item": bytes([48, 0, 8, 0x01, 0x01, 0x01, 0x01, 0x00]),
        "truncated_record": bytes([48, 0, 5, 0x80, 0x00]),
        "bad_item": bytes([48, 0, 5, 0x02, 0x01]),          # I048/130 with FX set
        "no_source": bytes([48, 0, 4, 0x00]),
        "unknown_radar": bytes([48, 0, 6, 0x80, 9, 9]),
        "no_time": bytes([48, 0, 10, 0x90, 0, 1, 1, 0, 0, 0]),
        "bad_time": bytes([48, 0, 13, 0xD0, 0, 1, 0xA8, 0xC0, 0x00, 1, 0, 0, 0]),
        "no_position": bytes([48, 0, 9, 0xC0, 0, 1, 0, 0, 1]),
        "no_height": bytes([48, 0, 13, 0xD0, 0, 1, 0, 0, 1, 1, 0, 0, 0]),
        "bad_height": bytes([48, 0, 15, 0xD4, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0x10, 0]),
        "test_target": bytes([48, 0, 7, 0xA0, 0, 1, 0x10]),
        "other_message": encode_cat034([1.0], 3, 0, 1),
        "no_sector": encode_cat034([1.0], 2, 0, 1),
    }
    assert set(cases) == set(REJECT_REASONS)
    more_bad_items = [
        bytes([48, 0, 10, 0x01, 0x01, 0x04, 0x20, 0, 0, 0]),     # I048/120 spare subfield bit
        bytes([48, 0, 9, 0x01, 0x01, 0x04, 0x81, 0, 0]),         # I048/120 FX
        bytes([48, 0, 8, 0x01, 0x01, 0x01, 0x04, 0x00]),         # SP of length 0
        bytes([34, 0, 6, 0x04, 0x40, 0]),                        # I034/050 spare subfield bit
        bytes([34, 0, 6, 0x02, 0x02, 0]),                        # I034/060 undefined subfield
    ]
    for data in more_bad_items:
        cases[f"bad_item {data.hex()}"] = data
    for reason, data in cases.items():
        result = decode_datagram(data, RADARS)
        assert result.rejected[reason.split()[0]] >= 1, (reason, result.rejected)
        assert_same_as_naive(result, naive_decode(data, RADARS))
    assert len(decode_datagram(good, RADARS).plots) == 3
    assert decode_datagram(record, RADARS).n_rejected >= 1            # no block header
    kept = decode_datagram(cases["test_target"], RADARS, keep_test_targets=True)
    assert kept.rejected["test_target"] == 0 and kept.rejected["no_time"] == 1


# --------------------------------------------------------------------------
# libasterix: records it encodes, radarcore decodes
# --------------------------------------------------------------------------

def _coin(draw):
    """``maybe(strategy, p)``: ``draw(strategy)`` with probability ``p``, else None.

    The coins come from a generator seeded once per record: Hypothesis' own
    small draws favour their bounds and would put every item in every record.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))

    def maybe(strategy, p=0.35):
        return draw(strategy) if rng.random() < p else None
    return maybe


def _uint(bits):
    return st.integers(0, 2 ** bits - 1)


@st.composite
def libasterix_cat048_records(draw):
    maybe = _coin(draw)
    codes = st.sampled_from(KNOWN_CODES * 3 + [(9, 9)])
    items = {
        "010": maybe(codes, 0.95),
        "140": maybe(st.integers(0, 86400 * 128 - 1) | _uint(24), 0.95),
        "020": maybe(st.lists(_uint(7), min_size=1, max_size=6).map(tuple), 0.4),  # 6 octets in 1.32
        "040": maybe(st.tuples(st.integers(1, 65535), _uint(16)), 0.95),
        "070": maybe(_uint(16)),
        "090": maybe(_uint(16), 0.6),
        "130": maybe(st.dictionaries(st.sampled_from(["SRL", "SRR", "SAM", "PRL", "PAM", "RPD", "APD"]),
                                            _uint(8)), 0.5),
        "220": maybe(_uint(24)),
        "240": maybe(_uint(48)),
        "250": maybe(st.lists(_uint(64), max_size=3)),
        "161": maybe(_uint(16)),
        "042": maybe(_uint(32)),
        "200": maybe(_uint(32)),
        "170": maybe(st.lists(_uint(7), min_size=1, max_size=2).map(tuple)),
        "210": maybe(_uint(32)),
        "030": maybe(st.lists(_uint(7), min_size=1, max_size=3)),
        "080": maybe(_uint(16)),
        "100": maybe(_uint(32)),
        "110": maybe(_uint(16), 0.4),
        "120": maybe(st.fixed_dictionaries({}, optional={"CAL": _uint(16),
                                                                "RDS": st.lists(_uint(48), max_size=2)}), 0.5),
        "230": maybe(_uint(16)),
        "260": maybe(_uint(56)),
        "055": maybe(_uint(8)),
        "050": maybe(_uint(16)),
        "065": maybe(_uint(8)),
        "060": maybe(_uint(16)),
        "SP": maybe(st.binary(max_size=6)),
        "RE": maybe(st.binary(max_size=6)),
    }
    return Cat048.cv_record.create({k: v for k, v in items.items() if v is not None})


def _expected_plot(record, clock):
    """What a CAT048 record means, read through libasterix."""
    def value(item, sub=None, unit=None):
        node = record.get_item(item)
        if node is None:
            return None
        variation = node.variation if sub is None else node.variation.get_item(sub).variation
        return variation.content.as_quantity(unit) if unit else variation.as_uint()

    if record.get_item("010") is None:
        return None, "no_source"
    radar_id = RADARS.radar_for(value("010", "SAC"), value("010", "SIC"))
    if radar_id is None:
        return None, "unknown_radar"
    descriptor = record.get_item("020")
    if descriptor is not None:
        sim = descriptor.variation.get_item("SIM").variation.as_uint()
        tst = descriptor.variation.get_item("TST")
        if sim or (tst is not None and tst.variation.as_uint()):
            return None, "test_target"
    tod = value("140", unit="s")
    if tod is None:
        return None, "no_time"
    if tod >= DAY:
        return None, "bad_time"
    if record.get_item("040") is None:
        return None, "no_position"
    range_m = value("040", "RHO", "NM") * NM
    azimuth = value("040", "THETA", "°")
    if record.get_item("110") is not None:
        height = value("110", "3DH", "ft") * FT
    elif record.get_item("090") is not None and value("090", "V") == 0 and value("090", "G") == 0:
        height = value("090", "FL", "FL") * 100 * FT
    else:
        return None, "no_height"
    entry = RADARS.entry(radar_id)
    elevation = naive_elevation_deg(range_m, azimuth, height, entry.alt_m, entry.lat_deg)
    if math.isnan(elevation):
        return None, "bad_height"
    radial = math.nan
    doppler = record.get_item("120")
    if doppler is not None and doppler.variation.get_item("CAL") is not None:
        cal = doppler.variation.get_item("CAL").variation
        if cal.get_item("D").variation.as_uint() == 0:
            radial = cal.get_item("CAL").variation.content.as_quantity("m/s")
    snr = math.nan
    characteristics = record.get_item("130")
    if characteristics is not None:
        for name in ("PAM", "SAM"):
            sub = characteristics.variation.get_item(name)
            if sub is not None:
                snr = sub.variation.content.as_quantity("dBm")
                break
    track = record.get_item("161")
    track_number = -1 if track is None else track.variation.get_item("TRN").variation.as_uint()
    return ((clock(tod), radar_id, range_m, azimuth, elevation, radial, snr), track_number), None


@ORACLE
@given(st.lists(libasterix_cat048_records(), min_size=1, max_size=6), st.booleans())
def test_libasterix_cat048_records_decode_to_its_values(records, split):
    if split:
        data = b"".join(Cat048.create([r]).unparse().to_bytes() for r in records)
    else:
        data = Cat048.create(records).unparse().to_bytes()
    result = decode_datagram(data, RADARS)
    assert result.blocks == (len(records) if split else 1)
    assert result.records == len(records)
    clock = NaiveClock()
    expected, reasons = [], dict.fromkeys(REJECT_REASONS, 0)
    parsed = [r for block in RawDatablock.parse(Bits.from_bytes(data))
              for r in Cat048.cv_uap.parse(block.get_raw_records())]
    for record in parsed:
        row, reason = _expected_plot(record, clock)
        if reason:
            reasons[reason] += 1
        else:
            expected.append(row)
    assert result.rejected == reasons
    got = result.plots
    assert len(got) == len(expected)
    for k, name in enumerate(PLOT_DTYPE.names):
        np.testing.assert_allclose(got[name], [row[k] for row, _ in expected], rtol=0, atol=_ATOL[name],
                                   err_msg=name)
    np.testing.assert_array_equal(result.plot_info["track_number"], [number for _, number in expected])


def _one_plot(**items):
    base = {"010": (0, 2), "140": 1280, "040": (2560, 8192)}
    base.update(items)
    data = Cat048.create([Cat048.cv_record.create({k: v for k, v in base.items() if v is not None})])
    return data.unparse().to_bytes()


@pytest.mark.parametrize("items, reason, radial, snr", [
    ({"090": 0x0190}, None, math.nan, math.nan),                       # FL 100, V = G = 0
    ({"090": 0x8190}, "no_height", None, None),                        # V: not validated
    ({"090": 0x4190}, "no_height", None, None),                        # G: garbled
    ({"090": 0x8190, "110": 0x0028}, None, math.nan, math.nan),        # 110 first
    ({"110": 0x0028, "120": {"CAL": 0x0005}}, None, 5.0, math.nan),
    ({"110": 0x0028, "120": {"CAL": 0x83FB}}, None, math.nan, math.nan),   # D: doubtful
    ({"110": 0x0028, "120": {"RDS": [1]}}, None, math.nan, math.nan),
    ({"110": 0x0028, "130": {"SAM": 0xF6, "PAM": 0x20}}, None, math.nan, 32.0),
    ({"110": 0x0028, "130": {"SAM": 0xF6, "SRL": 3}}, None, math.nan, -10.0),
    ({"110": 0x0028, "020": (0x28,)}, "test_target", None, None),      # SIM
    ({"110": 0x0028, "020": (0x21, 0x40)}, "test_target", None, None),  # TST
    ({"110": 0x0028, "020": (0x21, 0x3F)}, None, math.nan, math.nan),
    ({"110": 0x0028, "140": 86400 * 128}, "bad_time", None, None),
    ({"110": 0x0028, "010": (1, 2)}, "unknown_radar", None, None),
])
def test_cat048_rules_on_libasterix_records(items, reason, radial, snr):
    result = decode_datagram(_one_plot(**items), RADARS)
    assert result.records == 1
    if reason:
        assert result.rejected[reason] == 1 and len(result.plots) == 0
        return
    assert result.n_rejected == 0
    plot = result.plots[0]
    assert plot["time_s"] == 10.0 and plot["range_m"] == 10 * NM and plot["azimuth_deg"] == 45.0
    np.testing.assert_array_equal([plot["radial_velocity_mps"], plot["snr_db"]], [radial, snr])
    expected_height = 1000 * FT if "110" in items else 10_000 * FT
    assert result.plot_info[0]["height_m"] == pytest.approx(expected_height)
    assert plot["elevation_deg"] == pytest.approx(
        naive_elevation_deg(10 * NM, 45.0, expected_height, 30.0, 31.2838), abs=1e-9)


@st.composite
def libasterix_cat034_records(draw):
    maybe = _coin(draw)
    items = {
        "010": maybe(st.sampled_from(KNOWN_CODES + [(9, 9)]), 0.92),
        "000": maybe(st.sampled_from([1, 2, 2, 3, 4]), 0.92),
        "030": maybe(st.integers(0, 86400 * 128 - 1) | _uint(24), 0.92),
        "020": maybe(_uint(8), 0.7),
        "041": maybe(_uint(16), 0.5),
        "050": maybe(st.fixed_dictionaries({}, optional={
            "COM": _uint(8), "PSR": _uint(8), "SSR": _uint(8), "MDS": _uint(16)})),
        "060": maybe(st.fixed_dictionaries({}, optional={
            "COM": _uint(8), "PSR": _uint(8), "SSR": _uint(8), "MDS": _uint(8)})),
        "070": maybe(st.lists(_uint(16), max_size=3)),
        "100": maybe(_uint(64)),
        "110": maybe(_uint(8)),
        "120": maybe(_uint(64)),
        "090": maybe(_uint(16)),
        "RE": maybe(st.binary(max_size=4)),
        "SP": maybe(st.binary(max_size=4)),
    }
    return Cat034.cv_record.create({k: v for k, v in items.items() if v is not None})


@ORACLE
@given(st.lists(libasterix_cat034_records(), min_size=1, max_size=6))
def test_libasterix_cat034_records_decode_to_its_values(records):
    data = Cat034.create(records).unparse().to_bytes()
    result = decode_datagram(data, RADARS)
    clock = NaiveClock()
    north, sector, reasons = [], [], dict.fromkeys(REJECT_REASONS, 0)
    for block in RawDatablock.parse(Bits.from_bytes(data)):
        for record in Cat034.cv_uap.parse(block.get_raw_records()):
            def value(item, unit=None):
                node = record.get_item(item)
                if node is None:
                    return None
                return node.variation.content.as_quantity(unit) if unit else node.variation.as_uint()
            source = record.get_item("010")
            radar_id = None if source is None else RADARS.radar_for(
                source.variation.get_item("SAC").variation.as_uint(),
                source.variation.get_item("SIC").variation.as_uint())
            reason = ("no_source" if source is None else "unknown_radar" if radar_id is None
                      else "other_message" if value("000") not in (1, 2)
                      else "no_time" if value("030") is None
                      else "bad_time" if value("030", "s") >= DAY
                      else "no_sector" if value("000") == 2 and value("020") is None else None)
            if reason:
                reasons[reason] += 1
            elif value("000") == 1:
                period = value("041", "s")
                north.append((clock(value("030", "s")), radar_id, math.nan if period is None else period))
            else:
                sector.append((clock(value("030", "s")), radar_id, value("020", "°")))
    assert result.rejected == reasons and result.records == len(records)
    for got, want in ((result.north_markers, north), (result.sector_crossings, sector)):
        assert len(got) == len(want)
        for k, name in enumerate(got.dtype.names):
            np.testing.assert_allclose(got[name], [w[k] for w in want], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------
# libasterix: radarcore's CAT062, libasterix decodes
# --------------------------------------------------------------------------

ORIGIN = (31.30, 120.62, 10.0)


@st.composite
def track_rows(draw):
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    rows = np.zeros(n, TRACK_ROW_DTYPE)
    rows["time_s"] = draw(st.floats(0.0, 3 * DAY)) + rng.uniform(0.0, 5.0, n)
    rows["track_id"] = rng.integers(0, 200_000, n)
    rows["status"] = rng.integers(1, 4, n)
    rows["east_m"], rows["north_m"] = rng.uniform(-60_000, 60_000, (2, n))
    rows["up_m"] = rng.uniform(-50.0, 3000.0, n)
    rows["v_east_mps"], rows["v_north_mps"] = rng.uniform(-300, 300, (2, n))
    rows["v_up_mps"] = rng.uniform(-20, 20, n)
    geodetic = np.array(pymap3d.enu2geodetic(rows["east_m"], rows["north_m"], rows["up_m"], *ORIGIN)).T
    rows["lat_deg"], rows["lon_deg"], rows["alt_m"] = geodetic.T
    rows["sigma_pos_m"] = rng.uniform(0.0, 400.0, n)
    for name in ("v_up_mps", "sigma_pos_m", "v_east_mps"):
        rows[name][rng.random(n) < 0.2] = np.nan
    for name in ("lat_deg", "alt_m"):                  # filled in from the ENU position
        rows[name][rng.random(n) < 0.15] = np.nan
    return rows


def _circular_gap(a, b, period):
    d = np.mod(np.asarray(a) - np.asarray(b), period)
    return np.minimum(d, period - d)


@ORACLE
@given(track_rows(), st.sampled_from(CAT062_EDITIONS), st.sampled_from([65535, 200]))
def test_cat062_decodes_with_libasterix_within_the_lsb(rows, edition, max_block_bytes):
    data = encode_cat062(rows, 7, 9, *ORIGIN, service_id=3, max_block_bytes=max_block_bytes)
    blocks = RawDatablock.parse(Bits.from_bytes(data))
    assert not isinstance(blocks, ValueError)
    records = []
    for block in blocks:
        assert block.get_category() == 62
        parsed = edition.cv_uap.parse(block.get_raw_records())
        assert not isinstance(parsed, ValueError)
        records += list(parsed)
    assert len(records) == len(rows)
    geodetic = pymap3d.enu2geodetic(rows["east_m"], rows["north_m"], rows["up_m"], *ORIGIN)
    lat_expected = np.where(np.isnan(rows["lat_deg"]), geodetic[0], rows["lat_deg"])
    alt_expected = np.where(np.isnan(rows["alt_m"]), geodetic[2], rows["alt_m"])
    for row, record, lat, alt in zip(rows, records, lat_expected, alt_expected):
        def get(item, sub=None, unit=None):
            node = record.get_item(item)
            if node is None:
                return None
            variation = node.variation if sub is None else node.variation.get_item(sub).variation
            return variation.content.as_quantity(unit) if unit else variation.as_uint()

        assert (get("010", "SAC"), get("010", "SIC"), get("015")) == (7, 9, 3)
        assert _circular_gap(get("070", unit="s"), row["time_s"], DAY) <= 1 / 256 + 1e-9
        assert get("040") == row["track_id"] % 65536
        assert abs(get("105", "LAT", "°") - lat) <= 90 / 2 ** 25 + 1e-12
        assert abs(get("105", "LON", "°") - row["lon_deg"]) <= 90 / 2 ** 25 + 1e-12
        assert abs(get("100", "X", "m") - row["east_m"]) <= 0.25 + 1e-9
        assert abs(get("100", "Y", "m") - row["north_m"]) <= 0.25 + 1e-9
        if np.isnan(row["v_east_mps"]):
            assert record.get_item("185") is None
        else:
            assert abs(get("185", "VX", "m/s") - row["v_east_mps"]) <= 0.125 + 1e-9
            assert abs(get("185", "VY", "m/s") - row["v_north_mps"]) <= 0.125 + 1e-9
        status = record.get_item("080").variation
        cst = status.get_item("CST")
        assert status.get_item("CNF").variation.as_uint() == (row["status"] == 1)
        assert (0 if cst is None else cst.variation.as_uint()) == (row["status"] == 3)
        assert abs(get("136", unit="FL") * 100 * FT - alt) <= 12.5 * FT + 1e-6
        assert abs(get("130", unit="ft") * FT - alt) <= 3.125 * FT + 1e-6
        if np.isnan(row["v_up_mps"]):
            assert record.get_item("220") is None
        else:
            assert abs(get("220", unit="ft/min") * FT / 60 - row["v_up_mps"]) <= 3.125 * FT / 60 + 1e-9
        if np.isnan(row["sigma_pos_m"]):
            assert record.get_item("500") is None
        else:
            apc = record.get_item("500").variation.get_item("APC").variation
            for axis in ("X", "Y"):
                sigma_axis = apc.get_item(axis).variation.content.as_quantity("m")
                assert abs(sigma_axis - row["sigma_pos_m"] / math.sqrt(2)) <= 0.25 + 1e-9


def test_cat062_splits_into_blocks_and_rejects_what_it_cannot_hold():
    rows = np.zeros(3000, TRACK_ROW_DTYPE)
    rows["status"] = 2
    rows["track_id"] = np.arange(3000)
    data = encode_cat062(rows, 0, 1, *ORIGIN)
    blocks = RawDatablock.parse(Bits.from_bytes(data))
    assert len(blocks) >= 2 and all(len(b.unparse().to_bytes()) <= 65535 for b in blocks)
    assert sum(len(list(asterix_generated.Cat_062_1_21.cv_uap.parse(b.get_raw_records()))) for b in blocks) == 3000
    # a row without any position: only 010, 015, 070, 040 and 080
    bare = np.zeros(1, TRACK_ROW_DTYPE)
    bare["status"] = 3
    for name in TRACK_ROW_DTYPE.names[3:]:
        bare[name] = np.nan
    record = list(asterix_generated.Cat_062_1_21.cv_uap.parse(
        RawDatablock.parse(Bits.from_bytes(encode_cat062(bare, 0, 1, *ORIGIN)))[0].get_raw_records()))[0]
    present = [name for name in ("010", "015", "070", "105", "100", "185", "040", "080", "136", "130",
                                 "220", "500") if record.get_item(name) is not None]
    assert present == ["010", "015", "070", "040", "080"]
    assert record.get_item("080").variation.get_item("CST").variation.as_uint() == 1


def test_hand_computed_cat062_record():
    row = np.zeros(1, TRACK_ROW_DTYPE)
    row[0] = (3600.5, 70_000, 1, 100.0, -50.0, np.nan, 10.0, -2.5, np.nan, 45.0, -90.0, np.nan,
              math.sqrt(2) * 10.0)
    record = bytes([
        0xBF, 0x0D, 0x01, 0x04,     # FRN 1 3 4 5 6 7 | 12 13 | - | 27
        0x01, 0x02,                 # I062/010
        0x03,                       # I062/015
        0x07, 0x08, 0x40,           # I062/070 3600.5 x 128 = 460864
        0x00, 0x80, 0x00, 0x00,     # I062/105 45 deg = 2^23 x 180/2^25
        0xFF, 0x00, 0x00, 0x00,     #          -90 deg = -2^24
        0x00, 0x00, 0xC8,           # I062/100 X 100 m / 0.5
        0xFF, 0xFF, 0x9C,           #          Y -50 m / 0.5 = -100
        0x00, 0x28, 0xFF, 0xF6,     # I062/185 10 / 0.25, -2.5 / 0.25
        0x11, 0x70,                 # I062/040 70000 mod 65536 = 4464
        0x22,                       # I062/080 MRH, CNF (tentative)
        0x80, 0x00, 0x14, 0x00, 0x14,   # I062/500 APC: 10 m / 0.5 each
    ])
    assert encode_cat062(row, 1, 2, *ORIGIN, service_id=3) == bytes([62, 0, 3 + len(record)]) + record


# --------------------------------------------------------------------------
# Golden bytes: the encoders' output on a fixed scenario
# --------------------------------------------------------------------------

GOLDEN_PATH = Path(__file__).parent / "data" / "encoders_golden.ast"


def golden_scenario():
    """A fixed input for every encoder, with every optional item present and absent.

    CAT062 rows cover the three statuses, NaN in each column (and lat/alt
    filled from ENU), a longitude at +-180, track ids past 65535, an APC that
    saturates and a negative sigma; CAT048 plots both height items, with and
    without I048/161, 120 and 130; CAT034 north markers and sector crossings.
    """
    rng = np.random.default_rng(20261206)
    n = 40
    rows = np.zeros(n, TRACK_ROW_DTYPE)
    rows["time_s"] = 86_390.0 + np.arange(n) * 0.7          # across midnight
    rows["track_id"] = rng.integers(0, 200_000, n)
    rows["status"] = np.arange(n) % 3 + 1
    rows["east_m"], rows["north_m"] = rng.uniform(-60_000, 60_000, (2, n))
    rows["up_m"] = rng.uniform(-50.0, 3000.0, n)
    rows["v_east_mps"], rows["v_north_mps"] = rng.uniform(-300, 300, (2, n))
    rows["v_up_mps"] = rng.uniform(-20, 20, n)
    rows["lat_deg"] = ORIGIN[0] + rows["north_m"] / 111_000.0
    rows["lon_deg"] = ORIGIN[1] + rows["east_m"] / 95_000.0
    rows["alt_m"] = rows["up_m"] + ORIGIN[2]
    rows["sigma_pos_m"] = rng.uniform(0.0, 400.0, n)
    rows["lon_deg"][:3] = (180.0, -180.0, 179.999_999_99)
    rows["sigma_pos_m"][3:5] = (1e6, -1.0)
    for k, name in enumerate(("v_up_mps", "sigma_pos_m", "v_east_mps", "lat_deg", "alt_m", "lon_deg",
                              "east_m", "up_m")):
        rows[name][5 + 4 * k: 7 + 4 * k] = np.nan
    for name in TRACK_ROW_DTYPE.names[3:]:                 # a row with no position at all
        rows[name][37] = np.nan
    plots = random_plots(rng, 30)
    track_numbers = np.where(rng.random(30) < 0.5, rng.integers(0, 4096, 30), -1)
    service_time_s = rng.uniform(0.0, 100.0, 6)
    return rows, plots, track_numbers, service_time_s


def golden_bytes():
    """Every encoder on :func:`golden_scenario`, back to back."""
    rows, plots, track_numbers, service_time_s = golden_scenario()
    return b"".join([
        encode_cat062(rows, 7, 9, *ORIGIN, service_id=3),
        encode_cat062(rows, 0, 1, *ORIGIN, time_offset_s=-3600.0, max_block_bytes=200),
        encode_cat048(plots, RADARS, height_item="110", detection_type=2),
        encode_cat048(plots, RADARS, height_item="090", track_numbers=track_numbers, max_block_bytes=120),
        encode_cat034(service_time_s, np.array([1, 2, 1, 2, 2, 1]), 0, 1,
                      sector_azimuth_deg=[np.nan, 90.0, np.nan, 359.9, 180.0, np.nan],
                      rotation_period_s=[1.0, np.nan, 4.5, np.nan, 2.0, 1.0]),
    ])


def test_encoders_write_the_golden_bytes():
    """The encoders' bytes on a fixed scenario are those of the encoders before
    the table-driven packers (tests/data/encoders_golden.ast, written by
    :func:`golden_bytes` at that commit); every record decodes cleanly."""
    data = golden_bytes()
    assert data == GOLDEN_PATH.read_bytes()
    result = decode_datagram(data, RADARS)
    assert result.n_rejected == result.rejected["unknown_category"] == 11     # the CAT062 blocks
    assert len(result.plots) == 60 and len(result.north_markers) == 3 and len(result.sector_crossings) == 3


# --------------------------------------------------------------------------
# Geometry, time
# --------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.floats(-60, 60), st.floats(-20, 800), st.floats(0, 360), st.floats(-5, 85), st.floats(100, 30_000))
def test_height_and_elevation_match_the_exact_ellipsoid(lat, radar_alt, azimuth, elevation, range_m):
    from ingest.asterix import _height_from_elevation
    radars = RadarMap([RadarEntry(1, 1, 1, lat, 10.0, radar_alt)])
    _, _, height = pymap3d.aer2geodetic(azimuth, elevation, range_m, lat, 10.0, radar_alt)
    assert _height_from_elevation(np.array([range_m]), np.array([azimuth]), np.array([elevation]),
                                  radars.radar_alt_m, radars.radar_radius_m)[0] == pytest.approx(height, abs=0.005)
    # the decoder's elevation from the exact height
    got = K._elevation_deg(range_m, azimuth, height, radar_alt, *radars.radar_radius_m[0])
    assert got == pytest.approx(elevation, abs=0.005 / range_m * 180 / math.pi + 1e-9)
    # 4/3 earth: the straight-line elevation of the same height is lower at long range
    refracted = RadarMap([RadarEntry(1, 1, 1, lat, 10.0, radar_alt)], earth_radius_factor=4 / 3)
    assert K._elevation_deg(range_m, azimuth, height, radar_alt, *refracted.radar_radius_m[0]) >= got - 1e-12


@settings(max_examples=100, deadline=None)
@given(st.integers(-5 * 86400 * 128, 5 * 86400 * 128), st.lists(st.integers(0, 3000 * 128), min_size=1, max_size=60),
       st.lists(st.integers(0, 40_000 * 128), max_size=60))
def test_time_of_day_unwrapping_recovers_the_time_axis(start, steps, lateness):
    # times in ticks of 1/128 s, as ASTERIX carries them: exact arithmetic
    times = (start + np.cumsum(steps)) / 128.0
    late = np.zeros(len(times))
    late[:len(lateness)] = np.array(lateness[:len(times)]) / 128.0
    arrival = times - late                  # late messages: up to 11 h behind
    # a message is placed right when it is within 12 h of the newest before it
    newest_before = np.maximum.accumulate(arrival)[:-1]
    assume(np.all(np.abs(arrival[1:] - newest_before) < DAY / 2 - 1))
    midnight = math.floor(arrival[0] / DAY) * DAY
    unwrapper = TimeOfDayUnwrapper(midnight_s=midnight)
    tod = np.mod(arrival, DAY)
    got = unwrapper.unwrap(tod)
    np.testing.assert_allclose(got, arrival, rtol=0, atol=1e-6)
    assert unwrapper.newest_s == pytest.approx(arrival.max(), abs=1e-6)
    with pytest.raises(ValueError, match=r"time_of_day_s\[0\]"):
        unwrapper.unwrap([DAY])


# --------------------------------------------------------------------------
# A simulated scenario, end to end
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sparse():
    from radarcore.sim.simulate import simulate
    return simulate("sparse", seed=1, duration_s=30)


def assert_within_quantisation(got, want, radars):
    assert got.shape == want.shape
    np.testing.assert_array_equal(got["radar_id"], want["radar_id"])
    assert np.max(np.abs(got["time_s"] - want["time_s"])) <= 1 / 256 + 1e-9
    assert np.max(np.abs(got["range_m"] - want["range_m"])) <= NM / 512 + 1e-9
    assert np.max(_circular_gap(got["azimuth_deg"], want["azimuth_deg"], 360.0)) <= 360 / 2 ** 17 + 1e-9
    # elevation: the height it stands for (at the decoded range and azimuth) is the
    # original plot's height (at its own) within half of 25 ft
    index = radars.index_of(want["radar_id"])
    from ingest.asterix import _height_from_elevation
    height_got = _height_from_elevation(got["range_m"], got["azimuth_deg"], got["elevation_deg"],
                                        radars.radar_alt_m[index], radars.radar_radius_m[index])
    height_want = _height_from_elevation(want["range_m"], want["azimuth_deg"], want["elevation_deg"],
                                         radars.radar_alt_m[index], radars.radar_radius_m[index])
    assert np.max(np.abs(height_got - height_want)) <= 12.5 * FT + 0.02
    for name in ("radial_velocity_mps", "snr_db"):
        np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(want[name]))
        finite = ~np.isnan(want[name])
        assert np.all(np.abs(got[name][finite] - want[name][finite]) <= 0.5 + 1e-9)


@pytest.mark.parametrize("height_item", ["110", "090"])
def test_simulated_scenario_round_trip_across_midnight(sparse, height_item, tmp_path):
    radars = RadarMap.from_site(sparse.site)
    plots = sparse.plots
    offset = DAY - 12.0                      # the scenario crosses UTC midnight at t = 12 s
    unwrapper = TimeOfDayUnwrapper(midnight_s=-offset)
    # one datagram per second of plots, each with a north marker per radar first
    datagrams = []
    second = np.floor(plots["time_s"]).astype(int)
    for k in np.unique(second):
        chunk = plots[second == k]
        markers = encode_cat034(np.full(2, float(k)), 1, 0, np.array([1, 2]), rotation_period_s=1.0,
                                time_offset_s=offset)
        datagrams.append(markers + encode_cat048(chunk, radars, height_item=height_item,
                                                 time_offset_s=offset, max_block_bytes=300))
    results = [decode_datagram(d, radars, unwrapper) for d in datagrams]
    total = AsterixDecodeResult.concatenate(results)
    assert total.n_rejected == 0 and total.records == len(plots) + 2 * len(datagrams)
    assert_within_quantisation(total.plots, plots, radars)
    np.testing.assert_array_equal(total.north_markers["time_s"], np.repeat(np.unique(second), 2))
    assert np.all(total.plot_info["height_source"] == (1 if height_item == "110" else 2))
    # the same bytes as an .ast recording, read in chunks that cut blocks
    path = tmp_path / "scenario.ast"
    path.write_bytes(b"".join(datagrams) * 20)
    chunks = list(iter_ast_file(path, radars, chunk_bytes=65535, unwrapper=TimeOfDayUnwrapper(-offset)))
    assert len(chunks) > 1
    whole = AsterixDecodeResult.concatenate(chunks)
    assert whole.n_rejected == 0 and len(whole.plots) == 20 * len(plots)
    assert whole.plots[:len(plots)].tobytes() == total.plots.tobytes()
    # a cut-off file counts one truncated block and loses nothing else
    path.write_bytes(b"".join(datagrams)[:-1])
    cut = AsterixDecodeResult.concatenate(iter_ast_file(path, radars, unwrapper=TimeOfDayUnwrapper(-offset)))
    assert cut.rejected["truncated"] == 1 and cut.n_rejected == 1
    assert len(cut.plots) < len(plots)


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------

def test_argument_errors():
    with pytest.raises(TypeError, match="buf must be bytes"):
        decode_datagram("abc", RADARS)
    with pytest.raises(TypeError, match="one-dimensional uint8"):
        decode_datagram(np.zeros(4, np.int16), RADARS)
    with pytest.raises(TypeError, match="radars must be a RadarMap"):
        decode_datagram(b"", {(0, 1): 1})
    with pytest.raises(AsterixError, match="share sac=0, sic=1"):
        RadarMap([RadarEntry(0, 1, 1, 0.0, 0.0, 0.0), RadarEntry(0, 1, 2, 0.0, 0.0, 0.0)])
    with pytest.raises(AsterixError, match="sic must be an integer in"):
        RadarMap([RadarEntry(0, 256, 1, 0.0, 0.0, 0.0)])
    with pytest.raises(ValueError, match="chunk_bytes"):
        next(iter_ast_file("x.ast", RADARS, chunk_bytes=100))
    plots = random_plots(np.random.default_rng(0), 2)
    plots["radar_id"][1] = 5
    with pytest.raises(AsterixError, match=r"plots.radar_id\[1\] = 5 is not in the radar map"):
        encode_cat048(plots, RADARS)
    plots["radar_id"][1] = 1
    plots["radial_velocity_mps"][0] = 600.0
    with pytest.raises(AsterixError, match=r"radial_velocity_mps\[0\] = 600.0 is outside"):
        encode_cat048(plots, RADARS)
    rows = np.zeros(2, TRACK_ROW_DTYPE)
    rows["status"] = 2
    bad = rows[:1].copy()
    bad["east_m"] = 5e6
    with pytest.raises(AsterixError, match=r"rows.east_m\[0\] = 5000000.0 is outside"):
        encode_cat062(bad, 0, 1, *ORIGIN)
    bad = rows[:1].copy()
    bad["status"] = 0
    with pytest.raises(AsterixError, match="rows.status"):
        encode_cat062(bad, 0, 1, *ORIGIN)
    with pytest.raises(AsterixError, match="sac must be an integer in"):
        encode_cat062(rows, 256, 1, *ORIGIN)
    empty = decode_datagram(b"", RADARS)
    assert empty.records == 0 and empty.blocks == 0 and len(empty.plots) == 0
    assert decode_datagram(encode_cat048(empty_plots(0), RADARS), RADARS).blocks == 1
