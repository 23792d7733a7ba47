"""Side-by-side benchmark of the adapter stack: every path measured in the same run, interleaved in rounds.

    .venv/bin/python scripts/benchmark.py            # full run, writes docs/benchmarks.md (+ a PNG chart)
    .venv/bin/python scripts/benchmark.py --smoke    # a few seconds per path; checks that nothing fails

It starts its own stack on free loopback ports with ./start_services.sh (so it measures the default, tuned
set-up), plus an untuned LiteLLM proxy for reference, and stops everything at the end. Load comes from wrk
when it is installed (apt-get install wrk), else from an asyncio client (bench/harness.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import httpx

from bench import profile, streams, streams_report
from bench.harness import (BUSINESS_MODEL, ROOT, LoadGenerator, RequestPath, Result, business_body, chat_body,
                           codex_body, messages_body, pyplot, rss_mb)
from bench.soak import report as soak_report
from bench.stack import BUDGETED_KEY, LEAST_MODEL, PLAIN_KEY, BenchStack


def request_paths(stack: BenchStack) -> list[RequestPath]:
    """The measured paths, from the untuned reference to each of our proxy's providers."""
    auth = {"Authorization": f"Bearer {stack.settings.litellm_master_key}"}
    chat = f"{stack.proxy}/v1/chat/completions"
    untuned, untuned_ours = (process.pid for process in stack.untuned_processes)
    proxy, business = stack.pid("litellm_proxy"), stack.pid("business_api")
    return [
        RequestPath("untuned", "0. untuned LiteLLM as `pip install 'litellm[proxy]'` has it, mock_response "
                    "(1 worker, h11, uvloop) — reference", f"{stack.untuned}/v1/chat/completions",
                    chat_body("litellm-floor"), auth, untuned),
        RequestPath("untuned_ours", "0b. the same untuned server with this project's packages (opentelemetry-sdk)",
                    f"{stack.untuned_ours}/v1/chat/completions", chat_body("litellm-floor"), auth, untuned_ours),
        RequestPath("direct", "1. business API directly", f"{stack.business}/api/process", business_body(),
                    {stack.settings.business_api_key_header: stack.settings.business_api_key}, business),
        RequestPath("floor", "2. our proxy, LiteLLM mock_response (LiteLLM's floor)", chat,
                    chat_body("litellm-floor"), auth, proxy),
        RequestPath("least", "2b. our proxy → the least handler that calls a backend (one fixed POST to the business "
                    "API, a fixed answer, no mapping; scripts/bench/least_handler.py)", chat, chat_body(LEAST_MODEL),
                    auth, proxy),
        RequestPath("business", "3. proxy → mapped provider (business.yaml) → business API", chat,
                    chat_body("my-custom-model"), auth, proxy),
        RequestPath("laas", "4. proxy → LaaS handler → mock LaaS", chat, chat_body("claude-3.5-sonnet"), auth, proxy),
        RequestPath("openai", "5. proxy → built-in openai/ provider → mock's OpenAI route", chat,
                    chat_body("openai-compatible"), auth, proxy),
        RequestPath("messages", "6. Anthropic Messages (`/v1/messages`) → mapped provider → business API",
                    f"{stack.proxy}/v1/messages", messages_body(BUSINESS_MODEL),
                    {**auth, "anthropic-version": "2023-06-01"}, proxy),
        RequestPath("responses", "7. a Codex-shaped Responses request (`/v1/responses`) → mapped provider → business API",
                    f"{stack.proxy}/v1/responses", codex_body(BUSINESS_MODEL), auth, proxy),
        RequestPath("bridged_chat", "8. LiteLLM's own OpenAI-like provider (`xinference/`) → mock's OpenAI route, chat",
                    chat, chat_body("litellm-bridged"), auth, proxy),
        RequestPath("bridged_messages", "9. the same provider on `/v1/messages` (LiteLLM's Messages bridge alone)",
                    f"{stack.proxy}/v1/messages", messages_body("litellm-bridged"),
                    {**auth, "anthropic-version": "2023-06-01"}, proxy),
        RequestPath("bridged_responses", "10. the same provider, the Codex-shaped `/v1/responses` (LiteLLM's Responses "
                    "bridge alone)", f"{stack.proxy}/v1/responses", codex_body("litellm-bridged"), auth, proxy),
        RequestPath("plain_key", "11. path 3 priced, with a keys-file key without a budget", chat,
                    chat_body("priced-chat"), {"Authorization": f"Bearer {PLAIN_KEY}"}, proxy),
        RequestPath("budgeted_key", "12. the same with a key with a budget (checked and charged on every call)", chat,
                    chat_body("priced-chat"), {"Authorization": f"Bearer {BUDGETED_KEY}"}, proxy),
        *variant_paths(stack, auth),
    ]


def variant_paths(stack: BenchStack, auth: dict) -> list[RequestPath]:
    """Path 3 through the proxies that differ from ours only in the metrics callback (bench/stack.py)."""
    titles = {"metrics_on": "13. path 3 through a proxy of its own, metrics on (as shipped)",
              "metrics_off": "14. the same proxy with metrics off (usage lines only)",
              "litellm_metrics": "15. the same with LiteLLM's own `prometheus` callback in place of ours"}
    return [RequestPath(name, titles[name], f"{url}/v1/chat/completions", chat_body(BUSINESS_MODEL), auth, process.pid)
            for name, (url, process) in stack.variants.items()]


CAPACITY_IN_FLIGHT = 500
# The smoke run only proves the check runs: 500 connections opened at once by the asyncio fallback client (no wrk) on
# a machine busy with other suites time out in the client itself, which is not the business API's capacity.
SMOKE_CAPACITY_IN_FLIGHT = 50


def capacity_check(stack: BenchStack, generator: LoadGenerator, seconds: float, in_flight: int) -> Result:
    """The business API alone with a simulated 1 s model latency and `in_flight` requests in flight."""
    path = RequestPath("capacity", f"business API, 1 s latency, {in_flight} in flight", f"{stack.business}/api/process",
                       business_body("slow [mock:sleep=1000]"),
                       {stack.settings.business_api_key_header: stack.settings.business_api_key})
    return generator.run(path, seconds, in_flight)


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
                    args = (f"{business}/api/process", direct_headers, business_body(text, stream=True))
                else:
                    args = (f"{proxy}/v1/chat/completions", proxy_headers,
                            chat_body(BUSINESS_MODEL, text, stream=True))
                ttft, pieces, total = await time_to_first_piece(client, *args)
                results[f"{route}_ttft"].append(ttft)
                results[f"{route}_rate"].append(pieces / total if total else 0.0)
    return {name: statistics.median(values) for name, values in results.items()}


# ---------------------------------------------------------------- report


def versions() -> str:
    names = ["litellm", "opentelemetry-sdk", "uvicorn", "httptools", "uvloop", "gunicorn", "gevent", "flask", "aiohttp",
             "httpx"]
    return ", ".join(f"{name} {metadata.version(name)}" for name in names)


def report(results: dict[str, list[Result]], titles: dict[str, str], streaming: dict, capacity: Result,
           rss: tuple[float, float, int], stack: BenchStack, generator: str, args, mapping=None,
           profiled: profile.Profile | None = None) -> str:
    def median(key, attribute):
        return statistics.median(getattr(r, attribute) for r in results[key])

    rps = {key: median(key, "rps") for key in results}
    lines = [
        "# Benchmarks", "",
        f"Measured by `scripts/benchmark.py` on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {versions()}.",
        f"Load: {generator}, {args.concurrency} connections, {args.rounds} interleaved rounds of {args.duration:g} s per "
        f"path (medians shown). Proxy: {stack.settings.litellm_proxy_workers} uvicorn worker(s), httptools, "
        f"uvloop; business API: {stack.mock_server()}.",
        "", "| path | requests/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms per request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, title in titles.items():
        errors = sum(r.errors for r in results[key])
        lines.append(f"| {title} | {rps[key]:.0f} | {median(key, 'p50') * 1000:.1f} | {median(key, 'p95') * 1000:.1f} "
                     f"| {median(key, 'p99') * 1000:.1f} | {errors} | {median(key, 'cpu_ms'):.1f} |")
    ratio = lambda a, b: rps[a] / rps[b] if rps[b] else float("nan")  # noqa: E731
    def cpu_ratio(key: str, base: str = "business") -> float:
        """Paired: the median over rounds of key's CPU per request / base's in the same round (the machine's drift
        between rounds cancels out; only the paths' own difference is left)."""
        return statistics.median(a.cpu_ms / b.cpu_ms for a, b in zip(results[key], results[base]))

    lines += [
        "", "| ratio (CPU ones: the median of per-round ratios) | value | target |", "|---|---:|---:|",
        f"| handler cost: path 3 / path 2 (ours vs LiteLLM's floor) | {ratio('business', 'floor'):.2f} | ≥ 0.9 |",
        f"| handler cost in the proxy's own CPU per request: path 2 / path 3 | {cpu_ratio('floor'):.2f} | ≥ 0.9 |",
        *least_lines(ratio, cpu_ratio),
        f"| vs LiteLLM's own provider: path 3 / path 5 | {ratio('business', 'openai'):.2f} | ≥ 1.2 |",
        f"| whole stack vs untuned LiteLLM: path 3 / path 0 | {ratio('business', 'untuned'):.2f} | ≥ 2.0 |",
        f"| whole stack with everything on (metrics, usage lines, a key with a budget): path 12 / path 0 | "
        f"{ratio('budgeted_key', 'untuned'):.2f} | ≥ 2.0 |",
        *metrics_lines(results, ratio, cpu_ratio),
        f"| whole stack vs the untuned server with our packages: path 3 / path 0b | {ratio('business', 'untuned_ours'):.2f} | — |",
        f"| Anthropic Messages vs chat, proxy CPU per request: path 6 / path 3 | {cpu_ratio('messages'):.2f} | ≤ 1.15 |",
        f"| the same on LiteLLM's own provider (its bridge, none of our code): path 9 / path 8 | "
        f"{cpu_ratio('bridged_messages', 'bridged_chat'):.2f} | — |",
        f"| Codex-shaped Responses vs chat, proxy CPU per request: path 7 / path 3 | {cpu_ratio('responses'):.2f} | ≤ 1.15 |",
        f"| the same on LiteLLM's own provider: path 10 / path 8 | {cpu_ratio('bridged_responses', 'bridged_chat'):.2f} | — |",
        f"| a key's budget (SQLite check and charge), proxy CPU per request: path 12 / path 11 | "
        f"{cpu_ratio('budgeted_key', 'plain_key'):.2f} | — |",
        "", "| streaming (200 pieces, median of requests) | direct | through the proxy |", "|---|---:|---:|",
        f"| time to first piece, ms | {streaming['direct_ttft'] * 1000:.1f} | {streaming['proxy_ttft'] * 1000:.1f} |",
        f"| pieces per second | {streaming['direct_rate']:.0f} | {streaming['proxy_rate']:.0f} |",
        "", f"TTFT overhead of the proxy: {(streaming['proxy_ttft'] - streaming['direct_ttft']) * 1000:.1f} ms (target ≤ 25 ms).",
        *mapping_lines(mapping, median("business", "cpu_ms")),
        *profile.section(profiled),
        "", f"Proxy memory: {rss[0]:.0f} MB before the measured rounds, {rss[1]:.0f} MB after {rss[2]} more "
        f"requests (growth {rss[1] - rss[0]:+.0f} MB; target ≤ 50 MB).",
        "", f"Business API capacity with a simulated 1 s model latency, "
        f"{SMOKE_CAPACITY_IN_FLIGHT if args.smoke else CAPACITY_IN_FLIGHT} concurrent requests: "
        f"{capacity.rps:.0f} requests/s, p50 {capacity.p50 * 1000:.0f} ms, {capacity.errors} errors.",
        "", "What the numbers mean, where the time goes and what is left to do: "
        "[performance-notes.md](performance-notes.md).",
    ]
    return "\n".join(lines) + "\n"


def least_lines(ratio, cpu_ratio) -> list[str]:
    """The handler ratio split at path 2b: what any backend call costs, and what our handler costs above that."""
    return [
        f"| the least a backend call costs vs LiteLLM's floor: path 2b / path 2 | {ratio('least', 'floor'):.2f} | — |",
        f"| the same in the proxy's own CPU per request: path 2 / path 2b | {cpu_ratio('floor', 'least'):.2f} | — |",
        f"| our handler vs the least handler: path 3 / path 2b | {ratio('business', 'least'):.2f} | — |",
        f"| the same in the proxy's own CPU per request: path 2b / path 3 | {cpu_ratio('least'):.2f} | — |",
    ]


def metrics_lines(results: dict, ratio, cpu_ratio) -> list[str]:
    """What metrics cost: path 3 with ours, none, or LiteLLM's callback (when the variant proxies ran)."""
    if "metrics_off" not in results:
        return []
    return [f"| metrics on / off, requests/s: path 13 / path 14 | {ratio('metrics_on', 'metrics_off'):.2f} | ≥ 0.95 |",
            f"| metrics on / off, proxy CPU per request: path 14 / path 13 | "
            f"{cpu_ratio('metrics_off', 'metrics_on'):.2f} | ≥ 0.95 |",
            f"| LiteLLM's `prometheus` callback / off, requests/s: path 15 / path 14 | "
            f"{ratio('litellm_metrics', 'metrics_off'):.2f} | — |",
            f"| LiteLLM's `prometheus` callback / off, proxy CPU per request: path 14 / path 15 | "
            f"{cpu_ratio('metrics_off', 'litellm_metrics'):.2f} | — |"]


def mapping_lines(mapping, business_cpu_ms: float) -> list[str]:
    """The mapping's own cost (benchmark_mapping.py, in-process) as a share of path 3's CPU per request."""
    if mapping is None:
        return []
    share = mapping.chat_us / 1000 / business_cpu_ms if business_cpu_ms else float("nan")
    return ["", "| the business path's mapping (business.yaml), in-process | value | target |", "|---|---:|---:|",
            f"| per chat request (document, request expression, answer) | {mapping.chat_us:.0f} µs | — |",
            f"| share of path 3's CPU per request | {share * 100:.1f} % | ≤ 5 % |",
            f"| per streamed piece (event read, mapped, end of answer kept) | {mapping.per_piece_us:.1f} µs | — |"]


BUDGET_HEADING = "## Budget check (issue 20)"


def budget_section(document: str) -> str:
    """The budget check's section of an earlier report (from scripts/bench/budget.py's output), kept as it was."""
    start = document.find(BUDGET_HEADING)
    if start < 0:
        return ""
    end = document.find("\n## ", start + len(BUDGET_HEADING))
    return document[start:end + 1] if end >= 0 else document[start:]


def compose(old: str, text: str, streams_section: str | None) -> str:
    """The new report: this run's text and streaming section; from the old one, the streaming section (when this run
    left it out), the budget check's and the soak's (scripts/soak.py), kept as they were."""
    # The soak's section is taken out first: the others run to the next heading and would take its marker along.
    old, soak = soak_report.split_marked(old)
    parts = (text, streams_section or streams_report.old_section(old), budget_section(old), soak)
    return "\n".join(part.strip("\n") + "\n" for part in parts if part)


SHORT_TITLES = {"untuned": "0 untuned LiteLLM", "untuned_ours": "0b untuned + our packages", "direct": "1 business API",
                "floor": "2 LiteLLM floor (mock)", "least": "2b least handler (one POST)",
                "business": "3 mapped business.yaml", "laas": "4 LaaS handler",
                "openai": "5 LiteLLM openai/ provider", "messages": "6 /v1/messages → mapped",
                "responses": "7 /v1/responses (Codex) → mapped", "bridged_chat": "8 LiteLLM xinference/ chat",
                "bridged_messages": "9 its /v1/messages bridge", "bridged_responses": "10 its /v1/responses bridge",
                "plain_key": "11 priced, key without budget", "budgeted_key": "12 priced, key with budget",
                "metrics_on": "13 path 3 alone, metrics on", "metrics_off": "14 path 3 alone, metrics off",
                "litellm_metrics": "15 path 3 alone, LiteLLM's prometheus"}


def chart(results: dict[str, list[Result]], titles: dict[str, str], target: Path) -> bool:
    plt = pyplot()
    if plt is None:
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
    with tempfile.TemporaryDirectory(prefix="adapter-bench-") as tmp_name:
        tmp = Path(tmp_name)
        generator = LoadGenerator(wrk, tmp)
        stack = BenchStack(tmp, args.workers)
        try:
            print(f"starting the stack and the reference proxy in {tmp} ...", flush=True)
            stack.start()
            stack.start_variants()
            paths = request_paths(stack)
            titles = {path.key: path.title for path in paths}
            for path in paths:  # warm-up: first requests pay for lazy imports and connection set-up
                generator.run(path, 1.0, args.concurrency)
            rss_before = rss_mb(stack.pid("litellm_proxy"))
            results: dict[str, list[Result]] = {path.key: [] for path in paths}
            for round_number in range(args.rounds):
                for path in paths:
                    result = generator.run(path, args.duration, args.concurrency)
                    results[path.key].append(result)
                    print(f"round {round_number + 1}: {path.title}: {result.rps:.0f} req/s, "
                          f"p50 {result.p50 * 1000:.1f} ms, {result.errors} errors", flush=True)
            measured = sum(r.requests for key in results if key not in ("untuned", "untuned_ours", "direct",
                                                                        *stack.variants) for r in results[key])
            rss_after = rss_mb(stack.pid("litellm_proxy"))
            everything_on = next(path for path in paths if path.key == "budgeted_key")
            profiled = profile.record(generator, everything_on, args.duration * (1 if args.smoke else 3),
                                      args.concurrency, tmp)
            streaming = asyncio.run(streaming_comparison(
                stack.business, stack.proxy,
                {"business": stack.settings.business_api_key, "proxy": stack.settings.litellm_master_key},
                repeats=3 if args.smoke else 20))
            capacity = capacity_check(stack, generator, 3.0 if args.smoke else 8.0,
                                      SMOKE_CAPACITY_IN_FLIGHT if args.smoke else CAPACITY_IN_FLIGHT)
            from bench import mapping_cost  # only now: importing the adapter sets LiteLLM's variables in this process

            mapping = mapping_cost.measure(stack.settings, stack.env)
            measurement = None if args.skip_streams else streams.measure(
                stack, streams.SMOKE if args.smoke else streams.Plan())
        finally:
            stack.stop()
        text = report(results, titles, streaming, capacity, (rss_before, rss_after, measured), stack,
                      generator.name, args, mapping, profiled)
        section = streams_report.section(measurement) if measurement else None
        print(text + "\n" + (section or ""))
        errors = sum(r.errors for key in results for r in results[key]) + capacity.errors
        if args.smoke:
            return 1 if errors or measurement and streams.failed_streams(measurement) else 0
        args.output.parent.mkdir(parents=True, exist_ok=True)
        old = args.output.read_text() if args.output.exists() else ""
        pictures = [args.output.with_suffix(".png")] if chart(results, titles, args.output.with_suffix(".png")) else []
        if pictures:
            text += f"\n![Requests per second and CPU per request, every path]({pictures[0].name})\n"
        if measurement:
            section = streams_report.with_chart(measurement, section, args.output)
        args.output.write_text(compose(old, text, section))
        print(f"wrote {args.output}" + "".join(f" and {picture}" for picture in pictures) +
              ("" if pictures else " (no chart: pip install -r scripts/requirements-benchmark.txt)"))
        return 0


if __name__ == "__main__":
    sys.exit(main())
