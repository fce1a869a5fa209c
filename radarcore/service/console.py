"""``radarcore console``: the operator's picture in a web browser.

One process serves one self-contained page (``console_static/console.html``:
no script, font or map tile from elsewhere; sites are often air-gapped) and
streams the picture to it over a WebSocket, both on one HTTP port (default
``127.0.0.1:8080``; another interface only when ``--http`` names it).

Sources
-------
live (``--connect ENDPOINT``)
    A ZeroMQ SUB socket on a running ``radarcore serve``'s publish endpoint,
    topics ``tracks``, ``alerts`` and ``stats`` (:mod:`ingest.codec`).
replay (``--replay DIR``)
    DIR/tracks.csv and DIR/alerts.jsonl, played at a chosen speed with
    pause and seek, driven from the page.

Both feed one :class:`ConsoleState` (latest tracks, short trails, the alert
list) and one :class:`Hub` (the connected pages).

Streaming to a page (JSON text messages)
----------------------------------------
- on connect, ``snapshot``: the site (radars, coverage, assets, zones in site
  ENU metres), every live track with its trail, every alert kept, the mode;
- ``tracks``: the live tracks of the latest epoch (columns; a track not in
  it is gone), at most :data:`TRACK_RATE_HZ` times a second: an epoch that
  a page has not yet been sent is replaced by a newer one (a slow page drops
  track deltas);
- ``alerts``: alert events and the updated alert records, sent as soon as
  they arrive, never dropped: a page whose queue of them passes
  :data:`MAX_URGENT_MESSAGES` is disconnected (it reconnects and gets a new
  snapshot), so a page never sees a hole in its alerts and never holds up
  the others or the service;
- ``stats``: the service counters (coalesced like tracks);
- ``ack_result``: the answer to the page's acknowledgement.

Nothing here sends anything to the service except acknowledgements: the SUB
socket cannot slow the service (its PUB socket never blocks), and
the console's own work runs in its own process.

From the page: ``{"type": "ack", "alert_id": N, "operator": "..."}``
(forwarded to the service's acknowledgement endpoint, see
:mod:`radarcore.service.ack`) and, in replay, ``{"type": "control",
"play": bool, "speed": x, "seek": t}``.

A WebSocket whose ``Origin`` is not the page's own host is refused, so
another web page open in the operator's browser cannot acknowledge alerts.
"""
import argparse
import asyncio
import collections
import json
import logging
import math
import os
import sys
import time
from importlib import resources

import numpy as np

from ingest.codec import FrameError, decode_alerts, decode_stats, decode_tracks
from ingest.schema import TRACK_ROW_DTYPE, TRACK_STATUS_NAMES

log = logging.getLogger("radarcore.service.console")

#: Track deltas per second to a page, at most.
TRACK_RATE_HZ = 4.0
#: Urgent messages (alerts, answers) waiting for one page before it is dropped.
MAX_URGENT_MESSAGES = 2000
#: Trail points kept per track.
TRAIL_POINTS = 12
#: Alerts kept after their ``clear``, in data seconds (then forgotten).
CLEARED_KEEP_S = 120.0
#: The most alerts kept (the oldest cleared ones go first).
MAX_ALERTS_KEPT = 2000
#: Track classes, in the order of the alert events' ``class`` field values.
TRACK_CLASSES = ("drone", "bird", "aircraft", "unknown")
LEVELS = ("warning", "alert", "critical")
DEFAULT_HTTP = "127.0.0.1:8080"


def _finite(value, digits=1):
    """A JSON-ready float: rounded, or None when not finite."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _column(values, digits=1):
    values = np.round(np.asarray(values, dtype=float), digits)
    if np.isfinite(values).all():
        return values.tolist()
    return [v if math.isfinite(v) else None for v in values.tolist()]


# ---------------------------------------------------------------------- site

def site_picture(site):
    """What the page draws of a site, in site ENU metres.

    Returns
    -------
    dict
        ``radars``: id, east_m, north_m, max_range_m, mode; ``assets``: id,
        name, east_m, north_m, zones (level, floor_m, ceiling_m and either
        radius_m or polygon, a list of [east_m, north_m]).
    """
    from radarcore.core.zones import site_to_enu

    o = site.origin
    enu = site_to_enu(o)

    radars = []
    for radar in site.radars:
        e, n, _ = enu(radar.lat_deg, radar.lon_deg, radar.alt_m)[0]
        radars.append({"id": radar.id, "east_m": round(float(e), 1), "north_m": round(float(n), 1),
                       "max_range_m": radar.max_range_m, "mode": radar.mode})
    assets = []
    for asset in site.assets:
        e, n, _ = enu(asset.lat_deg, asset.lon_deg, asset.alt_m)[0]
        zones = []
        for zone in asset.zones:
            z = {"level": zone.level, "floor_m": zone.floor_m, "ceiling_m": zone.ceiling_m}
            if zone.polygon is not None:
                lat, lon = zip(*zone.polygon)
                xy = enu(lat, lon, asset.alt_m)
                z["polygon"] = [[round(float(x), 1), round(float(y), 1)] for x, y, _ in xy]
            else:
                z["radius_m"] = zone.radius_m
            zones.append(z)
        assets.append({"id": asset.id, "name": asset.name, "east_m": round(float(e), 1),
                       "north_m": round(float(n), 1), "zones": zones})
    return {"origin": {"lat_deg": o.lat_deg, "lon_deg": o.lon_deg, "alt_m": o.alt_m},
            "radars": radars, "assets": assets, "source": os.path.basename(site.source)}


# --------------------------------------------------------------------- state

class ConsoleState:
    """The picture: the latest epoch's tracks, their trails and the alert list.

    Owned by the event loop (one thread); fed by a source through
    :meth:`on_tracks`, :meth:`on_alerts` and :meth:`on_stats`.

    Track class and confidence: the track rows of the service carry no
    class, the alert events do (``class``, ``class_confidence``), so a
    track shows the class of its latest alert event and ``unknown`` until
    it has one.
    """

    def __init__(self, trail_points=TRAIL_POINTS):
        self.trail_points = trail_points
        self.reset()

    def reset(self):
        self.rows = np.zeros(0, dtype=TRACK_ROW_DTYPE)
        self.time_s = None
        self.trails = {}                  # track_id -> deque of (east_m, north_m)
        self.track_class = {}             # track_id -> (class, confidence)
        self.alerts = {}                  # alert_id -> record
        self.stats = None
        self.epochs = 0
        self._trail_time = None

    # ---- input
    def on_tracks(self, rows):
        """The rows of one epoch (every live track)."""
        self.rows = rows
        self.time_s = float(rows["time_s"][0]) if rows.size else self.time_s
        self.epochs += 1

    def sample_trails(self):
        """Add the latest positions to the trails (at the delta rate, not per epoch)."""
        if self._trail_time == self.time_s:
            return
        self._trail_time = self.time_s
        rows = self.rows
        ids = rows["track_id"].tolist()
        east = np.round(rows["east_m"], 1).tolist()
        north = np.round(rows["north_m"], 1).tolist()
        trails = self.trails
        for i, e, n in zip(ids, east, north):
            trail = trails.get(i)
            if trail is None:
                trail = trails[i] = collections.deque(maxlen=self.trail_points)
            trail.append((e, n))
        if len(trails) > len(ids):
            live = set(ids)
            for i in [i for i in trails if i not in live]:
                del trails[i]
                self.track_class.pop(i, None)

    def on_alerts(self, events):
        """Alert events; returns the records they changed."""
        changed = {}
        for event in events:
            try:
                alert_id = int(event["alert_id"])
                kind = str(event["event"])
            except (KeyError, TypeError, ValueError):
                log.warning("alert event without alert_id or event: %r", event)
                continue
            if "class" in event and "track_id" in event:
                self.track_class[event["track_id"]] = (event["class"], event.get("class_confidence"))
            record = self.alerts.get(alert_id)
            if record is None:
                if kind in ("clear", "acknowledge"):
                    continue              # an alert this console never saw open
                record = self.alerts[alert_id] = {"alert_id": alert_id, "open": kind != "advisory",
                                                  "advisory": kind == "advisory", "acknowledged": False,
                                                  "raised_time_s": event.get("time_s")}
            if kind == "advisory" and not record["advisory"]:
                continue                  # an open alert stays an alert
            if kind in ("raise", "escalate") and record["advisory"]:
                record["advisory"], record["open"] = False, True     # the advisory became an alert
                record["raised_time_s"] = event.get("time_s")
            if kind == "acknowledge":
                record["acknowledged"] = True
                record["ack_time_s"] = event.get("time_s")
                record["ack_wall_time_s"] = event.get("wall_time_s")
                record["operator"] = event.get("operator")
            else:
                if kind == "clear":
                    record["open"] = False
                elif kind == "escalate":
                    record["acknowledged"] = False        # a higher level asks for a new look
                for key, value in event.items():
                    if key != "event":
                        record[key] = value
                record["last_event"] = kind
            record["time_s"] = event.get("time_s", record.get("time_s"))
            changed[alert_id] = record
        self._forget_old_alerts()
        return list(changed.values())

    def _forget_old_alerts(self):
        now = self.time_s
        if now is not None:
            # cleared alerts, and advisories no alert followed (an advisory has no clear)
            for alert_id in [a for a, r in self.alerts.items()
                             if not r["open"] and r.get("time_s") is not None
                             and now - r["time_s"] > CLEARED_KEEP_S]:
                del self.alerts[alert_id]
        if len(self.alerts) > MAX_ALERTS_KEPT:
            closed = sorted((r.get("time_s") or 0.0, a) for a, r in self.alerts.items() if not r["open"])
            for _, alert_id in closed[:len(self.alerts) - MAX_ALERTS_KEPT]:
                del self.alerts[alert_id]

    def on_stats(self, stats):
        self.stats = stats

    # ---- output
    def tracks_message(self):
        """The ``tracks`` message of the latest epoch (columns)."""
        rows = self.rows
        ids = rows["track_id"].tolist()
        cls, conf = [], []
        for i in ids:
            c, p = self.track_class.get(i, ("unknown", None))
            cls.append(c)
            conf.append(_finite(p, 2))
        return {
            "type": "tracks", "time_s": self.time_s, "id": ids,
            "status": [TRACK_STATUS_NAMES[s] if 0 <= s < len(TRACK_STATUS_NAMES) else "?"
                       for s in rows["status"].tolist()],
            "e": _column(rows["east_m"]), "n": _column(rows["north_m"]), "u": _column(rows["up_m"]),
            "ve": _column(rows["v_east_mps"]), "vn": _column(rows["v_north_mps"]),
            "vu": _column(rows["v_up_mps"]), "sigma": _column(rows["sigma_pos_m"]),
            "cls": cls, "conf": conf,
        }

    def snapshot(self, site, mode, ack_enabled, replay=None):
        """The ``snapshot`` message: everything a page needs to start."""
        message = self.tracks_message()
        message.update({
            "type": "snapshot", "mode": mode, "site": site, "ack_enabled": ack_enabled,
            "trails": {str(i): list(t) for i, t in self.trails.items()},
            "alerts": list(self.alerts.values()), "stats": self.stats, "replay": replay,
        })
        return message


# ----------------------------------------------------------------------- hub

class Client:
    """One connected page: an urgent queue (never dropped) and a latest-only slot for deltas."""

    def __init__(self, websocket):
        self.websocket = websocket
        self.urgent = collections.deque()
        self.tracks = None
        self.stats = None
        self.wake = asyncio.Event()
        self.deltas_dropped = 0
        self.overflowed = False


class Hub:
    """The connected pages, and how each is fed without one holding up another."""

    def __init__(self, max_urgent=MAX_URGENT_MESSAGES, track_rate_hz=TRACK_RATE_HZ):
        self.clients = set()
        self.max_urgent = max_urgent
        self.track_period_s = 1.0 / track_rate_hz
        self.deltas_dropped = 0
        self.clients_dropped = 0

    def urgent(self, text):
        """Queue a message every page must get (alerts, snapshots after a seek)."""
        for client in self.clients:
            if client.overflowed:
                continue
            if len(client.urgent) >= self.max_urgent:
                client.overflowed = True
                self.clients_dropped += 1
                log.warning("a page fell %d messages behind: disconnecting it (it reconnects "
                            "with a new snapshot)", self.max_urgent)
            else:
                client.urgent.append(text)
            client.wake.set()

    def tracks(self, text):
        """Offer a track delta; a page not yet sent the previous one gets this one instead."""
        for client in self.clients:
            if client.tracks is not None:
                client.deltas_dropped += 1
                self.deltas_dropped += 1
            client.tracks = text
            client.wake.set()

    def stats(self, text):
        for client in self.clients:
            client.stats = text
            client.wake.set()

    async def feed(self, client):
        """Send a page its messages until it goes: urgent first, deltas at most at the track rate."""
        websocket = client.websocket
        next_delta = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if client.overflowed:
                await websocket.close(1013, "too far behind: reconnect")
                return
            while client.urgent:
                await websocket.send(client.urgent.popleft())
                if client.overflowed:
                    break
            if client.overflowed:
                continue
            wait = None
            if client.tracks is not None or client.stats is not None:
                now = loop.time()
                if now >= next_delta:
                    if client.tracks is not None:
                        text, client.tracks = client.tracks, None
                        await websocket.send(text)
                    if client.stats is not None:
                        text, client.stats = client.stats, None
                        await websocket.send(text)
                    next_delta = max(next_delta + self.track_period_s, now)
                    continue
                wait = next_delta - now
            client.wake.clear()
            if client.urgent or client.overflowed:
                continue
            try:
                await asyncio.wait_for(client.wake.wait(), wait)
            except TimeoutError:
                pass


def _dumps(message):
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


# ------------------------------------------------------------------- console

class Console:
    """The web server, the state and the hub; a source feeds it.

    Parameters
    ----------
    site : radarcore.core.config.SiteConfig
    mode : str
        ``"live"`` or ``"replay"``.
    acknowledger : Acknowledger or None
        Where acknowledgements go; None: the page offers none.
    """

    def __init__(self, site, mode="live", acknowledger=None):
        self.site = site_picture(site)
        self.mode = mode
        self.state = ConsoleState()
        self.hub = Hub()
        self.acknowledger = acknowledger
        self.player = None               # a ReplayPlayer in replay mode
        self._tracks_dirty = False
        self._stats_dirty = False
        self.page = resources.files("radarcore.service").joinpath("console_static/console.html").read_bytes()
        self.messages_in = collections.Counter()
        self.bad_messages = 0

    # ---- from the source (event loop)
    def tracks(self, rows):
        self.state.on_tracks(rows)
        self._tracks_dirty = True
        self.messages_in["tracks"] += 1

    def alerts(self, events):
        records = self.state.on_alerts(events)
        self.messages_in["alerts"] += 1
        if records:
            self.hub.urgent(_dumps({"type": "alerts", "events": events, "records": records}))

    def stats(self, stats):
        self.state.on_stats(stats)
        self._stats_dirty = True
        self.messages_in["stats"] += 1

    def snapshot_text(self):
        replay = self.player.describe() if self.player is not None else None
        return _dumps(self.state.snapshot(self.site, self.mode, self.acknowledger is not None, replay))

    async def ticker(self):
        """Build a track delta at most :data:`TRACK_RATE_HZ` times a second, once for every page."""
        period = 1.0 / TRACK_RATE_HZ
        while True:
            await asyncio.sleep(period)
            if self._tracks_dirty:
                self._tracks_dirty = False
                self.state.sample_trails()
                if self.hub.clients:
                    self.hub.tracks(_dumps(self.state.tracks_message()))
            if self._stats_dirty:
                self._stats_dirty = False
                if self.hub.clients:
                    self.hub.stats(_dumps({"type": "stats", "stats": self.state.stats}))

    # ---- HTTP and WebSocket
    def process_request(self, connection, request):
        """Serve the page on ``/``; let ``/ws`` upgrade (same origin only); 404 otherwise."""
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        path = request.path.split("?", 1)[0]
        if path == "/ws":
            origin = request.headers.get("Origin")
            host = request.headers.get("Host")
            if origin is not None and origin.split("://", 1)[-1] != host:
                return connection.respond(403, "cross-origin WebSocket refused\n")
            return None
        if path in ("/", "/index.html"):
            headers = Headers([("Content-Type", "text/html; charset=utf-8"),
                               ("Content-Length", str(len(self.page))),
                               ("Cache-Control", "no-store"),
                               ("Content-Security-Policy",
                                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "connect-src 'self'; img-src 'self' data:")])
            return Response(200, "OK", headers, self.page)
        return connection.respond(404, "not found\n")

    async def handle(self, websocket):
        client = Client(websocket)
        # snapshot and registration with no await between: no event falls in between
        client.urgent.append(self.snapshot_text())
        self.hub.clients.add(client)
        feeder = asyncio.create_task(self.hub.feed(client))
        from websockets.exceptions import ConnectionClosed

        try:
            async for text in websocket:
                await self.on_page_message(client, text)
        except ConnectionClosed:          # a page that went away mid-message
            pass
        finally:
            self.hub.clients.discard(client)
            feeder.cancel()

    async def on_page_message(self, client, text):
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            self.bad_messages += 1
            return
        if kind == "ack":
            result = await self.acknowledge(message)
            client.urgent.append(_dumps(result))
            client.wake.set()
        elif kind == "control" and self.player is not None:
            self.player.control(message)
        else:
            self.bad_messages += 1

    async def acknowledge(self, message):
        alert_id = message.get("alert_id")
        if self.acknowledger is None:
            return {"type": "ack_result", "alert_id": alert_id, "ok": False,
                    "error": "acknowledgement is off (the console was started without --ack)"}
        if isinstance(alert_id, bool) or not isinstance(alert_id, int):
            return {"type": "ack_result", "alert_id": alert_id, "ok": False, "error": "no alert_id"}
        operator = str(message.get("operator") or "console")[:64]
        reply = await self.acknowledger.acknowledge(alert_id, operator)
        reply.update({"type": "ack_result", "alert_id": alert_id})
        if reply.get("ok") and reply.get("event") and self.mode == "replay":
            self.alerts([reply["event"]])
        return reply

    async def serve(self, host, port, ready=None):
        from websockets.asyncio.server import serve

        tasks = [asyncio.create_task(self.ticker())]
        async with serve(self.handle, host, port, process_request=self.process_request,
                         max_size=1 << 16, ping_interval=20, ping_timeout=20,
                         write_limit=1 << 20) as server:
            sock = next(iter(server.sockets))
            self.http_address = sock.getsockname()[:2]
            if ready is not None:
                ready(self)
            try:
                await asyncio.Future()
            finally:
                for task in tasks:
                    task.cancel()


# -------------------------------------------------------------------- sources

async def subscribe(console, endpoint, stop, curve=None):
    """Feed ``console`` from a service's publish endpoint until ``stop`` is set.

    ``curve``: (this client's secret key file, the server's public key file) for CurveZMQ.
    """
    import zmq
    import zmq.asyncio

    context = zmq.asyncio.Context.instance()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVHWM, 10000)
    if curve is not None:
        from radarcore.service.keys import apply_client_keys

        apply_client_keys(socket, *curve)
    for topic in (b"tracks", b"alerts", b"stats"):
        socket.setsockopt(zmq.SUBSCRIBE, topic)
    socket.connect(endpoint)
    try:
        while not stop.is_set():
            if not await socket.poll(200):
                continue
            parts = await socket.recv_multipart(copy=True)
            topic = parts[0] if parts else b""
            try:
                if topic == b"tracks":
                    rows = decode_tracks(parts)
                    if rows.size or console.state.rows.size:
                        console.tracks(rows)
                elif topic == b"alerts":
                    console.alerts(decode_alerts(parts))
                elif topic == b"stats":
                    console.stats(decode_stats(parts))
            except FrameError as e:
                console.bad_messages += 1
                log.warning("bad %s message: %s", topic[:16], e)
    finally:
        socket.close(0)


class ReplayPlayer:
    """Plays DIR/tracks.csv and DIR/alerts.jsonl into a console: play, pause, speed, seek.

    The page drives it (``control`` messages); every page sees the same
    replay.  A seek rebuilds the picture at the new time (alerts folded up
    to it, tracks of the epoch at or before it, trails from the epochs
    before) and sends every page a new snapshot.
    """

    TICK_S = 0.05

    def __init__(self, console, directory):
        from ingest.csvio import read_tracks_csv

        self.console = console
        tracks_path = os.path.join(directory, "tracks.csv")
        alerts_path = os.path.join(directory, "alerts.jsonl")
        if not os.path.exists(tracks_path):
            raise ValueError(f"{tracks_path}: no such file (a replay directory holds tracks.csv "
                             f"and alerts.jsonl, as written by radarcore replay or serve --out)")
        rows = read_tracks_csv(tracks_path)
        order = np.argsort(rows["time_s"], kind="stable")
        self.rows = rows[order]
        t = self.rows["time_s"]
        self.epoch_times, self.epoch_start = np.unique(t, return_index=True)
        self.epoch_end = np.append(self.epoch_start[1:], t.size)
        self.events = []
        if os.path.exists(alerts_path):
            with open(alerts_path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                        float(event["time_s"])
                    except (ValueError, KeyError, TypeError):
                        raise ValueError(f"{alerts_path}:{number}: not an alert event") from None
                    self.events.append(event)
        self.events.sort(key=lambda e: e["time_s"])
        self.event_times = np.array([e["time_s"] for e in self.events], dtype=float)
        times = [x for x in (self.epoch_times[:1], self.epoch_times[-1:], self.event_times[:1],
                             self.event_times[-1:]) if x.size]
        allt = np.concatenate(times) if times else np.array([0.0])
        self.t0, self.t1 = float(allt.min()), float(allt.max())
        self.t = self.t0
        self.playing = False
        self.speed = 1.0
        self.next_epoch = 0
        self.next_event = 0

    def describe(self):
        return {"t0": self.t0, "t1": self.t1, "t": self.t, "playing": self.playing, "speed": self.speed}

    def control(self, message):
        if "speed" in message:
            try:
                speed = float(message["speed"])
            except (TypeError, ValueError):
                speed = self.speed
            if math.isfinite(speed) and 0.0 < speed <= 1000.0:
                self.speed = speed
        if "play" in message:
            self.playing = bool(message["play"])
            if self.playing and self.t >= self.t1:
                self.seek(self.t0)
        if "seek" in message:
            try:
                self.seek(float(message["seek"]))
            except (TypeError, ValueError):
                pass
        self.console.hub.urgent(_dumps({"type": "replay", "replay": self.describe()}))

    def seek(self, t):
        """Rebuild the picture at data time ``t`` and send every page a snapshot."""
        t = min(max(t, self.t0), self.t1)
        state = self.console.state
        state.reset()
        self.t = t
        self.next_event = int(np.searchsorted(self.event_times, t, side="right"))
        state.on_alerts(self.events[:self.next_event])
        self.next_epoch = int(np.searchsorted(self.epoch_times, t, side="right"))
        for k in range(max(0, self.next_epoch - state.trail_points), self.next_epoch):
            state.on_tracks(self.rows[self.epoch_start[k]:self.epoch_end[k]])
            state.sample_trails()
        self.console._tracks_dirty = False
        self.console.hub.urgent(self.console.snapshot_text())

    def advance(self, t):
        """Feed the epochs and events up to data time ``t``."""
        self.t = t
        while self.next_event < len(self.events) and self.event_times[self.next_event] <= t:
            hi = int(np.searchsorted(self.event_times, self.event_times[self.next_event], side="right"))
            self.console.alerts(self.events[self.next_event:hi])
            self.next_event = hi
        last = int(np.searchsorted(self.epoch_times, t, side="right"))
        if last > self.next_epoch:
            for k in range(max(self.next_epoch, last - self.console.state.trail_points), last):
                self.console.tracks(self.rows[self.epoch_start[k]:self.epoch_end[k]])
                if k < last - 1:
                    self.console.state.sample_trails()
            self.next_epoch = last

    async def run(self, stop):
        loop = asyncio.get_running_loop()
        last = loop.time()
        last_announce = 0.0
        self.seek(self.t0)
        while not stop.is_set():
            await asyncio.sleep(self.TICK_S)
            now = loop.time()
            if self.playing:
                t = self.t + (now - last) * self.speed
                if t >= self.t1:
                    t, self.playing = self.t1, False
                self.advance(t)
                if now - last_announce >= 0.25 or not self.playing:
                    self.console.hub.stats(_dumps({"type": "replay", "replay": self.describe()}))
                    last_announce = now
            last = now


# ------------------------------------------------------------ acknowledgement

class Acknowledger:
    """Sends acknowledgements to a service's acknowledgement endpoint (ZeroMQ REQ).

    One request at a time; a request not answered within ``timeout_s``
    gives an error and a fresh socket (a REQ socket whose reply never came
    cannot send again).
    """

    def __init__(self, endpoint, token=None, timeout_s=3.0, curve=None):
        self.endpoint = endpoint
        self.curve = curve
        self.token = token
        self.timeout_s = timeout_s
        self._socket = None
        self._lock = None

    def _connect(self):
        import zmq
        import zmq.asyncio

        socket = zmq.asyncio.Context.instance().socket(zmq.REQ)
        socket.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            from radarcore.service.keys import apply_client_keys

            apply_client_keys(socket, *self.curve)
        socket.connect(self.endpoint)
        return socket

    async def acknowledge(self, alert_id, operator):
        """The service's answer: ``{"ok": true, "event": {...}}`` or ``{"ok": false, "error": ...}``."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._socket is None:
                self._socket = self._connect()
            request = {"alert_id": alert_id, "operator": operator}
            if self.token is not None:
                request["token"] = self.token
            await self._socket.send(json.dumps(request).encode())
            if not await self._socket.poll(int(self.timeout_s * 1000)):
                self._socket.close(0)
                self._socket = None
                return {"ok": False, "error": f"no answer from {self.endpoint} in {self.timeout_s:g} s"}
            reply = await self._socket.recv()
        try:
            answer = json.loads(reply)
        except ValueError:
            return {"ok": False, "error": "the service's answer is not JSON"}
        return answer if isinstance(answer, dict) else {"ok": False, "error": "bad answer"}


class ReplayAcknowledger:
    """Acknowledgement in a replay: recorded nowhere but the page (there is no service)."""

    def __init__(self, console):
        self.console = console

    async def acknowledge(self, alert_id, operator):
        record = self.console.state.alerts.get(alert_id)
        if record is None:
            return {"ok": False, "error": f"no alert {alert_id}"}
        event = {"time_s": self.console.state.time_s, "alert_id": alert_id, "event": "acknowledge",
                 "asset_id": record.get("asset_id"), "level": record.get("level"),
                 "track_id": record.get("track_id"), "operator": operator, "wall_time_s": time.time()}
        return {"ok": True, "event": event}


def read_token(path):
    """The token in a token file (its first line, stripped); a clear error if empty."""
    with open(path, encoding="utf-8") as f:
        token = f.readline().strip()
    if not token:
        raise ValueError(f"{path}: the token file is empty")
    return token


# ---------------------------------------------------------------- command line

def parse_http(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected ADDR:PORT, got {text!r}")
    try:
        port = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}")
    return host.strip("[]"), port


def add_parser(subparsers):
    """Add the ``console`` command to an ``argparse`` sub-parser set."""
    p = subparsers.add_parser(
        "console", help="the operator's web console: live from serve, or a replay",
        description="Serve the operator's picture as a web page: live from a running radarcore serve "
                    "(--connect) or playing a replay's tracks.csv and alerts.jsonl (--replay).")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--connect", metavar="ENDPOINT", help="the service's publish endpoint")
    source.add_argument("--replay", metavar="DIR", help="a directory with tracks.csv and alerts.jsonl")
    p.add_argument("--site", metavar="SITE.toml",
                   help="site.toml (default: DIR/site.toml with --replay when it exists)")
    p.add_argument("--http", type=parse_http, default=parse_http(DEFAULT_HTTP), metavar="ADDR:PORT",
                   help=f"where the page is served (default {DEFAULT_HTTP}; port 0: any free port)")
    p.add_argument("--ack", metavar="ENDPOINT",
                   help="the service's acknowledgement endpoint (serve --ack); without it the page "
                        "cannot acknowledge")
    p.add_argument("--ack-token-file", metavar="FILE",
                   help="the token the service requires for acknowledgements (serve --ack-token-file)")
    from radarcore.service.keys import add_client_key_arguments

    add_client_key_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args):
    """Run ``radarcore console`` until SIGINT or SIGTERM; return the exit status."""
    import signal

    from radarcore.core.config import ConfigError, load_site
    from radarcore.service.keys import KeyFileError, client_keys_from_args

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        import websockets  # noqa: F401
    except ImportError:
        print("radarcore console: needs the websockets package: pip install 'radarcore[console]'",
              file=sys.stderr)
        return 2
    site_path = args.site
    if site_path is None and args.replay and os.path.exists(os.path.join(args.replay, "site.toml")):
        site_path = os.path.join(args.replay, "site.toml")
    if site_path is None:
        print("radarcore console: give --site SITE.toml", file=sys.stderr)
        return 2
    try:
        site = load_site(site_path)
        token = read_token(args.ack_token_file) if args.ack_token_file else None
        curve = client_keys_from_args(args, "console")
    except (ConfigError, KeyFileError, OSError, ValueError) as e:
        print(f"radarcore console: {e}", file=sys.stderr)
        return 2
    console = Console(site, mode="replay" if args.replay else "live")
    if args.ack:
        console.acknowledger = Acknowledger(args.ack, token, curve=curve)
    if args.replay:
        try:
            console.player = ReplayPlayer(console, args.replay)
        except (OSError, ValueError) as e:
            print(f"radarcore console: {e}", file=sys.stderr)
            return 2
        if console.acknowledger is None:
            console.acknowledger = ReplayAcknowledger(console)
    host, port = args.http

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(c):
            h, p = c.http_address
            shown = f"[{h}]" if ":" in h else h
            print(f"radarcore console: http://{shown}:{p}/ "
                  + (f"(replay of {args.replay})" if args.replay else f"(live from {args.connect})"),
                  flush=True)

        server = asyncio.create_task(console.serve(host, port, ready))
        source = asyncio.create_task(console.player.run(stop) if console.player is not None
                                     else subscribe(console, args.connect, stop, curve))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({server, source, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (server, source, stopper):
            task.cancel()
        for task in done:
            if task is not stopper and not task.cancelled() and task.exception() is not None:
                raise task.exception()

    try:
        asyncio.run(main())
    except OSError as e:
        print(f"radarcore console: {e}", file=sys.stderr)
        return 2
    return 0
