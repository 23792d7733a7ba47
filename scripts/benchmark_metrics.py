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
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

import stack_settings
from bench.harness import (BUSINESS_MODEL, ROOT, LoadGenerator, RequestPath, Result, chat_body, free_ports,
                           start_logged, stop_process, wait_http)

BIN = Path(sys.executable).parent
SRC = ROOT / "src"
STREAM_TEXT = " ".join(["piece"] * 50)
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


def proxy_command(port: int, workers: int) -> list[str]:
    return [str(BIN / "python"), "-m", "proxy_supervisor", "adapter.gateway:app", "--app-dir", str(SRC),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--http", "httptools",
            "--loop", "uvloop", "--timeout-keep-alive", "75", "--log-level", "warning"]


def paths_for(name: str, url: str, pid: int, key: str) -> list[RequestPath]:
    auth = {"Authorization": f"Bearer {key}"}
    chat_url = f"{url}/v1/chat/completions"
    return [RequestPath(f"{name}-chat", f"{name}: chat", chat_url, chat_body(BUSINESS_MODEL), auth, pid),
            RequestPath(f"{name}-stream", f"{name}: stream of 50 pieces", chat_url,
                        chat_body(BUSINESS_MODEL, STREAM_TEXT, stream=True), auth, pid)]


def report(results: dict[str, list[Result]]) -> str:
    def median(key: str, attribute: str) -> float:
        return statistics.median(getattr(result, attribute) for result in results[key])

    lines = ["| path | requests/s | p50 ms | proxy CPU ms per request | errors |", "|---|---:|---:|---:|---:|"]
    for key in results:
        errors = sum(result.errors for result in results[key])
        lines.append(f"| {key} | {median(key, 'rps'):.0f} | {median(key, 'p50') * 1000:.1f} | "
                     f"{median(key, 'cpu_ms'):.2f} | {errors} |")
    lines += ["", f"| ratio to '{REFERENCE}' | requests/s | CPU per request |", "|---|---:|---:|"]
    for name in VARIANTS:
        for kind in ("chat", "stream"):
            this, base = f"{name}-{kind}", f"{REFERENCE}-{kind}"
            if name != REFERENCE:
                lines.append(f"| {name} {kind} | {median(this, 'rps') / median(base, 'rps'):.3f} | "
                             f"{median(this, 'cpu_ms') / median(base, 'cpu_ms'):.3f} |")
    return "\n".join(lines)


def run(args: argparse.Namespace, tmp: Path) -> str:
    env_file = tmp / ".env"
    stack_settings.create_env_file(env_file)
    business_port, *ports = free_ports(1 + len(VARIANTS))
    env = {**os.environ, "ENV_FILE": str(env_file), "LOG_DIR": str(tmp / "logs"), "LOG_LEVEL": "WARNING",
           "BUSINESS_API_PORT": str(business_port), "LITELLM_PROXY_WORKERS": str(args.workers),
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "BACKENDS_DIR": str(SRC / "backends")}
    for name in ("BUSINESS_API_BASE", "LITELLM_MASTER_KEY", "BUSINESS_API_KEY", "CONFIG_FILE_PATH",
                 "PROMETHEUS_MULTIPROC_DIR", "PROXY_METRICS_DIR"):
        env.pop(name, None)
    settings = stack_settings.load(env)
    (tmp / "logs").mkdir()
    processes = [start_logged([str(BIN / "gunicorn"), "-c", "business_api/gunicorn_conf.py"],
                              {**env, "PYTHONPATH": str(SRC)}, tmp / "logs" / "business.log", SRC)]
    try:
        wait_http(f"http://127.0.0.1:{business_port}/health", 60)
        proxies = {}
        for (name, callbacks), port in zip(VARIANTS.items(), ports):
            proxy_env = {**env, "PYTHONPATH": str(SRC), "LITELLM_PROXY_PORT": str(port),
                         "CONFIG_FILE_PATH": str(config_with(callbacks, tmp / f"config-{name}.yaml")),
                         "PROXY_METRICS_DIR": str(tmp / f"metrics-{name}")}
            process = start_logged(proxy_command(port, args.workers), proxy_env, tmp / "logs" / f"{name}.log", SRC)
            processes.append(process)
            proxies[name] = (f"http://127.0.0.1:{port}", process.pid)
        for url, _ in proxies.values():
            wait_http(f"{url}/health/liveliness", 180)
        paths = [path for name, (url, pid) in proxies.items()
                 for path in paths_for(name, url, pid, settings.litellm_master_key)]
        rotated = lambda number, paths: paths[2 * (number % len(VARIANTS)):] + paths[:2 * (number % len(VARIANTS))]  # noqa: E731
        results = LoadGenerator(shutil.which("wrk"), tmp).in_rounds(paths, args.rounds, args.duration,
                                                                    args.concurrency, rotated)
        return report(results)
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
