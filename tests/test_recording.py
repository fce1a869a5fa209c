"""Tests of ingest.recording: the file layout against an independent builder,
round trips, cuts at every byte, corruption, appending, flushing, and the
plot-replay helper."""
import math
import os
import struct
import tempfile
import zlib

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import recording
from ingest.codec import FrameError, PlotFrame, encode_plots
from ingest.recording import (
    RecordingReader,
    RecordingWriter,
    iter_recording_plots,
    read_recording,
    recording_time_span,
)
from ingest.schema import empty_plots

HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])

HEADER = b"RCREC\x00\x00\x01" + bytes(8)


# --------------------------------------------------------------------------
# an independent builder, written from the documented layout

def record_bytes(receive_time, frames):
    body = struct.pack("<d", receive_time) + len(frames).to_bytes(2, "little")
    for part in frames:
        body += len(part).to_bytes(4, "little") + bytes(part)
    return len(body).to_bytes(4, "little") + zlib.crc32(body).to_bytes(4, "little") + body


def build_file(records):
    """File bytes and the end offset of every record."""
    data = bytearray(HEADER)
    ends = []
    for receive_time, frames in records:
        data += record_bytes(receive_time, frames)
        ends.append(len(data))
    return bytes(data), ends


def sample_records(n=4, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for k in range(n):
        n_parts = int(rng.integers(0, 4))
        frames = [rng.bytes(int(rng.integers(0, 40))) for _ in range(n_parts)]
        records.append((1000.0 + k + float(rng.random()), frames))
    return records


def write_records(path, records, **kwargs):
    with RecordingWriter(path, **kwargs) as writer:
        for receive_time, frames in records:
            writer.write(receive_time, frames)
    return writer


def read_all(path):
    reader = read_recording(path)
    return list(reader), reader


def plot_frame(radar_id, seq, n, t0):
    plots = empty_plots(n)
    plots["time_s"] = t0 + np.arange(n) * 0.01
    plots["radar_id"] = radar_id
    plots["range_m"] = 1000.0 + seq
    return encode_plots(radar_id, seq, plots)


# --------------------------------------------------------------------------
# layout and round trips

def test_file_layout_matches_the_documented_bytes(tmp_path):
    records = sample_records(5)
    path = tmp_path / "a.rec"
    writer = write_records(path, records)
    expected, ends = build_file(records)
    assert path.read_bytes() == expected
    assert writer.records_written == 5
    assert writer.bytes_written == len(expected) - 16
    assert writer.closed


def test_write_then_read_back(tmp_path):
    records = sample_records(50, seed=1)
    records.append((5.0, []))
    records.append((6.0, [b""]))
    records.append((7.0, [b"x" * 70_000, b"", b"y"]))
    path = tmp_path / "b.rec"
    write_records(path, records)
    read, reader = read_all(path)
    assert read == records
    assert all(isinstance(part, bytes) for _, frames in read for part in frames)
    assert (reader.records_read, reader.torn_bytes, reader.stop_reason) == (len(records), 0, None)
    assert reader.end_offset == path.stat().st_size
    assert list(reader) == records                          # iterable again


@HYPOTHESIS
@given(st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False),
                          st.lists(st.binary(max_size=64), max_size=5)), max_size=12))
def test_round_trip_property(records):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "p.rec")
        write_records(path, records)
        with open(path, "rb") as file:
            assert file.read() == build_file(records)[0]
        read, reader = read_all(path)
        assert read == records
        assert reader.records_read == len(records) and reader.torn_bytes == 0


def test_writer_accepts_any_byte_buffers(tmp_path):
    path = tmp_path / "c.rec"
    parts = [zmq.Frame(b"abc"), memoryview(b"defg"), bytearray(b"h"),
             np.arange(3, dtype=np.float64), memoryview(b"0123456789")[::3]]
    write_records(path, [(1.0, parts)])
    (receive_time, frames), = read_all(path)[0]
    assert frames == [b"abc", b"defg", b"h", np.arange(3, dtype=np.float64).tobytes(), b"0369"]


def test_write_rejects_bad_arguments(tmp_path):
    path = tmp_path / "d.rec"
    writer = RecordingWriter(path)
    for receive_time, frames, match in [
        (math.nan, [b"a"], "finite"),
        (math.inf, [b"a"], "finite"),
        (1.0, ["text"], "part 0"),
        (1.0, [b"a", 5], "part 1"),
        (1.0, [b""] * 65536, "65535"),
    ]:
        with pytest.raises(ValueError, match=match):
            writer.write(receive_time, frames)
    writer.write(2.0, [b"ok"])
    writer.close()
    writer.close()                                         # idempotent
    with pytest.raises(ValueError, match="closed"):
        writer.write(3.0, [b"late"])
    assert read_all(path)[0] == [(2.0, [b"ok"])]
    with pytest.raises(ValueError, match="flush_interval_s"):
        RecordingWriter(tmp_path / "e.rec", flush_interval_s=-1)
    with pytest.raises(ValueError, match="flush_interval_s"):
        RecordingWriter(tmp_path / "e.rec", flush_interval_s=math.nan)


# --------------------------------------------------------------------------
# cuts, corruption, appending

def test_cut_at_every_byte_offset(tmp_path):
    records = sample_records(4, seed=2)
    data, ends = build_file(records)
    new_record = (2000.0, [b"after", b"restart"])
    path = tmp_path / "cut.rec"
    for cut in range(len(data) + 1):
        path.write_bytes(data[:cut])
        whole = sum(end <= cut for end in ends)
        last_end = ends[whole - 1] if whole else (16 if cut >= 16 else 0)
        read, reader = read_all(path)
        assert read == records[:whole], cut
        assert reader.records_read == whole
        assert reader.torn_bytes == cut - last_end, cut
        assert reader.stop_reason == (None if cut == last_end else "torn"), cut
        # a writer reopening it cuts the torn tail and carries on
        with RecordingWriter(path) as writer:
            assert writer.truncated_bytes == cut - last_end
            assert writer.records_found == whole
            writer.write(*new_record)
        read, reader = read_all(path)
        assert read == records[:whole] + [new_record], cut
        assert reader.torn_bytes == 0
        assert path.read_bytes() == build_file(records[:whole] + [new_record])[0]


def test_flipped_byte_skips_that_record_and_replays_every_one_after_it(tmp_path):
    records = sample_records(5, seed=3)
    records[2] = (1002.5, [b"middle record payload"])
    data, ends = build_file(records)
    path = tmp_path / "flip.rec"
    start, end = ends[1], ends[2]
    for position in range(start, end):
        mutated = bytearray(data)
        mutated[position] ^= 0x10
        path.write_bytes(bytes(mutated))
        read, reader = read_all(path)
        assert read == records[:2] + records[3:], position
        assert reader.records_read == 4
        assert reader.corrupt == [(start, end - start)], position
        assert (reader.corrupt_stretches, reader.corrupt_bytes) == (1, end - start)
        assert (reader.torn_bytes, reader.stop_reason) == (0, None)
        assert reader.end_offset == len(data)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_damage_anywhere_loses_only_the_records_it_touches(data):
    """Random records, random bytes overwritten: every untouched record replays, in order."""
    n = data.draw(st.integers(2, 8))
    records = [(1000.0 + k, data.draw(st.lists(st.binary(max_size=30), max_size=3))) for k in range(n)]
    blob, ends = build_file(records)
    starts = [16] + ends[:-1]
    damaged = bytearray(blob)
    lo = data.draw(st.integers(16, len(blob) - 1))
    hi = data.draw(st.integers(lo + 1, min(len(blob), lo + 40)))
    damaged[lo:hi] = data.draw(st.binary(min_size=hi - lo, max_size=hi - lo))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.rec")
        with open(path, "wb") as f:
            f.write(damaged)
        read, reader = read_all(path)
    untouched = [r for r, a, b in zip(records, starts, ends) if b <= lo or a >= hi]
    # the damage may leave its records valid (same bytes) or, rarely, forge one: untouched ones all come
    got = iter(read)
    assert all(any(r == g for g in got) for r in untouched)
    assert reader.records_read == len(read)


def raw_record(body):
    return len(body).to_bytes(4, "little") + zlib.crc32(body).to_bytes(4, "little") + body


@pytest.mark.parametrize("body", [
    b"",                                                            # no receive time
    struct.pack("<d", 1.0) + b"\x01",                              # part count cut short
    struct.pack("<dH", 1.0, 1) + b"\x05\x00",                      # part length cut short
    struct.pack("<dH", 1.0, 1) + struct.pack("<I", 6) + b"12345",  # part past the body
    struct.pack("<dH", 1.0, 1) + struct.pack("<I", 2) + b"123",    # bytes left over
    struct.pack("<dH", 1.0, 0) + b"\x00",                          # bytes left over
], ids=range(6))
def test_checksummed_body_with_a_bad_layout_is_corrupt(tmp_path, body):
    records = sample_records(2, seed=8)
    data, ends = build_file(records)
    path = tmp_path / "layout.rec"
    path.write_bytes(data + raw_record(body) + record_bytes(5.0, [b"after"]))
    read, reader = read_all(path)
    assert read == records + [(5.0, [b"after"])]
    assert reader.corrupt == [(ends[-1], len(raw_record(body)))]
    assert reader.stop_reason is None
    path.write_bytes(data + raw_record(body))           # at the tail
    read, reader = read_all(path)
    assert read == records and reader.corrupt == []
    assert reader.stop_reason == "corrupt" and reader.end_offset == ends[-1]


def test_writer_keeps_a_corrupt_record_before_the_tail_and_appends(tmp_path):
    records = sample_records(5, seed=4)
    records[2] = (1002.5, [b"middle record payload"])
    data, ends = build_file(records)
    mutated = bytearray(data)
    mutated[ends[1] + 20] ^= 0xFF
    path = tmp_path / "bad.rec"
    path.write_bytes(bytes(mutated))
    with RecordingWriter(path) as writer:
        assert writer.corrupt_found == [(ends[1], ends[2] - ends[1])]
        assert (writer.records_found, writer.truncated_bytes) == (4, 0)
        writer.write(3000.0, [b"new"])
    assert path.read_bytes()[:len(data)] == bytes(mutated)      # nothing before the end rewritten
    read, reader = read_all(path)
    assert read == records[:2] + records[3:] + [(3000.0, [b"new"])]
    assert reader.corrupt == [(ends[1], ends[2] - ends[1])]


def test_resync_over_a_long_damaged_stretch(tmp_path):
    records = sample_records(3, seed=9)
    data, ends = build_file(records[:1])
    garbage = np.random.default_rng(0).bytes(3 << 20)      # longer than one resync chunk
    tail, _ = build_file(records[1:])
    path = tmp_path / "long.rec"
    path.write_bytes(data + garbage + tail[16:])
    read, reader = read_all(path)
    assert read == records
    assert reader.corrupt == [(ends[0], len(garbage))]


def test_writer_refuses_too_many_parts_or_bytes_and_writes_nothing(tmp_path):
    from ingest.recording import MAX_RECORD_PARTS, RecordError, record_size_problem

    path = tmp_path / "caps.rec"
    with RecordingWriter(path, max_body_bytes=1000) as writer:
        too_many = [b""] * (MAX_RECORD_PARTS + 1)
        assert "65536 parts" in record_size_problem(too_many)
        with pytest.raises(RecordError, match="65536 parts") as info:
            writer.write(1.0, too_many)
        assert info.value.reason == "too_large"
        with pytest.raises(RecordError, match="more than 1,000 bytes"):
            writer.write(1.0, [b"x" * 600, b"y" * 600])
        assert record_size_problem([b"x" * 1000]) is None
        writer.write(2.0, [b"ok"])
    with RecordingWriter(path) as writer:
        writer.write(3.0, [b""] * MAX_RECORD_PARTS)
    assert [t for t, _ in read_all(path)[0]] == [2.0, 3.0]


@pytest.mark.parametrize("tail", ["corrupt_last", "zeros", "zeros_after_partial"])
def test_writer_cuts_damaged_tails(tmp_path, tail):
    records = sample_records(3, seed=5)
    data, ends = build_file(records)
    if tail == "corrupt_last":
        mutated = bytearray(data)
        mutated[-1] ^= 0x01
        damaged, keep = bytes(mutated), records[:2]
    elif tail == "zeros":
        damaged, keep = data + bytes(4096), records
    else:
        damaged, keep = data + record_bytes(9.0, [b"partial"])[:11] + bytes(3000), records
    path = tmp_path / "tail.rec"
    path.write_bytes(damaged)
    assert read_all(path)[0] == keep
    with RecordingWriter(path) as writer:
        assert writer.truncated_bytes == len(damaged) - build_file(keep)[1][-1]
        writer.write(3000.0, [b"new"])
    assert read_all(path)[0] == keep + [(3000.0, [b"new"])]


def test_appending_continues_a_recording(tmp_path):
    first, second = sample_records(3, seed=6), sample_records(2, seed=7)
    path = tmp_path / "append.rec"
    write_records(path, first)
    writer = write_records(path, second)
    assert writer.records_found == 3 and writer.truncated_bytes == 0
    assert writer.records_written == 2
    assert read_all(path)[0] == first + second
    assert path.read_bytes() == build_file(first + second)[0]


def test_bad_headers_raise_naming_the_file(tmp_path):
    data, _ = build_file(sample_records(2))
    cases = {
        "text.rec": b"time_s,radar_id\n1.0,1\n",
        "version.rec": b"RCREC\x00\x00\x02" + data[8:],
        "flags.rec": data[:8] + struct.pack("<Q", 1) + data[16:],
        "short.rec": b"RCREX",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            read_recording(path)
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            RecordingWriter(path)
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            iter_recording_plots(path)
        assert path.read_bytes() == content
    with pytest.raises(ValueError, match="format 2"):
        read_recording(tmp_path / "version.rec")


def test_empty_and_missing_files(tmp_path):
    path = tmp_path / "empty.rec"
    path.write_bytes(b"")
    read, reader = read_all(path)
    assert read == [] and reader.torn_bytes == 0 and reader.stop_reason is None
    assert all(math.isnan(t) for t in recording_time_span(path))
    with RecordingWriter(path):
        pass
    assert path.read_bytes() == HEADER
    with pytest.raises(FileNotFoundError):
        read_recording(tmp_path / "missing.rec")
    with RecordingWriter(tmp_path / "new.rec") as writer:
        assert writer.records_found == 0 and writer.truncated_bytes == 0
    assert (tmp_path / "new.rec").read_bytes() == HEADER


def test_one_writer_at_a_time(tmp_path):
    path = tmp_path / "lock.rec"
    with RecordingWriter(path):
        with pytest.raises(ValueError, match="another"):
            RecordingWriter(path)
    with RecordingWriter(path):
        pass


# --------------------------------------------------------------------------
# flushing

class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_flush_interval_is_honoured(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(recording, "_clock", clock)
    fsyncs = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    path = tmp_path / "flush.rec"
    writer = RecordingWriter(path, flush_interval_s=1.0)
    assert path.stat().st_size == 16                       # the header is on disk at once
    n_fsyncs = len(fsyncs)
    writer.write(1.0, [b"a" * 100])
    clock.now += 0.6
    writer.write(2.0, [b"b" * 100])
    assert path.stat().st_size == 16                       # not yet due
    assert not writer.flush_if_due()
    clock.now += 0.4                                       # 1.0 s since the last flush
    writer.write(3.0, [b"c" * 100])
    assert path.stat().st_size == 16 + writer.bytes_written
    assert len(fsyncs) == n_fsyncs + 1
    assert [t for t, _ in read_all(path)[0]] == [1.0, 2.0, 3.0]
    writer.write(4.0, [b"d"])
    clock.now += 0.5
    assert not writer.flush_if_due()
    clock.now += 0.5
    assert writer.flush_if_due()                           # an idle caller's flush
    assert path.stat().st_size == 16 + writer.bytes_written
    writer.write(5.0, [b"e"])
    size = path.stat().st_size
    writer.close()                                         # close flushes
    assert path.stat().st_size == size + writer.bytes_written - (size - 16)
    assert len(read_all(path)[0]) == 5


def test_flush_interval_zero_and_explicit_flush(tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "_clock", FakeClock())
    path = tmp_path / "zero.rec"
    with RecordingWriter(path, flush_interval_s=0.0) as writer:
        for k in range(3):
            writer.write(float(k), [b"x" * k])
            assert path.stat().st_size == 16 + writer.bytes_written
    path2 = tmp_path / "explicit.rec"
    with RecordingWriter(path2, flush_interval_s=3600.0) as writer:
        writer.write(1.0, [b"y"])
        assert path2.stat().st_size == 16
        writer.flush()
        assert path2.stat().st_size == 16 + writer.bytes_written


def test_large_batches_reach_the_file_before_a_flush(tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "_clock", FakeClock())
    path = tmp_path / "big.rec"
    with RecordingWriter(path, flush_interval_s=3600.0) as writer:
        for k in range(40):
            writer.write(float(k), [bytes(50_000)])
        # what reached the file so far is whole records only
        on_disk = path.stat().st_size
        assert on_disk >= 16 + (1 << 20)
        read, reader = read_all(path)
        assert reader.records_read == len(read) >= 20
        assert reader.end_offset + reader.torn_bytes == on_disk


# --------------------------------------------------------------------------
# time span and plot replay

def plot_recording(path, receive_times, garbage_at=()):
    with RecordingWriter(path) as writer:
        for seq, receive_time in enumerate(receive_times):
            if seq in garbage_at:
                writer.write(receive_time, [b"not a plot frame"])
            else:
                writer.write(receive_time, plot_frame(1 + seq % 2, seq, 1 + seq % 3,
                                                      receive_time - 0.05))


def test_time_span(tmp_path):
    path = tmp_path / "span.rec"
    plot_recording(path, [10.0, 11.5, 11.0, 14.25])
    assert recording_time_span(path) == (10.0, 14.25)
    with open(path, "ab") as file:
        file.write(record_bytes(99.0, [b"torn"])[:-1])
    assert recording_time_span(path) == (10.0, 14.25)


def test_iter_recording_plots(tmp_path):
    path = tmp_path / "plots.rec"
    times = [100.0 + k for k in range(10)]
    plot_recording(path, times, garbage_at={7})
    items = list(iter_recording_plots(path))
    assert len(items) == 10
    assert isinstance(items[7], FrameError) and items[7].reason == "malformed"
    frames = [item for item in items if isinstance(item, PlotFrame)]
    assert [frame.seq for frame in frames] == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    for frame in frames:
        assert frame.radar_id == 1 + frame.seq % 2
        assert frame.plots.size == 1 + frame.seq % 3
        assert np.all(frame.plots["range_m"] == 1000.0 + frame.seq)
    # the last since_s seconds by receive time: receive_time >= 109 - since_s
    for since_s, expected in [(0, [9]), (0.5, [9]), (3, [6, 7, 8, 9]), (3.0, [6, 7, 8, 9]),
                              (9, list(range(10))), (1e9, list(range(10)))]:
        kept = list(iter_recording_plots(path, since_s=since_s))
        assert [getattr(item, "seq", 7) for item in kept] == expected, since_s
    for bad in (-1, math.nan, math.inf, "3", True):
        with pytest.raises(ValueError, match="since_s"):
            iter_recording_plots(path, since_s=bad)


def test_iter_recording_plots_filters_by_time_not_position(tmp_path):
    path = tmp_path / "order.rec"
    plot_recording(path, [50.0, 58.0, 52.0, 59.0, 60.0])   # receive clock not monotonic
    kept = list(iter_recording_plots(path, since_s=3.0))
    assert [item.seq for item in kept] == [1, 3, 4]
    big = tmp_path / "max.rec"
    with RecordingWriter(big) as writer:
        writer.write(1.0, plot_frame(1, 0, 5, 0.0))
    item, = iter_recording_plots(big, max_plots=4)
    assert isinstance(item, FrameError) and item.reason == "too_large"


def test_reader_of_a_file_being_written(tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "_clock", FakeClock())
    path = tmp_path / "live.rec"
    with RecordingWriter(path, flush_interval_s=0.0) as writer:
        writer.write(1.0, [b"one"])
        reader = RecordingReader(path)
        assert list(reader) == [(1.0, [b"one"])]
        writer.write(2.0, [b"two"])
        assert list(reader) == [(1.0, [b"one"]), (2.0, [b"two"])]
        assert reader.records_read == 2
