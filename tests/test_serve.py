"""The live service (radarcore serve), its frame gate, recordings, keys and metrics.

Every service test runs a real :class:`radarcore.service.serve.Service` on loopback
TCP or ``inproc://`` sockets and compares what it published with an offline
reference: a fresh :class:`radarcore.core.engine.Engine` fed the good plots
directly.  Expected counters come from the test's own bookkeeping of what it
sent; frame layouts are re-read with ``struct`` from the byte layouts
documented in ingest/codec.py and ingest/recording.py, not with the code
under test.  Every wait is bounded.
"""
import io
import json
import math
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import zmq
import zmq.utils.monitor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.codec import decode_alerts, decode_stats, decode_tracks, encode_plots
from ingest.csvio import TrackCsvWriter
from ingest.schema import PLOT_DTYPE, TRACK_ROW_DTYPE
from radarcore.core.alerts import AlertJsonlWriter
from radarcore.cli import main
from radarcore.core.config import ConfigError, ServiceConfig, dump_site, parse_site
from radarcore.service.emulate import plan_bursts
from radarcore.core.engine import Engine
from ingest.gate import FrameGate, RateLimitedLog
from radarcore.service.latency import LatencyHistogram
from radarcore.core.alerts import EVENTS as ALERT_EVENTS
from radarcore.service.serve import PlotQueue, Service
from radarcore.sim.simulate import simulate

REPO = Path(__file__).resolve().parent.parent
WAIT_S = 20.0                 # upper bound of every wait; tests normally take far less
PLOT_ITEMSIZE = 56            # ingest/codec.py: count * 56 payload bytes
HEADER = struct.Struct("<4sHHqQIId")   # ingest/codec.py: the 40-byte plot frame header
FRAME_REASONS = ("malformed", "wrong_version", "length_mismatch", "too_large", "duplicate_seq", "seq_jump",
                 "decode_error")
PLOT_REASONS = ("non_finite", "unknown_radar", "out_of_range", "late", "time_jump", "shed", "unprocessed")
SEQ_WINDOW = 10_000           # ingest/gate.py: accepted when last < seq <= last + SEQ_WINDOW


# --------------------------------------------------------------------------
# scenario and reference


@pytest.fixture(scope="module")
def scenario():
    """The sparse scenario (2 radars, an asset with zones: tracks and alerts), 60 s."""
    scenario = simulate("sparse", seed=1, duration_s=60)
    batches = []
    seq = {}
    for burst in plan_bursts(scenario.plots):
        n = seq.get(burst.radar_id, 0)
        seq[burst.radar_id] = n + 1
        batches.append((burst.radar_id, n, scenario.plots[burst.index]))
    return scenario.site, batches


def offline(site, plot_batches):
    """Track rows and alert events of a fresh engine fed these plots, then flushed."""
    engine = Engine(site)
    plots = np.concatenate(plot_batches) if plot_batches else np.zeros(0, PLOT_DTYPE)
    rows = np.concatenate([engine.process(plots), engine.flush()])
    return rows, engine.pop_alerts(), engine.stats


def tracks_text(rows):
    buffer = io.BytesIO()
    with TrackCsvWriter(buffer) as writer:
        writer.write(rows)
    return buffer.getvalue().decode()


def alerts_text(events, path):
    with AlertJsonlWriter(path) as writer:
        writer.write(events)
    return Path(path).read_text()


def frame(radar_id, seq, plots):
    return encode_plots(radar_id, seq, plots)


class Harness:
    """A service on inproc:// sockets with a confirmed subscriber and a pusher."""

    count = 0

    def __init__(self, site, **options):
        Harness.count += 1
        name = f"serve-test-{os.getpid()}-{Harness.count}"
        self.context = zmq.Context()
        options.setdefault("stats_interval_s", 0.05)
        self.service = Service(site, f"inproc://{name}-plots", f"inproc://{name}-pub",
                               context=self.context, **options)
        self.service.start()
        self.sub = self.context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.connect(self.service.publish_address)
        self.push = self.context.socket(zmq.PUSH)
        self.push.connect(self.service.plots_address)
        self.messages = []
        self.sent = 0
        # the subscription is live once a stats message comes through
        self._next(topic=b"stats")

    def _next(self, topic=None):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.sub.poll(100):
                message = self.sub.recv_multipart()
                if topic is None or message[0] == topic:
                    return message
                self.messages.append(message)
        raise AssertionError(f"no {topic} message within {WAIT_S} s")

    def send(self, messages):
        for message in messages:
            self.push.send_multipart(message)
            self.sent += 1

    def wait_received(self, n_frames):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.service.stats()["frames_received"] >= n_frames:
                return
            self.sub.poll(20)
            while self.sub.poll(0):
                self.messages.append(self.sub.recv_multipart())
        raise AssertionError(f"the service did not receive {n_frames} frames within {WAIT_S} s")

    def finish(self):
        """Wait for everything sent, stop, and return (rows, alerts, final stats)."""
        self.wait_received(self.sent)
        self.service.stop()
        final = None
        while final is None:
            message = self._next()
            if message[0] == b"stats" and decode_stats(message).get("final"):
                final = decode_stats(message)
            else:
                self.messages.append(message)
        self.close()
        rows = [decode_tracks(m) for m in self.messages if m[0] == b"tracks"]
        alerts = [e for m in self.messages if m[0] == b"alerts" for e in decode_alerts(m)]
        rows = np.concatenate(rows) if rows else np.zeros(0, TRACK_ROW_DTYPE)
        return rows, alerts, final

    def close(self):
        self.service.stop()
        self.sub.close(linger=0)
        self.push.close(linger=0)
        self.context.term()


def assert_same_output(rows, alerts, site, good_batches):
    ref_rows, ref_alerts, ref_stats = offline(site, good_batches)
    assert rows.size == ref_rows.size > 0
    assert rows.tobytes() == ref_rows.tobytes()
    assert alerts == json.loads(json.dumps(ref_alerts))
    return ref_stats


# --------------------------------------------------------------------------
# bad input, one reason at a time, interleaved with the real scenario


def _bad_plot(plots, **values):
    bad = plots[:1].copy()
    for name, value in values.items():
        bad[name] = value
    return bad


def case_malformed(site, batches, rng):
    junk = [[b"x" * 40], [b"RCPL"], [b"", b""], [b"\0" * 40, b""], [b"NOPE" + b"\0" * 36, b""],
            [b"a", b"b", b"c"]]
    return {"insert": junk, "frames": {"malformed": len(junk)}}


def case_truncated(site, batches, rng):
    # a frame cut short in transit, then sent whole (the same sequence number)
    replaced = {}
    for k in rng.sample(range(len(batches)), 6):
        radar_id, seq, plots = batches[k]
        header, payload = frame(radar_id, seq, plots)
        cut = rng.randrange(0, len(payload))
        replaced[k] = [[header, payload[:cut]], [header, payload]]
    return {"replace": replaced, "frames": {"length_mismatch": 6}}


def case_wrong_version(site, batches, rng):
    radar_id, seq, plots = batches[3]
    header, payload = frame(radar_id, seq + 10_000, plots)
    fields = list(HEADER.unpack(header))
    messages = []
    for version in (0, 2, 65535):
        fields[1] = version
        messages.append([HEADER.pack(*fields), payload])
    return {"insert": messages, "frames": {"wrong_version": 3}}


def case_length_mismatch(site, batches, rng):
    radar_id, seq, plots = batches[5]
    header, payload = frame(radar_id, seq + 10_000, plots)
    fields = list(HEADER.unpack(header))
    fields[5] += 1                          # count one more than the payload holds
    longer = [HEADER.pack(*fields), payload]
    other_radar = plots.copy()
    other_radar["radar_id"][-1] = radar_id + 1
    mixed = [header, other_radar.tobytes()]  # a row of another radar
    return {"insert": [longer, [header, payload + b"\0" * PLOT_ITEMSIZE], mixed],
            "frames": {"length_mismatch": 3}}


def _plot_case(reason, make_bad, n=5):
    def case(site, batches, rng):
        replaced = {}
        for k in rng.sample(range(len(batches)), n):
            radar_id, seq, plots = batches[k]
            bad = make_bad(plots)
            at = rng.randrange(0, plots.size + 1)
            replaced[k] = [frame(radar_id, seq, np.concatenate([plots[:at], bad, plots[at:]]))]
        return {"replace": replaced, "plots": {reason: n}}
    return case


case_nan = _plot_case("non_finite", lambda p: _bad_plot(p, range_m=np.nan))
case_absurd = _plot_case("out_of_range", lambda p: _bad_plot(p, elevation_deg=120.0))
case_time_jump = _plot_case("time_jump", lambda p: _bad_plot(p, time_s=p["time_s"][0] + 1e6))


def case_unknown_radar(site, batches, rng):
    plots = batches[2][2].copy()
    plots["radar_id"] = 99
    return {"insert": [frame(99, 0, plots), frame(99, 1, plots)],
            "plots": {"unknown_radar": 2 * plots.size}, "accepted_extra": 2 * plots.size}


def case_duplicate_seq(site, batches, rng):
    # after frame k: a copy of frame k (duplicate) and of an earlier one (replayed)
    replaced = {}
    for k in (10, 40, 41, 90):
        radar_id, seq, plots = batches[k]
        earlier = next(b for b in batches[:k] if b[0] == radar_id)
        replaced[k] = [frame(radar_id, seq, plots), frame(radar_id, seq, plots), frame(*earlier)]
    return {"replace": replaced, "frames": {"duplicate_seq": 8}}


CASES = {"malformed": case_malformed, "truncated_payload": case_truncated,
         "wrong_version": case_wrong_version, "length_mismatch": case_length_mismatch,
         "nan_plot": case_nan, "absurd_value": case_absurd, "unknown_radar": case_unknown_radar,
         "duplicate_seq": case_duplicate_seq, "time_jump": case_time_jump}


def build_stream(batches, case, rng):
    """Messages to send, interleaving the case's bad messages with the good frames."""
    messages = []
    replace = case.get("replace", {})
    for k, (radar_id, seq, plots) in enumerate(batches):
        messages.extend(replace.get(k, [frame(radar_id, seq, plots)]))
    for bad in case.get("insert", []):
        messages.insert(rng.randrange(0, len(messages) + 1), bad)
    return messages


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_counted_and_dropped(scenario, name):
    site, batches = scenario
    rng = random.Random(name)
    case = CASES[name](site, batches, rng)
    messages = build_stream(batches, case, rng)
    harness = Harness(site)
    harness.send(messages)
    rows, alerts, final = harness.finish()
    ref_stats = assert_same_output(rows, alerts, site, [b[2] for b in batches])

    expected_frames = dict.fromkeys(FRAME_REASONS, 0)
    expected_frames.update(case.get("frames", {}))
    assert final["frames_received"] == len(messages)
    assert final["frames_rejected"] == expected_frames
    assert final["frames_accepted"] == len(messages) - sum(expected_frames.values())
    expected_plots = {reason: ref_stats.rejected.get(reason, 0) for reason in PLOT_REASONS}
    for reason, n in case.get("plots", {}).items():
        expected_plots[reason] += n
    assert final["plots_rejected"] == expected_plots
    n_good = sum(b[2].size for b in batches)
    bad_plots = sum(case.get("plots", {}).values())
    assert final["plots_received"] == n_good + bad_plots
    assert final["plots_processed"] == n_good + bad_plots
    assert final["plots_late"] == expected_plots["late"]
    assert final["plots_shed"] == 0


def test_garbage_interleaved_with_a_scenario_over_tcp(scenario, tmp_path):
    """Random garbage of every kind between the good frames: tracks are those of the good frames."""
    site, batches = scenario
    rng = random.Random(7)
    good = [frame(*b) for b in batches]
    junk = []
    for _ in range(300):
        kind = rng.randrange(5)
        radar_id, seq, plots = batches[rng.randrange(len(batches))]
        header, payload = frame(radar_id, seq, plots)
        if kind == 0:
            junk.append([rng.randbytes(rng.randrange(0, 80)) for _ in range(rng.randrange(1, 4))])
        elif kind == 1:     # a bit flipped in the magic, version, flags, radar id, count or reserved
            # (a flipped sequence number or t_first makes another valid frame, which no
            # receiver can tell from a real one: the transport's integrity covers those)
            h = bytearray(header)
            h[rng.choice([*range(0, 16), *range(24, 32)])] ^= 1 << rng.randrange(8)
            junk.append([bytes(h), payload])
        elif kind == 2:     # payload cut or extended
            junk.append([header, payload[:rng.randrange(len(payload))] if rng.random() < 0.5
                         else payload + rng.randbytes(rng.randrange(1, 100))])
        elif kind == 3:     # a replay of an already sent frame (duplicate sequence number)
            junk.append(None)
        else:
            junk.append([header])
    messages, sent_good = [], 0
    for message in good:
        messages.append(message)
        sent_good += 1
        while junk and rng.random() < 0.7:
            bad = junk.pop()
            # a replay repeats a good frame already sent
            messages.append(good[rng.randrange(sent_good)] if bad is None else bad)
    context = zmq.Context()
    service = Service(site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", context=context, stats_interval_s=0.05,
                      out_dir=str(tmp_path))
    service.start()
    push = context.socket(zmq.PUSH)
    push.connect(service.plots_address)
    try:
        for message in messages:
            push.send_multipart(message)
        deadline = time.monotonic() + WAIT_S
        while service.stats()["frames_received"] < len(messages) and time.monotonic() < deadline:
            push.poll(20, zmq.POLLOUT)
        summary = service.stop()
    finally:
        push.close(linger=0)
        context.term()
    assert summary["frames_received"] == len(messages)
    assert summary["frames_accepted"] == len(good)
    assert sum(summary["frames_rejected"].values()) == len(messages) - len(good)
    assert summary["engine"]["plots_received"] == sum(b[2].size for b in batches)
    ref_rows, ref_alerts, _ = offline(site, [b[2] for b in batches])
    assert (tmp_path / "tracks.csv").read_text() == tracks_text(ref_rows)
    assert (tmp_path / "alerts.jsonl").read_text() == alerts_text(ref_alerts, tmp_path / "ref.jsonl")
    assert summary["epochs_published"] == np.unique(ref_rows["time_s"]).size


# --------------------------------------------------------------------------
# fuzzing the gate against a reference reading of the documented layout


def reference_reason(parts, max_plots, radar_ids, last_seq):
    """The rejection reason of ingest/codec.py's docstring, or None; checks in its order."""
    if len(parts) != 2:
        return "malformed"
    header, payload = parts
    if len(header) != HEADER.size:
        return "malformed"
    magic, version, flags, radar_id, seq, count, reserved, _ = HEADER.unpack(header)
    if magic != b"RCPL":
        return "malformed"
    if version != 1:
        return "wrong_version"
    if flags or reserved:
        return "malformed"
    if count > max_plots:
        return "too_large"
    if len(payload) != count * PLOT_ITEMSIZE:
        return "length_mismatch"
    if any(struct.unpack_from("<q", payload, PLOT_ITEMSIZE * k + 8)[0] != radar_id for k in range(count)):
        return "length_mismatch"
    if radar_id in radar_ids and radar_id in last_seq and seq <= last_seq[radar_id]:
        return "duplicate_seq"
    if radar_id in radar_ids and radar_id in last_seq and seq > last_seq[radar_id] + SEQ_WINDOW:
        return "seq_jump"
    return None


@st.composite
def frames(draw):
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.lists(st.binary(max_size=120), max_size=4))
    count = draw(st.integers(0, 4) | st.integers(0, 2 ** 32 - 1))
    radar_id = draw(st.sampled_from([1, 2, 99]) | st.integers(-2 ** 63, 2 ** 63 - 1))
    header = HEADER.pack(draw(st.sampled_from([b"RCPL", b"RCPM", b"\0\0\0\0"])),
                         draw(st.sampled_from([1, 1, 1, 0, 2])), draw(st.sampled_from([0, 0, 0, 1])),
                         radar_id, draw(st.integers(0, 2 ** 64 - 1)), count,
                         draw(st.sampled_from([0, 0, 0, 7])), draw(st.floats()))
    n_rows = count if count <= 4 else draw(st.integers(0, 4))
    rows = np.zeros(n_rows, PLOT_DTYPE)
    rows["radar_id"] = radar_id
    if n_rows and draw(st.booleans()):
        rows["radar_id"][draw(st.integers(0, n_rows - 1))] = draw(st.integers(-2 ** 63, 2 ** 63 - 1))
    payload = rows.tobytes()
    if kind == 2:     # damage: flip, cut or extend
        data = bytearray(header + payload)
        action = draw(st.integers(0, 2))
        if action == 0 and data:
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif action == 1:
            data = data[:draw(st.integers(0, len(data)))]
        else:
            data += draw(st.binary(min_size=1, max_size=60))
        split = draw(st.integers(0, len(data)))
        return [bytes(data[:split]), bytes(data[split:])]
    return [header, payload]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frames(), min_size=1, max_size=6), st.integers(0, 6))
def test_gate_counts_every_frame_under_the_documented_reason(messages, max_plots):
    gate = FrameGate((1, 2), max_plots=max_plots)
    last_seq = {}
    for parts in messages:
        before = dict(gate.frames_rejected)
        accepted_before = gate.frames_accepted
        expected = reference_reason(parts, max_plots, {1, 2}, last_seq)
        result = gate.decode(parts)
        changed = {r: gate.frames_rejected[r] - before[r] for r in before
                   if gate.frames_rejected[r] != before[r]}
        if expected is None:
            assert result is not None and changed == {}
            assert gate.frames_accepted == accepted_before + 1
            assert result.plots.tobytes() == bytes(parts[1])
            radar_id, seq = HEADER.unpack(parts[0])[3:5]
            assert (result.radar_id, result.seq) == (radar_id, seq)
            if radar_id in (1, 2):
                last_seq[radar_id] = seq
        else:
            assert result is None and changed == {expected: 1}
            assert gate.frames_accepted == accepted_before


def test_gate_follows_a_radar_that_restarted_its_sequence():
    plots = np.zeros(1, PLOT_DTYPE)
    plots["radar_id"] = 1
    gate = FrameGate((1,))
    assert gate.decode(frame(1, 1000, plots)) is not None
    # exact duplicates and replays of old frames never form a run
    for _ in range(3 * 20):
        assert gate.decode(frame(1, 1000, plots)) is None
        assert gate.decode(frame(1, 999, plots)) is None
    assert gate.seq_resyncs == 0
    # a counter restarted at 0: 19 frames refused, then followed
    accepted = [gate.decode(frame(1, seq, plots)) is not None for seq in range(25)]
    assert accepted == [False] * 19 + [True] * 6
    assert gate.seq_resyncs == 1 and gate.last_seq[1] == 24
    assert gate.frames_rejected["duplicate_seq"] == 6 * 20 + 19


def test_gate_logs_a_radar_flipping_its_sequence_once_per_interval(caplog):
    """A sender that restarts its counter again and again cannot flood the log."""
    import logging

    plots = np.zeros(1, PLOT_DTYPE)
    plots["radar_id"] = 1
    gate = FrameGate((1,))
    with caplog.at_level(logging.WARNING, logger="ingest.gate"):
        for base in (0, 50_000, 0, 50_000, 0):
            for seq in range(base, base + 25):
                gate.decode(frame(1, seq, plots))
    assert gate.seq_resyncs == 4
    lines = [r.getMessage() for r in caplog.records if "restarted" in r.getMessage()]
    assert lines == ["radar 1 restarted its frame sequence: now at 50019 (was 24)"]


# --------------------------------------------------------------------------
# CurveZMQ


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    for name in ("server", "radar-ok", "radar-bad", "sub-ok", "sub-bad"):
        assert main(["keys", "generate", name, "--dir", str(root)]) == 0
    authorized = root / "authorized"
    authorized.mkdir()
    for name in ("radar-ok", "sub-ok"):
        shutil.copy(root / f"{name}.key", authorized)
    return root


def test_keys_generate_writes_a_pair_and_refuses_to_overwrite(keys, capsys):
    public = (keys / "server.key").read_text()
    secret = (keys / "server.key_secret").read_text()
    assert "public-key" in public and "secret-key" not in public
    assert "secret-key" in secret
    assert os.stat(keys / "server.key_secret").st_mode & 0o077 == 0
    assert main(["keys", "generate", "server", "--dir", str(keys)]) == 2
    assert "exists" in capsys.readouterr().err
    assert (keys / "server.key").read_text() == public
    assert main(["keys", "generate", "../evil", "--dir", str(keys)]) == 2


def _client(context, kind, endpoint, keys, name):
    from radarcore.service.keys import apply_client_keys

    sock = context.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    if name is not None:
        apply_client_keys(sock, str(keys / f"{name}.key_secret"), str(keys / "server.key"))
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    return sock, monitor


def _handshake(monitor):
    """The first handshake outcome on a client's monitor: succeeded or failed_auth."""
    if not monitor.poll(int(WAIT_S * 1000)):
        raise AssertionError("no handshake event")
    event = zmq.utils.monitor.recv_monitor_message(monitor)["event"]
    return {zmq.EVENT_HANDSHAKE_SUCCEEDED: "succeeded", zmq.EVENT_HANDSHAKE_FAILED_AUTH: "failed_auth"}[event]


def test_curve_admits_only_authorised_radars_and_subscribers(scenario, keys):
    site, batches = scenario
    context = zmq.Context()
    service = Service(site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", context=context,
                      curve_secret_key=str(keys / "server.key_secret"),
                      curve_authorized_dir=str(keys / "authorized"), stats_interval_s=0.05)
    service.start()
    sockets = []
    try:
        bad_radar, bad_radar_monitor = _client(context, zmq.PUSH, service.plots_address, keys, "radar-bad")
        bad_sub, bad_sub_monitor = _client(context, zmq.SUB, service.publish_address, keys, "sub-bad")
        ok_radar, ok_radar_monitor = _client(context, zmq.PUSH, service.plots_address, keys, "radar-ok")
        ok_sub, ok_sub_monitor = _client(context, zmq.SUB, service.publish_address, keys, "sub-ok")
        sockets = [bad_radar, bad_sub, ok_radar, ok_sub, bad_radar_monitor, bad_sub_monitor,
                   ok_radar_monitor, ok_sub_monitor]
        assert _handshake(bad_radar_monitor) == "failed_auth"
        assert _handshake(bad_sub_monitor) == "failed_auth"
        assert _handshake(ok_radar_monitor) == "succeeded"
        assert _handshake(ok_sub_monitor) == "succeeded"
        # the refused radar's frames wait in its own queue and never arrive
        for radar_id, seq, plots in batches[:50]:
            try:
                bad_radar.send_multipart(frame(radar_id, seq, plots), zmq.NOBLOCK)
            except zmq.Again:       # no pipe to queue in: refused all the same
                pass
        for radar_id, seq, plots in batches:
            ok_radar.send_multipart(frame(radar_id, seq, plots))
        deadline = time.monotonic() + WAIT_S
        stats_seen = 0
        while time.monotonic() < deadline and (service.stats()["frames_received"] < len(batches)
                                               or stats_seen < 3):
            if ok_sub.poll(50):
                stats_seen += ok_sub.recv_multipart()[0] == b"stats"
        assert stats_seen >= 3                      # the authorised subscriber gets data
        assert bad_sub.poll(0) == 0                 # the refused one gets nothing
        summary = service.stop()
    finally:
        for sock in sockets:
            sock.close(linger=0)
        service.stop()
        context.term()
    assert summary["frames_received"] == len(batches)       # nothing of the refused radar
    assert summary["frames_rejected"] == dict.fromkeys(FRAME_REASONS, 0)


def test_a_client_without_curve_gets_nothing_through(scenario, keys):
    site, batches = scenario
    context = zmq.Context()
    service = Service(site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", context=context,
                      curve_secret_key=str(keys / "server.key_secret"),
                      curve_authorized_dir=str(keys / "authorized"), stats_interval_s=0.05)
    service.start()
    plain, monitor = _client(context, zmq.PUSH, service.plots_address, keys, None)
    plain_sub, sub_monitor = _client(context, zmq.SUB, service.publish_address, keys, None)
    try:
        for radar_id, seq, plots in batches[:20]:
            try:
                plain.send_multipart(frame(radar_id, seq, plots), zmq.NOBLOCK)
            except zmq.Again:
                pass
        # a plain client is refused in the handshake (a security mechanism mismatch)
        assert not sub_monitor.poll(300) or \
            zmq.utils.monitor.recv_monitor_message(sub_monitor)["event"] != zmq.EVENT_HANDSHAKE_SUCCEEDED
        assert plain_sub.poll(300) == 0
        assert service.stats()["frames_received"] == 0
    finally:
        for sock in (plain, monitor, plain_sub, sub_monitor):
            sock.close(linger=0)
        service.stop()
        context.term()


# --------------------------------------------------------------------------
# recordings: torn tails, replay, warm restart


def parse_recording(path):
    """(receive_time, parts, end_offset) per whole record, read by the documented layout."""
    data = Path(path).read_bytes()
    assert data[:8] == b"RCREC\x00\x00\x01"
    records, offset = [], 16
    while offset + 8 <= len(data):
        body_length, _crc = struct.unpack_from("<II", data, offset)
        body = data[offset + 8:offset + 8 + body_length]
        if len(body) < body_length:
            break
        receive_time, n_parts = struct.unpack_from("<dH", body)
        parts, at = [], 10
        for _ in range(n_parts):
            (length,) = struct.unpack_from("<I", body, at)
            parts.append(body[at + 4:at + 4 + length])
            at += 4 + length
        offset += 8 + body_length
        records.append((receive_time, parts, offset))
    return records


def test_recording_holds_every_frame_and_a_torn_tail_replays_the_whole_ones(scenario, tmp_path):
    site, batches = scenario
    recording = tmp_path / "live.rcrec"
    rng = random.Random(3)
    messages = build_stream(batches, case_malformed(site, batches, rng), rng)
    harness = Harness(site, record_path=str(recording))
    harness.send(messages)
    harness.finish()
    records = parse_recording(recording)
    assert [parts for _, parts, _ in records] == [list(m) for m in messages]
    times = [t for t, _, _ in records]
    assert times == sorted(times) and abs(times[-1] - time.time()) < 60

    site_path = tmp_path / "site.toml"
    site_path.write_text(dump_site(site))
    size = recording.stat().st_size
    ends = [end for _, _, end in records]
    cuts = [size, size - 1, ends[len(ends) // 2], ends[len(ends) // 2] + 5, ends[9] + 9, 12]
    for cut in cuts:
        torn = tmp_path / f"cut-{cut}.rcrec"
        torn.write_bytes(recording.read_bytes()[:cut])
        whole = [parts for _, parts, end in records if end <= cut]
        good = [plots for message in whole if (plots := _good_plots(message, site)) is not None]
        out = tmp_path / f"replay-{cut}"
        assert main(["replay", str(torn), "--site", str(site_path), "--out", str(out), "--quiet"]) == 0
        ref_rows, _, _ = offline(site, good)
        assert (out / "tracks.csv").read_text() == tracks_text(ref_rows)
        summary = json.loads((out / "summary.json").read_text())
        assert summary["frames_read"] == len(whole)
        last_end = max([end for end in ends if end <= cut], default=16)
        assert summary["recording_torn_bytes"] == (cut - last_end if cut >= 16 else cut)
        n_junk = sum(1 for message in whole if _good_plots(message, site) is None)
        assert summary["frames_rejected"]["malformed"] == n_junk


def _good_plots(parts, site):
    """The plots of a well-formed frame of a site radar by the documented layout, else None."""
    if len(parts) != 2 or len(parts[0]) != HEADER.size or parts[0][:4] != b"RCPL":
        return None
    count = HEADER.unpack(parts[0])[5]
    if len(parts[1]) != count * PLOT_ITEMSIZE:
        return None
    return np.frombuffer(parts[1], PLOT_DTYPE).copy()


def test_warm_restart_replays_the_last_seconds_of_the_recording(scenario, tmp_path):
    """Receive times spread over 1000..1060 s; a warm restart of 20 s replays only the last 20 s."""
    from ingest.recording import RecordingWriter

    site, batches = scenario
    recording = tmp_path / "warm.rcrec"
    split = next(k for k, b in enumerate(batches) if b[2]["time_s"].min() >= 40.0)
    with RecordingWriter(recording) as writer:
        for radar_id, seq, plots in batches[:split]:
            writer.write(1000.0 + float(plots["time_s"].max()), frame(radar_id, seq, plots))
    last = 1000.0 + max(float(b[2]["time_s"].max()) for b in batches[:split])
    replayed = [b[2] for b in batches[:split] if 1000.0 + b[2]["time_s"].max() >= last - 20.0]
    assert 0 < len(replayed) < split

    harness = Harness(site, record_path=str(recording), warm_restart_s=20.0)
    assert harness.service.warm_restart["frames"] == len(replayed)
    harness.send([frame(*b) for b in batches[split:]])
    rows, alerts, final = harness.finish()

    engine = Engine(site)
    engine.process(np.concatenate(replayed))
    engine.pop_alerts()
    live = np.concatenate([b[2] for b in batches[split:]])
    ref_rows = np.concatenate([engine.process(live), engine.flush()])
    assert rows.tobytes() == ref_rows.tobytes()
    assert alerts == json.loads(json.dumps(engine.pop_alerts()))
    # counters cover the live frames only
    assert final["frames_received"] == len(batches) - split
    assert final["plots_received"] == live.size
    # the first epoch published after going live already holds the confirmed tracks
    first_epoch = rows[rows["time_s"] == rows["time_s"][0]]
    assert rows["time_s"][0] <= 41.0 + site.tracker.reorder_window_s + site.tracker.output_period_s
    assert np.count_nonzero(first_epoch["status"] == 2) >= 3
    # a cold start on the same live frames starts blind
    cold_rows, _, _ = offline(site, [b[2] for b in batches[split:]])
    cold_first = cold_rows[cold_rows["time_s"] == cold_rows["time_s"][0]]
    assert cold_rows["time_s"][0] > rows["time_s"][0] + site.tracker.output_period_s
    assert cold_first.size < first_epoch.size or cold_rows["time_s"][0] > rows["time_s"][0]
    # the new frames were appended to the same recording
    assert len(parse_recording(recording)) == len(batches)


def test_a_failing_recording_disk_does_not_stop_the_service(scenario, tmp_path):
    site, batches = scenario
    harness = Harness(site, record_path=str(tmp_path / "full.rcrec"))
    recorder = harness.service._recorder
    write = recorder.write
    calls = []

    def write_until_full(receive_time, frames):
        calls.append(1)
        if len(calls) > 50:
            raise OSError(28, "No space left on device")
        write(receive_time, frames)

    recorder.write = write_until_full
    harness.send([frame(*b) for b in batches])
    rows, alerts, final = harness.finish()
    assert_same_output(rows, alerts, site, [b[2] for b in batches])
    assert "No space left" in final["recording"]["error"]
    assert len(calls) == 51                      # recording stopped at the first failure
    assert len(parse_recording(tmp_path / "full.rcrec")) == 50


def test_replayed_sequence_numbers_after_a_warm_restart_are_duplicates(scenario, tmp_path):
    site, batches = scenario
    recording = tmp_path / "seq.rcrec"
    harness = Harness(site, record_path=str(recording))
    harness.send([frame(*b) for b in batches[:100]])
    harness.finish()
    harness = Harness(site, record_path=str(recording), warm_restart_s=3600.0)
    harness.send([frame(*b) for b in batches[90:]])      # ten frames again
    rows, _, final = harness.finish()
    assert final["frames_rejected"]["duplicate_seq"] == 10
    assert final["frames_accepted"] == len(batches) - 100
    # and the tracks are those of one pass over the whole scenario
    ref_rows, _, _ = offline(site, [b[2] for b in batches])
    assert rows.tobytes() == ref_rows[ref_rows["time_s"] >= rows["time_s"][0]].tobytes()


# --------------------------------------------------------------------------
# overload, outputs, metrics


def test_frames_that_do_not_fit_the_queue_are_shed_and_counted(scenario):
    site, batches = scenario
    big = [b for b in batches if b[2].size >= 3][:20]
    harness = Harness(site, queue_plots=2)          # no frame of 3 plots or more ever fits
    harness.send([frame(*b) for b in big])
    rows, alerts, final = harness.finish()
    assert final["frames_shed"] == len(big)
    assert final["plots_shed"] == final["plots_rejected"]["shed"] == sum(b[2].size for b in big)
    assert final["plots_processed"] == 0 and rows.size == 0


def send_and_scrape(harness, messages, n_plots):
    """Send, wait until ``n_plots`` plots were processed, and scrape /metrics: ``{(name, labels): value}``."""
    from prometheus_client.parser import text_string_to_metric_families

    harness.send(messages)
    harness.wait_received(len(messages))
    # A longer bound than WAIT_S: on a cold Numba cache the engine thread may
    # still compile a kernel for the first frames (a clean checkout's CI run
    # once passed 20 s here); a failed engine fails at once, with its error.
    deadline = time.monotonic() + 3 * WAIT_S
    while harness.service.metrics_state()["latency_total"] < n_plots:
        assert harness.service.engine_error is None, harness.service.engine_error
        assert time.monotonic() < deadline, (
            f"{harness.service.metrics_state()['latency_total']} of {n_plots} plots processed "
            f"within {3 * WAIT_S} s")
        harness.sub.poll(20)
    text = urllib.request.urlopen(f"http://127.0.0.1:{harness.service.metrics_port}/metrics",
                                  timeout=WAIT_S).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_out_dir_files_and_metrics_match_what_was_published(scenario, tmp_path):
    site, batches = scenario
    rng = random.Random(11)
    messages = build_stream(batches, case_nan(site, batches, rng), rng)
    harness = Harness(site, out_dir=str(tmp_path / "out"), metrics_port=0)
    samples = send_and_scrape(harness, messages, sum(b[2].size for b in batches) + 5)
    state = harness.service.metrics_state()
    rows, alerts, final = harness.finish()
    n_plots = sum(b[2].size for b in batches) + 5
    assert samples[("frames_received_total", ())] == len(messages)
    assert samples[("plots_received_total", ())] == n_plots
    assert samples[("plots_rejected_total", (("reason", "non_finite"),))] == 5
    assert samples[("plots_shed_total", ())] == 0
    assert samples[("live_tracks", ())] == state["tracks_live"]
    assert samples[("processing_latency_seconds_count", ())] == n_plots
    assert samples[("processing_latency_seconds_bucket", (("le", "+Inf"),))] == n_plots
    buckets = [v for (name, labels), v in samples.items() if name == "processing_latency_seconds_bucket"]
    assert buckets == sorted(buckets)
    assert sum(v for (name, labels), v in samples.items() if name == "alerts_total") == \
        sum(state["alerts"].values())
    # --out files hold exactly what was published
    out = tmp_path / "out"
    assert (out / "tracks.csv").read_text() == tracks_text(rows)
    assert (out / "alerts.jsonl").read_text() == alerts_text(alerts, tmp_path / "ref.jsonl")
    assert json.loads((out / "summary.json").read_text())["frames_received"] == len(messages)
    assert final["alerts"] == {kind: sum(1 for e in alerts if e["event"] == kind) for kind in ALERT_EVENTS}


def test_sigterm_processes_what_was_accepted_and_flushes_everything(scenario, tmp_path):
    site, batches = scenario
    site_path = tmp_path / "site.toml"
    site_path.write_text(dump_site(site))
    out, recording = tmp_path / "out", tmp_path / "live.rcrec"
    with open(tmp_path / "stderr.txt", "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "radarcore.cli", "serve", "--site", str(site_path),
                                 "--plots", "tcp://127.0.0.1:*", "--publish", "tcp://127.0.0.1:*",
                                 "--out", str(out), "--record", str(recording)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True)
        context = zmq.Context()
        push = context.socket(zmq.PUSH)
        sub = context.socket(zmq.SUB)
        try:
            line = _read_line(proc)
            plots_endpoint, publish_endpoint = _endpoints(line)
            sub.setsockopt(zmq.SUBSCRIBE, b"stats")
            sub.connect(publish_endpoint)
            push.connect(plots_endpoint)
            for b in batches:
                push.send_multipart(frame(*b))
            received = 0
            deadline = time.monotonic() + WAIT_S
            while received < len(batches) and time.monotonic() < deadline:
                if sub.poll(100):
                    received = decode_stats(sub.recv_multipart())["frames_received"]
            assert received == len(batches)
            proc.send_signal(signal.SIGTERM)
            stdout, _ = proc.communicate(timeout=WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            # closed here so that a failed wait cannot leave the context's term blocked
            push.close(linger=0)
            sub.close(linger=0)
            context.term()
    assert proc.returncode == 0, (tmp_path / "stderr.txt").read_text()
    ref_rows, ref_alerts, _ = offline(site, [b[2] for b in batches])
    assert (out / "tracks.csv").read_text() == tracks_text(ref_rows)
    assert (out / "alerts.jsonl").read_text() == alerts_text(ref_alerts, tmp_path / "ref.jsonl")
    assert len(parse_recording(recording)) == len(batches)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_received"] == len(batches) and summary["final"] is True
    assert "frames received" in stdout
    # the recording replays to the same tracks
    assert main(["replay", str(recording), "--site", str(site_path), "--out", str(tmp_path / "re"),
                 "--quiet"]) == 0
    assert (tmp_path / "re" / "tracks.csv").read_text() == tracks_text(ref_rows)


def _read_line(proc):
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = proc.stdout.readline()
            if line:
                return line
        if proc.poll() is not None:
            break
    raise AssertionError("serve printed no start line")


def _endpoints(line):
    words = line.replace(",", " ").split()
    return words[words.index("plots") + 2], words[words.index("publishing") + 2]


# --------------------------------------------------------------------------
# parts: the [service] table, emulate's bursts, queue, histogram, log


def _site_with_service(table):
    data = {"origin": {"lat_deg": 10, "lon_deg": 20},
            "radar": [{"id": 3, "lat_deg": 10, "lon_deg": 20, "alt_m": 5, "sigma_range_m": 7,
                       "sigma_azimuth_deg": 1, "sigma_elevation_deg": 1, "scan_period_s": 1,
                       "max_range_m": 9000}],
            "service": table}
    return parse_site(data, "site.toml")


def test_service_table_values_and_errors():
    site = _site_with_service({"plots_endpoint": "tcp://*:5555", "publish_endpoint": "ipc:///tmp/out",
                               "plots_socket": "sub", "metrics_port": 9100, "record": "live.rcrec",
                               "curve_secret_key": "k/server.key_secret", "curve_authorized_dir": "k/ok",
                               "queue_plots": 5000, "high_water_mark": 10})
    assert site.service == ServiceConfig("tcp://*:5555", "ipc:///tmp/out", "sub", 9100, "k/server.key_secret",
                                         "k/ok", "live.rcrec", 5000, 10)
    assert _site_with_service({}).service == ServiceConfig()
    cases = [({"plots_endpoint": "localhost:5555"}, "service.plots_endpoint", "expected a ZeroMQ endpoint"),
             ({"publish_endpoint": "udp://x"}, "service.publish_endpoint", "got 'udp://x'"),
             ({"plots_socket": "push"}, "service.plots_socket", 'expected one of: "pull", "sub"'),
             ({"metrics_port": 70000}, "service.metrics_port", "expected a port number"),
             ({"metrics_port": 9100.0}, "service.metrics_port", "got 9100.0"),
             ({"queue_plots": 0}, "service.queue_plots", "expected an integer in [1, 1000000000] (plots), got 0"),
             ({"high_water_mark": True}, "service.high_water_mark", "got True"),
             ({"record": ""}, "service.record", "expected a non-empty path"),
             ({"curve_secret_key": "a"}, "service.curve_authorized_dir", "missing"),
             ({"curve_authorized_dir": "a"}, "service.curve_secret_key", "missing"),
             ({"port": 1}, "service.port", "unknown key")]
    for table, key_path, fragment in cases:
        with pytest.raises(ConfigError) as info:
            _site_with_service(table)
        assert info.value.key_path == key_path, table
        assert fragment in info.value.message, (table, info.value.message)


def test_serve_resolves_site_paths_and_lets_options_win(tmp_path):
    from radarcore.service.serve import add_parser, service_from_args
    import argparse

    (tmp_path / "ok").mkdir()
    text = dump_site(_site_with_service({}))
    text += ('\n[service]\n'
             'plots_endpoint = "tcp://127.0.0.1:5999"\n'
             'publish_endpoint = "tcp://127.0.0.1:6000"\n'
             'record = "rec/live.rcrec"\n'
             'curve_secret_key = "server.key_secret"\n'
             'curve_authorized_dir = "ok"\n'
             'queue_plots = 77\n')
    (tmp_path / "site.toml").write_text(text)
    from radarcore.core.config import load_site

    site = load_site(tmp_path / "site.toml")
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", "--site", str(tmp_path / "site.toml"),
                              "--plots", "tcp://127.0.0.1:7000"])
    service = service_from_args(args, site)
    assert service.plots_endpoint == "tcp://127.0.0.1:7000"
    assert service.publish_endpoint == "tcp://127.0.0.1:6000"
    assert service.record_path == str(tmp_path / "rec" / "live.rcrec")
    assert service.curve_authorized_dir == str(tmp_path / "ok")
    assert service.queue.capacity_plots == 77


def naive_bursts(plots, gap_s, max_burst, max_span_s=None):
    """Per radar, file order: start a new burst after a gap, a full burst or a full span."""
    bursts = {}
    t = plots["time_s"]
    for j in range(plots.size):
        radar = int(plots["radar_id"][j])
        current = bursts.setdefault(radar, [])
        if current and (len(current[-1]) < max_burst and abs(t[j] - t[current[-1][-1]]) <= gap_s
                        and (max_span_s is None or abs(t[j] - t[current[-1][0]]) <= max_span_s)):
            current[-1].append(j)
        else:
            current.append([j])
    return sorted((max(plots["time_s"][i] for i in b), b[0], radar, b)
                  for radar, bs in bursts.items() for b in bs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.floats(0, 5).map(lambda t: round(t, 2))), max_size=40),
       st.sampled_from([0.0, 0.1, 0.5]), st.integers(1, 4), st.sampled_from([None, 0.0, 0.15, 1.0]))
def test_emulate_bursts_match_a_naive_grouping(rows, gap_s, max_burst, max_span_s):
    plots = np.zeros(len(rows), PLOT_DTYPE)
    plots["radar_id"] = [r for r, _ in rows]
    plots["time_s"] = sorted(t for _, t in rows) if rows else []
    got = [(b.send_time_s, int(b.index[0]), b.radar_id, b.index.tolist())
           for b in plan_bursts(plots, gap_s, max_burst, max_span_s)]
    assert got == naive_bursts(plots, gap_s, max_burst, max_span_s)


def test_emulate_sends_every_plot_in_order_per_radar(scenario, tmp_path):
    from radarcore.service.emulate import emulate

    site, batches = scenario
    plots = np.concatenate([b[2] for b in batches])
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    result = emulate(plots, f"tcp://127.0.0.1:{port}", speed=None, max_burst=4, context=context)
    received = []
    while pull.poll(1000):
        received.append(pull.recv_multipart())
        if len(received) == result.frames_sent:
            break
    pull.close(linger=0)
    context.term()
    assert result.plots_sent == plots.size and len(received) == result.frames_sent
    headers = [HEADER.unpack(m[0]) for m in received]
    assert max(h[5] for h in headers) <= 4
    for radar_id in (1, 2):
        mine = [(h, m) for h, m in zip(headers, received) if h[3] == radar_id]
        assert [h[4] for h, _ in mine] == list(range(len(mine)))
        got = np.concatenate([np.frombuffer(m[1], PLOT_DTYPE) for _, m in mine])
        assert got.tobytes() == plots[plots["radar_id"] == radar_id].tobytes()


class FakeClock:
    """A clock that moves only when the emulator waits (a stop event's ``wait``)."""

    def __init__(self):
        self.now = 100.0
        self.waits = []

    def __call__(self):
        return self.now

    def wait(self, seconds):
        self.waits.append(seconds)
        self.now += seconds
        return False                # never stopped

    def is_set(self):
        return False


def test_emulate_paces_at_the_given_speed(scenario):
    """Every burst leaves when the clock reaches its due time, never earlier (no wall time measured)."""
    from radarcore.service.emulate import emulate

    site, batches = scenario
    plots = np.concatenate([b[2] for b in batches])
    plots = plots[plots["time_s"] < 3.0]
    bursts = plan_bursts(plots)
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    clock = FakeClock()
    sent_at = []
    real_send = zmq.Socket.send_multipart

    def send_multipart(sock, message, *args, **kwargs):
        sent_at.append(clock.now)
        return real_send(sock, message, *args, **kwargs)

    zmq.Socket.send_multipart = send_multipart
    try:
        result = emulate(plots, f"tcp://127.0.0.1:{port}", speed=10.0, context=context,
                         stop_event=clock, clock=clock)
    finally:
        zmq.Socket.send_multipart = real_send
    received = 0
    while received < result.frames_sent and pull.poll(int(WAIT_S * 1000)):
        pull.recv_multipart()
        received += 1
    pull.close(linger=0)
    context.term()
    due = [100.0 + (b.send_time_s - bursts[0].send_time_s) / 10.0 for b in bursts]
    assert received == result.frames_sent == len(bursts)
    assert sent_at == pytest.approx(due, abs=1e-9)
    assert all(w > 0 for w in clock.waits)                  # it waited only when early
    assert result.wall_s == pytest.approx((bursts[-1].send_time_s - bursts[0].send_time_s) / 10.0)


def test_plot_queue_is_bounded_in_plots():
    queue = PlotQueue(10)
    assert queue.put("a", 6) and not queue.put("b", 5) and queue.put("c", 4)
    assert queue.depth_plots == 10 and not queue.put("d", 1)
    assert queue.get_all(0.0) == ["a", "c"] and queue.depth_plots == 0
    assert queue.get_all(0.01) == []
    with pytest.raises(ValueError, match="capacity_plots"):
        PlotQueue(0)
    for name, n in (("a", 3), ("b", 3), ("c", 3), ("d", 1)):
        queue.put(name, n)
    assert queue.get_all(0.0, max_plots=5) == ["a", "b"] and queue.depth_plots == 4
    assert queue.get_all(0.0, max_plots=1) == ["c"] and queue.get_all(0.0, max_plots=1) == ["d"]


def test_plot_queue_gathers_a_step_from_another_thread():
    import threading

    queue = PlotQueue(100)
    queue.put("first", 1)
    feeder = threading.Thread(target=lambda: [queue.put(k, 1) for k in range(9)])
    feeder.start()
    items = []
    deadline = time.monotonic() + WAIT_S
    while len(items) < 10 and time.monotonic() < deadline:
        items += queue.get_all(0.1, gather_s=WAIT_S, gather_plots=10 - len(items))
    feeder.join()
    assert items == ["first", *range(9)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-5, 10.0), st.integers(1, 50)), min_size=1, max_size=60),
       st.sampled_from([0.5, 0.9, 0.99]))
def test_latency_quantile_is_within_one_bin_of_the_exact_one(samples, q):
    histogram = LatencyHistogram()
    values = np.array([v for v, _ in samples])
    weights = np.array([w for _, w in samples])
    histogram.add(values, weights)
    expanded = np.sort(np.repeat(values, weights))
    exact = expanded[math.ceil(q * expanded.size) - 1]
    got = histogram.quantile(q)
    assert exact <= got <= exact * 10 ** (1 / 50) * (1 + 1e-12)
    assert histogram.total == weights.sum()
    assert math.isclose(histogram.sum_s, float(np.dot(values, weights)))


def test_rate_limited_log_writes_one_line_per_reason_per_interval(caplog):
    import logging

    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("test.serve"), interval_s=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.serve"):
        assert limited("malformed", "x")
        assert not limited("malformed", "y") and not limited("malformed", "z")
        assert limited("late", "w")
        now[0] = 10.0
        assert limited("malformed", "v")
    assert [r.getMessage() for r in caplog.records] == [
        "rejected (malformed): x", "rejected (late): w",
        "rejected (malformed): v (2 more since the last report)"]


def test_service_rejects_bad_arguments(scenario, tmp_path):
    site, _ = scenario
    for kwargs, fragment in [({"plots_socket": "push"}, "plots_socket"),
                             ({"queue_plots": 0}, "queue_plots"),
                             ({"curve_secret_key": "x"}, "go together"),
                             ({"warm_restart_s": 10.0}, "needs a recording"),
                             ({"metrics_port": 70000}, "metrics_port")]:
        with pytest.raises(ValueError, match=fragment):
            Service(site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **kwargs)
    with pytest.raises(ValueError, match="endpoint"):
        Service(site, "127.0.0.1:5555", "tcp://127.0.0.1:*")


def test_asterix_plot_stream_and_cat062_topic(scenario):
    """CAT048 datagrams in (with garbage between them), CAT062 published beside tracks."""
    from ingest.asterix import RadarMap, decode_datagram, encode_cat048

    site, batches = scenario
    radars = RadarMap.from_site(site)
    plots = np.concatenate([p for _, _, p in batches])
    plots = plots[np.argsort(plots["time_s"], kind="stable")]
    datagrams = [encode_cat048(plots[i:i + 40], radars) for i in range(0, plots.size, 40)]
    quantised = decode_datagram(b"".join(datagrams), radars).plots
    harness = Harness(site, plots_format="asterix", cat062_sac=3, cat062_sic=4)
    for k, datagram in enumerate(datagrams):
        harness.send([[datagram]])
        if k % 10 == 5:
            harness.send([[b"\x30\x00\x05garbage"]])      # a CAT048 block of a wrong length
    rows, alerts, final = harness.finish()
    expected_rows, expected_alerts, _ = offline(site, [quantised])
    assert tracks_text(rows) == tracks_text(expected_rows)
    assert final["frames_rejected"]["malformed"] == len(range(5, len(datagrams), 10))
    cat062 = [m for m in harness.messages if m[0] == b"cat062"]
    assert len(cat062) == np.unique(rows["time_s"]).size > 0
    assert all(m[1][0] == 62 for m in cat062)
    assert sum(final["asterix_records_rejected"].values()) >= final["frames_rejected"]["malformed"]


# --------------------------------------------------------------------------
# hostile input: spoofed sequence numbers, unrecordable messages


def test_a_spoofed_far_ahead_sequence_number_never_blocks_the_real_radar(scenario):
    """The issue's attack: radar 1 with seq 2**64-1 after every 10 real frames."""
    site, batches = scenario
    messages, n_spoofed = [], 0
    for k, (radar_id, seq, plots) in enumerate(batches):
        messages.append(frame(radar_id, seq, plots))
        if k % 10 == 9:
            spoof = plots.copy()
            spoof["radar_id"] = 1
            messages.append(frame(1, 2 ** 64 - 1, spoof))
            n_spoofed += 1
    harness = Harness(site)
    harness.send(messages)
    rows, alerts, final = harness.finish()
    assert_same_output(rows, alerts, site, [b[2] for b in batches])
    assert final["frames_accepted"] == len(batches)
    assert final["frames_rejected"]["seq_jump"] == n_spoofed
    assert final["seq_resyncs"] == 0


def test_gate_resyncs_a_restarted_radar_despite_forged_frames_between():
    plots = np.zeros(1, PLOT_DTYPE)
    plots["radar_id"] = 1
    gate = FrameGate((1,))
    # a forged first frame far ahead is taken (nothing to compare with) ...
    assert gate.decode(frame(1, 2 ** 64 - 1, plots)) is not None
    accepted = []
    for seq in range(60):
        accepted.append(gate.decode(frame(1, seq, plots)) is not None)
        if seq % 10 == 9:        # ... and repeated: it forms no run and breaks none
            assert gate.decode(frame(1, 2 ** 64 - 1, plots)) is None
    # the real stream forms a run of 20 and is followed from then on
    assert accepted == [False] * 19 + [True] * 41
    assert gate.seq_resyncs == 1 and gate.last_seq[1] == 59


def test_a_message_no_recording_can_hold_is_counted_and_the_service_goes_on(scenario, tmp_path):
    site, batches = scenario
    recording = tmp_path / "live.rcrec"
    harness = Harness(site, record_path=str(recording))
    huge = [b""] * 65_536
    messages = [frame(*b) for b in batches]
    messages.insert(len(messages) // 2, huge)
    harness.send(messages)
    rows, alerts, final = harness.finish()
    assert_same_output(rows, alerts, site, [b[2] for b in batches])
    assert final["frames_rejected"]["too_large"] == 1
    assert final["recording"]["error"] is None
    assert [parts for _, parts, _ in parse_recording(recording)] == [list(m) for m in messages if m is not huge]


# --------------------------------------------------------------------------
# stopping with a backlog


class BlockedEngine:
    """Wraps ``engine.process``: the first call waits until ``release`` is set."""

    def __init__(self, engine):
        import threading

        self.process_real = engine.process
        self.release = threading.Event()
        self.entered = threading.Event()
        engine.process = self

    def __call__(self, plots, **kwargs):
        self.entered.set()
        self.release.wait(WAIT_S)
        return self.process_real(plots, **kwargs)


def _backlog(harness, batches):
    """Hold the engine in its first step while every frame is received; returns the blocker."""
    blocked = BlockedEngine(harness.service.engine)
    harness.send([frame(*batches[0])])
    assert blocked.entered.wait(WAIT_S)
    harness.send([frame(*b) for b in batches[1:]])
    harness.wait_received(len(batches))
    return blocked


def _release_when_stopping(service, blocked):
    import threading

    def release():
        deadline = time.monotonic() + WAIT_S
        while not service._stop_engine.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        blocked.release.set()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def _final_stats(harness):
    while True:
        message = harness._next()
        if message[0] == b"stats" and decode_stats(message).get("final"):
            return decode_stats(message)


def test_stop_with_a_backlog_drains_every_accepted_plot(scenario, tmp_path):
    site, batches = scenario
    harness = Harness(site, out_dir=str(tmp_path))
    blocked = _backlog(harness, batches)
    assert harness.service.queue.depth_plots == sum(b[2].size for b in batches[1:])
    releaser = _release_when_stopping(harness.service, blocked)
    summary = harness.service.stop()
    releaser.join()
    final = _final_stats(harness)
    harness.close()
    n_plots = sum(b[2].size for b in batches)
    assert final["plots_processed"] == n_plots and final["plots_unprocessed"] == 0
    assert summary["final"] and not summary["engine_stuck"] and harness.service.clean_stop()
    ref_rows, _, _ = offline(site, [b[2] for b in batches])
    assert (tmp_path / "tracks.csv").read_text() == tracks_text(ref_rows)


def test_stop_past_the_drain_bound_counts_what_it_dropped(scenario, tmp_path):
    site, batches = scenario
    harness = Harness(site, out_dir=str(tmp_path), drain_timeout_s=0.0)
    blocked = _backlog(harness, batches)
    queued = harness.service.queue.depth_plots
    assert queued > 0
    releaser = _release_when_stopping(harness.service, blocked)
    summary = harness.service.stop()
    releaser.join()
    final = _final_stats(harness)
    harness.close()
    # the step that was running finished; everything still queued was dropped and counted
    assert final["plots_unprocessed"] == queued == final["plots_rejected"]["unprocessed"]
    assert final["plots_processed"] + final["plots_unprocessed"] == final["plots_received"]
    assert summary["final"] and not harness.service.clean_stop()
    assert json.loads((tmp_path / "summary.json").read_text())["plots_unprocessed"] == queued


def test_stop_never_closes_outputs_under_a_stuck_engine(scenario, tmp_path, monkeypatch):
    import radarcore.service.serve as serve_module

    site, batches = scenario
    monkeypatch.setattr(serve_module, "ENGINE_EXIT_GRACE_S", 0.2)
    harness = Harness(site, out_dir=str(tmp_path), drain_timeout_s=0.0)
    blocked = _backlog(harness, batches)
    summary = harness.service.stop()          # the engine is stuck in its step: stop returns
    assert summary["engine_stuck"] and not summary["final"]
    assert harness.service._publisher._tracks_file is not None      # not closed under the engine
    assert harness.service.heartbeat_age_s() > 0.1
    blocked.release.set()                     # it comes back: it ends as a stop would have
    harness.service._threads[1].join(WAIT_S)
    final = _final_stats(harness)
    assert final["plots_unprocessed"] > 0
    assert final["plots_processed"] + final["plots_unprocessed"] == final["plots_received"]
    harness.service._release()
    harness.close()


def test_engine_heartbeat_is_in_the_stats_and_the_metrics(scenario):
    site, batches = scenario
    harness = Harness(site, metrics_port=0)
    harness.send([frame(*b) for b in batches[:50]])
    harness.wait_received(50)
    text = urllib.request.urlopen(f"http://127.0.0.1:{harness.service.metrics_port}/metrics",
                                  timeout=WAIT_S).read().decode()
    stats = decode_stats(harness._next(topic=b"stats"))
    rows, alerts, final = harness.finish()
    assert "engine_heartbeat_age_seconds " in text and "engine_heartbeat_timestamp_seconds " in text
    assert stats["engine_heartbeat_time"] is not None and stats["engine_heartbeat_age_s"] >= 0
    assert stats["engine_last_step_time"] is not None
    assert stats["engine_last_step_time"] <= final["engine_last_step_time"] <= final["engine_heartbeat_time"]


@pytest.mark.slow
def test_sigterm_during_a_warm_restart_ends_start_up(scenario, tmp_path):
    """serve is replaying a long recording when SIGTERM comes: it stops before going live, exit 0."""
    from ingest.recording import RecordingWriter

    site, batches = scenario
    site_path = tmp_path / "site.toml"
    site_path.write_text(dump_site(site))
    recording = tmp_path / "long.rcrec"
    span = max(float(b[2]["time_s"].max()) for b in batches) + 10.0
    n_seq = max(b[1] for b in batches) + 1
    with RecordingWriter(recording) as writer:      # the scenario 60 times over, later each time
        for copy in range(60):
            for radar_id, seq, plots in batches:
                shifted = plots.copy()
                shifted["time_s"] += copy * span
                writer.write(1000.0, frame(radar_id, copy * n_seq + seq, shifted))
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "radarcore.cli", "serve", "--site", str(site_path),
                                 "--plots", "tcp://127.0.0.1:*", "--publish", "tcp://127.0.0.1:*",
                                 "--record", str(recording), "--warm-restart-s", "1e9"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        deadline = time.monotonic() + 180.0      # start-up on a loaded machine
        while "warm restart: replaying" not in stderr_path.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, stderr_path.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=120.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = stderr_path.read_text()
    assert proc.returncode == 0, err
    assert "stopped by SIGTERM during start-up, before going live" in err
    assert "plots on" not in stdout and "warm restart: replayed" not in err


@pytest.mark.slow
def test_sigterm_with_a_backlog_past_the_drain_bound_reports_the_dropped_plots(scenario, tmp_path):
    """A burst of ~90,000 plots, SIGTERM once it is received, --drain-timeout 0: every
    accepted plot is processed or counted as unprocessed, and the exit status says which."""
    site, batches = scenario
    site_path = tmp_path / "site.toml"
    site_path.write_text(dump_site(site))
    span = max(float(b[2]["time_s"].max()) for b in batches) + 10.0
    plots = np.concatenate([b[2] for b in batches])
    messages = []
    for copy in range(100):                 # each radar's plots of one copy in one frame
        for radar_id in (1, 2):
            shifted = plots[plots["radar_id"] == radar_id].copy()
            shifted["time_s"] += copy * span
            messages.append(frame(radar_id, copy, shifted))
    out = tmp_path / "out"
    with open(tmp_path / "stderr.txt", "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "radarcore.cli", "serve", "--site", str(site_path),
                                 "--plots", "tcp://127.0.0.1:*", "--publish", "tcp://127.0.0.1:*",
                                 "--out", str(out), "--drain-timeout", "0", "--stats-interval", "0.1"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True)
    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    sub = context.socket(zmq.SUB)
    try:
        plots_endpoint, publish_endpoint = _endpoints(_read_line(proc))
        sub.setsockopt(zmq.SUBSCRIBE, b"stats")
        sub.connect(publish_endpoint)
        push.connect(plots_endpoint)
        for message in messages:
            push.send_multipart(message)
        received, final = 0, None
        deadline = time.monotonic() + 60.0
        while received < len(messages) and time.monotonic() < deadline:
            if sub.poll(100):
                received = decode_stats(sub.recv_multipart())["frames_received"]
        assert received == len(messages)
        proc.send_signal(signal.SIGTERM)
        while final is None and time.monotonic() < deadline + 60.0 and sub.poll(60_000):
            stats = decode_stats(sub.recv_multipart())
            final = stats if stats.get("final") else None
        stdout, _ = proc.communicate(timeout=60.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        push.close(linger=0)
        sub.close(linger=0)
        context.term()
    err = (tmp_path / "stderr.txt").read_text()
    n_plots = sum(m[1].__len__() for m in messages) // PLOT_ITEMSIZE
    assert final is not None, err
    assert final["plots_received"] == n_plots
    assert final["plots_processed"] + final["plots_unprocessed"] == n_plots and final["plots_shed"] == 0
    assert proc.returncode == (1 if final["plots_unprocessed"] else 0), err
    if final["plots_unprocessed"]:
        assert f"{final['plots_unprocessed']:,} accepted plots were not processed" in err
        assert "draining ran out of time" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final"] is True and summary["plots_unprocessed"] == final["plots_unprocessed"]
    assert f"plots unprocessed {final['plots_unprocessed']:,}" in stdout


def test_live_mode_publishes_updates_and_a_replay_of_its_recording_reproduces_it(scenario, tmp_path):
    """tracker.history_s > 0: a track update per frame on the tracks topic (flag 1),
    the epochs as before, true latencies in stats and /metrics; replaying the
    recording gives the tracks.csv and alerts.jsonl the service wrote."""
    import dataclasses
    from ingest.codec import is_track_update
    from radarcore.core.replay import replay_file

    site, batches = scenario
    site = dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, history_s=1.0))
    messages = [frame(radar_id, seq, plots) for radar_id, seq, plots in batches]
    n_plots = sum(b[2].size for b in batches)
    harness = Harness(site, out_dir=str(tmp_path / "out"), metrics_port=0,
                      record_path=str(tmp_path / "live.rcrec"))
    samples = send_and_scrape(harness, messages, n_plots)
    state = harness.service.stats()
    _, _, final = harness.finish()
    track_messages = [m for m in harness.messages if m[0] == b"tracks"]
    updates = [decode_tracks(m) for m in track_messages if is_track_update(m)]
    epochs = [decode_tracks(m) for m in track_messages if not is_track_update(m)]
    alerts = [e for m in harness.messages if m[0] == b"alerts" for e in decode_alerts(m)]
    assert len(updates) == final["updates_published"] >= len(batches) - 2
    assert all(np.all(np.diff(u["track_id"]) > 0) for u in updates)
    assert epochs and alerts
    # true latencies: every plot reached a published track update, counted once (the
    # first frames, split where the clock starts, too); alert events counted
    assert final["update_latency_ms"]["plots"] == n_plots
    assert final["update_latency_ms"]["p99"] is not None
    assert 0 < final["alert_latency_ms"]["plots"] <= len(alerts)
    assert samples[("track_update_latency_seconds_count", ())] == state["update_latency_ms"]["plots"]
    assert samples[("alert_latency_seconds_count", ())] == state["alert_latency_ms"]["plots"]
    # the files hold the epochs and the alerts, as published ...
    out = tmp_path / "out"
    assert (out / "tracks.csv").read_text() == tracks_text(np.concatenate(epochs))
    assert (out / "alerts.jsonl").read_text() == alerts_text(alerts, tmp_path / "ref.jsonl")
    # ... and a replay of the recording writes the same, byte for byte
    replay_file(str(tmp_path / "live.rcrec"), site, str(tmp_path / "replay"), progress=False)
    for name in ("tracks.csv", "alerts.jsonl"):
        assert (tmp_path / "replay" / name).read_bytes() == (out / name).read_bytes(), name
