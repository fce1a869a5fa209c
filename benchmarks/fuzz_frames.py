"""Fuzz the live service's input path with a million frames or more.

    python benchmarks/fuzz_frames.py [--frames 1000000] [--serve-frames 100000] [--seed 1]
                                     [--json FILE]

Not a CI test (``tests/test_fuzz_inputs.py`` is the bounded one).  Hostile
messages of every kind (random parts; valid plot frames cut, extended, with
bits flipped or bytes overwritten, split at random; counts that promise
gigabytes; far-ahead, repeated and restarted sequence numbers; messages of
65,536 to 70,000 parts; valid frames) go through:

1. **in process**, ``--frames`` messages: the receiver's path exactly
   (:meth:`FrameGate.screen`, :class:`RecordingWriter`, :meth:`FrameGate.decode`);
   then the recording is read back through a fresh gate (the counts must
   agree with the live ones), damaged at 100 random bytes and read again
   (every damaged stretch reported, nothing raised);
2. **a real** ``radarcore serve --record`` over loopback TCP, ``--serve-frames``
   messages: every message must be received, accepted or counted under one
   reason, serve must stay healthy and stop with exit 0, and its recording
   must replay to the same counts.

Any exception escaping the gate, the writer or the reader is a crash: it is
printed with the message that caused it and the script exits 1.  Counts by
reason are printed (and written with ``--json``).
"""
import argparse
import collections
import json
import os
import random
import struct
import sys
import tempfile
import time
import traceback

import numpy as np

from ingest.codec import encode_plots
from ingest.gate import FrameGate
from ingest.recording import RecordingReader, RecordingWriter
from ingest.schema import PLOT_DTYPE

HEADER = struct.Struct("<4sHHqQIId")
RADARS = (1, 2, 3)
KINDS = ("valid", "random_parts", "truncated", "extended", "bit_flips", "overwritten", "resplit",
         "absurd_count", "seq_far_ahead", "seq_replayed", "seq_restarted", "huge_part_count",
         "wrong_radar_rows")


class Fuzzer:
    """Hostile messages, drawn from a seeded generator; ``kind_counts`` tallies the kinds drawn."""

    def __init__(self, seed, huge_every=500):
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.seq = dict.fromkeys(RADARS, 0)
        self.t = 100.0
        self.kind_counts = collections.Counter()
        self.huge_every = huge_every
        self.n = 0
        self.templates = [self._valid(r) for r in RADARS for _ in range(8)]

    def _plots(self, radar_id, n):
        plots = np.zeros(n, PLOT_DTYPE)
        self.t += 0.01
        plots["time_s"] = self.t + np.arange(n) * 1e-3
        plots["radar_id"] = radar_id
        plots["range_m"] = self.np_rng.uniform(100, 8000, n)
        plots["azimuth_deg"] = self.np_rng.uniform(0, 360, n)
        plots["elevation_deg"] = self.np_rng.uniform(0, 10, n)
        plots["radial_velocity_mps"] = np.nan
        plots["snr_db"] = 10.0
        return plots

    def _valid(self, radar_id=None):
        radar_id = radar_id if radar_id is not None else self.rng.choice(RADARS)
        self.seq[radar_id] += 1
        return encode_plots(radar_id, self.seq[radar_id], self._plots(radar_id, self.rng.randrange(0, 6)))

    def __iter__(self):
        return self

    def __next__(self):
        self.n += 1
        if self.n % self.huge_every == 0:
            kind = "huge_part_count"
        else:
            kind = KINDS[self.rng.randrange(len(KINDS) - 1)] if self.rng.random() < 0.9 else "valid"
            if kind == "huge_part_count":
                kind = "wrong_radar_rows"
        self.kind_counts[kind] += 1
        return kind, getattr(self, "_" + kind)()

    # each kind of message
    def _random_parts(self):
        return [self.rng.randbytes(self.rng.randrange(0, 120)) for _ in range(self.rng.randrange(0, 5))]

    def _template(self):
        header, payload = self.rng.choice(self.templates)
        return bytearray(header + payload), len(header)

    def _truncated(self):
        data, split = self._template()
        cut = self.rng.randrange(0, len(data))
        data = data[:cut]
        return [bytes(data[:min(split, cut)]), bytes(data[min(split, cut):])]

    def _extended(self):
        header, payload = self._valid()
        return [header, payload + self.rng.randbytes(self.rng.randrange(1, 200))]

    def _bit_flips(self):
        data, split = self._template()
        for _ in range(self.rng.randrange(1, 4)):
            data[self.rng.randrange(len(data))] ^= 1 << self.rng.randrange(8)
        return [bytes(data[:split]), bytes(data[split:])]

    def _overwritten(self):
        data, split = self._template()
        at = self.rng.randrange(len(data))
        patch = self.rng.randbytes(self.rng.randrange(1, 9))
        data[at:at + len(patch)] = patch
        return [bytes(data[:split]), bytes(data[split:])]

    def _resplit(self):
        data, _ = self._template()
        cut = self.rng.randrange(len(data) + 1)
        parts = [bytes(data[:cut]), bytes(data[cut:])]
        if self.rng.random() < 0.3:
            parts.append(b"")
        return parts

    def _absurd_count(self):
        header, payload = self._valid()
        fields = list(HEADER.unpack(header))
        fields[5] = self.rng.choice([2 ** 32 - 1, 1_000_001, 999_999, fields[5] + 1])
        return [HEADER.pack(*fields), payload]

    def _seq_far_ahead(self):
        radar_id = self.rng.choice(RADARS)
        plots = self._plots(radar_id, 2)
        return encode_plots(radar_id, self.rng.choice([2 ** 64 - 1, self.seq[radar_id] + 10 ** 6]), plots)

    def _seq_replayed(self):
        radar_id = self.rng.choice(RADARS)
        return encode_plots(radar_id, max(self.seq[radar_id] - self.rng.randrange(0, 50), 0),
                            self._plots(radar_id, 1))

    def _seq_restarted(self):
        radar_id = self.rng.choice(RADARS)
        if self.rng.random() < 0.001:
            self.seq[radar_id] = 0
        return self._valid(radar_id)

    def _huge_part_count(self):
        return [b""] * self.rng.choice([65_536, 70_000])

    def _wrong_radar_rows(self):
        header, payload = self._valid()
        rows = np.frombuffer(payload, PLOT_DTYPE).copy()
        if rows.size:
            rows["radar_id"][self.rng.randrange(rows.size)] = self.rng.randrange(-2 ** 63, 2 ** 63)
        return [header, rows.tobytes()]


class Crashes:
    def __init__(self):
        self.items = []

    def add(self, stage, kind, message, error):
        self.items.append((stage, kind, repr([bytes(p[:48]) for p in message[:3]]) + f" ({len(message)} parts)",
                           "".join(traceback.format_exception(error))))

    def report(self):
        for stage, kind, message, trace in self.items[:10]:
            print(f"CRASH in {stage} on a {kind} message {message}:\n{trace}", file=sys.stderr)


def in_process(n_frames, seed, workdir, crashes):
    gate = FrameGate(RADARS)
    fuzzer = Fuzzer(seed)
    path = os.path.join(workdir, "fuzz.rcrec")
    t0 = time.perf_counter()
    screened = 0
    with RecordingWriter(path, flush_interval_s=5.0) as writer:
        for _ in range(n_frames):
            kind, message = next(fuzzer)
            try:
                if not gate.screen(message):
                    screened += 1
                    continue
                writer.write(1000.0, message)
                gate.decode(message)
            except BaseException as error:        # noqa: BLE001 - a crash is what this looks for
                crashes.add("in-process gate/writer", kind, message, error)
    live_s = time.perf_counter() - t0
    counted = gate.frames_accepted + sum(gate.frames_rejected.values())
    # read back through a fresh gate: the same counts, less the messages never recorded
    t1 = time.perf_counter()
    replay_gate = FrameGate(RADARS)
    reader = RecordingReader(path)
    try:
        for _, frames in reader:
            replay_gate.decode(frames)
    except BaseException as error:                # noqa: BLE001
        crashes.add("recording reader", "recording", [b""], error)
    read_s = time.perf_counter() - t1
    expected = dict(gate.frames_rejected, too_large=gate.frames_rejected["too_large"] - screened)
    replay_agrees = (replay_gate.frames_accepted == gate.frames_accepted
                     and replay_gate.frames_rejected == expected)
    # damage the recording at 100 random bytes and read it again
    size = os.path.getsize(path)
    rng = random.Random(seed)
    with open(path, "r+b") as f:
        for _ in range(100):
            f.seek(rng.randrange(16, size))
            f.write(bytes([rng.randrange(256)]))
    damaged = RecordingReader(path)
    damaged_records = 0
    t2 = time.perf_counter()
    try:
        for _ in damaged:
            damaged_records += 1
    except BaseException as error:                # noqa: BLE001
        crashes.add("damaged recording reader", "recording", [b""], error)
    damaged_s = time.perf_counter() - t2
    return {
        "frames": n_frames,
        "kinds": dict(fuzzer.kind_counts),
        "accepted": gate.frames_accepted,
        "rejected": dict(gate.frames_rejected),
        "every_frame_counted_once": counted == n_frames,
        "seq_resyncs": gate.seq_resyncs,
        "records": reader.records_read,
        "recording_bytes": size,
        "replay_counts_agree": replay_agrees,
        "damaged": {"bytes_overwritten": 100, "records_read": damaged_records,
                    "records_lost": reader.records_read - damaged_records,
                    "corrupt_stretches": damaged.corrupt_stretches,
                    "tail": damaged.stop_reason, "read_s": damaged_s},
        "gate_and_writer_s": live_s,
        "frames_per_s": n_frames / live_s,
        "reader_s": read_s,
    }


def through_serve(n_frames, seed, workdir, crashes):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "serve_benchmark", os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve.py"))
    serve_benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve_benchmark)
    from radarcore.core.config import parse_site

    radar = {"lat_deg": 31.31, "lon_deg": 120.6, "alt_m": 25, "sigma_range_m": 7.5,
             "sigma_azimuth_deg": 0.4, "sigma_elevation_deg": 0.8, "scan_period_s": 1,
             "max_range_m": 8000}
    site = parse_site({"origin": {"lat_deg": 31.3, "lon_deg": 120.6},
                       "radar": [dict(radar, id=r) for r in RADARS]}, "fuzz-site.toml")
    recording = os.path.join(workdir, "serve.rcrec")
    serve = serve_benchmark.ServeProcess(site, workdir, extra=("--record", recording))
    fuzzer = Fuzzer(seed + 1, huge_every=2000)
    t0 = time.perf_counter()
    for k in range(n_frames):
        _, message = next(fuzzer)
        serve.push.send_multipart(message or [b""])        # ZeroMQ sends no message of no part
        if k % 1000 == 999:
            serve.poll_messages(0)
    try:
        last = serve.wait(lambda s: s["frames_received"] >= n_frames, timeout_s=600)
        healthy = serve.proc.poll() is None
    except TimeoutError:
        last, healthy = serve.stats[-1] if serve.stats else {}, serve.proc.poll() is None
    sent_s = time.perf_counter() - t0
    try:
        final = serve.stop()
        exit_status = 0
    except RuntimeError as error:
        final, exit_status = (serve.stats[-1] if serve.stats else {}), str(error)
    if exit_status != 0 or not healthy:
        crashes.add("serve", "stream", [b""], RuntimeError(f"serve unhealthy or exit {exit_status}"))
    replay_gate = FrameGate(RADARS)
    for _, frames in RecordingReader(recording):
        replay_gate.decode(frames)
    received = final.get("frames_received", last.get("frames_received"))
    counted = final.get("frames_accepted", 0) + sum(final.get("frames_rejected", {}).values())
    too_large = final.get("frames_rejected", {}).get("too_large", 0)
    return {
        "frames_sent": n_frames,
        "frames_received": received,
        "accepted": final.get("frames_accepted"),
        "rejected": final.get("frames_rejected"),
        "every_frame_counted_once": counted == received == n_frames,
        "plots_received": final.get("plots_received"),
        "plots_processed": final.get("plots_processed"),
        "plots_rejected": final.get("plots_rejected"),
        "exit_status": exit_status,
        "replay_accepted": replay_gate.frames_accepted,
        "replay_agrees": (replay_gate.frames_accepted == final.get("frames_accepted")
                          and sum(replay_gate.frames_rejected.values())
                          == sum(final.get("frames_rejected", {}).values()) - too_large
                          + replay_gate.frames_rejected["too_large"]),
        "send_and_receive_s": sent_s,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--serve-frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    crashes = Crashes()
    with tempfile.TemporaryDirectory() as workdir:
        result = {"in_process": in_process(args.frames, args.seed, workdir, crashes)}
        r = result["in_process"]
        print(f"in process: {r['frames']:,} frames in {r['gate_and_writer_s']:.1f} s "
              f"({r['frames_per_s']:,.0f} frames/s: screen, record, decode)")
        print("  kinds     " + ", ".join(f"{k} {v:,}" for k, v in sorted(r["kinds"].items())))
        print(f"  accepted  {r['accepted']:,}; rejected " + ", ".join(
            f"{k} {v:,}" for k, v in r["rejected"].items()) + f"; seq resyncs {r['seq_resyncs']}")
        print(f"  every frame counted once: {r['every_frame_counted_once']}; recording "
              f"{r['records']:,} records ({r['recording_bytes'] / 1e6:.0f} MB) replays to the same "
              f"counts: {r['replay_counts_agree']}")
        d = r["damaged"]
        print(f"  100 bytes overwritten: {d['records_read']:,} records read ({d['records_lost']} lost), "
              f"{d['corrupt_stretches']} corrupt stretches reported, tail {d['tail']}, "
              f"read in {d['read_s']:.1f} s")
        if args.serve_frames:
            result["serve"] = through_serve(args.serve_frames, args.seed, workdir, crashes)
            s = result["serve"]
            print(f"radarcore serve over loopback: {s['frames_sent']:,} frames sent, "
                  f"{s['frames_received']:,} received, accepted {s['accepted']:,}; rejected "
                  + ", ".join(f"{k} {v:,}" for k, v in (s["rejected"] or {}).items()))
            print(f"  every frame counted once: {s['every_frame_counted_once']}; plots processed "
                  f"{s['plots_processed']:,} of {s['plots_received']:,}; exit {s['exit_status']}; "
                  f"its recording replays to the same counts: {s['replay_agrees']}")
    result["crashes"] = len(crashes.items)
    print(f"crashes: {len(crashes.items)}")
    crashes.report()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=str)
    ok = (not crashes.items and r["every_frame_counted_once"] and r["replay_counts_agree"]
          and (not args.serve_frames or (result["serve"]["every_frame_counted_once"]
                                         and result["serve"]["replay_agrees"])))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
