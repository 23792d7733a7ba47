"""The benchmark harness: free ports, a process tree's CPU and memory, percentiles, load generators, processes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx

ROOT = Path(__file__).resolve().parents[2]
BUSINESS_MODEL = "my-custom-model"  # the model the business API mock serves (src/config.yaml's first)


# ---------------------------------------------------------------- ports and statistics


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (all held open together while choosing)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank); 0.0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# ---------------------------------------------------------------- a server and its workers (Linux /proc)


def process_tree(root_pid: int):
    """(pid, fields of /proc/pid/stat after the command name) for a process and its children (uvicorn workers)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(entry) == root_pid or stat[1] == str(root_pid):
            yield int(entry), stat


def rss_mb(root_pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    for pid, _ in process_tree(root_pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


def cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children."""
    ticks = sum(int(stat[11]) + int(stat[12]) for _, stat in process_tree(root_pid))
    return ticks / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- processes


def start_logged(command: list[str], env: dict, log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start `command` in a session of its own (stopped with its workers), its output appended to `log`."""
    with log.open("ab") as handle:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)


def log_tail(log: Path, lines: int = 40) -> str:
    """The last `lines` lines of a service's log, under a heading naming it (for a failed run's report)."""
    text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else ["(no log)"]
    return f"--- the last {lines} lines of {log.name} ---\n" + "\n".join(text)


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"benchmark: {url} did not come up within {seconds:g} s")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# ---------------------------------------------------------------- what is measured


def chat_body(model: str, text: str = "benchmark", **extra) -> dict:
    """An OpenAI chat request with one user message."""
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def messages_body(model: str, text: str = "benchmark") -> dict:
    """An Anthropic Messages request with the same one user message as chat_body."""
    return {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": text}]}


def codex_body(model: str, text: str = "benchmark") -> dict:
    """A Responses request shaped like Codex CLI's (non-streamed here, so it compares with chat_body): instructions,
    a function tool, the hosted web_search tool it always sends (dropped by the door), reasoning and its flags."""
    return {
        "model": model, "instructions": "You are a coding agent running in a terminal.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
        "tools": [{"type": "function", "name": "shell", "description": "Runs a shell command.", "strict": False,
                   "parameters": {"type": "object", "properties": {"command": {"type": "array",
                                                                               "items": {"type": "string"}}},
                                  "required": ["command"]}},
                  {"type": "web_search", "external_web_access": False}],
        "tool_choice": "auto", "parallel_tool_calls": False, "reasoning": {"effort": "medium"}, "store": False,
        "stream": False, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "benchmark-session",
    }


def business_body(text: str = "benchmark", **extra) -> dict:
    """A request in the business API's own contract (POST /api/process)."""
    return {"query": text, "model_info": {"name": BUSINESS_MODEL}, **extra}


@dataclass
class RequestPath:
    """One measured request path: the same request, sent again and again to one URL."""

    key: str
    title: str
    url: str
    body: dict
    headers: dict = field(default_factory=dict)
    server_pid: int | None = None  # the process (with its workers) that answers; its CPU time is measured


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float
    cpu_ms: float = float("nan")  # CPU time of the answering server (all its workers) per request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- load generators

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "errors": %d, "p50": %d, "p95": %d, "p99": %d, "us": %d}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.duration))
end
"""


def lua_string(text: str) -> str:
    return f"[==[{text}]==]"


def wrk_script(path: RequestPath) -> str:
    """A wrk Lua script sending this path's request and printing the summary as one JSON line."""
    headers = {"Content-Type": "application/json", **path.headers}
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(json.dumps(path.body))}"]
    lines += [f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}" for name, value in headers.items()]
    return "\n".join(lines) + "\n" + WRK_DONE


def wrk_load(wrk: str, tmp: Path, path: RequestPath, seconds: float, concurrency: int) -> Result:
    script = tmp / f"{path.key}.lua"
    script.write_text(wrk_script(path))
    output = subprocess.run(
        [wrk, "-t", "2" if concurrency > 100 else "1", "-c", str(concurrency), "-d", f"{seconds:g}s",
         "--timeout", "30s", "-s", str(script), path.url],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout
    data = json.loads(next(line for line in output.splitlines() if line.startswith("BENCH "))[6:])
    return Result(data["requests"], data["errors"], data["us"] / 1e6, data["p50"] / 1e6, data["p95"] / 1e6,
                  data["p99"] / 1e6)


async def asyncio_load(path: RequestPath, seconds: float, concurrency: int) -> Result:
    """The fallback without wrk: `concurrency` httpx clients in one event loop, each sending back to back."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    body = json.dumps(path.body).encode()
    headers = {"Content-Type": "application/json", **path.headers}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def worker():
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.post(path.url, content=body, headers=headers)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return Result(len(latencies), errors, elapsed, percentile(latencies, 0.5), percentile(latencies, 0.95),
                  percentile(latencies, 0.99))


@dataclass
class LoadGenerator:
    """wrk when its binary is given, else the asyncio client; either measures the answering server's CPU too."""

    wrk: str | None
    tmp: Path  # where wrk's Lua scripts are written

    @property
    def name(self) -> str:
        return "wrk" if self.wrk else "asyncio client (httpx)"

    def run(self, path: RequestPath, seconds: float, concurrency: int) -> Result:
        cpu_before = cpu_seconds(path.server_pid) if path.server_pid else None
        if self.wrk:
            result = wrk_load(self.wrk, self.tmp, path, seconds, concurrency)
        else:
            result = asyncio.run(asyncio_load(path, seconds, concurrency))
        if cpu_before is not None and result.requests:
            result.cpu_ms = (cpu_seconds(path.server_pid) - cpu_before) * 1000 / result.requests
        return result

    def in_rounds(self, paths: list[RequestPath], rounds: int, seconds: float, concurrency: int,
                  order: Callable[[int, list[RequestPath]], list[RequestPath]]) -> dict[str, list[Result]]:
        """Each path's results over `rounds` (in the order `order` gives for each round), after a 2 s warm-up of
        each: the first requests pay for lazy imports and connection set-up."""
        for path in paths:
            self.run(path, 2, concurrency)
        results: dict[str, list[Result]] = {path.key: [] for path in paths}
        for round_number in range(rounds):
            for path in order(round_number, paths):
                results[path.key].append(self.run(path, seconds, concurrency))
        return results


# ---------------------------------------------------------------- charts


def pyplot():
    """matplotlib's pyplot, drawing to files; None without matplotlib (scripts/requirements-benchmark.txt)."""
    try:  # here, not at the top: matplotlib is optional
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt
