"""What metrics cost (issue 21): proxies of this checkout side by side on one mock, differing only in config.yaml's
metrics callback: ours (adapter.hooks.metrics), none, and LiteLLM's own prometheus callback.

    .venv/bin/python scripts/benchmark_metrics.py                  # 4 interleaved rounds of 10 s per path
    .venv/bin/python scripts/benchmark_metrics.py --smoke          # one short round

Each proxy runs as in production: under proxy_supervisor with 2 workers and its own metrics directory
(PROMETHEUS_MULTIPROC_DIR), the usage log on. Load (wrk; --smoke falls back to the asyncio client) goes to each
proxy in turn, in rounds whose order rotates, so drift of the machine hits all alike. Printed: requests/s, p50, the proxies' CPU per request, and each variant's
ratios to the proxy without metrics.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from bench.harness import ROOT, LoadGenerator, Result, free_ports, log_tail, start_logged, stop_process, wait_http
from bench.side_by_side import chat_and_stream, environment, median, proxy_command, start_mock, table

SRC = ROOT / "src"
VARIANTS = {  # name → litellm_settings.callbacks
    "ours": ["adapter.hooks.usage_log", "adapter.hooks.metrics"],
    "none": ["adapter.hooks.usage_log"],
    "litellm": ["adapter.hooks.usage_log", "prometheus"],
}
REFERENCE = "none"


def config_with(callbacks: list[str], where: Path) -> Path:
    """src/config.yaml with these callbacks, written to `where`."""
    config = yaml.safe_load((SRC / "config.yaml").read_text(encoding="utf-8"))
    config["litellm_settings"]["callbacks"] = callbacks
    where.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return where


def report(results: dict[str, list[Result]]) -> str:
    lines = [*table(results), "", f"| ratio to '{REFERENCE}' | requests/s | CPU per request |", "|---|---:|---:|"]
    for name in VARIANTS:
        for kind in ("chat", "stream"):
            this, base = f"{name}-{kind}", f"{REFERENCE}-{kind}"
            if name != REFERENCE:
                lines.append(f"| {name} {kind} | {median(results, this, 'rps') / median(results, base, 'rps'):.3f} | "
                             f"{median(results, this, 'cpu_ms') / median(results, base, 'cpu_ms'):.3f} |")
    return "\n".join(lines)


def logs_of(directory: Path) -> str:
    """The end of every proxy's log, printed when a path had errors: the logs go with the temporary directory, and
    a worker replaced mid-round (proxy_supervisor says why) shows only as errors and a drop in the CPU read."""
    tails = [log_tail(log) for log in sorted(directory.glob("*.log"))]
    return "\n\nErrors in a path: the proxies' logs follow.\n" + "\n".join(tails)


def run(args: argparse.Namespace, tmp: Path) -> str:
    env, settings = environment(tmp, args.workers)
    processes = [start_mock(env, tmp)]
    try:
        proxies = {}
        for (name, callbacks), port in zip(VARIANTS.items(), free_ports(len(VARIANTS))):
            proxy_env = {**env, "PYTHONPATH": str(SRC), "LITELLM_PROXY_PORT": str(port),
                         "BACKENDS_DIR": str(SRC / "backends"),
                         "CONFIG_FILE_PATH": str(config_with(callbacks, tmp / f"config-{name}.yaml")),
                         "PROXY_METRICS_DIR": str(tmp / f"metrics-{name}")}
            process = start_logged(proxy_command(SRC, port, args.workers), proxy_env, tmp / "logs" / f"{name}.log", SRC)
            processes.append(process)
            proxies[name] = (f"http://127.0.0.1:{port}", process.pid)
        for url, _ in proxies.values():
            wait_http(f"{url}/health/liveliness", 180)
        paths = [path for name, (url, pid) in proxies.items()
                 for path in chat_and_stream(name, url, pid, settings.litellm_master_key)]
        rotated = lambda number, paths: paths[2 * (number % len(VARIANTS)):] + paths[:2 * (number % len(VARIANTS))]  # noqa: E731
        results = LoadGenerator(shutil.which("wrk"), tmp).in_rounds(paths, args.rounds, args.duration,
                                                                    args.concurrency, rotated)
        failed = any(result.errors for rounds in results.values() for result in rounds)
        return report(results) + (logs_of(tmp / "logs") if failed else "")
    finally:
        for process in reversed(processes):
            stop_process(process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per path per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="workers per proxy")
    parser.add_argument("--smoke", action="store_true", help="one short round")
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.rounds = 2.0, 1
    if shutil.which("wrk") is None and not args.smoke:
        # The asyncio fallback spends a core of its own on 2 cores: fine to prove the script runs, not to measure.
        raise SystemExit("benchmark_metrics: needs wrk (apt-get install wrk); only --smoke runs without it")
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        print(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
