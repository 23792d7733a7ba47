"""This checkout's proxy against another revision's, side by side on one mock: is a change cheaper or dearer?

    .venv/bin/python scripts/benchmark_revisions.py --baseline f6aaa7e          # business path, chat and stream
    .venv/bin/python scripts/benchmark_revisions.py --baseline HEAD --smoke     # A/A: what noise looks like

The baseline is checked out into a temporary git worktree; both proxies run from this checkout's .venv with the
same settings and src/.env-style secrets, against one business API mock started from this checkout. Load (wrk) goes
to each proxy in turn, in interleaved rounds, so drift of the machine hits both alike. Printed: requests/s, p50,
the proxies' CPU per request, and the ratios this/baseline (> 1: this checkout is faster / cheaper).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import stack_settings
from bench.harness import (BUSINESS_MODEL, ROOT, LoadGenerator, RequestPath, Result, chat_body, free_ports,
                           start_logged, stop_process, wait_http)

BIN = Path(sys.executable).parent
STREAM_TEXT = " ".join(["piece"] * 50)  # 50 pieces with no delay: the relay's cost per chunk dominates


def worktree(revision: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), revision], check=True,
                   capture_output=True)
    return where


def proxy_command(src: Path, port: int, workers: int) -> list[str]:
    return [str(BIN / "uvicorn"), "adapter.gateway:app", "--app-dir", str(src), "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--http", "httptools", "--loop", "uvloop",
            "--timeout-keep-alive", "75", "--log-level", "warning"]


def paths_for(name: str, url: str, pid: int, key: str) -> list[RequestPath]:
    auth = {"Authorization": f"Bearer {key}"}
    chat_url = f"{url}/v1/chat/completions"
    return [RequestPath(f"{name}-chat", f"{name}: chat", chat_url, chat_body(BUSINESS_MODEL), auth, pid),
            RequestPath(f"{name}-stream", f"{name}: stream of 50 pieces", chat_url,
                        chat_body(BUSINESS_MODEL, STREAM_TEXT, stream=True), auth, pid)]


def report(results: dict[str, list[Result]], baseline: str) -> str:
    def median(key: str, attribute: str) -> float:
        return statistics.median(getattr(result, attribute) for result in results[key])

    lines = ["| path | requests/s | p50 ms | proxy CPU ms per request | errors |", "|---|---:|---:|---:|---:|"]
    for key in results:
        errors = sum(result.errors for result in results[key])
        lines.append(f"| {key} | {median(key, 'rps'):.0f} | {median(key, 'p50') * 1000:.1f} | "
                     f"{median(key, 'cpu_ms'):.2f} | {errors} |")
    lines += ["", f"| ratio (this checkout / {baseline}) | requests/s | CPU per request |", "|---|---:|---:|"]
    for kind in ("chat", "stream"):
        this, base = f"this-{kind}", f"baseline-{kind}"
        lines.append(f"| {kind} | {median(this, 'rps') / median(base, 'rps'):.3f} | "
                     f"{median(this, 'cpu_ms') / median(base, 'cpu_ms'):.3f} |")
    return "\n".join(lines)


def run(args: argparse.Namespace, tmp: Path) -> str:
    env_file = tmp / ".env"
    stack_settings.create_env_file(env_file)
    business_port, this_port, base_port = free_ports(3)
    env = {**os.environ, "ENV_FILE": str(env_file), "LOG_DIR": str(tmp / "logs"), "LOG_LEVEL": "WARNING",
           "BUSINESS_API_PORT": str(business_port), "LITELLM_PROXY_WORKERS": str(args.workers),
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for name in ("BUSINESS_API_BASE", "LITELLM_MASTER_KEY", "BUSINESS_API_KEY", "CONFIG_FILE_PATH", "BACKENDS_DIR"):
        env.pop(name, None)
    settings = stack_settings.load(env)
    (tmp / "logs").mkdir()
    base_src = worktree(args.baseline, tmp / "baseline") / "src"
    processes = [start_logged([str(BIN / "gunicorn"), "-c", "business_api/gunicorn_conf.py"],
                              {**env, "PYTHONPATH": str(ROOT / "src")}, tmp / "logs" / "business.log", ROOT / "src")]
    try:
        wait_http(f"http://127.0.0.1:{business_port}/health", 60)
        proxies = {}
        for name, src, port in (("this", ROOT / "src", this_port), ("baseline", base_src, base_port)):
            proxy_env = {**env, "PYTHONPATH": str(src), "CONFIG_FILE_PATH": str(src / "config.yaml"),
                         "BACKENDS_DIR": str(src / "backends")}
            process = start_logged(proxy_command(src, port, args.workers), proxy_env, tmp / "logs" / f"{name}.log",
                                   src)
            processes.append(process)
            proxies[name] = (f"http://127.0.0.1:{port}", process.pid)
        for url, _ in proxies.values():
            wait_http(f"{url}/health/liveliness", 120)
        paths = [path for name, (url, pid) in proxies.items()
                 for path in paths_for(name, url, pid, settings.litellm_master_key)]
        swapped = lambda number, paths: paths if number % 2 == 0 else [*paths[2:], *paths[:2]]  # noqa: E731
        results = LoadGenerator(shutil.which("wrk"), tmp).in_rounds(paths, args.rounds, args.duration,
                                                                    args.concurrency, swapped)
        return report(results, args.baseline)
    finally:
        for process in reversed(processes):
            stop_process(process)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "baseline")],
                       capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="git revision to compare against (e.g. a commit or tag)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per path per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="workers per proxy")
    parser.add_argument("--smoke", action="store_true", help="one short round")
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.rounds = 2.0, 1
    if shutil.which("wrk") is None:
        raise SystemExit("benchmark_revisions: needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-revisions-") as tmp:
        print(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
