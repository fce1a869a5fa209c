"""Tests of ingest.codec: byte layout against the documented offsets, round
trips, every rejection reason on hand-built frames, and fuzzing."""
import json
import math
import struct

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ingest import codec
from ingest.codec import (
    FORMAT_VERSION,
    REJECT_REASONS_WIRE,
    TOPIC_ALERTS,
    TOPIC_CAT062,
    TOPIC_STATS,
    TOPIC_TRACKS,
    FrameError,
    PlotFrame,
    decode_alerts,
    decode_plots,
    decode_stats,
    decode_tracks,
    encode_alerts,
    encode_cat062,
    encode_plots,
    encode_stats,
    encode_tracks,
)
from ingest.schema import PLOT_DTYPE, TRACK_ROW_DTYPE, empty_plots

HYPOTHESIS = settings(max_examples=100, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1
LE_PLOT = PLOT_DTYPE.newbyteorder("<")
LE_TRACK = TRACK_ROW_DTYPE.newbyteorder("<")


# --------------------------------------------------------------------------
# independent builders and readers, written from the documented layout

def u16(value):
    return value.to_bytes(2, "little")


def u32(value):
    return value.to_bytes(4, "little")


def plot_header(radar_id=1, seq=0, count=0, t_first=math.nan, magic=b"RCPL", version=1,
                flags=0, reserved=0):
    return (magic + u16(version) + u16(flags) + radar_id.to_bytes(8, "little", signed=True)
            + seq.to_bytes(8, "little") + u32(count) + u32(reserved)
            + struct.pack("<d", t_first))


def track_header(count=0, epoch=math.nan, magic=b"RCTR", version=1, flags=0, reserved=0):
    return magic + u16(version) + u16(flags) + u32(count) + u32(reserved) + struct.pack("<d", epoch)


def plot_payload(plots):
    return plots.astype(LE_PLOT).tobytes()


def read_plot_header(header):
    """Header fields by byte offset, as the module docstring documents them."""
    return dict(
        magic=bytes(header[0:4]),
        version=int.from_bytes(header[4:6], "little"),
        flags=int.from_bytes(header[6:8], "little"),
        radar_id=int.from_bytes(header[8:16], "little", signed=True),
        seq=int.from_bytes(header[16:24], "little"),
        count=int.from_bytes(header[24:28], "little"),
        reserved=int.from_bytes(header[28:32], "little"),
        t_first=struct.unpack("<d", bytes(header[32:40]))[0],
    )


def assert_same_rows(actual, expected):
    """Structured arrays equal bit for bit (NaN included)."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.tobytes() == np.ascontiguousarray(expected).tobytes()


def same_float(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def random_plots(n, radar_id=1, seed=0):
    rng = np.random.default_rng(seed)
    plots = empty_plots(n)
    plots["time_s"] = np.sort(rng.uniform(0, 100, n))
    plots["radar_id"] = radar_id
    plots["range_m"] = rng.uniform(0, 8000, n)
    plots["azimuth_deg"] = rng.uniform(0, 360, n)
    plots["elevation_deg"] = rng.uniform(-2, 60, n)
    plots["radial_velocity_mps"] = np.where(rng.random(n) < 0.5, rng.normal(0, 10, n), np.nan)
    plots["snr_db"] = np.where(rng.random(n) < 0.5, rng.uniform(5, 30, n), np.nan)
    return plots


def random_tracks(n, seed=0):
    rng = np.random.default_rng(seed)
    rows = np.zeros(n, TRACK_ROW_DTYPE)
    rows["time_s"] = 12.5
    rows["track_id"] = rng.integers(1, 1 << 40, n)
    rows["status"] = rng.integers(1, 4, n)
    for name in TRACK_ROW_DTYPE.names[3:]:
        rows[name] = rng.normal(0, 1000, n)
    return rows


float64s = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def plot_frames(draw, max_count=40):
    """(radar_id, seq, plots) with arbitrary floats, NaN optional fields included."""
    radar_id = draw(st.integers(INT64_MIN, INT64_MAX))
    seq = draw(st.integers(0, UINT64_MAX))
    n = draw(st.integers(0, max_count))
    plots = draw(hnp.arrays(PLOT_DTYPE, n, elements=st.tuples(
        float64s, st.just(0), float64s, float64s, float64s, float64s, float64s)))
    plots["radar_id"] = radar_id
    missing = draw(hnp.arrays(np.bool_, (n, 2)))
    plots["radial_velocity_mps"][missing[:, 0]] = np.nan
    plots["snr_db"][missing[:, 1]] = np.nan
    return radar_id, seq, plots


def check_reject(frames, reason, **kwargs):
    with pytest.raises(FrameError) as info:
        decode_plots(frames, **kwargs)
    assert info.value.reason == reason
    assert str(info.value).startswith(reason)
    return info.value


# --------------------------------------------------------------------------
# plot frames

def test_constants():
    assert FORMAT_VERSION == 1
    assert REJECT_REASONS_WIRE == ("malformed", "wrong_version", "length_mismatch", "too_large")
    assert (TOPIC_TRACKS, TOPIC_ALERTS, TOPIC_STATS, TOPIC_CAT062) == (
        b"tracks", b"alerts", b"stats", b"cat062")
    assert issubclass(FrameError, ValueError)


def test_plot_frame_layout_by_byte_offset():
    plots = random_plots(3, radar_id=-42)
    frames = encode_plots(-42, 2**64 - 5, plots)
    assert isinstance(frames, list) and len(frames) == 2
    assert all(isinstance(part, bytes) for part in frames)
    header, payload = frames
    assert len(header) == 40
    assert header == plot_header(-42, 2**64 - 5, 3, float(plots["time_s"][0]))
    fields = read_plot_header(header)
    assert fields == dict(magic=b"RCPL", version=1, flags=0, radar_id=-42, seq=2**64 - 5,
                          count=3, reserved=0, t_first=float(plots["time_s"][0]))
    assert len(payload) == 3 * 56 == 3 * PLOT_DTYPE.itemsize
    assert payload == plot_payload(plots)
    # the second plot's range, read straight from its documented offset (56 + 16)
    assert struct.unpack_from("<d", payload, 56 + 16)[0] == plots["range_m"][1]


@HYPOTHESIS
@given(plot_frames())
def test_plot_round_trip(frame):
    radar_id, seq, plots = frame
    frames = encode_plots(radar_id, seq, plots)
    fields = read_plot_header(frames[0])
    assert (fields["radar_id"], fields["seq"], fields["count"]) == (radar_id, seq, plots.size)
    assert same_float(fields["t_first"], float(plots["time_s"][0]) if plots.size else math.nan)
    decoded = decode_plots(frames)
    assert isinstance(decoded, PlotFrame)
    assert (decoded.radar_id, decoded.seq) == (radar_id, seq)
    assert same_float(decoded.t_first, fields["t_first"])
    assert decoded.plots.dtype == PLOT_DTYPE
    assert decoded.plots.shape == plots.shape
    assert decoded.plots.tobytes() == plots.tobytes()       # bit for bit, NaN payloads too
    assert decoded.plots.flags.writeable and decoded.plots.flags.owndata


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_plot_round_trip_sizes(n):
    plots = random_plots(n, radar_id=7, seed=n)
    decoded = decode_plots(encode_plots(7, n, plots))
    assert_same_rows(decoded.plots, plots)
    if n == 0:
        assert math.isnan(decoded.t_first)
    else:
        assert decoded.t_first == plots["time_s"][0]


def test_plot_round_trip_of_a_strided_view():
    plots = random_plots(9, radar_id=3)
    decoded = decode_plots(encode_plots(3, 1, plots[::2]))
    assert_same_rows(decoded.plots, plots[::2])


def test_decode_owns_its_memory_and_accepts_any_buffer():
    plots = random_plots(4, radar_id=5)
    header, payload = encode_plots(5, 9, plots)
    backing = bytearray(payload)
    for frames in ([header, payload], (header, payload),
                   [bytearray(header), backing], [memoryview(header), memoryview(backing)],
                   [zmq.Frame(header), zmq.Frame(payload)],
                   [header, np.frombuffer(payload, np.float64)]):
        decoded = decode_plots(frames)
        assert_same_rows(decoded.plots, plots)
    decoded = decode_plots([header, backing])
    backing[:] = bytes(len(backing))                        # the sender's buffer is reused
    assert_same_rows(decoded.plots, plots)
    decoded.plots["range_m"] = 1.0                          # and the array is writable


def test_encode_plots_rejects_bad_arguments():
    plots = random_plots(3, radar_id=1)
    with pytest.raises(ValueError, match="radar"):
        encode_plots(2, 0, plots)
    mixed = plots.copy()
    mixed["radar_id"][1] = 9
    with pytest.raises(ValueError, match=r"\[9\]"):
        encode_plots(1, 0, mixed)
    with pytest.raises(ValueError, match="PLOT_DTYPE"):
        encode_plots(1, 0, np.zeros(3))
    with pytest.raises(ValueError, match="PLOT_DTYPE"):
        encode_plots(1, 0, [tuple(row) for row in plots])
    with pytest.raises(ValueError, match="1-D"):
        encode_plots(1, 0, plots.reshape(1, 3))
    with pytest.raises(ValueError, match="seq"):
        encode_plots(1, -1, plots)
    with pytest.raises(ValueError, match="seq"):
        encode_plots(1, 2**64, plots)
    with pytest.raises(ValueError, match="seq"):
        encode_plots(1, 1.5, plots)
    with pytest.raises(ValueError, match="radar_id"):
        encode_plots(2**63, 0, empty_plots(0))
    # NumPy integers are integers
    assert decode_plots(encode_plots(np.int64(1), np.uint64(3), plots)).seq == 3


# --------------------------------------------------------------------------
# every rejection reason, on hand-built frames

def good_frame(n=2, radar_id=4):
    plots = random_plots(n, radar_id=radar_id)
    return plot_header(radar_id, 1, n, float(plots["time_s"][0]) if n else math.nan), \
        plot_payload(plots)


def test_hand_built_frame_is_accepted():
    header, payload = good_frame()
    decoded = decode_plots([header, payload])
    assert decoded.radar_id == 4 and decoded.seq == 1 and decoded.plots.size == 2


@pytest.mark.parametrize("frames", [
    [],
    [b""],
    ["header", "payload"],
    [1, 2],
    [None, None],
    good_frame()[0] + good_frame()[1],          # one buffer, not a list of parts
    None,
    42,
], ids=["no-part", "one-empty-part", "str-parts", "int-parts", "none-parts", "one-buffer",
        "none", "int"])
def test_malformed_messages(frames):
    check_reject(frames, "malformed")


def test_malformed_part_counts_and_headers():
    header, payload = good_frame()
    check_reject([header], "malformed")
    check_reject([header, payload, b""], "malformed")
    check_reject([b"", payload], "malformed")
    check_reject([header[:39], payload], "malformed")          # short header
    check_reject([header + b"\x00", payload], "malformed")     # long header
    check_reject([b"RCPX" + header[4:], payload], "malformed")  # bad magic
    check_reject([b"RCTR" + header[4:], payload], "malformed")  # a track header
    check_reject([plot_header(4, 1, 2, flags=1), payload], "malformed")
    check_reject([plot_header(4, 1, 2, reserved=7), payload], "malformed")


@pytest.mark.parametrize("version", [0, 2, 0xFFFF])
def test_wrong_version(version):
    _, payload = good_frame()
    error = check_reject([plot_header(4, 1, 2, version=version), payload], "wrong_version")
    assert str(version) in str(error)


def test_length_mismatch():
    header, payload = good_frame(n=2)
    check_reject([header, payload[:-1]], "length_mismatch")
    check_reject([header, payload + b"\x00"], "length_mismatch")
    check_reject([header, payload[:56]], "length_mismatch")
    check_reject([header, b""], "length_mismatch")
    check_reject([plot_header(4, 1, 3), payload], "length_mismatch")
    check_reject([plot_header(4, 1, 0), payload], "length_mismatch")
    check_reject([plot_header(4, 1, 0xFFFFFFFF), payload], "length_mismatch",
                 max_plots=0xFFFFFFFF)
    # plots of another radar than the header's
    check_reject([plot_header(5, 1, 2), payload], "length_mismatch")
    plots = random_plots(3, radar_id=4)
    plots["radar_id"][2] = 6
    check_reject([plot_header(4, 1, 3), plot_payload(plots)], "length_mismatch")


def test_too_large():
    header, payload = good_frame(n=3)
    check_reject([header, payload], "too_large", max_plots=2)
    assert decode_plots([header, payload], max_plots=3).plots.size == 3
    # a forged count is refused before any payload check
    check_reject([plot_header(4, 1, 0xFFFFFFFF), b""], "too_large")
    check_reject([plot_header(4, 1, 1_000_001), b""], "too_large")
    empty_header, empty_payload = good_frame(n=0)
    assert decode_plots([empty_header, empty_payload], max_plots=0).plots.size == 0
    with pytest.raises(ValueError, match="max_plots"):
        decode_plots([header, payload], max_plots=-1)


def test_frame_error():
    error = FrameError("too_large", "5 plots")
    assert error.reason == "too_large" and str(error) == "too_large: 5 plots"
    assert str(FrameError("malformed")) == "malformed: malformed"
    with pytest.raises(ValueError, match="unknown"):
        FrameError("nonsense")


# --------------------------------------------------------------------------
# fuzzing: nothing but FrameError, and nothing read outside the parts

def check_decode(frames, max_plots=1_000_000):
    """Decode; on success the result must be exactly what the parts say."""
    try:
        decoded = decode_plots(frames, max_plots=max_plots)
    except FrameError as error:
        assert error.reason in REJECT_REASONS_WIRE
        return None
    header, payload = (bytes(part) for part in frames)
    fields = read_plot_header(header)
    assert (fields["magic"], fields["version"], fields["flags"], fields["reserved"]) == (
        b"RCPL", 1, 0, 0)
    assert fields["count"] <= max_plots
    assert (decoded.radar_id, decoded.seq) == (fields["radar_id"], fields["seq"])
    assert same_float(decoded.t_first, fields["t_first"])
    assert decoded.plots.size == fields["count"]
    assert decoded.plots.tobytes() == payload               # every byte from inside the part
    assert np.all(decoded.plots["radar_id"] == fields["radar_id"])
    return decoded


@HYPOTHESIS
@given(st.lists(st.binary(max_size=120), max_size=4))
def test_fuzz_arbitrary_parts(parts):
    check_decode(parts)
    for decoder in (decode_tracks, decode_alerts, decode_stats):
        try:
            decoder(parts)
        except FrameError:
            pass


@HYPOTHESIS
@given(st.binary(min_size=40, max_size=40), st.integers(0, 3), st.binary(max_size=200))
def test_fuzz_arbitrary_headers_with_a_valid_magic(header, count, payload):
    header = b"RCPL" + u16(1) + header[8:]
    header = header[:24] + u32(count) + header[28:]
    check_decode([header, payload])


MUTATIONS = ("flip", "truncate", "extend", "drop_part", "add_part", "swap_parts", "set_byte")


@HYPOTHESIS
@given(plot_frames(max_count=5),
       st.lists(st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 1 << 16),
                          st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_valid_frames(frame, mutations):
    parts = [bytearray(part) for part in encode_plots(*frame)]
    for kind, position, value in mutations:
        if not parts:
            parts.append(bytearray())
        k = position % len(parts)
        part = parts[k]
        if kind == "flip" and part:
            part[position % len(part)] ^= 1 << (value % 8)
        elif kind == "set_byte" and part:
            part[position % len(part)] = value
        elif kind == "truncate":
            del part[(position % (len(part) + 1)):]
        elif kind == "extend":
            part.extend(bytes([value]) * (1 + position % 64))
        elif kind == "drop_part":
            del parts[k]
        elif kind == "add_part":
            parts.insert(k, bytearray([value]) * (position % 48))
        elif kind == "swap_parts" and len(parts) > 1:
            parts[0], parts[-1] = parts[-1], parts[0]
    check_decode([bytes(part) for part in parts])
    # the same bytes as views into a larger buffer: nothing past a part's end is read
    if len(parts) == 2:
        backing = bytes(parts[0]) + b"\xff" * 64 + bytes(parts[1]) + b"\xff" * 64
        first = memoryview(backing)[:len(parts[0])]
        second = memoryview(backing)[len(parts[0]) + 64:len(parts[0]) + 64 + len(parts[1])]
        assert (decode_or_none([first, second]) is None) == (
            decode_or_none([bytes(parts[0]), bytes(parts[1])]) is None)


def decode_or_none(frames):
    try:
        return decode_plots(frames)
    except FrameError:
        return None


def test_flipping_each_header_byte():
    header, payload = good_frame(n=2)
    for position in range(40):
        for bit in (0, 7):
            mutated = bytearray(header)
            mutated[position] ^= 1 << bit
            decoded = check_decode([bytes(mutated), payload])
            if position < 8 or 24 <= position < 32:        # magic, version, flags, count, reserved
                assert decoded is None
            elif 8 <= position < 16:                         # radar_id: plots now disagree
                assert decoded is None
            else:                                            # seq, t_first carry no check
                assert decoded is not None


# --------------------------------------------------------------------------
# tracks

@st.composite
def track_tables(draw):
    n = draw(st.integers(0, 20))
    rows = draw(hnp.arrays(TRACK_ROW_DTYPE, n))
    return rows


def test_track_message_layout():
    rows = random_tracks(3)
    frames = encode_tracks(rows)
    assert len(frames) == 3 and all(isinstance(part, bytes) for part in frames)
    topic, header, payload = frames
    assert topic == b"tracks"
    assert len(header) == 24
    assert header == track_header(3, 12.5)
    assert TRACK_ROW_DTYPE.itemsize == 97
    assert payload == rows.astype(LE_TRACK).tobytes()
    assert int.from_bytes(payload[97 + 8:97 + 16], "little") == rows["track_id"][1]
    assert payload[97 + 16] == rows["status"][1]


@HYPOTHESIS
@given(track_tables())
def test_track_round_trip(rows):
    frames = encode_tracks(rows)
    epoch = struct.unpack("<d", frames[1][16:24])[0]
    assert same_float(epoch, float(rows["time_s"][0]) if rows.size else math.nan)
    decoded = decode_tracks(frames)
    assert decoded.dtype == TRACK_ROW_DTYPE
    assert decoded.tobytes() == rows.tobytes()
    assert decoded.flags.writeable and decoded.flags.owndata


def test_track_rejections():
    rows = random_tracks(2)
    payload = rows.astype(LE_TRACK).tobytes()
    good = [b"tracks", track_header(2, 12.5), payload]
    assert_same_rows(decode_tracks(good), rows)
    cases = [
        ("malformed", good[:2]),
        ("malformed", good + [b""]),
        ("malformed", [b"alerts"] + good[1:]),
        ("malformed", [b"trackss"] + good[1:]),
        ("malformed", [b"tracks", good[1][:23], payload]),
        ("malformed", [b"tracks", b"RCPL" + good[1][4:], payload]),
        ("malformed", [b"tracks", track_header(2, flags=2), payload]),
        ("malformed", [b"tracks", track_header(2, reserved=1), payload]),
        ("wrong_version", [b"tracks", track_header(2, version=2), payload]),
        ("length_mismatch", [b"tracks", track_header(3), payload]),
        ("length_mismatch", [b"tracks", good[1], payload[:-1]]),
        ("length_mismatch", [b"tracks", track_header(0xFFFFFFFF), payload]),
    ]
    for reason, frames in cases:
        with pytest.raises(FrameError) as info:
            decode_tracks(frames)
        assert info.value.reason == reason, frames
    with pytest.raises(ValueError, match="TRACK_ROW_DTYPE"):
        encode_tracks(random_plots(2))


# --------------------------------------------------------------------------
# alerts, stats, cat062

def alert_event(k):
    return {"time_s": 63.0 + k, "alert_id": 7 + k, "event": "raise", "asset_id": "plant-1",
            "level": "alert", "track_id": 12, "time_to_entry_s": 41.5, "cpa_m": 180.0,
            "east_m": 5012.3, "north_m": -220.4, "up_m": 120.0, "speed_mps": 14.8,
            "class": "drone", "previous_level": None}


def test_alert_round_trip():
    events = [alert_event(k) for k in range(3)]
    frames = encode_alerts(events)
    assert frames[0] == b"alerts" and len(frames) == 2
    assert json.loads(frames[1].decode("utf-8")) == events
    assert decode_alerts(frames) == events
    assert decode_alerts(encode_alerts([])) == []


def test_alert_values_are_made_strict_json():
    event = {"track_id": np.int64(12), "cpa_m": np.float64(180.5), "p_entry": np.float32(0.5),
             "time_to_entry_s": math.nan, "speed_mps": np.inf, "flag": np.bool_(True),
             "position": np.array([1.0, np.nan]), "nested": {"a": (1, -math.inf)},
             "name": "plant-\u00e9"}
    body = encode_alerts([event])[1]
    assert b"NaN" not in body and b"Infinity" not in body
    assert decode_alerts([b"alerts", body]) == [{
        "track_id": 12, "cpa_m": 180.5, "p_entry": 0.5, "time_to_entry_s": None,
        "speed_mps": None, "flag": True, "position": [1.0, None], "nested": {"a": [1, None]},
        "name": "plant-\u00e9"}]
    with pytest.raises(ValueError, match="dict"):
        encode_alerts([1])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12)


@HYPOTHESIS
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_stats_round_trip(stats):
    frames = encode_stats(stats)
    assert frames[0] == b"stats"
    assert decode_stats(frames) == stats


@pytest.mark.parametrize("decoder, topic, body", [
    (decode_alerts, b"alerts", b"{not json"),
    (decode_alerts, b"alerts", b"\xff\xfe[]"),
    (decode_alerts, b"alerts", b'{"a": 1}'),
    (decode_alerts, b"alerts", b"[1, 2]"),
    (decode_alerts, b"alerts", b'[{"cpa_m": NaN}]'),
    (decode_alerts, b"alerts", b"[" * 100_000 + b"]" * 100_000),
    (decode_alerts, b"stats", b"[]"),
    (decode_stats, b"stats", b"[]"),
    (decode_stats, b"stats", b'{"x": Infinity}'),
    (decode_stats, b"stats", b""),
    (decode_stats, b"alerts", b"{}"),
    (decode_stats, b"stats", b'{"a": ' * 50_000 + b"1" + b"}" * 50_000),
], ids=range(12))
def test_json_rejections(decoder, topic, body):
    with pytest.raises(FrameError) as info:
        decoder([topic, body])
    assert info.value.reason == "malformed"
    with pytest.raises(FrameError):
        decoder([topic])
    with pytest.raises(FrameError):
        decoder([topic, body, b""])


def test_stats_and_cat062_arguments():
    with pytest.raises(ValueError, match="dict"):
        encode_stats([("a", 1)])
    assert encode_cat062(b"\x3e\x00\x05ab") == [b"cat062", b"\x3e\x00\x05ab"]
    assert encode_cat062(bytearray(b"xy")) == [b"cat062", b"xy"]
    with pytest.raises(ValueError, match="bytes"):
        encode_cat062("text")


def test_module_documents_the_layout():
    doc = codec.__doc__
    for text in ("RCPL", "RCTR", "version", "radar_id", "seq", "count", "t_first",
                 "malformed", "wrong_version", "length_mismatch", "too_large"):
        assert text in doc
