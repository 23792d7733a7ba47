"""Where the proxy's CPU goes: py-spy on every proxy worker under load, each sample put in one part of the stack."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .harness import LoadGenerator, RequestPath, Result, process_tree

SAMPLES_PER_SECOND = 200
# A sample belongs to the innermost frame that names one of these (first match in this order for that frame);
# frames that name none (pydantic, asyncio, aiohttp, copy, re …) count for the part that called them.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("ours: usage lines, metrics, spend (callbacks)", ("adapter/metering/", "adapter/hooks/")),
    ("ours: keys and budgets (auth hook, budget check)", ("adapter/keys/",)),
    ("ours: provider (mapping, the backend call)", ("adapter/providers/", "adapter/mapping/", "adapter/upstream/",
                                                   "adapter/openai/")),
    ("ours: door (routes, body checks)", ("adapter/door/", "adapter/gateway.py")),
    ("LiteLLM: cost calculation and response metadata", ("cost_calculator", "response_metadata",
                                                         "tool_call_cost_tracking")),
    ("LiteLLM: logging payload, its callbacks, rate limiter", ("litellm_logging", "custom_logger", "logging_worker",
                                                               "parallel_request_limiter", "_service_logger",
                                                               "prompt_cache", "litellm/integrations/")),
    ("LiteLLM: auth around our hook (route checks, key objects)", ("user_api_key_auth", "/auth/", "route_checks",
                                                                   "proxy/_types.py")),
    ("LiteLLM: router and dispatch", ("litellm/router.py", "litellm/main.py", "dispatch.py", "litellm/utils.py",
                                      "get_llm_provider", "router_utils/", "chat_completions/")),
    ("LiteLLM: request processing (pre-call, hooks, headers, middlewares)", ("litellm/proxy/",)),
    ("LiteLLM: other", ("litellm/", "litellm_enterprise/")),
    ("FastAPI and Starlette", ("starlette/", "fastapi/")),
    ("uvicorn and its access log", ("uvicorn/", "logging/__init__.py")),
]
# aiohttp sends a request's body in a task of its own, whose stack shows none of the parts above.
SENDING = ("aiohttp: sending the backend call (its own task)", "aiohttp/")
REST = "the event loop itself (uvloop's sockets and polling), the rest"
# The innermost Python frame of a sample taken in uvloop's C code (socket reads and writes, epoll).
LOOP_FRAMES = ("asyncio_run (", "Runner.run (", "Runner.run_until_complete (")
TRANSPARENT = ("adapter/tuning/",)  # our wrappers around LiteLLM's own work: the work counts as LiteLLM's
FILE = re.compile(r"\(([^()]*?):\d+\)$")


def part_of(stack: str) -> str:
    frames = stack.split(";")
    if frames[-1].startswith(LOOP_FRAMES):
        return REST
    for frame in reversed(frames):
        found = FILE.search(frame)
        if not found or any(name in found.group(1) for name in (*TRANSPARENT, SENDING[1])):
            continue
        for part, names in PARTS:
            if any(name in found.group(1) for name in names):
                # Only uvicorn (which runs the loop) above aiohttp's frames: aiohttp's sending task.
                sending = part == PARTS[-1][0] and SENDING[1] in stack
                return SENDING[0] if sending else part
    return REST


def idle(stack: str) -> bool:
    """A thread waiting for work (py-spy's --nonblocking mode can count those as active)."""
    leaf = stack.rsplit(";", 1)[-1]
    return "concurrent/futures/thread.py:81)" in leaf or leaf.startswith(("Runner.run (", "Connection._recv ("))


def shares(lines: list[str]) -> dict[str, float]:
    """Each part's share of the busy samples in py-spy's raw output (`frame;frame;… count` per line)."""
    counts: collections.Counter = collections.Counter()
    for line in lines:
        stack, _, number = line.rstrip().rpartition(" ")
        if stack and number.isdigit() and not idle(stack):
            counts[part_of(stack)] += int(number)
    total = sum(counts.values())
    return {part: counts[part] / total for part in [*(name for name, _ in PARTS), SENDING[0], REST]} if total else {}


def py_spy() -> str | None:
    found = shutil.which("py-spy") or Path(sys.prefix, "bin", "py-spy")
    return str(found) if Path(found).exists() else None


@dataclass
class Profile:
    path: RequestPath
    result: Result
    shares: dict[str, float]


def record(generator: LoadGenerator, path: RequestPath, seconds: float, concurrency: int, tmp: Path) -> Profile | None:
    """Load `path` for `seconds` while py-spy samples each worker of its server; None without py-spy."""
    spy = py_spy()
    if spy is None or path.server_pid is None:
        return None
    workers = [pid for pid, _ in process_tree(path.server_pid) if pid != path.server_pid] or [path.server_pid]
    outputs = [tmp / f"profile-{pid}.txt" for pid in workers]
    spies = [subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds) - 2)),
                               "--rate", str(SAMPLES_PER_SECOND), "--format", "raw", "--nonblocking",
                               "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for pid, output in zip(workers, outputs)]
    result = generator.run(path, seconds, concurrency)
    for process in spies:
        process.wait(timeout=60)
    lines = [line for output in outputs if output.exists() for line in output.read_text(errors="replace").splitlines()]
    return Profile(path, result, shares(lines))


def section(profile: Profile | None) -> list[str]:
    if profile is None:
        return ["", "No profile in this run: `pip install py-spy` (scripts/requirements-benchmark.txt)."]
    cpu = profile.result.cpu_ms
    lines = ["", f"Where the proxy's CPU goes on path {profile.path.title.split('.')[0]} (py-spy, {SAMPLES_PER_SECOND} "
             f"samples/s on each worker, {profile.result.requests} requests at {cpu:.1f} ms of CPU each; a sample "
             "counts for the innermost frame of ours or LiteLLM's). py-spy also samples a worker that is ready to "
             "run but waiting for a core, so on shared cores the parts that wake another process (socket writes) "
             "look larger than their CPU; the ms column is the share times the CPU measured from /proc:", "",
             "| part | share of samples | ≈ ms of CPU per request |", "|---|---:|---:|"]
    for part, share in profile.shares.items():
        lines.append(f"| {part} | {share * 100:.1f} % | {share * cpu:.2f} |")
    ours = sum(share for part, share in profile.shares.items() if part.startswith("ours"))
    lines.append(f"| ours in all | {ours * 100:.1f} % | {ours * cpu:.2f} |")
    return lines
