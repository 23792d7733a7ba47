"""The streaming-capacity section of docs/benchmarks.md: tables, side-by-side ratios, the issue's targets, a chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from .harness import pyplot
from .soak import report as soak_report
from .streams import Measurement, Run

HEADING = "## Streaming capacity"
SHORT = {"ours": "ours", "stock": "stock LiteLLM", "mock": "mock alone"}
MEMORY_AT = 2000  # the memory target's number of open streams


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f}"


def times(value: float) -> str:
    return "—" if math.isnan(value) else "∞ (open at the cap)" if math.isinf(value) else f"{value:.2f}×"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def cpu(run: Run, process: str) -> str:
    value = run.cpu_ms_per_stream(process)
    return "—" if value != value else f"{value:.1f}"  # NaN: not measured (the mock path has no proxy)


def find(runs: list[Run], path: str, streams: int) -> Run | None:
    return next((run for run in runs if run.path == path and run.streams == streams), None)


def failures(run: Run) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in run.failures.most_common()) or "0"


def kb_per_stream(run: Run, idle_mb: float, process: str, relayed: bool = False) -> str:
    streams = run.relayed_streams if relayed else run.open_streams
    if process not in run.rss_mb or not streams:
        return "—"
    return f"{(run.rss_mb[process] - idle_mb) * 1024 / streams:.0f}"


def method(measurement: Measurement) -> list[str]:
    plan = measurement.plan
    titles = "; ".join(f"**{SHORT[key]}**: {title}" for key, title in measurement.titles.items())
    return [
        HEADING, "",
        f"Every path in the same run, against the same mock: {titles}. Each stream asks for an answer of N pieces "
        "(one word each) from the mock, `[mock:chunk_delay=MS]` apart; the load generator "
        "(`scripts/benchmark_streamload.py`: asyncio + aiohttp + uvloop in its own process, two from 1,000 streams) "
        f"opens the streams evenly over {plan.ramp:g} s, or at {plan.arrivals:,.0f} a second above {plan.arrivals:,.0f} "
        "streams (not all in the same millisecond: a burst of thousands of connects would measure the kernel's and "
        "the servers' accept queues and the generator's own connect loop more than the gateways; "
        f"{plan.arrivals:,.0f} new streams a second is still far above a real arrival rate), reads "
        "raw bytes and parses the events only after a stream ends, and checks every stream's text word for word. "
        "Pieces are counted as words of the delivered text (our proxy merges pieces that are waiting into one "
        "chunk, and under load paces each stream, STREAM_CHUNKS_PER_SECOND, so chunks are not counted). Ideal completion = (pieces − 1) × delay. A run stops at its cap; "
        "streams still open then are reported as incomplete, not dropped. Time to first content (TTFT) is from "
        "sending the request to the first event with text.",
        *measurement.notes, *left_out(measurement), "",
    ]


def left_out(measurement: Measurement) -> list[str]:
    """Says which path was not run at which numbers of streams, and why."""
    plan = measurement.plan
    skipped = [n for n in plan.sweep if "stock" in plan.paths and not find(measurement.sweep, "stock", n)]
    lines = [f"Not run: {', '.join(SHORT[key] for key in SHORT if key not in plan.paths)} (this run's --paths)."
             ] if set(SHORT) - set(plan.paths) else []
    if skipped:
        last = find(measurement.sweep, "stock", plan.stock_up_to)
        rate = f" (it admitted {last.admitted_per_second:.0f} streams a second at {last.streams})" if last else ""
        lines.append(f"Stock LiteLLM is not run above {plan.stock_up_to:,} streams ({', '.join(map(str, skipped))} "
                     f"are ours and the mock only): it starts streams too slowly{rate} for the rest to get their "
                     "first text within the cap, so such a run would take minutes and measure only its queue.")
    return lines


def sweep_table(measurement: Measurement) -> list[str]:
    plan, runs = measurement.plan, measurement.sweep
    ideal = (plan.sweep_pieces - 1) * plan.sweep_delay_ms / 1000
    lines = [f"### Concurrency sweep: {plan.sweep_pieces} pieces {plan.sweep_delay_ms} ms apart (ideal {ideal:g} s, "
             f"cap {plan.sweep_cap:g} s)", "",
             "| streams | path | errors | TTFT p50 ms | TTFT p99 ms | streams admitted/s | completion p50 / ideal "
             "| p99 / ideal | slowest / ideal |", "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        lines.append(f"| {run.streams} | {SHORT[run.path]} | {failures(run)} | {ms(run.ttft(0.5))} | "
                     f"{ms(run.ttft(0.99))} | {run.admitted_per_second:.0f} | {times(run.completion(0.5))} | "
                     f"{times(run.completion(0.99))} | {times(run.completion(1.0))} |")
        if run.path == "ours" and "stock" in plan.paths and not find(runs, "stock", run.streams):
            lines.append(f"| {run.streams} | {SHORT['stock']} | not run (above {plan.stock_up_to:,} streams, "
                         "see above) | | | | | | |")
    lines += ["", f"Streams admitted/s: streams that got their first text, per second from the first start to the "
              f"last first text; the ramp alone allows streams / {plan.ramp:g} s, {plan.arrivals:,.0f} at most. A proxy that starts fewer streams "
              "a second than they arrive queues the rest: their TTFT and completion grow with the number of streams, "
              "though each open stream is relayed in time."]
    lines += side_by_side(runs, plan.sweep, "| streams | completion p50: ours / stock | TTFT p50: ours / stock "
                          "| completion p50: ours / mock |", lambda ours, stock, mock: [
                              f"{ratio(ours.completion(0.5), stock.completion(0.5)):.2f}",
                              f"{ratio(ours.ttft(0.5) or 0, stock.ttft(0.5) or 0):.2f}",
                              f"{ratio(ours.completion(0.5), mock.completion(0.5)):.2f}"])
    return lines + [""]


def rate_table(measurement: Measurement) -> list[str]:
    plan, runs = measurement.plan, measurement.rates
    ideal = (plan.rate_pieces - 1) * plan.rate_delay_ms / 1000
    lines = [f"### Token rate: {plan.rate_pieces} pieces {plan.rate_delay_ms} ms apart "
             f"({1000 / plan.rate_delay_ms:g} pieces/s per stream, ideal {ideal:g} s, cap {plan.rate_cap:g} s)", "",
             "| streams | path | errors | pieces/s delivered | TTFT p50 ms | completion p50 / ideal | p99 / ideal "
             "| slowest / ideal | proxy CPU ms per stream | mock CPU ms per stream |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        lines.append(f"| {run.streams} | {SHORT[run.path]} | {failures(run)} | {run.pieces_per_second:.0f} | "
                     f"{ms(run.ttft(0.5))} | {times(run.completion(0.5))} | {times(run.completion(0.99))} | "
                     f"{times(run.completion(1.0))} | {cpu(run, 'proxy')} | {cpu(run, 'mock')} |")
    lines += ["", "CPU per stream: the server's CPU time during the run (all its processes) over the streams, so a "
              "stream's whole cost: its admission, every chunk relayed, its end. On 2 cores shared by all, a path "
              "whose proxy needs more CPU per second than is left over is the one that falls behind."]
    lines += side_by_side(runs, plan.rates, "| streams | text throughput: ours / stock | ours / mock "
                          "| completion p50: stock / ours |", lambda ours, stock, mock: [
                              f"{ratio(ours.pieces_per_second, stock.pieces_per_second):.2f}",
                              f"{ratio(ours.pieces_per_second, mock.pieces_per_second):.2f}",
                              times(ratio(stock.completion(0.5), ours.completion(0.5)))])
    return lines + [""]


def side_by_side(runs: list[Run], levels: tuple, header: str,
                 cells: Callable[[Run, Run, Run], list[str]]) -> list[str]:
    """A table of ratios between the paths, one row per number of streams that every path ran (none: no table)."""
    lines = ["", header, "|---:|" + "---:|" * (header.count("|") - 2)]
    for streams in levels:
        ours, stock, mock = (find(runs, key, streams) for key in ("ours", "stock", "mock"))
        if ours and stock and mock:
            lines.append(f"| {streams} | " + " | ".join(cells(ours, stock, mock)) + " |")
    return lines if len(lines) > 3 else []


def memory_table(measurement: Measurement) -> list[str]:
    idle = measurement.idle_mb
    before = ", ".join(f"{SHORT[key]} {idle[key]:.0f} MB" for key in SHORT if key in idle)
    lines = ["### Memory per open stream", "",
             f"Resident memory (VmRSS of the master and its workers) before the sweep: {before}. It is sampled after "
             f"a warm-up of {measurement.plan.warm_up} streams at once on every path (since issue 21; before, 10): "
             "what any load leaves behind whatever its size (connection pools, worker threads and their malloc "
             "arenas, caches) is then part of the idle figure and not counted per stream. Sampled again in each "
             "sweep run once every stream had sent text (or half the ideal after the ramp, whichever came first). "
             "KB per open stream = (loaded − idle before the sweep) / streams started and not ended at that moment "
             "(the proxy holds them, relayed or still waiting for their first text). Where the proxy admits "
             "streams more slowly than they arrive, many of those still wait (in the accept queue, outside the "
             "proxy's memory) and the figure is diluted: the column per relayed stream divides by the streams that "
             "had their text at that moment instead. Streams the proxy accepted but has not answered yet hold some "
             "memory too, so the two columns bracket what a stream costs. Resident memory is a high-water mark "
             "(CPython rarely gives memory back).", "",
             "| streams | ours proxy KB/stream | ours proxy KB per relayed stream (relayed then) | stock proxy KB/stream "
             "| mock KB/stream | ours proxy MB loaded |", "|---:|---:|---:|---:|---:|---:|"]
    for streams in measurement.plan.sweep:
        ours, stock, mock = (find(measurement.sweep, key, streams) for key in ("ours", "stock", "mock"))
        if ours:
            lines.append(f"| {streams} | {kb_per_stream(ours, idle['ours'], 'proxy')} | "
                         f"{kb_per_stream(ours, idle['ours'], 'proxy', True)} ({ours.relayed_streams}) | "
                         f"{kb_per_stream(stock, idle['stock'], 'proxy') if stock else 'not run'} | "
                         f"{kb_per_stream(mock, idle['mock'], 'mock') if mock else 'not run'} | "
                         f"{ours.rss_mb.get('proxy', float('nan')):.0f} |")
    return lines + [""]


def unloaded_ttft(measurement: Measurement) -> float | None:
    if not {"ours", "mock"} <= set(measurement.unloaded):
        return None
    ours, mock = measurement.unloaded["ours"].ttft(0.5), measurement.unloaded["mock"].ttft(0.5)
    return None if ours is None or mock is None else ours - mock


def unloaded_table(measurement: Measurement) -> list[str]:
    runs = measurement.unloaded
    base = (runs["mock"].ttft(0.5) or 0.0) if "mock" in runs else 0.0
    lines = [f"### Unloaded time to first content ({measurement.plan.sequential} streams one after another)", "",
             "| path | TTFT p50 ms | overhead over the mock, ms |", "|---|---:|---:|"]
    for key, run in runs.items():
        ttft = run.ttft(0.5)
        lines.append(f"| {SHORT[key]} | {ttft * 1000:.1f} | {(ttft - base) * 1000:.1f} |" if ttft is not None
                     else f"| {SHORT[key]} | — | — |")
    return lines + [""]


def targets(measurement: Measurement) -> list[str]:
    """(target, measured, met) rows; met is None when this run did not measure it."""
    rows = []
    top = max(measurement.plan.sweep)
    errors = sum(run.errors for run in measurement.sweep if run.path == "ours")
    open_at_cap = sum(run.incomplete for run in measurement.sweep if run.path == "ours")
    rows.append(("no errors up to 5,000 concurrent streams (ours; issue 10 asked 2,000)",
                 f"{errors} errors, {open_at_cap} still open at the cap, up to {top}",
                 False if errors + open_at_cap else True if top >= 5000 else None))
    ours, stock = find(measurement.rates, "ours", 300), find(measurement.rates, "stock", 300)
    share = ratio(ours.pieces_per_second, stock.pieces_per_second) if ours and stock else float("nan")
    rows.append(("300 streams × 50 pieces/s: p50 completion ≤ 1.5 × ideal (ours)",
                 times(ours.completion(0.5)) if ours else "not run",
                 ours.completion(0.5) <= 1.5 and not ours.errors if ours else None))
    rows.append(("300 streams × 50 pieces/s: ≥ 3 × stock LiteLLM's text throughput",
                 f"{share:.2f}×" if ours and stock else "not run", share >= 3 if ours and stock else None))
    overhead = unloaded_ttft(measurement)
    rows.append(("unloaded TTFT overhead ≤ 25 ms p50", "—" if overhead is None else f"{overhead * 1000:.1f} ms",
                 None if overhead is None else overhead <= 0.025))
    at = find(measurement.sweep, "ours", MEMORY_AT)
    kb = kb_per_stream(at, measurement.idle_mb["ours"], "proxy") if at else "—"
    rows.append((f"proxy memory ≤ 100 KB per open stream at {MEMORY_AT:,} streams (issue 10 asked ≤ 64 KB)",
                 f"{kb} KB", None if kb == "—" else float(kb) <= 100))
    verdict = {True: "met", False: "missed", None: "not measured"}
    lines = ["### Targets (issues 10 and 21)", "", "| target | measured | |", "|---|---:|---|"]
    lines += [f"| {name} | {value} | {verdict[met]} |" for name, value, met in rows]
    return lines + [""]


def section(measurement: Measurement) -> str:
    cpu = sum(run.generator_cpu for run in [*measurement.sweep, *measurement.rates])
    seconds = sum(run.seconds for run in [*measurement.sweep, *measurement.rates])
    lines = [*method(measurement), *targets(measurement), *sweep_table(measurement), *rate_table(measurement),
             *memory_table(measurement), *unloaded_table(measurement),
             f"The load generator used {cpu:.0f} s of CPU over {seconds:.0f} s of runs "
             f"({cpu / seconds if seconds else 0:.2f} of a core on average).", ""]
    return "\n".join(lines)


def replace_section(document: str, text: str) -> str:
    """The document with its streaming section (to the next `## ` heading or the end) replaced or appended."""
    start = document.find(HEADING)
    if start < 0:
        return document.rstrip("\n") + "\n\n" + text
    end = document.find("\n## ", start + len(HEADING))
    return document[:start] + (text.rstrip("\n") + "\n\n" + document[end + 1:] if end >= 0 else text)


def old_section(document: str) -> str:
    """The streaming section of an earlier report, kept when a run leaves it out."""
    start = document.find(HEADING)
    if start < 0:
        return ""
    end = document.find("\n## ", start + len(HEADING))
    return document[start:end + 1] if end >= 0 else document[start:]


def chart_path(report: Path) -> Path:
    return report.with_name(report.stem + "-streams.png")


def with_chart(measurement: Measurement, text: str, target: Path) -> str:
    """Draw the chart beside `target` and show it at the end of the section (the section alone without matplotlib)."""
    if not chart(measurement, chart_path(target)):
        print("no streaming chart: pip install -r scripts/requirements-benchmark.txt")
        return text
    return text + (f"\n![Streaming capacity: completion over ideal and time to first content by open streams; "
                   f"pieces delivered per second]({chart_path(target).name})\n")


def write(measurement: Measurement, text: str, target: Path) -> None:
    """Put the section, with its chart beside it, into `target` in place of the old one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    document = target.read_text() if target.exists() else "# Benchmarks\n"
    section = with_chart(measurement, text, target)
    target.write_text(soak_report.outside_marked(document, lambda rest: replace_section(rest, section)))
    print(f"wrote {target}")


def chart(measurement: Measurement, target: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    from matplotlib.ticker import NullFormatter, ScalarFormatter  # only now: matplotlib is optional

    colors = {"ours": "#4c72b0", "stock": "#999999", "mock": "#55a868"}
    figure, axes = plt.subplots(1, 3, figsize=(14, 4))
    levels = measurement.plan.sweep
    for key, color in colors.items():
        runs = [run for run in measurement.sweep if run.path == key]
        # a p50 still open at the cap is drawn at the cap
        completion = [min(run.completion(0.5), (run.ramp + run.cap) / run.ideal) for run in runs]
        axes[0].plot([run.streams for run in runs], completion, "o-", color=color, label=SHORT[key])
        axes[1].plot([run.streams for run in runs], [(run.ttft(0.5) or math.nan) * 1000 for run in runs], "o-",
                     color=color, label=SHORT[key])
    for axis, label in ((axes[0], "completion p50 / ideal"), (axes[1], "time to first content p50, ms (log)")):
        axis.set_xscale("log")
        axis.set_xticks(levels, [str(n) for n in levels])
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel(f"open streams ({measurement.plan.sweep_delay_ms} ms between pieces)")
        axis.set_ylabel(label)
        axis.legend(fontsize=8)
    axes[0].set_ylim(bottom=0.9)
    axes[1].set_yscale("log")
    axes[1].yaxis.set_major_formatter(ScalarFormatter())
    rates = measurement.plan.rates
    width = 0.8 / len(colors)
    for offset, (key, color) in enumerate(colors.items()):
        values = [(find(measurement.rates, key, n) or Run(key, n, 1, 1, 0, 0, [], 0)).pieces_per_second for n in rates]
        bars = axes[2].bar([i + offset * width for i in range(len(rates))], values, width, color=color,
                           label=SHORT[key])
        axes[2].bar_label(bars, labels=[f"{v:.0f}" for v in values], fontsize=7, padding=2)
    axes[2].set_xticks([i + width for i in range(len(rates))], [f"{n} streams" for n in rates])
    axes[2].set_ylabel(f"pieces/s delivered ({1000 / measurement.plan.rate_delay_ms:g}/s per stream asked)")
    axes[2].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return True
