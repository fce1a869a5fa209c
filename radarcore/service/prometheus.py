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
"""
import dataclasses

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

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
        buckets = s.get("latency_buckets")
        cumulative = []
        running = 0
        for k, bound in enumerate(LATENCY_BUCKETS_S):
            running += int(buckets[k]) if buckets is not None else 0
            cumulative.append((floatToGoString(bound), running))
        cumulative.append(("+Inf", int(s.get("latency_total", 0))))
        yield HistogramMetricFamily(
            "processing_latency_seconds",
            "Per plot: frame receipt to the end of the engine step that processed it.",
            buckets=cumulative, sum_value=float(s.get("latency_sum_s", 0.0)))


@dataclasses.dataclass
class MetricsServer:
    """A running ``/metrics`` HTTP endpoint; :meth:`close` stops it."""

    registry: CollectorRegistry
    port: int
    _httpd: object
    _thread: object

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5.0)


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
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(read_state))
    httpd, thread = start_http_server(port, addr=addr, registry=registry)
    return MetricsServer(registry, httpd.server_port, httpd, thread)
