"""Fuzzing every input the service and replay read: wire frames, ASTERIX datagrams,
recordings, plots.csv and ASTERIX files.

Each test draws hostile input (random bytes, valid input cut, flipped or
extended, absurd counts) and checks the documented contract: no exception
but the documented error types, and every message or line accounted for
exactly once (accepted, or counted under one reason).  Bounded: a few
hundred examples in all, well under 30 s.  The benchmark-size run (a million
frames) is ``benchmarks/fuzz_frames.py``.
"""
import os
import struct
import tempfile

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.asterix import AsterixError, RadarMap, encode_cat048, iter_ast_file
from ingest.codec import encode_plots
from ingest.csvio import read_plots_csv
from ingest.gate import FRAME_REJECT_REASONS, AsterixGate, FrameGate
from ingest.recording import RecordError, RecordingReader, RecordingWriter
from ingest.schema import PLOT_COLUMNS, PLOT_DTYPE
from radarcore.core.config import parse_site

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SITE = parse_site({
    "origin": {"lat_deg": 31.3, "lon_deg": 120.6},
    "radar": [{"id": 1, "lat_deg": 31.31, "lon_deg": 120.6, "alt_m": 25, "sigma_range_m": 7.5,
               "sigma_azimuth_deg": 0.4, "sigma_elevation_deg": 0.8, "scan_period_s": 1,
               "max_range_m": 8000, "sac": 0, "sic": 1},
              {"id": 2, "lat_deg": 31.29, "lon_deg": 120.61, "alt_m": 20, "sigma_range_m": 7.5,
               "sigma_azimuth_deg": 0.4, "sigma_elevation_deg": 0.8, "scan_period_s": 1,
               "max_range_m": 8000, "sac": 0, "sic": 2}]}, "fuzz-site.toml")
RADARS = RadarMap.from_site(SITE)


def plots_of(radar_id, n, t0=10.0):
    plots = np.zeros(n, PLOT_DTYPE)
    plots["time_s"] = t0 + np.arange(n) * 0.01
    plots["radar_id"] = radar_id
    plots["range_m"] = 1000.0 + 10.0 * np.arange(n)
    plots["azimuth_deg"] = 45.0
    plots["elevation_deg"] = 2.0
    plots["radial_velocity_mps"] = np.nan
    plots["snr_db"] = 12.0
    return plots


def mutate(data, draw):
    """``data`` cut, extended, or with bytes flipped or overwritten."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.integers(0, 3))
        if action == 0 and data:
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif action == 1:
            data = data[:draw(st.integers(0, len(data)))]
        elif action == 2:
            data += draw(st.binary(min_size=1, max_size=40))
        elif data:
            at = draw(st.integers(0, len(data) - 1))
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(patch)] = patch
    return bytes(data)


@st.composite
def wire_messages(draw):
    """A received message: random parts, a valid frame mutated, or an absurd one."""
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.lists(st.binary(max_size=100), max_size=5))
    radar_id = draw(st.sampled_from([1, 2, 7]) | st.integers(-2 ** 63, 2 ** 63 - 1))
    seq = draw(st.sampled_from([0, 1, 2, 2 ** 64 - 1]) | st.integers(0, 2 ** 64 - 1))
    header, payload = encode_plots(radar_id, seq, plots_of(radar_id, draw(st.integers(0, 4))))
    if kind == 1:
        return [header, payload]
    if kind == 2:
        whole = mutate(header + payload, draw)
        split = draw(st.integers(0, len(whole)))
        return [whole[:split], whole[split:]]
    if kind == 3:                   # a count that promises gigabytes
        fields = list(struct.unpack("<4sHHqQIId", header))
        fields[5] = draw(st.sampled_from([2 ** 32 - 1, 1_000_001, 10 ** 6]))
        return [struct.pack("<4sHHqQIId", *fields), payload]
    return [b""] * draw(st.sampled_from([65_536, 70_000]))      # more parts than a record holds


def assert_counted_once(gate, before_accepted, before_rejected, result):
    rejected = {r: gate.frames_rejected[r] - before_rejected[r] for r in FRAME_REJECT_REASONS}
    changes = {r: n for r, n in rejected.items() if n}
    if result is None:
        assert sum(changes.values()) == 1 and gate.frames_accepted == before_accepted, changes
    else:
        assert changes == {} and gate.frames_accepted == before_accepted + 1


@FUZZ
@given(st.lists(wire_messages(), min_size=1, max_size=8))
def test_wire_frames_are_accepted_or_counted_under_one_reason(messages):
    gate = FrameGate(SITE.radar_ids)
    with tempfile.TemporaryDirectory() as tmp:
        with RecordingWriter(os.path.join(tmp, "f.rcrec")) as writer:
            for message in messages:
                accepted, rejected = gate.frames_accepted, dict(gate.frames_rejected)
                # the receiver's path: screen, record, decode
                if not gate.screen(message):
                    assert_counted_once(gate, accepted, rejected, None)
                    continue
                writer.write(1.0, message)              # screened: never raises
                result = gate.decode(message)
                assert_counted_once(gate, accepted, rejected, result)
                if result is not None:
                    assert result.plots.dtype == PLOT_DTYPE and result.plots.flags.writeable
        assert gate.frames_rejected["decode_error"] == 0        # no decoder fault found
        # and the recording replays exactly what was recorded
        replay = FrameGate(SITE.radar_ids)
        reader = RecordingReader(os.path.join(tmp, "f.rcrec"))
        n = sum(replay.decode(frames) is not None for _, frames in reader)
        assert n == gate.frames_accepted and reader.corrupt_stretches == 0


@FUZZ
@given(st.data())
def test_asterix_datagrams_are_accepted_or_counted(data):
    gate = AsterixGate(SITE)
    valid = encode_cat048(plots_of(1, 5), RADARS)
    for _ in range(data.draw(st.integers(1, 6))):
        parts = data.draw(st.lists(st.sampled_from([b"", valid]) | st.binary(max_size=60)
                                   | st.just(valid).map(lambda v: v), min_size=0, max_size=3))
        parts = [mutate(p, data.draw) if p and data.draw(st.booleans()) else p for p in parts]
        accepted, rejected = gate.frames_accepted, dict(gate.frames_rejected)
        result = gate.decode(parts)
        assert_counted_once(gate, accepted, rejected, result)
    assert gate.frames_rejected["decode_error"] == 0


@FUZZ
@given(st.data())
def test_any_recording_bytes_read_without_error(data):
    """Valid records, then damage: the reader never raises past its header check."""
    records = [(100.0 + k, data.draw(st.lists(st.binary(max_size=30), max_size=3)))
               for k in range(data.draw(st.integers(0, 6)))]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.rcrec")
        with RecordingWriter(path) as writer:
            for receive_time, frames in records:
                writer.write(receive_time, frames)
        blob = open(path, "rb").read()
        damaged = blob[:16] + mutate(blob[16:], data.draw) if len(blob) > 16 else blob
        with open(path, "wb") as f:
            f.write(damaged)
        reader = RecordingReader(path)
        got = list(reader)
        assert reader.records_read == len(got)
        assert reader.end_offset + reader.torn_bytes == len(damaged)
        assert all(16 <= offset and offset + n <= reader.end_offset for offset, n in reader.corrupt)
        assert all(isinstance(part, bytes) for _, frames in got for part in frames)
        # a writer reopening it keeps every valid record and appends after them
        with RecordingWriter(path) as writer:
            writer.write(999.0, [b"after"])
        assert list(RecordingReader(path)) == got + [(999.0, [b"after"])]


def test_recording_writer_refuses_what_no_record_holds(tmp_path):
    with RecordingWriter(tmp_path / "x.rcrec") as writer:
        for message, reason in (([b""] * 65_536, "too_large"), ([object()], "malformed"), (42, "malformed")):
            try:
                writer.write(1.0, message)
            except RecordError as error:
                assert error.reason == reason
            else:
                raise AssertionError(f"{reason} message written")
        assert writer.records_written == 0


CSV_ATOMS = ["1", "-2.5", "1e18", "nan", "inf", "", " ", "x", "1,", ",", "\"", "\r", "\t", "9" * 30,
             "0x10", "1_0", "\u00e9", "-", "+", ".", "e5"]


@FUZZ
@given(st.lists(st.lists(st.sampled_from(CSV_ATOMS), max_size=9).map(",".join), max_size=12),
       st.sampled_from(["\n", "\r\n"]))
@example(lines=["\r"], end="\r\n")         # a stray carriage return is a blank line
def test_plots_csv_lines_are_plots_or_counted_malformed(lines, end):
    text = ",".join(PLOT_COLUMNS) + end + end.join(lines) + end
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "plots.csv")
        with open(path, "wb") as f:
            f.write(text.encode("utf-8"))
        try:
            result = read_plots_csv(path)
        except ValueError as error:
            assert "plots.csv" in str(error)
            return
    body = text.encode("utf-8").split(b"\n")[1:]
    non_blank = [line for line in body if line.rstrip(b"\r").strip(b" \t")]
    assert result.plots.size + result.malformed == len(non_blank)


@FUZZ
@given(st.data())
def test_asterix_files_decode_or_refuse_clearly(data):
    valid = encode_cat048(plots_of(1, 8), RADARS) + encode_cat048(plots_of(2, 3), RADARS)
    blob = data.draw(st.sampled_from([b"", valid]) | st.binary(max_size=200))
    if blob and data.draw(st.booleans()):
        blob = mutate(blob, data.draw)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.ast")
        with open(path, "wb") as f:
            f.write(blob)
        try:
            results = list(iter_ast_file(path, RADARS, chunk_bytes=65535))
        except AsterixError as error:
            assert "f.ast" in str(error)
            assert len(blob) < 3 or not 3 <= (blob[1] << 8 | blob[2]) <= len(blob)
            return
    assert all(r.plots.dtype == PLOT_DTYPE for r in results)
    assert sum(r.blocks for r in results) >= 1


def test_unreadable_inputs_end_replay_with_a_message_and_exit_2(tmp_path, capsys):
    """The issue's cases: an empty .ast, a bad first block header, a CR-only plots.csv."""
    from radarcore.cli import main
    from radarcore.core.config import dump_site

    site = tmp_path / "site.toml"
    site.write_text(dump_site(SITE))
    lines = [",".join(PLOT_COLUMNS), "12.031,1,4210.5,87.21,2.31,-11.2,17.5"]
    cases = {"empty.ast": (b"", "empty file: no ASTERIX data block"),
             "bad.ast": (b"\x30\x00\x01" + bytes(40), "not an ASTERIX recording: the first data block header"),
             "cut.ast": (encode_cat048(plots_of(1, 3), RADARS)[:-1], "not an ASTERIX recording"),
             "plots.csv": ("\r".join(lines).encode() + b"\r", "lines end in a bare carriage return")}
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert main(["replay", str(path), "--site", str(site), "--out", str(tmp_path / "out"),
                     "--quiet"]) == 2, name
        err = capsys.readouterr().err
        assert name in err and message in err, err
