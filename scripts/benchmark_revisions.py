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
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import ROOT, LoadGenerator, Result, free_ports, start_logged, stop_process, wait_http
from bench.side_by_side import chat_and_stream, environment, median, proxy_command, start_mock, table


def worktree(revision: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), revision], check=True,
                   capture_output=True)
    return where


def report(results: dict[str, list[Result]], baseline: str) -> str:
    lines = [*table(results), "", f"| ratio (this checkout / {baseline}) | requests/s | CPU per request |",
             "|---|---:|---:|"]
    for kind in ("chat", "stream"):
        this, base = f"this-{kind}", f"baseline-{kind}"
        lines.append(f"| {kind} | {median(results, this, 'rps') / median(results, base, 'rps'):.3f} | "
                     f"{median(results, this, 'cpu_ms') / median(results, base, 'cpu_ms'):.3f} |")
    return "\n".join(lines)


def run(args: argparse.Namespace, tmp: Path) -> str:
    env, settings = environment(tmp, args.workers)
    this_port, base_port = free_ports(2)
    base_src = worktree(args.baseline, tmp / "baseline") / "src"
    processes = [start_mock(env, tmp)]
    try:
        proxies = {}
        for name, src, port in (("this", ROOT / "src", this_port), ("baseline", base_src, base_port)):
            proxy_env = {**env, "PYTHONPATH": str(src), "CONFIG_FILE_PATH": str(src / "config.yaml"),
                         "BACKENDS_DIR": str(src / "backends")}
            # plain uvicorn: a baseline may predate proxy_supervisor
            command = proxy_command(src, port, args.workers, supervised=False)
            process = start_logged(command, proxy_env, tmp / "logs" / f"{name}.log", src)
            processes.append(process)
            proxies[name] = (f"http://127.0.0.1:{port}", process.pid)
        for url, _ in proxies.values():
            wait_http(f"{url}/health/liveliness", 120)
        paths = [path for name, (url, pid) in proxies.items()
                 for path in chat_and_stream(name, url, pid, settings.litellm_master_key)]
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
