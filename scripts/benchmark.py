"""Side-by-side benchmark of the adapter stack: every path measured in the same run, interleaved in rounds.

    .venv/bin/python scripts/benchmark.py            # full run, writes docs/benchmarks.md (+ a PNG chart)
    .venv/bin/python scripts/benchmark.py --smoke    # a few seconds per path; checks that nothing fails

It starts its own stack on free loopback ports with ./start_services.sh (so it measures the default, tuned
set-up), plus an untuned LiteLLM proxy for reference, and stops everything at the end. Load comes from wrk
when it is installed (apt-get install wrk), else from an asyncio client in this script.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

import stack_settings  # noqa: E402

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "errors": %d, "p50": %d, "p95": %d, "p99": %d, "us": %d}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.duration))
end
"""


@dataclass
class Path_:
    key: str
    title: str
    url: str
    model: str | None  # None: the business API's own contract
    headers: dict = field(default_factory=dict)
    server_pid: int | None = None  # the process (with its workers) that answers; its CPU time is measured

    def body(self, text: str) -> dict:
        if self.model is None:
            return {"query": text, "model_info": {"name": "my-custom-model"}}
        return {"model": self.model, "messages": [{"role": "user", "content": text}]}


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


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# ---------------------------------------------------------------- load generators


async def asyncio_load(path: Path_, seconds: float, concurrency: int) -> Result:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    body = json.dumps(path.body("benchmark")).encode()
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


def lua_string(text: str) -> str:
    return f"[==[{text}]==]"


def wrk_script(path: Path_) -> str:
    """A wrk Lua script sending this path's request and printing the summary as one JSON line."""
    headers = {"Content-Type": "application/json", **path.headers}
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(json.dumps(path.body('benchmark')))}"]
    lines += [f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}" for name, value in headers.items()]
    return "\n".join(lines) + "\n" + WRK_DONE


def wrk_load(wrk: str, tmp: Path, path: Path_, seconds: float, concurrency: int) -> Result:
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


# ---------------------------------------------------------------- streaming


async def time_to_first_piece(client: httpx.AsyncClient, url: str, headers: dict, body: dict) -> tuple[float, int, float]:
    """(seconds to the first content piece, pieces, seconds in all) for one streamed request.

    Pieces are the words of the delivered text (the test answer is one word per piece), not chunks: the proxy
    merges pieces that wait into one chunk (adapter/openai/shapes.py, coalesce), so a chunk count would measure the merging.
    """
    started = time.perf_counter()
    first, pieces = None, 0
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            text = event.get("delta") if "delta" in event else (event.get("choices") or [{}])[0].get("delta", {}).get("content")
            if text:
                pieces += len(text.split())
                first = first if first is not None else time.perf_counter() - started
    return first or 0.0, pieces, time.perf_counter() - started


async def streaming_comparison(business: str, proxy: str, keys: dict, repeats: int) -> dict:
    direct_headers = {"X-API-Key": keys["business"]}
    proxy_headers = {"Authorization": f"Bearer {keys['proxy']}"}
    words = " ".join(["word"] * 200)
    results = {"direct_ttft": [], "proxy_ttft": [], "direct_rate": [], "proxy_rate": []}
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(repeats):
            for route in ("direct", "proxy"):
                text = f"{words} [mock:chunk_delay=0]"
                if route == "direct":
                    args = (f"{business}/api/process", direct_headers,
                            {"query": text, "model_info": {"name": "my-custom-model"}, "stream": True})
                else:
                    args = (f"{proxy}/v1/chat/completions", proxy_headers,
                            {"model": "my-custom-model", "messages": [{"role": "user", "content": text}], "stream": True})
                ttft, pieces, total = await time_to_first_piece(client, *args)
                results[f"{route}_ttft"].append(ttft)
                results[f"{route}_rate"].append(pieces / total if total else 0.0)
    return {name: statistics.median(values) for name, values in results.items()}


# ---------------------------------------------------------------- processes


def _process_tree(root_pid: int):
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
    for pid, _ in _process_tree(root_pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


def cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children."""
    ticks = sum(int(stat[11]) + int(stat[12]) for _, stat in _process_tree(root_pid))
    return ticks / os.sysconf("SC_CLK_TCK")


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


class Bench:
    """Our stack (via ./start_services.sh) plus an untuned LiteLLM reference proxy, on free ports."""

    def __init__(self, tmp: Path, workers: int | None):
        self.tmp = tmp
        business_port, proxy_port, untuned_port, untuned_ours_port = free_ports(4)
        env_file = tmp / ".env"
        stack_settings.create_env_file(env_file)
        names = [f.upper() for f in stack_settings.Settings.__dataclass_fields__]
        self.env = {k: v for k, v in os.environ.items() if k not in names and k != "CONFIG_FILE_PATH"}
        self.env.update(ENV_FILE=str(env_file), LOG_DIR=str(tmp / "logs"), BUSINESS_API_PORT=str(business_port),
                        LITELLM_PROXY_PORT=str(proxy_port), VENV=sys.prefix, NO_COLOR="1",
                        CONFIG_FILE_PATH=str(tmp / "config.yaml"))
        if workers:
            self.env["LITELLM_PROXY_WORKERS"] = str(workers)
        self.settings = stack_settings.load(self.env)
        self.business = f"http://127.0.0.1:{business_port}"
        self.proxy = f"http://127.0.0.1:{proxy_port}"
        self.untuned = f"http://127.0.0.1:{untuned_port}"
        self.untuned_ours = f"http://127.0.0.1:{untuned_ours_port}"
        self.untuned_processes: list[subprocess.Popen] = []
        self.write_configs()

    def write_configs(self) -> None:
        config = yaml.safe_load((SRC / "config.yaml").read_text())
        floor = {"model_name": "litellm-floor",
                 "litellm_params": {"model": "openai/floor", "mock_response": "Mock answer", "api_key": "unused"}}
        compat = {"model_name": "openai-compatible",
                  "litellm_params": {"model": "openai/my-custom-model", "api_base": f"{self.business}/v1",
                                     "api_key": self.settings.business_api_key}}
        config["model_list"] += [floor, compat]
        (self.tmp / "config.yaml").write_text(yaml.safe_dump(config))
        untuned = {"model_list": [floor], "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"}}
        (self.tmp / "untuned.yaml").write_text(yaml.safe_dump(untuned))

    def start(self, references: bool = True) -> None:
        result = subprocess.run([str(ROOT / "start_services.sh")], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=600)
        if result.returncode:
            raise SystemExit(f"benchmark: start_services.sh failed:\n{result.stdout}\n{result.stderr}")
        if not references:
            return
        # The reference: plain LiteLLM, one worker, uvicorn's pure-Python HTTP parser, no adapter at all, run as
        # a plain `pip install 'litellm[proxy]'` has it; and the same server with this project's packages.
        self.untuned_processes = [self.start_untuned(self.untuned, [str(ROOT / "scripts" / "untuned_litellm.py")]),
                                  self.start_untuned(self.untuned_ours, ["-m", "uvicorn"])]
        for url in (self.untuned, self.untuned_ours):
            wait_http(f"{url}/health/liveliness", 120)

    def start_untuned(self, url: str, runner: list[str], config: str = "untuned.yaml", workers: int = 1,
                      loop: str = "uvloop") -> subprocess.Popen:
        """A LiteLLM proxy without this project's adapter or tuning, with a config file written into tmp.

        h11 and uvloop, as the `litellm` command of a plain install runs it (uvloop comes with litellm[proxy]).
        """
        env = {**self.env, "CONFIG_FILE_PATH": str(self.tmp / config),
               "LITELLM_MASTER_KEY": self.settings.litellm_master_key, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        port = url.rsplit(":", 1)[1]
        log = (self.tmp / "logs" / f"untuned-{port}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, *runner, "litellm.proxy.proxy_server:app", "--host", "127.0.0.1",
             "--port", port, "--workers", str(workers), "--http", "h11", "--loop", loop],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        for process in self.untuned_processes:
            stop_process(process)
        subprocess.run([str(ROOT / "stop_services.sh")], cwd=ROOT, env=self.env, capture_output=True, timeout=120)

    def pid(self, service: str) -> int:
        """The main pid of `litellm_proxy` or `business_api`, from the pid file start_services.sh wrote."""
        return int((self.tmp / "logs" / f"{service}.pid").read_text())

    def paths(self) -> list[Path_]:
        auth = {"Authorization": f"Bearer {self.settings.litellm_master_key}"}
        chat = f"{self.proxy}/v1/chat/completions"
        untuned, untuned_ours = (process.pid for process in self.untuned_processes)
        proxy, business = self.pid("litellm_proxy"), self.pid("business_api")
        return [
            Path_("untuned", "0. untuned LiteLLM as `pip install 'litellm[proxy]'` has it, mock_response "
                  "(1 worker, h11, uvloop) — reference", f"{self.untuned}/v1/chat/completions", "litellm-floor", auth, untuned),
            Path_("untuned_ours", "0b. the same untuned server with this project's packages (opentelemetry-sdk)",
                  f"{self.untuned_ours}/v1/chat/completions", "litellm-floor", auth, untuned_ours),
            Path_("direct", "1. business API directly", f"{self.business}/api/process", None,
                  {self.settings.business_api_key_header: self.settings.business_api_key}, business),
            Path_("floor", "2. our proxy, LiteLLM mock_response (LiteLLM's floor)", chat, "litellm-floor", auth, proxy),
            Path_("business", "3. proxy → mapped provider (business.yaml) → business API", chat, "my-custom-model", auth, proxy),
            Path_("laas", "4. proxy → LaaS handler → mock LaaS", chat, "claude-3.5-sonnet", auth, proxy),
            Path_("openai", "5. proxy → built-in openai/ provider → mock's OpenAI route", chat, "openai-compatible", auth,
                  proxy),
        ]


def capacity_check(bench: Bench, run, seconds: float) -> Result:
    """The business API alone with a simulated 1 s model latency and 500 requests in flight."""
    path = Path_("capacity", "business API, 1 s latency, 500 in flight", f"{bench.business}/api/process", None,
                 {bench.settings.business_api_key_header: bench.settings.business_api_key})
    path.body = lambda text: {"query": "slow [mock:sleep=1000]", "model_info": {"name": "my-custom-model"}}
    return run(path, seconds, 500)


# ---------------------------------------------------------------- report


def versions() -> str:
    names = ["litellm", "opentelemetry-sdk", "uvicorn", "httptools", "uvloop", "gunicorn", "gevent", "flask", "aiohttp",
             "httpx"]
    return ", ".join(f"{name} {metadata.version(name)}" for name in names)


def mock_server(settings: stack_settings.Settings) -> str:
    """How the business API runs, e.g. "gunicorn gevent, 2 workers × 10000 connections"."""
    per_worker = (f"{settings.business_api_threads} threads" if settings.business_api_worker_class == "gthread"
                  else f"{settings.business_api_worker_connections} connections")
    return f"gunicorn {settings.business_api_worker_class}, {settings.business_api_workers} workers × {per_worker}"


def report(results: dict[str, list[Result]], titles: dict[str, str], streaming: dict, capacity: Result,
           rss: tuple[float, float, int], settings: stack_settings.Settings, generator: str, args,
           mapping=None) -> str:
    def median(key, attribute):
        return statistics.median(getattr(r, attribute) for r in results[key])

    rps = {key: median(key, "rps") for key in results}
    lines = [
        "# Benchmarks", "",
        f"Measured by `scripts/benchmark.py` on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {versions()}.",
        f"Load: {generator}, {args.concurrency} connections, {args.rounds} interleaved rounds of {args.duration:g} s per "
        f"path (medians shown). Proxy: {settings.litellm_proxy_workers} uvicorn worker(s), httptools, uvloop; "
        f"business API: {mock_server(settings)}.",
        "", "| path | requests/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms per request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, title in titles.items():
        errors = sum(r.errors for r in results[key])
        lines.append(f"| {title} | {rps[key]:.0f} | {median(key, 'p50') * 1000:.1f} | {median(key, 'p95') * 1000:.1f} "
                     f"| {median(key, 'p99') * 1000:.1f} | {errors} | {median(key, 'cpu_ms'):.1f} |")
    ratio = lambda a, b: rps[a] / rps[b] if rps[b] else float("nan")  # noqa: E731
    lines += [
        "", "| ratio | value | target |", "|---|---:|---:|",
        f"| handler cost: path 3 / path 2 (ours vs LiteLLM's floor) | {ratio('business', 'floor'):.2f} | ≥ 0.95 |",
        f"| handler cost in the proxy's own CPU per request: path 2 / path 3 | "
        f"{median('floor', 'cpu_ms') / median('business', 'cpu_ms'):.2f} | ≥ 0.95 |",
        f"| vs LiteLLM's own provider: path 3 / path 5 | {ratio('business', 'openai'):.2f} | ≥ 1.2 |",
        f"| whole stack vs untuned LiteLLM: path 3 / path 0 | {ratio('business', 'untuned'):.2f} | ≥ 3 |",
        f"| whole stack vs the untuned server with our packages: path 3 / path 0b | {ratio('business', 'untuned_ours'):.2f} | — |",
        "", "| streaming (200 pieces, median of requests) | direct | through the proxy |", "|---|---:|---:|",
        f"| time to first piece, ms | {streaming['direct_ttft'] * 1000:.1f} | {streaming['proxy_ttft'] * 1000:.1f} |",
        f"| pieces per second | {streaming['direct_rate']:.0f} | {streaming['proxy_rate']:.0f} |",
        "", f"TTFT overhead of the proxy: {(streaming['proxy_ttft'] - streaming['direct_ttft']) * 1000:.1f} ms (target ≤ 25 ms).",
        *mapping_lines(mapping, median("business", "cpu_ms")),
        "", f"Proxy memory: {rss[0]:.0f} MB before the measured rounds, {rss[1]:.0f} MB after {rss[2]} more "
        f"requests (growth {rss[1] - rss[0]:+.0f} MB; target ≤ 50 MB).",
        "", f"Business API capacity with a simulated 1 s model latency, 500 concurrent requests: "
        f"{capacity.rps:.0f} requests/s, p50 {capacity.p50 * 1000:.0f} ms, {capacity.errors} errors.",
        "", "What the numbers mean, where the time goes and what is left to do: "
        "[performance-notes.md](performance-notes.md).",
    ]
    return "\n".join(lines) + "\n"


def mapping_lines(mapping, business_cpu_ms: float) -> list[str]:
    """The mapping's own cost (benchmark_mapping.py, in-process) as a share of path 3's CPU per request."""
    if mapping is None:
        return []
    share = mapping.chat_us / 1000 / business_cpu_ms if business_cpu_ms else float("nan")
    return ["", "| the business path's mapping (business.yaml), in-process | value | target |", "|---|---:|---:|",
            f"| per chat request (document, request expression, answer) | {mapping.chat_us:.0f} µs | — |",
            f"| share of path 3's CPU per request | {share * 100:.1f} % | ≤ 5 % |",
            f"| per streamed piece (event read, mapped, end of answer kept) | {mapping.per_piece_us:.1f} µs | — |"]


SHORT_TITLES = {"untuned": "0 untuned LiteLLM", "untuned_ours": "0b untuned + our packages", "direct": "1 business API",
                "floor": "2 LiteLLM floor (mock)", "business": "3 mapped business.yaml", "laas": "4 LaaS handler",
                "openai": "5 LiteLLM openai/ provider"}


def chart(results: dict[str, list[Result]], titles: dict[str, str], target: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    keys = list(titles)
    labels = [SHORT_TITLES.get(key, titles[key]) for key in keys]
    panels = [("requests/s (median of rounds, log scale)", "rps", "{:.0f}"),
              ("server CPU ms per request (median)", "cpu_ms", "{:.1f}")]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axis, (label, attribute, fmt) in zip(axes, panels):
        values = [statistics.median(getattr(r, attribute) for r in results[key]) for key in keys]
        bars = axis.barh(labels, values, color=["#999999" if key.startswith("untuned") else "#4c72b0" for key in keys])
        axis.bar_label(bars, labels=[fmt.format(v) for v in values], padding=3, fontsize=8)
        axis.set_xlabel(label)
        if attribute == "rps":
            axis.set_xscale("log")
        axis.margins(x=0.25)
    axes[0].invert_yaxis()
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return True


def main(argv: list[str] | None = None) -> int:
    import benchmark_streams  # here, not at the top: it imports this module
    import benchmark_streams_report

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one short round; no report files; fail on any error")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per path per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, help="proxy workers (default: LITELLM_PROXY_WORKERS, i.e. cores)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--generator", choices=["auto", "wrk", "asyncio"], default="auto",
                        help="load generator: wrk if installed (auto), or the built-in asyncio client")
    parser.add_argument("--skip-streams", action="store_true",
                        help="leave out the streaming-capacity section (benchmark_streams.py runs it alone)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.rounds, args.concurrency = 2.0, 1, 8

    wrk = shutil.which("wrk") if args.generator != "asyncio" else None
    if args.generator == "wrk" and not wrk:
        parser.error("wrk is not installed (apt-get install wrk)")
    generator = "wrk" if wrk else "asyncio client (httpx)"
    with tempfile.TemporaryDirectory(prefix="adapter-bench-") as tmp_name:
        tmp = Path(tmp_name)
        bench = Bench(tmp, args.workers)
        try:
            print(f"starting the stack and the reference proxy in {tmp} ...", flush=True)
            bench.start()
            paths = bench.paths()
            titles = {path.key: path.title for path in paths}
            def run(path: Path_, seconds: float, concurrency: int = args.concurrency) -> Result:
                cpu_before = cpu_seconds(path.server_pid) if path.server_pid else None
                if wrk:
                    result = wrk_load(wrk, tmp, path, seconds, concurrency)
                else:
                    result = asyncio.run(asyncio_load(path, seconds, concurrency))
                if cpu_before is not None and result.requests:
                    result.cpu_ms = (cpu_seconds(path.server_pid) - cpu_before) * 1000 / result.requests
                return result

            for path in paths:  # warm-up: first requests pay for lazy imports and connection set-up
                run(path, 1.0)
            rss_before = rss_mb(bench.pid("litellm_proxy"))
            results: dict[str, list[Result]] = {path.key: [] for path in paths}
            for round_number in range(args.rounds):
                for path in paths:
                    result = run(path, args.duration)
                    results[path.key].append(result)
                    print(f"round {round_number + 1}: {path.title}: {result.rps:.0f} req/s, "
                          f"p50 {result.p50 * 1000:.1f} ms, {result.errors} errors", flush=True)
            measured = sum(r.requests for key in ("floor", "business", "laas", "openai") for r in results[key])
            rss_after = rss_mb(bench.pid("litellm_proxy"))
            streaming = asyncio.run(streaming_comparison(
                bench.business, bench.proxy,
                {"business": bench.settings.business_api_key, "proxy": bench.settings.litellm_master_key},
                repeats=3 if args.smoke else 20))
            capacity = capacity_check(bench, run, 3.0 if args.smoke else 8.0)
            import benchmark_mapping  # only now: importing the adapter sets LiteLLM's variables in this process

            mapping = benchmark_mapping.measure(bench.settings, bench.env)
            streams = None if args.skip_streams else benchmark_streams.measure(
                bench, benchmark_streams.SMOKE if args.smoke else benchmark_streams.Plan())
        finally:
            bench.stop()
        text = report(results, titles, streaming, capacity, (rss_before, rss_after, measured), bench.settings,
                      generator, args, mapping)
        section = benchmark_streams_report.section(streams) if streams else None
        print(text + "\n" + (section or ""))
        errors = sum(r.errors for key in results for r in results[key]) + capacity.errors
        if args.smoke:
            return 1 if errors or streams and benchmark_streams.failed_streams(streams) else 0
        args.output.parent.mkdir(parents=True, exist_ok=True)
        old = args.output.read_text() if args.output.exists() else ""
        pictures = [args.output.with_suffix(".png")] if chart(results, titles, args.output.with_suffix(".png")) else []
        if pictures:
            text += f"\n![Requests per second and CPU per request, every path]({pictures[0].name})\n"
        if streams:
            section = benchmark_streams_report.with_chart(streams, section, args.output)
        args.output.write_text(text + "\n" + (section or benchmark_streams_report.old_section(old)))
        print(f"wrote {args.output}" + "".join(f" and {picture}" for picture in pictures) +
              ("" if pictures else " (no chart: pip install -r scripts/requirements-benchmark.txt)"))
        return 0


if __name__ == "__main__":
    sys.exit(main())
