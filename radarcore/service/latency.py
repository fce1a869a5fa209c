"""Latency of the live service: per plot, from the receipt of its frame to
its publication, kept as a histogram with Prometheus buckets."""
import math

import numpy as np

#: Prometheus histogram buckets of the processing latency (seconds, upper bounds).
LATENCY_BUCKETS_S = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2,
                     0.5, 1.0, 2.0, 5.0)


class LatencyHistogram:
    """Latencies weighted by plot count, in fixed log-spaced bins.

    Bins are 50 per decade from 1 µs to 1000 s (each about 4.7 % wide); a
    quantile is reported as the upper edge of the bin that holds it, so it
    is at most 4.7 % above the exact value.  Memory is fixed however long
    the service runs.  Prometheus buckets (:data:`LATENCY_BUCKETS_S`) are
    counted alongside.
    """

    EDGES_S = 10.0 ** (np.arange(-6 * 50, 3 * 50 + 1) / 50.0)

    def __init__(self):
        self.counts = np.zeros(self.EDGES_S.size + 1, np.int64)
        self.bucket_counts = np.zeros(len(LATENCY_BUCKETS_S) + 1, np.int64)
        self.sum_s = 0.0
        self.total = 0

    def add(self, latencies_s, weights):
        """Add latencies (seconds, shape (n,)) each counted ``weights`` (plots, shape (n,)) times."""
        latencies_s = np.asarray(latencies_s, float)
        weights = np.asarray(weights, np.int64)
        # bin k holds (EDGES_S[k - 1], EDGES_S[k]]
        np.add.at(self.counts, np.searchsorted(self.EDGES_S, latencies_s, side="left"), weights)
        np.add.at(self.bucket_counts, np.searchsorted(LATENCY_BUCKETS_S, latencies_s, side="left"),
                  weights)
        self.sum_s += float(np.dot(latencies_s, weights))
        self.total += int(weights.sum())

    def snapshot(self):
        """Copies of the counts, for another thread: ``counts``, ``buckets`` (Prometheus),
        ``sum_s`` and ``total``."""
        return {"counts": self.counts.copy(), "buckets": self.bucket_counts.copy(),
                "sum_s": self.sum_s, "total": self.total}

    def quantile(self, q, counts=None):
        """The ``q`` quantile in seconds (bin upper edge), NaN when empty."""
        counts = self.counts if counts is None else counts
        total = int(counts.sum())
        if total == 0:
            return math.nan
        k = int(np.searchsorted(np.cumsum(counts), math.ceil(q * total), side="left"))
        edges = self.EDGES_S
        return float(edges[min(k, edges.size - 1)])
