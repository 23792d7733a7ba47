"""`python -m adapter.metering summary`: the usage lines (tokens, cost) summed per day, key, customer and model;
`recover LOG…`: usage lines copied to a service log while LOG_DIR failed, put back into LOG_DIR."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import stack_settings

GROUP = ("day", "key_alias", "customer_id", "model")


def summarise(lines: list[dict]) -> list[dict]:
    """Usage lines → one row per day, key, customer and model: requests, errors, tokens and cost (USD)."""
    rows: dict[tuple, dict] = {}
    for line in lines:
        group = (line["time"][:10], line.get("key_alias"), line.get("customer_id"), line.get("model"))
        row = rows.setdefault(group, {**dict(zip(GROUP, group)), "requests": 0, "errors": 0, "prompt_tokens": 0,
                                      "completion_tokens": 0, "total_tokens": 0, "cost": 0.0})
        row["requests"] += 1
        row["errors"] += line.get("status") != 200
        for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
            row[name] += int(line.get(name) or 0)
        row["cost"] += float(line.get("cost") or 0.0)  # lines written before cost was recorded count as 0
    for row in rows.values():
        row["cost"] = round(row["cost"], 9)  # sums of float prices: no binary noise in the report
    return [rows[group] for group in sorted(rows, key=lambda g: tuple(str(part) for part in g))]


def read_lines(log_dir: str | Path, day: str | None = None) -> list[dict]:
    """The usage lines of LOG_DIR (of one day); a line that is not one JSON object is left out, and said on stderr."""
    pattern = f"usage_{day}.jsonl" if day else "usage_*.jsonl"
    lines = []
    for path in sorted(Path(log_dir).glob(pattern)):
        for number, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not text.strip():
                continue
            line = _usage_line(text)
            if line is None:
                print(f"{path}:{number}: not a usage line (a torn write?), left out", file=sys.stderr)
                continue
            lines.append(line)
    return lines


def _usage_line(text: str) -> dict | None:
    try:
        line = json.loads(text)
    except ValueError:
        return None
    return line if isinstance(line, dict) and isinstance(line.get("time"), str) else None


def table(rows: list[dict]) -> str:
    columns = [*GROUP, "requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost"]
    cells = [columns] + [[str(row[name]) if row[name] is not None else "-" for name in columns] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapter.metering", description="Summarise the usage lines.")
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="requests, tokens and cost per day, key, customer and model")
    summary.add_argument("--day", help="one day, YYYY-MM-DD (default: every day in LOG_DIR)")
    summary.add_argument("--json", action="store_true", help="rows as JSON lines instead of a table")
    recover = commands.add_parser("recover", help="put usage lines a service log holds back into LOG_DIR (once)")
    recover.add_argument("logs", nargs="+", help="the proxy's service log files; - for standard input")
    args = parser.parse_args(argv)
    log_dir = stack_settings.load().log_dir
    if args.command == "recover":
        return recover_lines(log_dir, args.logs)
    rows = summarise(read_lines(log_dir, args.day))
    print("\n".join(json.dumps(row) for row in rows) if args.json else table(rows))
    return 0


def recover_lines(log_dir: str, logs: list[str]) -> int:
    from .recover import recover  # imports LiteLLM (usage_log): only for this command

    try:
        outcome = recover(log_dir, _log_lines(logs))
    except OSError as error:
        print(f"cannot read or write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    print(f"{outcome.added} usage line(s) added to {log_dir}, {outcome.already_there} already there"
          + (f", {outcome.unreadable} unreadable (cut short in the log)" if outcome.unreadable else ""))
    return 1 if outcome.unreadable else 0


def _log_lines(names: list[str]):
    for name in names:
        if name == "-":
            yield from sys.stdin
            continue
        with open(name, encoding="utf-8", errors="replace") as handle:
            yield from handle

if __name__ == "__main__":
    raise SystemExit(main())
