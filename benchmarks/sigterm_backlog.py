"""SIGTERM to ``radarcore serve`` with a backlog of a million accepted plots.

    python benchmarks/sigterm_backlog.py [--backlog 1000000] [--targets 2000]
                                         [--frame-plots 100] [--drain-timeout 45] [--json FILE]

Not a CI test (``tests/test_serve.py`` holds the small versions).  A
``large`` scenario is sent as fast as the socket takes it, with a queue deep
enough that nothing is shed, until serve has received it all and at least
``--backlog`` plots wait for its engine; then SIGTERM.  Reported: the
backlog at the signal, the seconds from the signal to the final ``stats``
message and to the process's exit, the plots processed and the plots
dropped (``plots_unprocessed``) at stop, the exit status, and whether every
accepted plot is accounted for (``plots_received = plots_processed +
plots_shed + plots_unprocessed``).  The target: exit within 60 s with every
accepted plot processed or reported dropped (then exit status 1).
"""
import argparse
import dataclasses
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time

_spec = importlib.util.spec_from_file_location(
    "serve_benchmark", os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve.py"))
serve_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve_benchmark)

TARGET_EXIT_S = 60.0


def run(backlog, targets, frame_plots, drain_timeout_s, workdir):
    n_plots = int(backlog * 1.15) + 50_000         # the engine works while the frames go out
    scenario = serve_benchmark.long_scenario(targets, n_plots)
    plots = scenario.plots[:n_plots]
    frames, _ = serve_benchmark.encode_frames(plots, frame_plots)
    site = dataclasses.replace(scenario.site, service=dataclasses.replace(
        scenario.site.service, queue_plots=n_plots + 1))
    out = os.path.join(workdir, "out")
    serve = serve_benchmark.ServeProcess(site, workdir, stats_interval_s=0.2,
                                         extra=("--out", out, "--drain-timeout", str(drain_timeout_s)))
    t0 = time.perf_counter()
    for k, message in enumerate(frames):
        serve.push.send_multipart(message)
        if k % 500 == 0:
            serve.poll_messages(0)
    received = serve.wait(lambda s: s["frames_received"] >= len(frames))
    send_s = time.perf_counter() - t0
    # the freshest figures before the signal
    serve.poll_messages(300)
    before = serve.stats[-1]
    t_signal = time.perf_counter()
    serve.proc.send_signal(signal.SIGTERM)
    final = serve.wait(lambda s: s.get("final"), timeout_s=600)
    t_final = time.perf_counter() - t_signal
    serve.proc.communicate(timeout=600)
    t_exit = time.perf_counter() - t_signal
    serve.push.close(linger=0)
    serve.sub.close(linger=0)
    serve.context.term()
    serve.stderr.close()
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(out, "tracks.csv")) as f:
        lines = f.read().splitlines()
    accounted = final["plots_received"] == (final["plots_processed"] + final["plots_shed"]
                                            + final["plots_unprocessed"])
    return {
        "plots_sent": int(plots.size),
        "frames_sent": len(frames),
        "send_s": send_s,
        "plots_received": final["plots_received"],
        "backlog_at_signal": before["queue_depth_plots"],
        "processed_at_signal": before["plots_processed"],
        "plots_processed": final["plots_processed"],
        "processed_after_signal": final["plots_processed"] - before["plots_processed"],
        "plots_unprocessed": final["plots_unprocessed"],
        "plots_shed": final["plots_shed"],
        "every_accepted_plot_accounted_for": accounted,
        "final_stats_s": t_final,
        "exit_s": t_exit,
        "exit_status": serve.proc.returncode,
        "exit_status_as_documented": serve.proc.returncode == (1 if final["plots_unprocessed"] else 0),
        "summary_final": summary.get("final"),
        "tracks_csv_whole": all(line.count(",") == 12 for line in lines),
        "tracks_csv_rows": len(lines) - 1,
        "within_target": t_exit <= TARGET_EXIT_S,
        "received_stats": {k: received[k] for k in ("frames_received", "plots_received")},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--frame-plots", type=int, default=100)
    parser.add_argument("--drain-timeout", type=float, default=45.0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        r = run(args.backlog, args.targets, args.frame_plots, args.drain_timeout, workdir)
    print(f"sent {r['plots_sent']:,} plots ({r['frames_sent']:,} frames) in {r['send_s']:.1f} s; "
          f"backlog at SIGTERM {r['backlog_at_signal']:,} plots")
    print(f"after SIGTERM: processed {r['processed_after_signal']:,}, dropped and counted "
          f"{r['plots_unprocessed']:,} (shed {r['plots_shed']:,}); final stats after "
          f"{r['final_stats_s']:.1f} s, exit {r['exit_status']} after {r['exit_s']:.1f} s "
          f"(target <= {TARGET_EXIT_S:.0f} s: {'hit' if r['within_target'] else 'MISS'})")
    print(f"every accepted plot accounted for: {r['every_accepted_plot_accounted_for']}; exit status as "
          f"documented: {r['exit_status_as_documented']}; summary.json final: {r['summary_final']}; "
          f"tracks.csv whole: {r['tracks_csv_whole']} ({r['tracks_csv_rows']:,} rows)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
    ok = (r["within_target"] and r["every_accepted_plot_accounted_for"] and r["exit_status_as_documented"]
          and r["summary_final"] and r["tracks_csv_whole"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
