"""The streaming-capacity runs: many open streams through our proxy, stock LiteLLM and the mock alone, side by side.

    .venv/bin/python scripts/benchmark_streams.py [--smoke] [--sweep 100,500] [--rates 50,100] [--paths ours,mock]
                                                   [--output FILE]

benchmark.py runs this section after the request-rate one; run alone, this script starts the same stack (no
request-rate references) and prints the section, or puts it into FILE in place of the old one (--output).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from bench import streams_report
from bench.stack import BenchStack
from bench.streams import SMOKE, Measurement, Plan, failed_streams, from_raw, measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds of small runs; fail on any error")
    parser.add_argument("--sweep", help="comma-separated stream counts for the concurrency sweep")
    parser.add_argument("--rates", help="comma-separated stream counts for the token-rate runs")
    parser.add_argument("--paths", help="comma-separated paths to run, of ours,stock,mock (default: all three)")
    parser.add_argument("--output", type=Path, help="put the section into this markdown file (and a chart beside it)")
    parser.add_argument("--raw", type=Path, help="also write every stream's record to this JSON file")
    parser.add_argument("--from-raw", type=Path, help="no run: make the section from a file --raw wrote")
    args = parser.parse_args(argv)
    if args.from_raw:
        measurement = from_raw(json.loads(args.from_raw.read_text()))
    else:
        measurement = run_stack(plan_from(args))
    text = streams_report.section(measurement)
    print(text)
    if args.raw:
        args.raw.write_text(json.dumps(asdict(measurement)))
    if args.output and not args.smoke:
        streams_report.write(measurement, text, args.output)
    return 1 if args.smoke and failed_streams(measurement) else 0


def run_stack(plan: Plan) -> Measurement:
    """Start the stack (without the request-rate references), measure, stop."""
    with tempfile.TemporaryDirectory(prefix="adapter-bench-streams-") as tmp_name:
        stack = BenchStack(Path(tmp_name), None)
        try:
            print(f"starting the stack in {tmp_name} ...", flush=True)
            stack.start(references=False)
            return measure(stack, plan)
        finally:
            stack.stop()


def plan_from(args) -> Plan:
    plan = SMOKE if args.smoke else Plan()
    counts = lambda text: tuple(int(n) for n in text.split(","))  # noqa: E731
    if args.sweep:
        plan = replace(plan, sweep=counts(args.sweep))
    if args.rates:
        plan = replace(plan, rates=counts(args.rates))
    if args.paths:
        plan = replace(plan, paths=tuple(args.paths.split(",")))
    return plan


if __name__ == "__main__":
    sys.exit(main())
