"""Prometheus ``/metrics`` of the live service (prometheus-client).

Each service has its own ``CollectorRegistry`` holding one collector that
reads the service's counters when scraped, so nothing is counted twice and
the hot path pays nothing for metrics.

Metrics
-------
``frames_received_total``                 messages received on the plot socket
``frames_rejected_total{reason}``         frames dropped before the engine: malformed,
                                          wrong_version, length_mismatch, too_large, duplicate_seq
``plots_received_total``                  plots in accepted frames
``plots_rejected_total{reason}``          plots dropped: non_finite, unknown_radar,
                                          out_of_range, late, time_jump, shed
``plots_late_total``                      plots older than the reorder window
``plots_shed_total``                      plots dropped because the queue was full
``live_tracks``                           tracks in the track table (gauge)
``queue_depth``                           plots waiting for the engine (gauge)
``alerts_total{event}``                   alert events published: raise, escalate, deescalate, clear
``messages_dropped_total``                publications refused by the PUB socket
``processing_latency_seconds``            histogram, per plot: frame receipt to the end of the
                                          engine step that processed it, publication included
``track_update_latency_seconds``          histogram, live mode, per plot: frame receipt to the
                                          publication of the track update that carries it
``alert_latency_seconds``                 histogram, live mode, per alert event: receipt of the
                                          frame whose track update caused it to its publication
``plots_unprocessed_total``               accepted plots dropped at stop (draining ran out of
                                          time) or lost in a failed engine step
``engine_heartbeat_timestamp_seconds``    epoch seconds of the engine thread's last loop pass
``engine_heartbeat_age_seconds``          seconds since that pass, computed at the scrape: it
                                          grows while the engine is stuck (alert on it)
``engine_last_step_timestamp_seconds``    epoch seconds of the last engine step that processed
                                          plots (absent before the first)

The endpoint
------------

One thread runs an ``asyncio`` HTTP server: connections cost a coroutine,
not a thread, the listen backlog is :data:`LISTEN_BACKLOG`, a client gets
:data:`REQUEST_TIMEOUT_S` to send its request line and headers (then the
connection is closed), at most :data:`MAX_CONNECTIONS` are open at once
(more are closed on accept) and every response closes its connection.  Idle
or slow clients therefore cannot starve a scraper.  ``GET /metrics`` (or
``/``) answers the text exposition format; other paths 404, other methods
405.
"""
import asyncio
import dataclasses
import threading

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

#: Pending connections the listening socket queues.
LISTEN_BACKLOG = 1024
#: Seconds a client has to send its request head.
REQUEST_TIMEOUT_S = 5.0
#: Connections open at once at most.
MAX_CONNECTIONS = 512
#: The largest request head (bytes).
MAX_REQUEST_HEAD = 16 << 10

from radarcore.service.latency import LATENCY_BUCKETS_S


class ServiceCollector:
    """Metrics read from a service's state when scraped.

    Parameters
    ----------
    read_state : callable
        Returns the service's counters: :meth:`radarcore.service.serve.Service.metrics_state`.
    """

    def __init__(self, read_state):
        self.read_state = read_state

    def collect(self):

        s = self.read_state()
        yield CounterMetricFamily("frames_received", "Messages received on the plot socket.",
                                  value=s["frames_received"])
        frames_rejected = CounterMetricFamily("frames_rejected", "Frames dropped before the engine, "
                                              "by reason.", labels=["reason"])
        for reason, n in s["frames_rejected"].items():
            frames_rejected.add_metric([reason], n)
        yield frames_rejected
        yield CounterMetricFamily("plots_received", "Plots in accepted frames.", value=s["plots_received"])
        plots_rejected = CounterMetricFamily("plots_rejected", "Plots dropped, by reason.", labels=["reason"])
        for reason, n in s["plots_rejected"].items():
            plots_rejected.add_metric([reason], n)
        yield plots_rejected
        yield CounterMetricFamily("plots_late", "Plots older than the reorder window.", value=s["plots_late"])
        yield CounterMetricFamily("plots_shed", "Plots dropped because the engine queue was full.",
                                  value=s["plots_shed"])
        yield GaugeMetricFamily("live_tracks", "Tracks in the track table.", value=s["tracks_live"])
        yield GaugeMetricFamily("queue_depth", "Plots waiting for the engine.", value=s["queue_depth_plots"])
        alerts = CounterMetricFamily("alerts", "Alert events published, by event.", labels=["event"])
        for event, n in s["alerts"].items():
            alerts.add_metric([event], n)
        yield alerts
        yield CounterMetricFamily("messages_dropped", "Publications refused by the PUB socket.",
                                  value=s["messages_dropped"])
        yield CounterMetricFamily("plots_unprocessed", "Accepted plots dropped at stop or in a failed "
                                  "engine step.", value=s.get("plots_unprocessed", 0))
        if s.get("engine_heartbeat_time") is not None:
            yield GaugeMetricFamily("engine_heartbeat_timestamp_seconds", "Epoch seconds of the engine "
                                    "thread's last loop pass.", value=s["engine_heartbeat_time"])
        yield GaugeMetricFamily("engine_heartbeat_age_seconds", "Seconds since the engine thread's last "
                                "loop pass; grows while the engine is stuck.",
                                value=s.get("engine_heartbeat_age_s", 0.0))
        if s.get("engine_last_step_time") is not None:
            yield GaugeMetricFamily("engine_last_step_timestamp_seconds", "Epoch seconds of the last "
                                    "engine step that processed plots.", value=s["engine_last_step_time"])
        yield _histogram("processing_latency_seconds",
                         "Per plot: frame receipt to the end of the engine step that processed it.",
                         s.get("latency_buckets"), s.get("latency_total", 0), s.get("latency_sum_s", 0.0))
        for name, what, key in (
                ("track_update_latency_seconds", "Live mode, per plot: frame receipt to the "
                 "publication of the track update that carries it.", "update_latency"),
                ("alert_latency_seconds", "Live mode, per alert event: receipt of the frame whose "
                 "track update caused it to its publication.", "alert_latency")):
            live = s.get(key) or {}
            yield _histogram(name, what, live.get("buckets"), live.get("total", 0), live.get("sum_s", 0.0))


def _histogram(name, documentation, buckets, total, sum_s):
    """A histogram family from per-bucket counts over :data:`LATENCY_BUCKETS_S` (None: empty)."""
    cumulative = []
    running = 0
    for k, bound in enumerate(LATENCY_BUCKETS_S):
        running += int(buckets[k]) if buckets is not None else 0
        cumulative.append((floatToGoString(bound), running))
    cumulative.append(("+Inf", int(total)))
    return HistogramMetricFamily(name, documentation, buckets=cumulative, sum_value=float(sum_s))


@dataclasses.dataclass
class MetricsServer:
    """A running ``/metrics`` HTTP endpoint; :meth:`close` stops it."""

    registry: CollectorRegistry
    port: int
    _loop: object
    _server: object
    _thread: object

    def close(self):
        """Stop accepting, close the listening socket and end the thread.  Idempotent."""
        if not self._thread.is_alive():
            return

        async def shutdown():
            self._server.close()
            # open connections (idle clients) end now, not at their timeout
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5.0)
        except (RuntimeError, TimeoutError, asyncio.TimeoutError):
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)


def _response(status, reason, body, content_type="text/plain; charset=utf-8"):
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("latin-1") + body


def _handler(registry):
    open_connections = [0]

    async def handle(reader, writer):
        open_connections[0] += 1
        try:
            if open_connections[0] > MAX_CONNECTIONS:
                return
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ConnectionError):
                return
            parts = head.split(b"\r\n", 1)[0].split()
            if len(parts) != 3:
                writer.write(_response(400, "Bad Request", b"bad request\n"))
            elif parts[0] not in (b"GET", b"HEAD"):
                writer.write(_response(405, "Method Not Allowed", b"GET /metrics\n"))
            elif parts[1].split(b"?", 1)[0] not in (b"/metrics", b"/"):
                writer.write(_response(404, "Not Found", b"GET /metrics\n"))
            else:
                body = generate_latest(registry)
                response = _response(200, "OK", body, CONTENT_TYPE_LATEST)
                writer.write(response if parts[0] == b"GET" else response[:len(response) - len(body)])
            await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT_S)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        except asyncio.CancelledError:     # the endpoint is closing: end quietly
            pass
        finally:
            open_connections[0] -= 1
            writer.close()

    return handle


def start_metrics_server(read_state, port, addr="127.0.0.1"):
    """Serve the metrics of ``read_state`` on ``http://ADDR:PORT/metrics``.

    Parameters
    ----------
    read_state : callable
        See :class:`ServiceCollector`.
    port : int
        0 lets the system choose (see ``MetricsServer.port``).
    addr : str

    Returns
    -------
    MetricsServer

    Raises
    ------
    OSError
        When the address cannot be bound.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(read_state))
    loop = asyncio.new_event_loop()
    try:
        server = loop.run_until_complete(asyncio.start_server(
            _handler(registry), addr, port, backlog=LISTEN_BACKLOG, limit=MAX_REQUEST_HEAD))
    except BaseException:
        loop.close()
        raise
    bound_port = server.sockets[0].getsockname()[1]

    def run():
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="radarcore-metrics", daemon=True)
    thread.start()
    return MetricsServer(registry, bound_port, loop, server, thread)
