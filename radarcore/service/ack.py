"""Alert acknowledgement for ``radarcore serve --ack ENDPOINT``.

An operator's console acknowledges an alert by a request on a ZeroMQ REP
socket that the service binds.  Request and answer are one-part JSON
messages (UTF-8)::

    request  {"alert_id": 7, "operator": "duty officer", "token": "..."}
    answer   {"ok": true, "event": {...the acknowledge event...}}
             {"ok": false, "error": "..."}

With ``--ack-token-file FILE`` the request's ``token`` must equal the first
line of FILE (compared in constant time); without it every request is taken,
so bind the endpoint where only consoles reach it (``tcp://127.0.0.1:PORT``).

The :class:`AckReceiver` thread owns the REP socket and checks a request's
form and token; the engine thread, which owns the alert list and the
publisher, takes the accepted requests (:meth:`AckReceiver.take`), decides
(:meth:`AckBook.acknowledge`), publishes the ``acknowledge`` event on the
``alerts`` topic and writes it to alerts.jsonl, and hands back the answer;
the receiver waits for it at most :data:`ANSWER_TIMEOUT_S`.

The ``acknowledge`` event (alerts.jsonl) carries ``time_s`` (the service's
latest data time, the file's time axis), ``alert_id``, ``event``,
``asset_id``, ``level`` and ``track_id`` of the alert, ``operator`` and
``wall_time_s`` (UTC epoch seconds when the service took it).
"""
import collections
import hmac
import json
import logging
import threading
import time

import zmq

log = logging.getLogger("radarcore.service.ack")

#: How long the receiver waits for the engine thread's decision (seconds).
ANSWER_TIMEOUT_S = 2.0
#: Largest request taken (bytes).
MAX_REQUEST_BYTES = 4096


class AckRequest:
    """One acknowledgement on its way from the receiver to the engine thread and back."""

    def __init__(self, alert_id, operator, wall_time_s):
        self.alert_id = alert_id
        self.operator = operator
        self.wall_time_s = wall_time_s
        self.answer = None
        self.done = threading.Event()

    def finish(self, answer):
        self.answer = answer
        self.done.set()


class AckBook:
    """The open alerts, as published, and who acknowledged them (engine thread only).

    :meth:`observe` sees every published alert event; an alert is open from
    its ``raise`` to its ``clear``.  An acknowledgement holds for the level
    acknowledged: an ``escalate`` asks for a new one.
    """

    def __init__(self):
        self.open = {}                  # alert_id -> latest event
        self.acknowledged = {}          # alert_id -> level acknowledged
        self.time_s = None

    def observe(self, events):
        for event in events:
            alert_id = event.get("alert_id")
            kind = event.get("event")
            if event.get("time_s") is not None:
                self.time_s = event["time_s"]
            if kind == "clear":
                self.open.pop(alert_id, None)
                self.acknowledged.pop(alert_id, None)
            elif kind in ("raise", "escalate", "deescalate"):
                self.open[alert_id] = event

    def observe_time(self, time_s):
        self.time_s = time_s

    def acknowledge(self, request):
        """The ``acknowledge`` event for ``request`` and the answer; event None when refused or repeated."""
        alert = self.open.get(request.alert_id)
        if alert is None:
            return None, {"ok": False, "error": f"no open alert {request.alert_id}"}
        level = alert.get("level")
        if self.acknowledged.get(request.alert_id) == level:
            return None, {"ok": True, "repeated": True}
        self.acknowledged[request.alert_id] = level
        event = {"time_s": self.time_s, "alert_id": request.alert_id, "event": "acknowledge",
                 "asset_id": alert.get("asset_id"), "level": level, "track_id": alert.get("track_id"),
                 "operator": request.operator, "wall_time_s": round(request.wall_time_s, 3)}
        return event, {"ok": True, "event": event}


class AckReceiver:
    """The thread that owns the acknowledgement REP socket.

    Parameters
    ----------
    context : zmq.Context
    endpoint : str
        Endpoint to bind (``tcp://127.0.0.1:5557``, ``tcp://127.0.0.1:*``).
    token : str or None
        Required token; None: none required.
    server_keys : (bytes, bytes) or None
        The service's CurveZMQ (public, secret) keys: the socket is then a
        CurveZMQ server like the service's others (the service's ZAP handler
        admits only authorised clients).
    """

    def __init__(self, context, endpoint, token=None, server_keys=None):
        self.server_keys = server_keys
        self.context = context
        self.endpoint = endpoint
        self.token = token
        self.address = None
        self.requests_refused = collections.Counter()
        self._pending = collections.deque()
        self._stop = threading.Event()
        self._thread = None
        self._socket = None

    def start(self):
        socket = self.context.socket(zmq.REP)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)
        if self.server_keys is not None:
            socket.curve_publickey, socket.curve_secretkey = self.server_keys
            socket.curve_server = True
        try:
            socket.bind(self.endpoint)
        except zmq.ZMQError:
            socket.close(0)
            raise
        self.address = socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._socket = socket
        self._thread = threading.Thread(target=self._run, name="radarcore-ack", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        for request in self._pending:
            request.finish({"ok": False, "error": "the service is stopping"})

    def take(self):
        """The requests waiting for the engine thread (called by the engine thread)."""
        taken = []
        while self._pending:
            taken.append(self._pending.popleft())
        return taken

    def _refuse(self, reason, error):
        self.requests_refused[reason] += 1
        log.warning("acknowledgement refused (%s): %s", reason, error)
        return {"ok": False, "error": error}

    def _decide(self, raw):
        try:
            request = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return self._refuse("malformed", "the request is not JSON")
        if not isinstance(request, dict):
            return self._refuse("malformed", "the request is not a JSON object")
        if self.token is not None:
            token = request.get("token")
            if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self.token.encode()):
                return self._refuse("bad_token", "wrong or missing token")
        alert_id = request.get("alert_id")
        if isinstance(alert_id, bool) or not isinstance(alert_id, int):
            return self._refuse("malformed", "alert_id must be an integer")
        operator = request.get("operator", "")
        if not isinstance(operator, str):
            return self._refuse("malformed", "operator must be a string")
        pending = AckRequest(alert_id, operator[:64], time.time())
        self._pending.append(pending)
        if not pending.done.wait(ANSWER_TIMEOUT_S):
            return {"ok": False, "error": "the engine did not answer in time"}
        return pending.answer

    def _run(self):
        socket = self._socket
        try:
            while not self._stop.is_set():
                if not socket.poll(100):
                    continue
                try:
                    parts = socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    continue
                answer = (self._decide(parts[0]) if len(parts) == 1
                          else self._refuse("malformed", "one part expected"))
                socket.send(json.dumps(answer).encode())
        finally:
            socket.close(0)
