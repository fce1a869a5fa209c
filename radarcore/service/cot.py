"""Cursor on Target output: tracks and alerts for TAK clients (``serve --cot URL``).

Every published epoch, each confirmed or coasting track goes out as one CoT
event (XML, ``version="2.0"``); every alert event goes out at once as a CoT
event of its own, and the alerted track is sent again with its new
affiliation.  Tentative tracks are not sent: they are not yet a target.

Transport (``URL``)
-------------------
``udp://HOST:PORT``
    one datagram per event; a multicast group (e.g. ``udp://239.2.3.1:6969``,
    the TAK clients' default "SA" group) is sent with TTL 1 on the
    interface the system picks, loopback included.
``tcp://HOST:PORT``
    a stream of events, one after the other (as a TAK server's CoT input
    takes them); reconnected after a failure, at most every
    :data:`RECONNECT_S` seconds; what comes while it is down is dropped.

A sender thread owns the socket: the engine thread only offers work to a
bounded queue (:data:`QUEUE_ITEMS`) and never waits; what does not fit is
dropped and counted (``dropped``), so a slow or absent TAK server never
slows the service.

Events
------
Track ``uid`` is ``radarcore.track.<track_id>`` (``<prefix>.track.<id>``),
``how="m-f"`` (machine, fused), ``time`` = ``start`` = the wall-clock time
of sending (UTC; tracks.csv times may be scenario times, a TAK client needs
real ones), ``stale`` = ``time`` + ``stale_s`` (default
:data:`DEFAULT_STALE_S`); ``point``: ``lat``, ``lon``, ``hae`` (the track's
``alt_m``, height above the WGS-84 ellipsoid), ``ce`` = ``sigma_pos_m``,
``le`` = 9999999 (not known); ``detail``: ``track`` (``course`` degrees true,
``speed`` m/s), ``contact`` (``callsign`` ``RC <id>``) and ``remarks``
(class, confidence, status, alert).

Type by class and affiliation (:func:`cot_type`): the affiliation comes from
the track's most severe open alert: none ``u`` (unknown), ``warning`` ``s``
(suspect), ``alert`` or ``critical`` ``h`` (hostile); a bird with no alert is
``n`` (neutral).

============  ================  ===================  ===================
class         no alert          warning              alert, critical
============  ================  ===================  ===================
drone         ``a-u-A-M-F-Q``   ``a-s-A-M-F-Q``      ``a-h-A-M-F-Q``
aircraft      ``a-u-A``         ``a-s-A``            ``a-h-A``
bird          ``a-n-A``         ``a-s-A``            ``a-h-A``
unknown       ``a-u-A``         ``a-s-A``            ``a-h-A``
============  ================  ===================  ===================

(``A-M-F-Q``: air, military, fixed wing, drone: the MIL-STD-2525 symbol
TAK clients show for a UAV.)  The class is the one of the track's latest
alert event; a track with none is ``unknown``.

Alert ``uid`` is ``radarcore.alert.<alert_id>``, type ``b-m-p-s-p-i``
(sensor point of interest), at the track's last position, with a ``link``
to the track's event, ``contact callsign`` ``ALERT <id> <LEVEL> <asset>``,
remarks with the event, time to entry and CPA, and ``stale`` =
``time`` + ``alert_stale_s``; its ``clear`` is sent with ``stale`` = ``time``,
which removes it from TAK maps.
"""
import logging
import math
import queue
import socket
import struct
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr, escape

log = logging.getLogger("radarcore.service.cot")

DEFAULT_STALE_S = 15.0
DEFAULT_ALERT_STALE_S = 300.0
QUEUE_ITEMS = 256
RECONNECT_S = 5.0
UID_PREFIX = "radarcore"
#: CoT type of a track by class (the affiliation letter is put in later).
CLASS_TYPE = {"drone": "a-{}-A-M-F-Q", "aircraft": "a-{}-A", "bird": "a-{}-A", "unknown": "a-{}-A"}
LEVEL_AFFILIATION = {None: "u", "warning": "s", "alert": "h", "critical": "h"}
LEVEL_RANK = {None: 0, "warning": 1, "alert": 2, "critical": 3}
ALERT_TYPE = "b-m-p-s-p-i"
STATUS_NAMES = ("free", "tentative", "confirmed", "coasting")


def cot_type(track_class, level=None):
    """The CoT type of a track of ``track_class`` whose most severe open alert is at ``level``."""
    pattern = CLASS_TYPE.get(track_class, CLASS_TYPE["unknown"])
    if track_class == "bird" and level is None:
        return pattern.format("n")
    return pattern.format(LEVEL_AFFILIATION.get(level, "u"))


def cot_time(t_s):
    """CoT time: ISO 8601 UTC with milliseconds and ``Z``."""
    return datetime.fromtimestamp(t_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int((t_s % 1) * 1000):03d}Z"


def _num(value, digits, missing="9999999.0"):
    if value is None or not math.isfinite(value):
        return missing
    return f"{value:.{digits}f}"


def _event(uid, type_, now_s, stale_s, lat, lon, hae, ce, le, detail, how="m-f"):
    return (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<event version="2.0" uid={quoteattr(uid)} type="{type_}" how="{how}" '
            f'time="{cot_time(now_s)}" start="{cot_time(now_s)}" stale="{cot_time(now_s + stale_s)}">'
            f'<point lat="{_num(lat, 7, "0.0")}" lon="{_num(lon, 7, "0.0")}" hae="{_num(hae, 1)}" '
            f'ce="{_num(ce, 1)}" le="{_num(le, 1)}"/>'
            f'<detail>{detail}</detail></event>').encode()


def track_event(row, track_class="unknown", confidence=None, alert=None, now_s=None,
                stale_s=DEFAULT_STALE_S, prefix=UID_PREFIX):
    """One track row (TRACK_ROW_DTYPE) as a CoT event (bytes).

    Parameters
    ----------
    row : numpy.void or mapping
        A row with the tracks.csv fields.
    track_class : str
    confidence : float or None
    alert : dict or None
        The track's most severe open alert event (``level``, ``alert_id``, ``asset_id``).
    now_s : float or None
        Wall-clock time of the event (UTC epoch seconds); None: now.
    """
    now_s = time.time() if now_s is None else now_s
    level = None if alert is None else alert.get("level")
    track_id = int(row["track_id"])
    ve, vn = float(row["v_east_mps"]), float(row["v_north_mps"])
    speed = math.hypot(ve, vn)
    course = math.degrees(math.atan2(ve, vn)) % 360.0
    status = int(row["status"])
    remarks = f"radarcore track {track_id}: {track_class}"
    if confidence is not None and math.isfinite(confidence):
        remarks += f" ({confidence:.2f})"
    remarks += f", {STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else status}"
    if alert is not None:
        remarks += f"; alert {alert.get('alert_id')} {level} {alert.get('asset_id')}"
    detail = (f'<track course="{_num(course, 1, "0.0")}" speed="{_num(speed, 2, "0.0")}"/>'
              f'<contact callsign={quoteattr(f"RC {track_id}")}/>'
              f'<remarks>{escape(remarks)}</remarks>')
    return _event(f"{prefix}.track.{track_id}", cot_type(track_class, level), now_s, stale_s,
                  float(row["lat_deg"]), float(row["lon_deg"]), float(row["alt_m"]),
                  float(row["sigma_pos_m"]), None, detail)


def alert_event(event, lat, lon, hae, track_type=None, now_s=None, stale_s=DEFAULT_ALERT_STALE_S,
                prefix=UID_PREFIX):
    """One alert event (alerts.jsonl fields) as a CoT event (bytes); a ``clear`` is stale at once."""
    now_s = time.time() if now_s is None else now_s
    kind = event.get("event")
    level = event.get("level") or ""
    alert_id = event.get("alert_id")
    tte = event.get("time_to_entry_s")
    cpa = event.get("cpa_m")
    remarks = (f"radarcore alert {alert_id}: {kind} {level} {event.get('asset_id')}, "
               f"track {event.get('track_id')}"
               + (f", entry in {tte:.0f} s" if isinstance(tte, (int, float)) else "")
               + (f", CPA {cpa:.0f} m" if isinstance(cpa, (int, float)) else "")
               + (f", by {event.get('operator')}" if kind == "acknowledge" else ""))
    link = ""
    if event.get("track_id") is not None:
        link = (f'<link uid="{prefix}.track.{int(event["track_id"])}" relation="p-p"'
                + (f' type="{track_type}"' if track_type else "") + "/>")
    callsign = f"ALERT {alert_id} {level.upper()} {event.get('asset_id')}"
    detail = (f'<contact callsign={quoteattr(callsign)}/>'
              f'{link}<remarks>{escape(remarks)}</remarks>')
    return _event(f"{prefix}.alert.{alert_id}", ALERT_TYPE, now_s, 0.0 if kind == "clear" else stale_s,
                  lat, lon, hae, None, None, detail, how="m-f")


def parse_url(url):
    """``udp://HOST:PORT`` or ``tcp://HOST:PORT`` -> (scheme, host, port); ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("udp", "tcp") or not parts.hostname or parts.port is None:
        raise ValueError(f"--cot: expected udp://HOST:PORT or tcp://HOST:PORT, got {url!r}")
    return parts.scheme, parts.hostname, parts.port


class _Geodesy:
    """ENU of the site -> WGS-84, for alerts of tracks the sender has not seen."""

    def __init__(self, site):
        import numpy as np

        from kernels.geodesy import enu_rotation, geodetic_to_ecef

        o = site.origin
        origin = np.empty((1, 3))
        geodetic_to_ecef(np.array([o.lat_deg]), np.array([o.lon_deg]), np.array([o.alt_m]), origin)
        self.origin = origin[0].copy()
        self.rot = np.ascontiguousarray(enu_rotation(o.lat_deg, o.lon_deg))

    def __call__(self, east, north, up):
        import numpy as np

        from kernels.geodesy import enu_to_geodetic

        out = np.empty((1, 3))
        enu_to_geodetic(np.array([[east, north, up]], dtype=float), self.origin, self.rot, out)
        return tuple(out[0])


class CotSender:
    """Sends tracks and alerts as CoT from a thread of its own.

    Parameters
    ----------
    url : str
        ``udp://HOST:PORT`` or ``tcp://HOST:PORT``.
    site : SiteConfig or None
        To place alerts of tracks not yet sent (ENU -> WGS-84).
    stale_s, alert_stale_s : float
    """

    def __init__(self, url, site=None, stale_s=DEFAULT_STALE_S, alert_stale_s=DEFAULT_ALERT_STALE_S,
                 prefix=UID_PREFIX):
        self.scheme, self.host, self.port = parse_url(url)
        if not (math.isfinite(stale_s) and stale_s > 0):
            raise ValueError(f"--cot-stale must be a positive number of seconds, got {stale_s!r}")
        self.url = url
        self.stale_s = float(stale_s)
        self.alert_stale_s = float(alert_stale_s)
        self.prefix = prefix
        self.geodesy = _Geodesy(site) if site is not None else None
        self.events_sent = 0
        self.dropped = 0
        self.send_errors = 0
        self._queue = queue.Queue(QUEUE_ITEMS)
        self._stop = threading.Event()
        self._thread = None
        self._sock = None
        self._next_connect = 0.0
        # sender-thread state
        self._class = {}                    # track_id -> (class, confidence)
        self._alerts = {}                   # alert_id -> latest event, while open
        self._last = {}                     # track_id -> latest row
        self._type = {}                     # track_id -> CoT type last sent

    # ---- engine thread
    def offer_tracks(self, rows):
        self._offer(("tracks", rows.copy()))

    def offer_alerts(self, events):
        self._offer(("alerts", list(events)))

    def _offer(self, item):
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    # ---- life cycle
    def start(self):
        if self.scheme == "udp":
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._sock = socket.socket(family, socket.SOCK_DGRAM)
            if family == socket.AF_INET:
                self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", 1))
                self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self._thread = threading.Thread(target=self._run, name="radarcore-cot", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout_s=5.0):
        """Send what is queued (within ``timeout_s``), then close."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # ---- sender thread
    def _run(self):
        while True:
            try:
                kind, payload = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if kind == "tracks":
                self._tracks(payload)
            else:
                self._alerts_in(payload)

    def _alert_of(self, track_id):
        best = None
        for event in self._alerts.values():
            if event.get("track_id") == track_id and (
                    best is None or LEVEL_RANK.get(event.get("level"), 0) > LEVEL_RANK.get(best.get("level"), 0)):
                best = event
        return best

    def _track(self, row, now_s):
        track_id = int(row["track_id"])
        track_class, confidence = self._class.get(track_id, ("unknown", None))
        alert = self._alert_of(track_id)
        self._type[track_id] = cot_type(track_class, None if alert is None else alert.get("level"))
        self._send(track_event(row, track_class, confidence, alert, now_s, self.stale_s, self.prefix))

    def _tracks(self, rows):
        now_s = time.time()
        live = {}
        for row in rows:
            if int(row["status"]) in (2, 3):       # confirmed, coasting
                live[int(row["track_id"])] = row
                self._track(row, now_s)
        self._last = live
        for track_id in [t for t in self._class if t not in live]:
            del self._class[track_id]
        for track_id in [t for t in self._type if t not in live]:
            del self._type[track_id]

    def _alerts_in(self, events):
        now_s = time.time()
        for event in events:
            track_id = event.get("track_id")
            if event.get("class") is not None and track_id is not None:
                self._class[track_id] = (event["class"], event.get("class_confidence"))
            alert_id = event.get("alert_id")
            kind = event.get("event")
            if kind == "advisory":
                continue                          # a track worth a look, not an alert: no marker
            if kind == "clear":
                self._alerts.pop(alert_id, None)
            elif kind in ("raise", "escalate", "deescalate"):
                self._alerts[alert_id] = event
            row = self._last.get(track_id)
            if row is not None:
                lat, lon, hae = float(row["lat_deg"]), float(row["lon_deg"]), float(row["alt_m"])
                self._track(row, now_s)              # its affiliation may have changed
            elif self.geodesy is not None and event.get("east_m") is not None:
                lat, lon, hae = self.geodesy(event["east_m"], event["north_m"], event.get("up_m") or 0.0)
            else:
                lat = lon = hae = None
            if lat is None:
                continue
            self._send(alert_event(event, lat, lon, hae, self._type.get(track_id), now_s,
                                   self.alert_stale_s, self.prefix))

    def _send(self, data):
        try:
            if self.scheme == "udp":
                self._sock.sendto(data, (self.host, self.port))
            else:
                if self._sock is None:
                    if time.monotonic() < self._next_connect:
                        self.dropped += 1
                        return
                    self._next_connect = time.monotonic() + RECONNECT_S
                    self._sock = socket.create_connection((self.host, self.port), timeout=2.0)
                    self._sock.settimeout(2.0)
                self._sock.sendall(data)
            self.events_sent += 1
        except OSError as e:
            self.send_errors += 1
            if self.send_errors in (1, 10, 100) or self.send_errors % 1000 == 0:
                log.warning("CoT to %s: %s (%d errors so far)", self.url, e, self.send_errors)
            if self.scheme == "tcp" and self._sock is not None:
                self._sock.close()
                self._sock = None

    def counters(self):
        return {"events_sent": self.events_sent, "dropped": self.dropped, "send_errors": self.send_errors}
