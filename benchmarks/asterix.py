"""CAT048 decode throughput: records per second on one core from a large buffer.

    python benchmarks/asterix.py [--records 5000000] [--repeat 3] [--json FILE]

Encodes ``--records`` CAT048 target reports of two radars (I048/010, 140,
020, 040, 110, 130 PAM, 120 CAL: 20 bytes a record, in data blocks of up to
65535 bytes), checks that decoding gives back the encoded plots within the
ASTERIX resolution and rejects nothing (the figure is meaningless if the
answers are wrong), then times, after compilation:

* ``decode_datagram`` on the whole buffer, end to end (plot batch, side
  information and counters included), the first run (fresh output memory)
  and the best of ``--repeat``;
* the compiled driver alone (``decode_blocks``) into preallocated outputs.

Wall-clock and process CPU time are both reported: on a shared machine the
CPU figure is the steadier one.  The decoder is serial (one core).
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ingest import _asterix_kernels as K  # noqa: E402
from ingest.asterix import (  # noqa: E402
    RadarEntry, RadarMap, TimeOfDayUnwrapper, decode_datagram, encode_cat048, warmup,
)
from ingest.schema import PLOT_DTYPE, empty_plots  # noqa: E402

TARGET_RECORDS_PER_S = 5_000_000


def make_plots(rng, n):
    """Plots of two radars, in time order, with Doppler and SNR."""
    plots = empty_plots(n)
    plots["time_s"] = np.sort(rng.uniform(0.0, 80_000.0, n))
    plots["radar_id"] = rng.integers(1, 3, n)
    plots["range_m"] = rng.uniform(300.0, 40_000.0, n)
    plots["azimuth_deg"] = rng.uniform(0.0, 360.0, n)
    plots["elevation_deg"] = rng.uniform(-1.0, 30.0, n)
    plots["radial_velocity_mps"] = rng.normal(0.0, 20.0, n)
    plots["snr_db"] = rng.uniform(3.0, 50.0, n)
    return plots


def check(plots, result):
    """The decoded plots are the encoded ones within the ASTERIX resolution."""
    got = result.plots
    if result.n_rejected or got.shape != plots.shape:
        raise SystemExit(f"decode check failed: {result.rejected}, {got.shape} plots for {plots.shape}")
    gap = np.mod(got["azimuth_deg"] - plots["azimuth_deg"] + 180.0, 360.0) - 180.0
    worst = {
        "time_s": (np.abs(got["time_s"] - plots["time_s"]).max(), 1 / 256),
        "range_m": (np.abs(got["range_m"] - plots["range_m"]).max(), K.RHO_LSB_M / 2),
        "azimuth_deg": (np.abs(gap).max(), K.THETA_LSB_DEG / 2),
        "radial_velocity_mps": (np.abs(got["radial_velocity_mps"] - plots["radial_velocity_mps"]).max(), 0.5),
        "snr_db": (np.abs(got["snr_db"] - plots["snr_db"]).max(), 0.5),
    }
    for name, (error, bound) in worst.items():
        if not error <= bound + 1e-9:
            raise SystemExit(f"decode check failed: {name} off by {error} (bound {bound})")
    if not np.array_equal(got["radar_id"], plots["radar_id"]):
        raise SystemExit("decode check failed: radar ids differ")
    height_m = result.plot_info["height_m"]
    if not np.all(np.isfinite(got["elevation_deg"])) or not np.all(np.abs(height_m) < 70_000):
        raise SystemExit("decode check failed: elevations")


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--distinct", type=int, default=250_000,
                        help="distinct records, repeated to fill the buffer")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    radars = RadarMap([RadarEntry(0, 1, 1, 31.31, 120.60, 25.0), RadarEntry(0, 2, 2, 31.28, 120.65, 30.0)])
    rng = np.random.default_rng(7)
    distinct = min(args.distinct, args.records)
    plots = make_plots(rng, distinct)
    block = encode_cat048(plots, radars)
    copies = -(-args.records // distinct)
    buffer = block * copies
    n_records = distinct * copies

    t0 = time.perf_counter()
    warmup()
    compile_s = time.perf_counter() - t0
    check(plots, decode_datagram(block, radars, TimeOfDayUnwrapper()))

    runs = []
    for _ in range(max(1, args.repeat)):
        result, wall, cpu = timed(lambda: decode_datagram(buffer, radars))
        if result.records != n_records or len(result.plots) != n_records:
            raise SystemExit(f"decode check failed: {result.records} records of {n_records}")
        runs.append((wall, cpu))
        del result

    data = np.frombuffer(buffer, np.uint8)
    # room for every record, and for the most a block could hold (the driver's margin)
    capacity = n_records + 65535 // K.MIN_PLOT_RECORD_BYTES + 1
    plots_out = np.empty(capacity, PLOT_DTYPE)
    info_out = np.empty(capacity, K.PLOT_INFO_DTYPE)
    services = np.empty(1, K.SERVICE_DTYPE)
    kernel_runs = []
    for _ in range(max(1, args.repeat)):
        counters = np.zeros(K.N_COUNTERS, np.int64)
        clock = np.array([0.0, np.nan])
        (stop, n_plots, _), wall, cpu = timed(lambda: K.decode_blocks(
            data, 0, 0, radars.lookup, radars.radar_id, radars.radar_alt_m, radars.radar_radius_m, 0,
            clock, counters, plots_out, info_out, services))
        if stop != data.shape[0] or n_plots != n_records:
            raise SystemExit("decode check failed: kernel stopped early")
        kernel_runs.append((wall, cpu))

    def rate(seconds):
        return n_records / seconds

    figures = {
        "records": n_records,
        "bytes": len(buffer),
        "bytes_per_record": len(buffer) / n_records,
        "compile_or_cache_load_s": compile_s,
        "decode_datagram_first_records_per_s": rate(runs[0][0]),
        "decode_datagram_best_records_per_s": rate(min(w for w, _ in runs)),
        "decode_datagram_best_cpu_records_per_s": rate(min(c for _, c in runs)),
        "kernel_best_records_per_s": rate(min(w for w, _ in kernel_runs)),
        "kernel_best_cpu_records_per_s": rate(min(c for _, c in kernel_runs)),
        "target_records_per_s": TARGET_RECORDS_PER_S,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    print(f"{n_records:,} CAT048 records, {len(buffer) / 1e6:.1f} MB "
          f"({figures['bytes_per_record']:.1f} B/record); compile or cache load {compile_s:.2f} s; "
          f"load average {figures['load_average']}")
    print(f"decode_datagram: first {figures['decode_datagram_first_records_per_s'] / 1e6:6.2f} M records/s, "
          f"best {figures['decode_datagram_best_records_per_s'] / 1e6:6.2f} M/s wall, "
          f"{figures['decode_datagram_best_cpu_records_per_s'] / 1e6:6.2f} M/s CPU")
    print(f"kernel alone:    best {figures['kernel_best_records_per_s'] / 1e6:6.2f} M records/s wall, "
          f"{figures['kernel_best_cpu_records_per_s'] / 1e6:6.2f} M/s CPU")
    cpu_rate = figures["decode_datagram_best_cpu_records_per_s"]
    print(f"target {TARGET_RECORDS_PER_S / 1e6:.0f} M records/s end to end (CPU time): "
          f"{'met' if cpu_rate >= TARGET_RECORDS_PER_S else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(figures, file, indent=2)


if __name__ == "__main__":
    main()
