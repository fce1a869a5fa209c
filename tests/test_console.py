"""The operator's console (radarcore console) and alert acknowledgement.

The state and the hub are tested alone (alert folding, a slow page that
drops track deltas but never alerts); then a real :class:`Service` with an
acknowledgement endpoint feeds a real console over loopback TCP, a
WebSocket client (``websocket-client``, not the server's library) plays the
page, and an acknowledgement goes round: page -> console -> service ->
``alerts`` topic and alerts.jsonl -> page.  Every wait is bounded.
"""
import asyncio
import json
import os
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import zmq

pytest.importorskip("websockets", reason="radarcore console needs the 'console' extra (websockets)")
websocket = pytest.importorskip("websocket", reason="the tests' WebSocket client is websocket-client")

from ingest.codec import encode_plots
from ingest.schema import TRACK_ROW_DTYPE
from radarcore.service.ack import AckBook, AckRequest
from radarcore.service.console import (MAX_URGENT_MESSAGES, Acknowledger, Client, Console, ConsoleState,
                                       Hub, ReplayAcknowledger, ReplayPlayer, site_picture,
                                       subscribe)
from radarcore.service.emulate import plan_bursts
from radarcore.service.serve import Service
from radarcore.sim.simulate import simulate

WAIT_S = 30.0


def rows_of(t, ids, status=2):
    rows = np.zeros(len(ids), dtype=TRACK_ROW_DTYPE)
    rows["time_s"] = t
    rows["track_id"] = ids
    rows["status"] = status
    rows["east_m"] = np.arange(len(ids)) * 100.0 + t
    rows["north_m"] = 50.0
    rows["sigma_pos_m"] = 5.0
    return rows


def event(kind, alert_id, t, level="warning", track_id=1, **extra):
    e = {"time_s": t, "alert_id": alert_id, "event": kind, "asset_id": "plant-1", "level": level,
         "track_id": track_id, "time_to_entry_s": 30.0, "cpa_m": 100.0, "class": "drone",
         "class_confidence": 0.9}
    e.update(extra)
    return e


# --------------------------------------------------------------------------
# state


def test_state_folds_the_alert_lifecycle_and_acknowledgement():
    state = ConsoleState()
    state.on_tracks(rows_of(1.0, [1, 2]))
    state.on_alerts([event("raise", 7, 1.0)])
    assert state.alerts[7]["open"] and not state.alerts[7]["acknowledged"]
    state.on_alerts([{"time_s": 2.0, "alert_id": 7, "event": "acknowledge", "operator": "ops",
                      "wall_time_s": 123.0}])
    assert state.alerts[7]["acknowledged"] and state.alerts[7]["operator"] == "ops"
    # an escalation asks for a new acknowledgement
    state.on_alerts([event("escalate", 7, 3.0, level="critical")])
    assert state.alerts[7]["level"] == "critical" and not state.alerts[7]["acknowledged"]
    state.on_alerts([event("clear", 7, 4.0)])
    assert not state.alerts[7]["open"]
    # a clear or acknowledge of an alert never seen open is ignored; a malformed event is skipped
    assert state.on_alerts([event("clear", 8, 4.0), {"event": "raise"}]) == []
    assert 8 not in state.alerts
    # the track shows the class of its latest alert event; others are unknown
    message = state.tracks_message()
    assert message["cls"] == ["drone", "unknown"] and message["conf"] == [0.9, None]
    # cleared alerts are forgotten CLEARED_KEEP_S after their clear
    state.on_tracks(rows_of(500.0, [1]))
    state.on_alerts([])
    assert 7 not in state.alerts


def test_an_advisory_is_listed_but_not_open_until_a_raise_and_is_forgotten_later():
    state = ConsoleState()
    state.on_tracks(rows_of(1.0, [1]))
    state.on_alerts([event("advisory", 4, 1.0)])
    assert state.alerts[4]["advisory"] and not state.alerts[4]["open"]
    state.on_alerts([event("raise", 4, 2.0, level="alert")])
    record = state.alerts[4]
    assert not record["advisory"] and record["open"] and record["raised_time_s"] == 2.0
    state.on_alerts([event("advisory", 4, 3.0, level="critical")])      # an alert stays an alert
    assert state.alerts[4]["level"] == "alert" and state.alerts[4]["open"]
    state.on_alerts([event("advisory", 5, 3.0)])
    state.on_tracks(rows_of(200.0, [1]))
    state.on_alerts([])
    assert 5 not in state.alerts and state.alerts[4]["open"]


def test_trails_are_bounded_and_follow_the_live_tracks():
    state = ConsoleState(trail_points=3)
    for k in range(5):
        state.on_tracks(rows_of(float(k), [1, 2]))
        state.sample_trails()
    assert [e for e, _ in state.trails[1]] == [2.0, 3.0, 4.0]
    state.sample_trails()                   # same epoch: no new point
    assert len(state.trails[1]) == 3
    state.on_tracks(rows_of(5.0, [2]))
    state.sample_trails()
    assert set(state.trails) == {2}


def test_site_picture_puts_the_origin_at_zero_and_zones_in_metres():
    site = simulate("sparse", seed=1, duration_s=1).site
    picture = site_picture(site)
    assert len(picture["radars"]) == len(site.radars)
    for radar, config in zip(picture["radars"], site.radars):
        assert radar["max_range_m"] == config.max_range_m
        assert abs(radar["east_m"]) < 50_000 and abs(radar["north_m"]) < 50_000
    for asset, config in zip(picture["assets"], site.assets):
        assert len(asset["zones"]) == len(config.zones)
        for zone in asset["zones"]:
            assert ("radius_m" in zone) != ("polygon" in zone)


# --------------------------------------------------------------------------
# hub: a slow page


class SlowSocket:
    """A page's socket whose sends wait until the test lets them through."""

    def __init__(self):
        self.sent = []
        self.gate = asyncio.Event()
        self.closed = None

    async def send(self, text):
        await self.gate.wait()
        self.sent.append(json.loads(text))

    async def close(self, code, reason):
        self.closed = code


def test_a_slow_page_drops_track_deltas_but_never_alerts():
    async def scenario():
        hub = Hub(track_rate_hz=1000.0)
        slow, fast = SlowSocket(), SlowSocket()
        fast.gate.set()
        clients = [Client(slow), Client(fast)]
        hub.clients.update(clients)
        feeders = [asyncio.create_task(hub.feed(c)) for c in clients]
        for k in range(200):
            hub.tracks(json.dumps({"type": "tracks", "k": k}))
            if k % 4 == 0:
                hub.urgent(json.dumps({"type": "alerts", "k": k}))
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        fast_tracks = [m["k"] for m in fast.sent if m["type"] == "tracks"]
        slow.gate.set()                      # the slow page catches up
        for _ in range(100):
            await asyncio.sleep(0.01)
            if slow.sent and slow.sent[-1].get("k") == 199:
                break
        for f in feeders:
            f.cancel()
        return hub, slow, fast, fast_tracks

    hub, slow, fast, fast_tracks = asyncio.run(scenario())
    alerts = list(range(0, 200, 4))
    for socket in (slow, fast):
        assert [m["k"] for m in socket.sent if m["type"] == "alerts"] == alerts
    slow_tracks = [m["k"] for m in slow.sent if m["type"] == "tracks"]
    assert slow_tracks[-1] == 199 and len(slow_tracks) < 10        # only the latest survived
    assert fast_tracks == sorted(fast_tracks) and fast_tracks[-1] == 199
    assert hub.deltas_dropped >= 190


def test_a_page_too_far_behind_on_alerts_is_disconnected_not_thinned():
    async def scenario():
        hub = Hub()
        slow = SlowSocket()
        client = Client(slow)
        hub.clients.add(client)
        feeder = asyncio.create_task(hub.feed(client))
        for k in range(MAX_URGENT_MESSAGES + 5):
            hub.urgent(json.dumps({"type": "alerts", "k": k}))
        slow.gate.set()
        await asyncio.wait_for(feeder, 5.0)
        return hub, slow, client

    hub, slow, client = asyncio.run(scenario())
    assert client.overflowed and slow.closed == 1013 and hub.clients_dropped == 1
    received = [m["k"] for m in slow.sent]
    assert received == list(range(len(received)))     # what it got has no hole


# --------------------------------------------------------------------------
# acknowledgement book (the service side)


def test_ack_book_acknowledges_open_alerts_once_per_level():
    book = AckBook()
    book.observe([event("raise", 3, 10.0, track_id=4)])
    book.observe_time(11.0)
    ack, answer = book.acknowledge(AckRequest(3, "ops", 1000.0))
    assert answer["ok"] and ack == {"time_s": 11.0, "alert_id": 3, "event": "acknowledge",
                                    "asset_id": "plant-1", "level": "warning", "track_id": 4,
                                    "operator": "ops", "wall_time_s": 1000.0}
    assert book.acknowledge(AckRequest(3, "ops", 1001.0)) == (None, {"ok": True, "repeated": True})
    book.observe([event("escalate", 3, 12.0, level="alert", track_id=4)])
    ack, answer = book.acknowledge(AckRequest(3, "ops", 1002.0))
    assert ack["level"] == "alert"
    book.observe([event("clear", 3, 13.0, track_id=4)])
    assert book.acknowledge(AckRequest(3, "ops", 1003.0)) == (None, {"ok": False, "error": "no open alert 3"})


# --------------------------------------------------------------------------
# a real service and a real console


class ConsoleThread:
    """A console on 127.0.0.1:<free port>, live from ``endpoint``, in a thread of its own."""

    def __init__(self, site, endpoint=None, ack_endpoint=None, token=None, replay_dir=None):
        self.console = Console(site, mode="replay" if replay_dir else "live")
        if ack_endpoint is not None:
            self.console.acknowledger = Acknowledger(ack_endpoint, token, timeout_s=5.0)
        if replay_dir is not None:
            self.console.player = ReplayPlayer(self.console, replay_dir)
            self.console.acknowledger = ReplayAcknowledger(self.console)
        self.endpoint = endpoint
        self.ready = threading.Event()
        self.loop = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(WAIT_S)
        host, port = self.console.http_address
        self.url = f"http://{host}:{port}/"

    def _run(self):
        async def main():
            self.loop = asyncio.get_running_loop()
            self.stop = asyncio.Event()
            server = asyncio.create_task(self.console.serve("127.0.0.1", 0, lambda c: self.ready.set()))
            source = asyncio.create_task(
                self.console.player.run(self.stop) if self.console.player is not None
                else subscribe(self.console, self.endpoint, self.stop))
            await self.stop.wait()
            server.cancel()
            await asyncio.gather(source, return_exceptions=True)

        asyncio.run(main())

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(WAIT_S)


class Page:
    """A WebSocket client that keeps what a page would know."""

    def __init__(self, url):
        self.ws = websocket.create_connection(url.replace("http://", "ws://") + "ws", timeout=WAIT_S)
        self.snapshot = json.loads(self.ws.recv())
        self.messages = []

    def until(self, predicate, what, earlier=False):
        """The first message (also among those already received when ``earlier``) that fits."""
        if earlier:
            for message in self.messages:
                if predicate(message):
                    return message
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            self.ws.settimeout(max(deadline - time.monotonic(), 0.01))
            message = json.loads(self.ws.recv())
            self.messages.append(message)
            if predicate(message):
                return message
        raise AssertionError(f"no {what} within {WAIT_S} s")

    def send(self, message):
        self.ws.send(json.dumps(message))

    def close(self):
        self.ws.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """serve (acknowledgements with a token, --out) + console, fed the sparse scenario's plots."""
    out = tmp_path_factory.mktemp("serve_out")
    scenario = simulate("sparse", seed=1, duration_s=60)
    service = Service(scenario.site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", out_dir=str(out),
                      ack_endpoint="tcp://127.0.0.1:*", ack_token="s3cret").start()
    console = ConsoleThread(scenario.site, service.publish_address, service.ack_address, "s3cret")
    page = Page(console.url)
    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 1000)
    push.connect(service.plots_address)
    time.sleep(0.3)                      # let the console's SUB socket join before anything is published
    seq = {}
    for burst in plan_bursts(scenario.plots):
        n = seq.get(burst.radar_id, 0)
        seq[burst.radar_id] = n + 1
        push.send_multipart(encode_plots(burst.radar_id, n, scenario.plots[burst.index]))
    yield {"service": service, "console": console, "page": page, "out": out, "site": scenario.site}
    page.close()
    console.close()
    push.close()
    context.term()
    service.stop()


def test_page_is_served_self_contained_and_other_paths_are_not(live):
    url = live["console"].url
    with urllib.request.urlopen(url, timeout=WAIT_S) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
    assert "<canvas" in page and "new WebSocket" in page
    # nothing is loaded from elsewhere: no http(s) URL in a src or href, no import
    for needle in ('src="http', "src='http", 'href="http', "@import", "//cdn"):
        assert needle not in page
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url + "secrets", timeout=WAIT_S)
    assert e.value.code == 404


def test_a_websocket_from_another_origin_is_refused(live):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(live["console"].url.replace("http://", "ws://") + "ws",
                                    timeout=WAIT_S, origin="http://elsewhere.example")
    assert e.value.status_code == 403


def test_live_snapshot_tracks_and_alerts_reach_the_page(live):
    page = live["page"]
    snapshot = page.snapshot
    assert snapshot["type"] == "snapshot" and snapshot["mode"] == "live" and snapshot["ack_enabled"]
    assert [r["id"] for r in snapshot["site"]["radars"]] == [r.id for r in live["site"].radars]
    tracks = page.until(lambda m: m["type"] == "tracks" and len(m["id"]) > 0, "tracks")
    assert len(tracks["id"]) == len(tracks["e"]) == len(tracks["cls"])
    alert = page.until(lambda m: m["type"] == "alerts" and any(e["event"] == "raise" for e in m["events"]),
                       "raised alert", earlier=True)
    record = alert["records"][0]
    assert record["open"] and not record["acknowledged"] and record["level"] in ("warning", "alert", "critical")


def test_acknowledgement_round_trips_to_the_topic_and_alerts_jsonl(live):
    page = live["page"]
    page.until(lambda m: m["type"] == "alerts" and any(e["event"] == "raise" for e in m["events"]),
               "an alert", earlier=True)
    open_ids = [a for a, r in live["console"].console.state.alerts.items() if r["open"]]
    assert open_ids
    alert_id = open_ids[0]
    page.send({"type": "ack", "alert_id": alert_id, "operator": "duty officer"})
    result = page.until(lambda m: m["type"] == "ack_result", "ack_result")
    assert result["ok"], result
    assert result["event"]["event"] == "acknowledge" and result["event"]["operator"] == "duty officer"
    # published on the alerts topic: the console's record (and every page) learns it
    published = page.until(lambda m: m["type"] == "alerts"
                           and any(e["event"] == "acknowledge" for e in m["events"]), "acknowledge event",
                           earlier=True)
    assert published["records"][0]["acknowledged"] and published["records"][0]["alert_id"] == alert_id
    # a second acknowledgement of the same level is taken but not written again
    page.send({"type": "ack", "alert_id": alert_id, "operator": "duty officer"})
    assert page.until(lambda m: m["type"] == "ack_result", "ack_result").get("repeated")
    # an unknown alert is refused
    page.send({"type": "ack", "alert_id": 999999, "operator": "x"})
    refused = page.until(lambda m: m["type"] == "ack_result", "ack_result")
    assert not refused["ok"] and "999999" in refused["error"]
    # alerts.jsonl has it as its own line, with the time
    live["service"]._publisher.flush()
    lines = [json.loads(line) for line in open(os.path.join(live["out"], "alerts.jsonl"))]
    acks = [e for e in lines if e["event"] == "acknowledge"]
    assert len(acks) == 1
    assert acks[0]["alert_id"] == alert_id and acks[0]["operator"] == "duty officer"
    assert isinstance(acks[0]["time_s"], float) and acks[0]["wall_time_s"] > 1.6e9


def test_acknowledgement_without_the_token_is_refused(live):
    console = Console(live["site"])
    console.acknowledger = Acknowledger(live["service"].ack_address, token="wrong", timeout_s=5.0)
    answer = asyncio.run(console.acknowledge({"alert_id": 1, "operator": "x"}))
    assert answer == {"type": "ack_result", "alert_id": 1, "ok": False, "error": "wrong or missing token"}
    console.acknowledger = Acknowledger(live["service"].ack_address, token=None, timeout_s=5.0)
    answer = asyncio.run(console.acknowledge({"alert_id": 1, "operator": "x"}))
    assert not answer["ok"] and answer["error"] == "wrong or missing token"
    assert live["service"]._ack.requests_refused["bad_token"] == 2


def test_console_without_an_ack_endpoint_says_so():
    site = simulate("sparse", seed=1, duration_s=1).site
    answer = asyncio.run(Console(site).acknowledge({"alert_id": 1}))
    assert not answer["ok"] and "--ack" in answer["error"]


def test_an_unanswered_acknowledgement_times_out_with_a_clear_error():
    context = zmq.Context()
    silent = context.socket(zmq.ROUTER)            # takes requests, never answers
    silent.setsockopt(zmq.LINGER, 0)
    silent.bind("tcp://127.0.0.1:*")
    try:
        acknowledger = Acknowledger(silent.getsockopt_string(zmq.LAST_ENDPOINT), timeout_s=0.3)
        answer = asyncio.run(acknowledger.acknowledge(1, "x"))
        assert not answer["ok"] and "no answer" in answer["error"]
    finally:
        silent.close()
        context.term()


# --------------------------------------------------------------------------
# replay


@pytest.fixture
def replay_dir(tmp_path):
    rows = np.concatenate([rows_of(float(t), [1, 2] if t < 5 else [2]) for t in range(10)])
    from ingest.csvio import TrackCsvWriter

    with TrackCsvWriter(str(tmp_path / "tracks.csv")) as writer:
        writer.write(rows)
    events = [event("raise", 1, 2.0), event("escalate", 1, 3.0, level="alert"), event("clear", 1, 6.0),
              event("raise", 2, 7.0, track_id=2)]
    with open(tmp_path / "alerts.jsonl", "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    return tmp_path


def test_replay_seek_rebuilds_the_picture_at_that_time(replay_dir):
    site = simulate("sparse", seed=1, duration_s=1).site
    console = Console(site, mode="replay")
    player = console.player = ReplayPlayer(console, str(replay_dir))
    assert (player.t0, player.t1) == (0.0, 9.0)
    player.seek(3.5)
    state = console.state
    assert state.time_s == 3.0 and sorted(state.rows["track_id"].tolist()) == [1, 2]
    assert state.alerts[1]["level"] == "alert" and state.alerts[1]["open"]
    assert len(state.trails[1]) == 4                 # epochs 0..3
    player.advance(7.0)
    assert state.time_s == 7.0 and state.rows["track_id"].tolist() == [2]
    assert not state.alerts[1]["open"] and state.alerts[2]["open"]
    player.seek(100.0)                               # clamped to the end
    assert player.t == 9.0


def test_replay_over_a_websocket_plays_pauses_and_seeks(replay_dir):
    site = simulate("sparse", seed=1, duration_s=1).site
    console = ConsoleThread(site, replay_dir=str(replay_dir))
    try:
        page = Page(console.url)
        assert page.snapshot["mode"] == "replay" and page.snapshot["replay"]["t1"] == 9.0
        page.send({"type": "control", "speed": 50, "play": True})
        page.until(lambda m: m["type"] == "alerts" and m["events"][0]["alert_id"] == 2, "the second raise")
        page.send({"type": "control", "seek": 2.5, "play": False})
        snapshot = page.until(lambda m: m["type"] == "snapshot", "snapshot after the seek")
        assert (snapshot["time_s"], [r["alert_id"] for r in snapshot["alerts"]]) == (2.0, [1])
        # in a replay an acknowledgement is shown in the page (there is no service to tell)
        page.send({"type": "ack", "alert_id": 1, "operator": "trainee"})
        assert page.until(lambda m: m["type"] == "ack_result", "ack_result")["ok"]
        page.close()
    finally:
        console.close()


def test_console_command_errors(tmp_path, capsys):
    from radarcore.cli import main

    assert main(["console", "--replay", str(tmp_path), "--site", "replay_data/swarm/site.toml"]) == 2
    assert "tracks.csv: no such file" in capsys.readouterr().err
    assert main(["console", "--replay", str(tmp_path)]) == 2
    assert "--site" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["console", "--connect", "tcp://127.0.0.1:1", "--site", "x.toml", "--http", "nonsense"])


# --------------------------------------------------------------------------
# a real browser: headless Chromium against serve + emulate + console


def _start(args, log_path):
    import subprocess
    import sys

    log = open(log_path, "w")
    return subprocess.Popen([sys.executable, "-m", "radarcore.cli", *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=log, text=True)


def _first_line(proc, log_path):
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(WAIT_S * 2):
        raise AssertionError(f"no start-up line; its log:\n{open(log_path).read()[-3000:]}")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"it exited ({proc.wait()}); its log:\n{open(log_path).read()[-3000:]}")
    return line


def _stop(proc):
    import signal
    import subprocess

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT_S)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWARM = os.path.join(REPO, "replay_data", "swarm")


@pytest.mark.slow
def test_console_in_headless_chromium_shows_tracks_and_alerts_and_acknowledges(tmp_path):
    """serve + emulate (replay_data/swarm, 4x real time) + console + Chromium, all real processes.

    Checks that tracks and a raised alert appear in the page, that a click on
    Acknowledge reaches alerts.jsonl and comes back to the page, and saves a
    screenshot (also to $RADARCORE_CONSOLE_SCREENSHOT when set).  Prints the
    delay from the service publishing each raise (as a subscriber beside the
    console receives it) to the alert being in the page at the next frame.
    """
    from chromium import Chromium, find_chromium

    if find_chromium() is None:
        pytest.skip("chromium is not installed and could not be (.ci/run: apt-get install -y chromium)")
    token_file = tmp_path / "ack.token"
    token_file.write_text("browser-test-token\n")
    out = tmp_path / "out"
    procs = []
    browser = None
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"alerts")
    try:
        serve = _start(["serve", "--site", f"{SWARM}/site.toml", "--plots", "tcp://127.0.0.1:*",
                        "--publish", "tcp://127.0.0.1:*", "--ack", "tcp://127.0.0.1:*",
                        "--ack-token-file", token_file, "--out", out], tmp_path / "serve.log")
        procs.append(serve)
        line = _first_line(serve, tmp_path / "serve.log")
        plots = line.split("plots on ")[1].split(",")[0]
        publish = line.split("publishing on ")[1].split(",")[0].strip()
        ack = line.split("acknowledgements on ")[1].split(",")[0].strip()
        console = _start(["console", "--connect", publish, "--site", f"{SWARM}/site.toml",
                          "--http", "127.0.0.1:0", "--ack", ack, "--ack-token-file", token_file],
                         tmp_path / "console.log")
        procs.append(console)
        url = _first_line(console, tmp_path / "console.log").split()[2]
        sub.connect(publish)
        browser = Chromium(timeout_s=WAIT_S)
        browser.navigate(url)
        browser.wait_for("window.__rc.connected && window.__rc.snapshots > 0", "the snapshot")
        assert browser.evaluate("S.site.radars.length") == 3
        time.sleep(0.3)                               # the test's subscriber joins
        procs.append(_start(["emulate", SWARM, "--connect", plots, "--speed", "4"], tmp_path / "emulate.log"))
        published = {}                                # alert_id -> wall ms the raise was received here
        listening = threading.Event()
        listening.set()

        def listen():                                 # stamps each raise as it arrives
            while listening.is_set():
                if not sub.poll(50):
                    continue
                parts = sub.recv_multipart()
                now_ms = time.time() * 1e3
                for e in json.loads(parts[1]):
                    if e["event"] == "raise":
                        published.setdefault(e["alert_id"], now_ms)

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        deadline = time.monotonic() + WAIT_S
        # (an advisory shows first: wait for a raised, unacknowledged alert)
        while time.monotonic() < deadline and not browser.evaluate(
                "S.tracks.size > 0 && document.querySelectorAll('#alerts .alert.unack').length > 0"):
            time.sleep(0.05)
        assert browser.evaluate("S.tracks.size") > 0, "no track in the page"
        assert browser.evaluate("document.querySelectorAll('#alerts .alert.unack').length") > 0, "no alert"
        # a real click on the first Acknowledge button
        box = browser.evaluate("(() => { const b = document.querySelector('#alerts button.ack');"
                               " const r = b.getBoundingClientRect();"
                               " return {x: r.x + r.width / 2, y: r.y + r.height / 2, id: +b.dataset.alertId}; })()")
        for kind in ("mousePressed", "mouseReleased"):
            browser.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)
        alert_id = box["id"]
        browser.wait_for(f"S.alerts.get({alert_id}).acknowledged === true", "the acknowledgement")
        assert browser.evaluate(f"document.querySelector('#alerts .alert[data-alert-id=\"{alert_id}\"]')"
                                ".classList.contains('unack')") is False
        # the acknowledgement is in alerts.jsonl, as its own line
        acks = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not acks:
            if (out / "alerts.jsonl").exists():
                acks = [json.loads(line) for line in open(out / "alerts.jsonl")
                        if '"acknowledge"' in line]
            time.sleep(0.1)
        assert [(a["alert_id"], a["event"], a["operator"]) for a in acks] == [(alert_id, "acknowledge", "operator")]
        # a click on the alert selects its track and centres the view on it
        browser.evaluate(f"document.querySelector('#alerts .alert[data-alert-id=\"{alert_id}\"]').click()")
        assert browser.evaluate("S.selected.kind") == "alert"
        browser.evaluate("S.view.scale *= 2.5")          # closer, for the labels in the screenshot
        time.sleep(1.0)
        shot = browser.screenshot(str(tmp_path / "console.png"))
        with open(shot, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("RADARCORE_CONSOLE_SCREENSHOT"):
            import shutil

            shutil.copyfile(shot, os.environ["RADARCORE_CONSOLE_SCREENSHOT"])
        visible = browser.evaluate("window.__rc.alertVisible")
        delays = sorted(visible[str(a)] - t for a, t in published.items() if str(a) in visible)
        assert delays, "no raise both published and shown"
        print(f"\nalert publish -> visible in page: {len(delays)} alerts, median {delays[len(delays) // 2]:.1f} ms, "
              f"max {delays[-1]:.1f} ms")
    finally:
        if browser is not None:
            browser.close()
        for proc in reversed(procs):
            _stop(proc)
        if "listener" in locals():
            listening.clear()
            listener.join(WAIT_S)
        sub.close()
        context.term()


def test_with_curvezmq_only_an_authorised_console_subscribes_and_acknowledges(tmp_path):
    from radarcore.service.keys import generate_keys

    keys = tmp_path / "keys"
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    _, server_secret = generate_keys("server", keys)
    console_public, console_secret = generate_keys("console", keys)
    _, stranger_secret = generate_keys("stranger", keys)
    os.replace(console_public, allowed / "console.key")
    curve = (str(console_secret), str(keys / "server.key"))
    scenario = simulate("sparse", seed=1, duration_s=60)
    service = Service(scenario.site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", ack_endpoint="tcp://127.0.0.1:*",
                      curve_secret_key=str(server_secret), curve_authorized_dir=str(allowed)).start()
    try:
        async def scenario_run():
            console = Console(scenario.site)
            stop = asyncio.Event()
            task = asyncio.create_task(subscribe(console, service.publish_address, stop, curve))
            await asyncio.sleep(0.5)
            # the service publishes stats once a second: an authorised console gets them
            for _ in range(100):
                if console.messages_in["stats"]:
                    break
                await asyncio.sleep(0.1)
            good = await Acknowledger(service.ack_address, curve=curve, timeout_s=5.0).acknowledge(1, "x")
            bad = await Acknowledger(service.ack_address, curve=(str(stranger_secret), str(keys / "server.key")),
                                     timeout_s=1.0).acknowledge(1, "x")
            stop.set()
            await task
            return console, good, bad

        console, good, bad = asyncio.run(scenario_run())
    finally:
        service.stop()
    assert console.messages_in["stats"] > 0
    assert good == {"ok": False, "error": "no open alert 1"}       # it reached the service
    assert not bad["ok"] and "no answer" in bad["error"]           # the stranger got no connection
