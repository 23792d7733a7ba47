"""Soak benchmark: the stack under a steady mix of traffic for a long time; memory, open files and statuses judged.

    .venv/bin/python scripts/soak.py --minutes 60 --warmup-minutes 5 --publish   # the published run
    .venv/bin/python scripts/soak.py --minutes 2 --warmup-minutes 0.5            # a short look
    .venv/bin/python scripts/soak.py --report-from RUN.json --publish            # publish an earlier run's samples

It starts its own stack on free loopback ports with ./start_services.sh (bench/stack.py, as the benchmark does:
the shipped config plus a priced model, a keys file with a budgeted key), drives a mix of every kind of request
(bench/soak/traffic.py) at a moderate concurrency for the warm-up and then `--minutes` more, and samples the
resident memory and open file descriptors of every process of both servers every `--interval` seconds. Targets
(bench/soak/judge.py): after warm-up ≤ 3 % RSS growth per server, flat open files, the same processes throughout,
0 unexpected statuses. Prints the verdicts and tables, writes every sample as JSON, and with --publish puts a
"Soak" section into docs/benchmarks.md (between <!-- soak:start --> and <!-- soak:end -->) with a chart beside it.
Exit status: 0 when every target is met, 3 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench.harness import ROOT, log_tail
from bench.soak import judge, report, sampling, traffic
from bench.stack import BUDGETED_KEY, BenchStack

PRICED_MODEL = "priced-chat"  # bench/stack.py's priced copy of the business path: the budgeted key is charged
MISSED = 3  # exit status when a target is missed (1 and 2 are Python's own failures and argparse's)


async def soak(stack: BenchStack, args: argparse.Namespace, kinds: list[traffic.Kind]) -> tuple[list[dict], dict]:
    """Traffic for the warm-up and the measured minutes, sampled every interval; (samples, counts)."""
    roots = {"proxy": stack.pid("litellm_proxy"), "business API": stack.pid("business_api")}
    tally = traffic.Tally()
    started = time.monotonic()
    until = started + (args.warmup_minutes + args.minutes) * 60
    driving = asyncio.create_task(traffic.drive(stack.proxy, kinds, args.concurrency, until, tally))
    samples = []
    while True:
        t = time.monotonic() - started
        counts = tally.snapshot()
        samples.append({"t": round(t, 1), "warmup": t < args.warmup_minutes * 60, "load": os.getloadavg()[0],
                        "requests": sum(n for outcomes in counts.values() for n in outcomes.values()),
                        "counts": counts, "groups": sampling.sample_groups(roots)})
        print(progress(samples[-1]), flush=True)
        if driving.done() or time.monotonic() >= until - 1:
            break  # the last sample is taken while the traffic still runs, not after it stopped
        next_at = min(started + args.interval * len(samples), until - 0.5)
        await asyncio.wait([driving], timeout=max(0.0, next_at - time.monotonic()))
    await driving  # its exception, if any
    return samples, tally.snapshot()


def progress(sample: dict) -> str:
    servers = ", ".join(f"{group} {judge.rss_mb(sample, group):.0f} MB {judge.fds(sample, group)} fds"
                        for group in sample["groups"])
    return f"{sample['t']:7.0f} s{' (warm-up)' if sample['warmup'] else ''}: {sample['requests']:,} requests; {servers}"


def revision() -> str:
    """The commit measured, and whether the work tree had changes."""
    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no")
    commit = git("rev-parse", "--short", "HEAD") or "an unknown commit"
    return commit + (" with uncommitted changes" if changed else "")


def without_note(argv: list[str]) -> list[str]:
    """The arguments but --note's: the note is printed in the section anyway."""
    kept, skip = [], False
    for word in argv:
        if skip or word.startswith("--note="):
            skip = False
            continue
        skip = word == "--note"
        if not skip:
            kept.append(word)
    return kept


def run_info(args: argparse.Namespace, argv: list[str], stack: BenchStack, kinds: list[traffic.Kind],
             samples: list[dict], counts: dict, seconds: float, rev: str) -> dict:
    return {"command": "scripts/soak.py " + shlex.join(without_note(argv)), "date": time.strftime("%Y-%m-%d"),
            "revision": rev,
            "minutes": args.minutes, "warmup_minutes": args.warmup_minutes, "interval": args.interval,
            "concurrency": args.concurrency, "seconds": seconds, "cores": os.cpu_count(),
            "load_average": statistics.mean(sample["load"] for sample in samples) if samples else 0.0,
            "proxy_workers": stack.settings.litellm_proxy_workers, "business": stack.mock_server(),
            "note": args.note, "counts": counts, "expected": {kind.name: kind.expected for kind in kinds}}


def write_outputs(args: argparse.Namespace, run: dict, samples: list[dict], verdicts: list[judge.Verdict]) -> None:
    """The JSON of every sample; with --publish the chart and the section of docs/benchmarks.md as well."""
    data = args.json or (args.output.with_name(args.output.stem + "-soak.json") if args.publish else
                         Path(tempfile.gettempdir()) / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json")
    plain = {**run, "expected": {kind: sorted(allowed) for kind, allowed in run["expected"].items()},
             "rules": {"rss": judge.RSS_RULE, "fds": judge.FD_RULE}, "verdicts": [asdict(v) for v in verdicts],
             "samples": samples}
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(json.dumps(plain, separators=(",", ":")) + "\n")
    print(f"wrote {data}")
    if not args.publish:
        return
    picture = args.output.with_name(args.output.stem + "-soak.png")
    drawn = report.chart(samples, picture, run["warmup_minutes"] * 60)
    linked = data.name if data.parent.resolve() == args.output.parent.resolve() else None
    text = report.section(run, samples, verdicts, picture.name if drawn else None, linked)
    old = args.output.read_text() if args.output.exists() else ""
    args.output.write_text(report.publish(old, text))
    print(f"wrote the soak section of {args.output}" + (f" and {picture}" if drawn else
                                                       " (no chart: pip install -r scripts/requirements-benchmark.txt)"))


def usage_lines(stack: BenchStack) -> int:
    """The usage lines the proxy wrote (one per model call): the metering ran all along."""
    return sum(path.read_bytes().count(b"\n") for path in (stack.tmp / "logs").glob("usage_*.jsonl"))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="measured minutes after the warm-up")
    parser.add_argument("--warmup-minutes", type=float, default=5.0, help="minutes of traffic before measuring")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--concurrency", type=int, default=12, help="requests in flight")
    parser.add_argument("--workers", type=int, help="proxy workers (default: LITELLM_PROXY_WORKERS, i.e. cores)")
    parser.add_argument("--json", type=Path, help="where the samples go (default: beside --output with --publish, "
                                                  "else a file in the temporary directory)")
    parser.add_argument("--publish", action="store_true", help="write the Soak section of --output and its chart")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--note", default="", help="a sentence for the published section (e.g. what else ran)")
    parser.add_argument("--report-from", type=Path, metavar="JSON",
                        help="run nothing: judge, print and (with --publish) publish the samples of an earlier run")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.warmup_minutes < 0 or args.interval <= 0 or args.concurrency < 1:
        parser.error("--minutes and --interval must be above 0, --warmup-minutes at least 0, --concurrency at least 1")
    return args


def measure(args: argparse.Namespace, argv: list[str]) -> tuple[dict, list[dict]]:
    """Start the stack, soak it, stop it: (what ran and what came back, the samples)."""
    rev = revision()
    with tempfile.TemporaryDirectory(prefix="adapter-soak-") as tmp_name:
        stack = BenchStack(Path(tmp_name), args.workers)
        try:
            print(f"starting the stack in {tmp_name} ...", flush=True)
            stack.start(references=False)
            kinds = traffic.kinds(BUDGETED_KEY, stack.settings.litellm_master_key, PRICED_MODEL)
            started = time.monotonic()
            samples, counts = asyncio.run(soak(stack, args, kinds))
            seconds = time.monotonic() - started
        finally:
            stack.stop()
        run = {**run_info(args, argv, stack, kinds, samples, counts, seconds, rev), "usage_lines": usage_lines(stack)}
        if judge.unexpected(counts, run["expected"]):  # what the proxy said about them, before its logs go
            for log in sorted((stack.tmp / "logs").glob("litellm_proxy_*.log")):  # start_services.sh dates them
                print(log_tail(log))
    return run, samples


def reread(args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """An earlier run's JSON (--report-from), to judge and publish again, e.g. into another checkout's report."""
    data = json.loads(args.report_from.read_text())
    samples = data.pop("samples")
    for name in ("rules", "verdicts"):  # judged afresh
        data.pop(name, None)
    data["expected"] = {kind: frozenset(allowed) for kind, allowed in data["expected"].items()}
    return {**data, "note": args.note or data.get("note", "")}, samples


def stop_on_sigterm() -> None:
    """SIGTERM ends the run as Ctrl-C does, through the `finally` that stops the stack (by default it would leave the
    stack running)."""
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if not args.report_from:
        stop_on_sigterm()
    run, samples = reread(args) if args.report_from else measure(args, argv)
    verdicts = judge.judge(samples, run["counts"], run["expected"], list(samples[-1]["groups"]) if samples else [])
    print(report.terminal(run, samples, verdicts))
    write_outputs(args, run, samples, verdicts)
    return 0 if all(v.met for v in verdicts) else MISSED


if __name__ == "__main__":
    sys.exit(main())
