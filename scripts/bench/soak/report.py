"""The soak's report: tables for the terminal, the "Soak" section of docs/benchmarks.md between its markers, a chart."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

from ..harness import pyplot
from .judge import FD_RULE, RSS_GROWTH_LIMIT, RSS_RULE, Verdict, after_warmup, fds, rss_mb, windows

START, END = "<!-- soak:start -->", "<!-- soak:end -->"
HEADING = "## Soak (issue 22)"
WIDTH = 120  # docs/benchmarks.md's prose


def verdict_table(verdicts: list[Verdict]) -> list[str]:
    rows = [f"| {v.check} | {v.value} | {v.target} | {'met' if v.met else 'MISSED'} |" for v in verdicts]
    return ["| check | measured | target | |", "|---|---|---|---|", *rows]


def process_table(samples: list[dict], groups: list[str]) -> list[str]:
    """Each process's memory and open files at the first sample after warm-up and at the last sample."""
    measured = after_warmup(samples) or samples
    first, last = measured[0], samples[-1]
    lines = ["| process | pid | RSS MB, after warm-up → end | open fds, after warm-up → end |", "|---|---:|---:|---:|"]
    for group in groups:
        at_end = {process["pid"]: process for process in last["groups"][group]}
        for process in first["groups"][group]:
            end = at_end.get(process["pid"])
            rss_end = f"{end['rss_kb'] / 1024:.0f}" if end else "gone"
            fds_end = str(end["fds"]) if end else "gone"
            lines.append(f"| {group} {process['role']} | {process['pid']} | {process['rss_kb'] / 1024:.0f} → "
                         f"{rss_end} | {process['fds']} → {fds_end} |")
        started = {process["pid"] for process in first["groups"][group]}
        lines += [f"| {group} {process['role']} (new) | {pid} | → {process['rss_kb'] / 1024:.0f} | → {process['fds']} |"
                  for pid, process in at_end.items() if pid not in started]
    return lines


def traffic_table(counts: dict[str, dict[str, int]], expected: dict[str, frozenset[str]]) -> list[str]:
    lines = ["| kind | expected | requests | outcomes |", "|---|---|---:|---|"]
    for kind, allowed in expected.items():
        outcomes = counts.get(kind, {})
        seen = ", ".join(f"{outcome}: {n:,}" for outcome, n in sorted(outcomes.items()))
        lines.append(f"| {kind} | {', '.join(sorted(allowed))} | {sum(outcomes.values()):,} | {seen or '—'} |")
    return lines


def answered(run: dict) -> int:
    """Model calls answered with 200 (GET /metrics is not one)."""
    return sum(outcomes.get("200", 0) for kind, outcomes in run["counts"].items() if kind != "metrics")


def summary(run: dict, verdicts: list[Verdict]) -> str:
    """What ran, and whether every target was met, in one paragraph."""
    total = sum(n for outcomes in run["counts"].values() for n in outcomes.values())
    missed = [v.check for v in verdicts if not v.met]
    return (f"{total:,} requests in {run['warmup_minutes'] + run['minutes']:g} minutes, the first "
            f"{run['warmup_minutes']:g} a warm-up ({total / run['seconds']:.0f} requests/s, {run['concurrency']} in "
            f"flight), samples every {run['interval']:g} s; mean load average {run['load_average']:.1f} on "
            f"{run['cores']} cores. "
            + (f"The proxy wrote {run['usage_lines']:,} usage lines for {answered(run):,} model calls answered. "
               if "usage_lines" in run else "")
            + ("Every target met." if not missed else f"Missed: {'; '.join(missed)}."))


def terminal(run: dict, samples: list[dict], verdicts: list[Verdict]) -> str:
    groups = list(samples[-1]["groups"]) if samples else []
    return "\n".join([summary(run, verdicts), "", *verdict_table(verdicts), "", *process_table(samples, groups), "",
                      *traffic_table(run["counts"], run["expected"]), "", f"Memory: {RSS_RULE}.",
                      f"Open files: {FD_RULE}."]) + "\n"


def section(run: dict, samples: list[dict], verdicts: list[Verdict], chart_name: str | None,
            data_name: str | None) -> str:
    """The marked section for docs/benchmarks.md."""
    groups = list(samples[-1]["groups"])
    lines = [START, HEADING, "",
             f"Measured by `{run['command']}` on {run['date']} against {run['revision']}: the stack as "
             "`./start_services.sh` starts it (the shipped `src/config.yaml` plus a priced model, usage lines and "
             "`/metrics` on), every request but `GET /metrics` sent with a keys-file key that has a budget. "
             f"Proxy: {run['proxy_workers']} worker(s); business API: {run['business']}. Resident memory (VmRSS) "
             "and open file descriptors of every process of both servers (read in /proc), and every status, "
             "counted by the kind of request.", "", summary(run, verdicts)]
    if run.get("note"):
        lines += ["", run["note"]]
    lines += ["", *verdict_table(verdicts), "", f"Memory: {RSS_RULE}. Open files: {FD_RULE}. A worker that "
              "died or was replaced during the run would hide its memory, so the processes are checked too.", "",
              *process_table(samples, groups), "", *traffic_table(run["counts"], run["expected"])]
    if chart_name:
        lines += ["", f"![Soak: resident memory and open files of each server over the run]({chart_name})"]
    if data_name:
        lines += ["", f"Every sample: [{data_name}]({data_name})."]
    return "\n".join(wrap(line) for line in lines + [END]) + "\n"


def wrap(line: str) -> str:
    """Prose at the report's width (its tables and pictures stay one line each)."""
    return line if line.startswith(("|", "!", "<!--")) else textwrap.fill(line, WIDTH, break_long_words=False,
                                                                        break_on_hyphens=False)


def split_marked(document: str) -> tuple[str, str]:
    """(the document without its soak section, the section with its markers); ("document", "") without one."""
    start = document.find(START)
    end = document.find(END, start)
    if start < 0 or end < 0:
        return document, ""
    end += len(END)
    return document[:start].rstrip("\n") + "\n" + document[end:].lstrip("\n"), document[start:end] + "\n"


def publish(document: str, text: str) -> str:
    """`document` with its soak section replaced by `text`, or `text` added at its end."""
    start = document.find(START)
    end = document.find(END, start)
    if start >= 0 and end >= 0:
        return document[:start] + text.rstrip("\n") + document[end + len(END):]
    return (document.rstrip("\n") + "\n\n" if document.strip() else "") + text


def chart(samples: list[dict], target: Path, warmup_seconds: float) -> bool:
    """Each server's RSS (MB, and % against the first window after warm-up, the target marked) and open fds over the
    run, the end of warm-up marked; False without matplotlib."""
    plt = pyplot()
    if plt is None or not samples:
        return False
    minutes = [sample["t"] / 60 for sample in samples]
    first, _ = windows(samples)
    figure, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for group in samples[-1]["groups"]:
        rss = [rss_mb(sample, group) for sample in samples]
        axes[0].plot(minutes, rss, label=group)
        if first:
            base = sum(rss_mb(sample, group) for sample in first) / len(first)
            axes[1].plot(minutes, [(mb / base - 1) * 100 for mb in rss], label=group)
        axes[2].plot(minutes, [fds(sample, group) for sample in samples], label=group)
    axes[1].axhline(RSS_GROWTH_LIMIT * 100, color="#cc4444", linestyle=":", linewidth=1, label=f"target, +{RSS_GROWTH_LIMIT:.0%}")
    labels = ("resident memory, MB", "RSS vs the first window after warm-up, %", "open file descriptors")
    for axis, label in zip(axes, labels):
        axis.axvline(warmup_seconds / 60, color="#999999", linestyle="--", linewidth=1)
        axis.set_xlabel("minutes (dashed: end of warm-up)")
        axis.set_ylabel(label)
        axis.legend(fontsize=8)
    axes[0].set_ylim(bottom=0)
    axes[2].set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return True


def outside_marked(document: str, change: Callable[[str], str]) -> str:
    """`change` applied to the document without its soak section, which then goes back at the end: the other
    sections run to the next heading, and would take the section's start marker along with them."""
    rest, marked = split_marked(document)
    changed = change(rest)
    return publish(changed, marked) if marked else changed
