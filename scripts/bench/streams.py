"""The streaming-capacity measurement: many open streams through our proxy, stock LiteLLM and the mock alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import yaml

from .harness import (BUSINESS_MODEL, ROOT, business_body, chat_body, cpu_seconds, free_ports, percentile, rss_mb,
                      stop_process, wait_http)
from .stack import UNTUNED_RUNNER, BenchStack
from .streamload import CAPPED

GENERATOR = ROOT / "scripts" / "benchmark_streamload.py"
MODEL = BUSINESS_MODEL
ANSWER_HEAD = f"Mock answer from {MODEL}: "  # the mock's answer is this, then the query: 4 pieces


@dataclass(frozen=True)
class Plan:
    """What to run. Streams open evenly over `ramp` seconds (longer for more than `arrivals` streams: no more than
    `arrivals` a second); a run ends at the latest `cap` s after the ramp."""

    sweep: tuple[int, ...] = (100, 500, 1000, 2000, 5000)
    sweep_pieces: int = 20
    sweep_delay_ms: int = 500
    sweep_cap: float = 180.0
    rates: tuple[int, ...] = (50, 100, 300)
    rate_pieces: int = 200
    rate_delay_ms: int = 20
    rate_cap: float = 120.0
    ramp: float = 1.0
    sequential: int = 20  # streams one after another, for the unloaded time to first content
    warm_up: int = 200  # streams at once on every path before the idle memory sample (pools, threads, caches)
    arrivals: float = 2000.0  # new streams a second at most
    stock_up_to: int = 2000  # stock LiteLLM is left out of the runs with more streams (it queues them past the cap)
    paths: tuple[str, ...] = ("ours", "stock", "mock")  # which paths run (benchmark_streams.py --paths)

    def ramp_for(self, streams: int) -> float:
        return max(self.ramp, streams / self.arrivals)

    def runs(self, path: str, streams: int) -> bool:
        return path in self.paths and (path != "stock" or streams <= self.stock_up_to)


SMOKE = Plan(sweep=(20,), sweep_pieces=6, sweep_delay_ms=100, sweep_cap=20.0, rates=(20,), rate_pieces=20,
             rate_cap=20.0, ramp=0.2, sequential=5, warm_up=10)


@dataclass
class StreamPath:
    """One path streams are measured through."""

    key: str
    title: str
    url: str
    headers: dict
    server_pid: int | None  # the proxy (master and workers) whose memory is sampled; None for the mock itself
    model: str | None  # None: the business API's own contract

    def body(self, query: str) -> dict:
        if self.model is None:
            return business_body(query, stream=True)
        return chat_body(self.model, query, stream=True)


@dataclass
class Run:
    """One run of `streams` concurrent streams of `pieces` pieces `delay_ms` apart through one path."""

    path: str
    streams: int
    pieces: int
    delay_ms: int
    ramp: float
    cap: float
    records: list  # per stream: [start s, first content s | None, end s | None, words, error | None]
    generator_cpu: float
    rss_mb: dict = field(default_factory=dict)  # sampled while the streams were open: "proxy", "mock"
    sampled_at: float = 0.0  # when, in seconds from the first start
    cpu_s: dict = field(default_factory=dict)  # CPU seconds the servers used during the run: "proxy", "mock"

    def cpu_ms_per_stream(self, process: str) -> float:
        """The server's CPU per stream; with pieces, a stream's whole cost: admission, relay, end."""
        if not self.cpu_s.get(process) or not self.records:
            return float("nan")
        return 1000 * self.cpu_s[process] / len(self.records)

    @property
    def ideal(self) -> float:
        return (self.pieces - 1) * self.delay_ms / 1000

    @property
    def failures(self) -> Counter:
        return Counter(record[4] for record in self.records if record[4])

    @property
    def errors(self) -> int:
        return sum(count for kind, count in self.failures.items() if kind not in CAPPED)

    @property
    def incomplete(self) -> int:
        return sum(count for kind, count in self.failures.items() if kind in CAPPED)

    @property
    def right(self) -> int:
        return sum(record[4] is None for record in self.records)

    def ttft(self, share: float) -> float | None:
        firsts = [record[1] for record in self.records if record[1] is not None]
        return percentile(firsts, share) if firsts else None

    def completion(self, share: float) -> float:
        """Completion time over the ideal; streams still open at the cap count as infinitely slow."""
        times = [record[2] if record[4] is None else float("inf") for record in self.records
                 if record[4] is None or record[4] in CAPPED]
        return percentile(times, share) / self.ideal if times and self.ideal else float("nan")

    @property
    def words(self) -> int:
        return sum(record[3] for record in self.records)

    @property
    def seconds(self) -> float:
        """From the first stream's start to the last one's end (or the cap)."""
        ends = [record[2] + record[0] if record[2] is not None else self.ramp + self.cap for record in self.records]
        return max(ends) - min(record[0] for record in self.records) if self.records else 0.0

    @property
    def pieces_per_second(self) -> float:
        return self.words / self.seconds if self.seconds else 0.0

    @property
    def admitted_per_second(self) -> float:
        """Streams that got their first text, per second from the first start to the last first text."""
        firsts = [record[0] + record[1] for record in self.records if record[1] is not None]
        span = max(firsts, default=0.0) - min((record[0] for record in self.records), default=0.0)
        return len(firsts) / span if span > 0 else float("nan")

    @property
    def open_streams(self) -> int:
        """Streams started and not yet ended when memory was sampled."""
        return sum(record[0] <= self.sampled_at and (record[2] is None or record[0] + record[2] > self.sampled_at)
                   for record in self.records)

    @property
    def relayed_streams(self) -> int:
        """Open streams that had their first text when memory was sampled (the others still wait to be admitted)."""
        at = self.sampled_at
        return sum(record[1] is not None and record[0] + record[1] <= at and (
            record[2] is None or record[0] + record[2] > at) for record in self.records)


@dataclass
class Measurement:
    plan: Plan
    titles: dict
    unloaded: dict  # path key -> Run of sequential streams
    idle_mb: dict  # "ours", "stock", "mock" -> MB before the sweep
    sweep: list
    rates: list
    notes: list = field(default_factory=list)


# ---------------------------------------------------------------- the stock LiteLLM proxy


@contextmanager
def stock_proxy(stack: BenchStack, wanted: bool = True) -> Iterator[tuple[str, int | None]]:
    """LiteLLM run as a plain install runs it (2 workers, as ours), with `openai/` on the mock's /v1 route."""
    if not wanted:
        yield "", None
        return
    config = {"model_list": [{"model_name": "stock-openai",
                              "litellm_params": {"model": f"openai/{MODEL}", "api_base": f"{stack.business}/v1",
                                                 "api_key": stack.settings.business_api_key}}],
              "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"}}
    (stack.tmp / "stock.yaml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_ports(1)[0]}"
    # `litellm --num_workers 2` runs uvicorn with uvloop and, without httptools in a plain install, h11.
    workers = stack.settings.litellm_proxy_workers
    process = stack.start_untuned(url, [str(UNTUNED_RUNNER)], "stock.yaml", workers=workers, loop="uvloop")
    try:
        wait_http(f"{url}/health/liveliness", 180)
        yield url, process.pid
    finally:
        stop_process(process)


def stream_paths(stack: BenchStack, stock_url: str, stock_pid: int | None) -> list[StreamPath]:
    auth = {"Authorization": f"Bearer {stack.settings.litellm_master_key}", "Content-Type": "application/json"}
    mock_auth = {stack.settings.business_api_key_header: stack.settings.business_api_key,
                 "Content-Type": "application/json"}
    workers = stack.settings.litellm_proxy_workers
    return [
        StreamPath("ours", f"our proxy → `{MODEL}` (mapped provider, business.yaml) → mock `/api/process`",
                   f"{stack.proxy}/v1/chat/completions", auth, stack.pid("litellm_proxy"), MODEL),
        StreamPath("stock", f"LiteLLM 1.106.2 as a plain install runs it ({workers} workers, uvloop, h11), "
                   "`openai/` → mock `/v1/chat/completions`", f"{stock_url}/v1/chat/completions", auth, stock_pid,
                   "stock-openai"),
        StreamPath("mock", "the mock's `/api/process` directly (the floor: load generator and mock alone)",
                   f"{stack.business}/api/process", mock_auth, None, None),
    ]


# ---------------------------------------------------------------- one run


def query(pieces: int, delay_ms: int) -> str:
    """A query whose answer has `pieces` pieces: 4 of the answer's head, the stream's number, words, the directive."""
    return " ".join(["s{i}", *(f"w{n}" for n in range(pieces - 6)), f"[mock:chunk_delay={delay_ms}]"])


def generate(spec: dict, processes: int, on_peak: Callable[[], None]) -> tuple[list, float, float]:
    """Run the load generator in `processes` processes (streams dealt out in turn); call on_peak when all peak.

    Returns the streams' records, the generators' CPU seconds, and when on_peak ran (seconds from the start).
    """
    generators = [subprocess.Popen([sys.executable, str(GENERATOR)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True) for _ in range(processes)]
    for generator in generators:
        if generator.stdout.readline().strip() != "READY":
            raise SystemExit("benchmark: the stream load generator did not start")
    start_at = time.time() + 0.2
    for number, generator in enumerate(generators):
        indices = list(range(number, spec["streams"], processes))
        generator.stdin.write(json.dumps({**spec, "indices": indices, "start_at": start_at}) + "\n")
        generator.stdin.close()
    for generator in generators:
        generator.stdout.readline()  # PEAK
    on_peak()
    peak = time.time() - start_at
    outputs = [json.loads(generator.stdout.readline()) for generator in generators]
    for generator in generators:
        generator.wait(timeout=30)
    records = sorted((record for output in outputs for record in output["records"]), key=lambda r: r[0])
    return records, sum(output["cpu_s"] for output in outputs), peak


def run_streams(stack: BenchStack, path: StreamPath, streams: int, pieces: int, delay_ms: int, cap: float,
                ramp: float, sequential: bool = False) -> Run:
    text = query(pieces, delay_ms)
    spec = {"url": path.url, "headers": path.headers, "body": json.dumps(path.body(text)), "streams": streams,
            "expected": ANSWER_HEAD + text, "ramp": 0.0 if sequential else ramp, "cap": cap,
            "peak_after": min(cap, max(1.0, (pieces - 1) * delay_ms / 2000)), "sequential": sequential}
    rss: dict = {}

    def sample() -> None:
        if path.server_pid:
            rss["proxy"] = rss_mb(path.server_pid)
        rss["mock"] = rss_mb(stack.pid("business_api"))

    servers = {"proxy": path.server_pid, "mock": stack.pid("business_api")}
    before = {name: cpu_seconds(pid) for name, pid in servers.items() if pid}
    records, cpu, peak = generate(spec, 2 if streams >= 1000 and not sequential else 1, sample)
    used = {name: cpu_seconds(servers[name]) - start for name, start in before.items()}
    return Run(path.key, streams, pieces, delay_ms, spec["ramp"], cap, records, cpu, rss, peak, used)


def wait_quiet(pids: list[int], most: float = 60.0) -> None:
    """Until the servers use under a tenth of a core (streams cut at the cap may still be draining)."""
    deadline = time.monotonic() + most
    before = sum(cpu_seconds(pid) for pid in pids)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = sum(cpu_seconds(pid) for pid in pids)
        if now - before < 0.1:
            return
        before = now


def describe(run: Run) -> str:
    failures = ", ".join(f"{count} {kind}" for kind, count in run.failures.most_common()) or "no errors"
    ttft = run.ttft(0.5)
    return (f"{run.path}: {run.streams} streams × {run.pieces} pieces {run.delay_ms} ms apart: {failures}; "
            f"TTFT p50 {ttft * 1000 if ttft is not None else float('nan'):.0f} ms, completion p50 "
            f"{run.completion(0.5):.2f}× ideal, {run.pieces_per_second:.0f} pieces/s")


# ---------------------------------------------------------------- the section


def run_levels(stack: BenchStack, paths: list[StreamPath], servers: list[int], label: str, levels: tuple,
               pieces: int, delay_ms: int, cap: float, plan: Plan) -> list[Run]:
    """Every path at every number of streams, one after another, letting the servers settle in between."""
    runs = []
    for streams in levels:
        for path in (path for path in paths if plan.runs(path.key, streams)):
            runs.append(run_streams(stack, path, streams, pieces, delay_ms, cap, plan.ramp_for(streams)))
            print(f"{label}: {describe(runs[-1])}", flush=True)
            wait_quiet(servers)
    return runs


def measure(stack: BenchStack, plan: Plan) -> Measurement:
    with stock_proxy(stack, "stock" in plan.paths) as (stock_url, stock_pid):
        paths = [path for path in stream_paths(stack, stock_url, stock_pid) if path.key in plan.paths]
        pids = {"ours": stack.pid("litellm_proxy"), "stock": stock_pid, "mock": stack.pid("business_api")}
        servers = [pid for pid in pids.values() if pid]
        for path in paths:  # warm-up: lazy imports, connection pools, worker threads, what any load leaves behind
            run_streams(stack, path, plan.warm_up, 6, 0, 60.0, 0.2)
        unloaded = {path.key: run_streams(stack, path, plan.sequential, 6, 0, 60.0, 0.0, sequential=True)
                    for path in paths}
        wait_quiet(servers)
        idle = {key: rss_mb(pid) for key, pid in pids.items() if pid}
        sweep = run_levels(stack, paths, servers, "sweep", plan.sweep, plan.sweep_pieces, plan.sweep_delay_ms,
                           plan.sweep_cap, plan)
        rates = run_levels(stack, paths, servers, "token rate", plan.rates, plan.rate_pieces, plan.rate_delay_ms,
                           plan.rate_cap, plan)
    setup = (f"Our proxy: {stack.settings.litellm_proxy_workers} uvicorn workers (httptools, uvloop); mock: "
             f"{stack.mock_server()}; {os.cpu_count()} cores shared by all, load generator included.")
    return Measurement(plan, {path.key: path.title for path in paths}, unloaded, idle, sweep, rates, [setup])


def failed_streams(measurement: Measurement) -> int:
    """Streams that failed, had the wrong text or were still open at the cap, on any path (the smoke run wants 0)."""
    runs = [*measurement.unloaded.values(), *measurement.sweep, *measurement.rates]
    return sum(run.errors + run.incomplete for run in runs)


def from_raw(data: dict) -> Measurement:
    """A Measurement back from its JSON form (dataclasses.asdict, as benchmark_streams.py --raw writes it)."""
    plan = Plan(**{name: tuple(value) if isinstance(value, list) else value for name, value in data["plan"].items()})
    runs = lambda items: [Run(**item) for item in items]  # noqa: E731
    return Measurement(plan, data["titles"], {key: Run(**item) for key, item in data["unloaded"].items()},
                       data["idle_mb"], runs(data["sweep"]), runs(data["rates"]), data["notes"])
