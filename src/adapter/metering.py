"""Usage metering: one JSON line per finished model call in LOG_DIR/usage_<date>.jsonl, from LiteLLM's callback.

Written by a LiteLLM CustomLogger (registered as `litellm_settings.callbacks` in config.yaml), from the standard
logging payload LiteLLM builds for every call, success or failure, streams included (logged when they end), and
requests refused at authentication (key_alias null, status 401). A body the door refuses (400) never reaches
LiteLLM and has no line.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

log = logging.getLogger("adapter")


def usage_line(payload: dict, now: datetime) -> dict:
    """LiteLLM's standard logging payload → the usage record (plain data)."""
    metadata = payload.get("metadata") or {}
    auth = metadata.get("user_api_key_auth_metadata") or {}
    error = payload.get("error_information") or {}
    succeeded = payload.get("status") == "success"
    code = str(error.get("error_code") or "")
    return {
        "time": now.isoformat(timespec="milliseconds"),
        "request_id": payload.get("litellm_call_id") or payload.get("id"),
        "key_alias": metadata.get("user_api_key_alias"),  # "master" for the master key; null: no valid key (401)
        "customer_id": auth.get("customer_id") if isinstance(auth, dict) else None,
        "model": payload.get("model_group") or payload.get("model"),
        "prompt_tokens": int(payload.get("prompt_tokens") or 0),
        "completion_tokens": int(payload.get("completion_tokens") or 0),
        "total_tokens": int(payload.get("total_tokens") or 0),
        "status": 200 if succeeded else (int(code) if code.isdigit() else 500),
        "latency_ms": round(float(payload.get("response_time") or 0.0) * 1000, 1),
        "stream": bool(payload.get("stream")),
    }


def usage_file(log_dir: str | Path, now: datetime) -> Path:
    return Path(log_dir) / f"usage_{now.strftime('%Y-%m-%d')}.jsonl"


def append_line(path: Path, record: dict) -> None:
    """One line, appended in one write: lines from several workers never interleave (O_APPEND)."""
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class UsageLog(CustomLogger):
    def __init__(self, log_dir: str):
        super().__init__()
        self.log_dir = log_dir

    def _record(self, kwargs: dict) -> None:
        payload = kwargs.get("standard_logging_object")
        if not isinstance(payload, dict):
            return
        now = datetime.now(timezone.utc)
        try:
            append_line(usage_file(self.log_dir, now), usage_line(payload, now))
        except OSError as error:  # metering must never fail a request
            log.warning("usage line not written: %s", error)

    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs)

    async def async_log_failure_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs)


# ---------------------------------------------------------------- `python -m adapter.metering summary`

GROUP = ("day", "key_alias", "customer_id", "model")


def summarise(lines: list[dict]) -> list[dict]:
    """Usage lines → one row per day, key, customer and model: requests, errors and tokens."""
    rows: dict[tuple, dict] = {}
    for line in lines:
        group = (line["time"][:10], line.get("key_alias"), line.get("customer_id"), line.get("model"))
        row = rows.setdefault(group, {**dict(zip(GROUP, group)), "requests": 0, "errors": 0, "prompt_tokens": 0,
                                      "completion_tokens": 0, "total_tokens": 0})
        row["requests"] += 1
        row["errors"] += line.get("status") != 200
        for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
            row[name] += int(line.get(name) or 0)
    return [rows[group] for group in sorted(rows, key=lambda g: tuple(str(part) for part in g))]


def read_lines(log_dir: str | Path, day: str | None = None) -> list[dict]:
    pattern = f"usage_{day}.jsonl" if day else "usage_*.jsonl"
    lines = []
    for path in sorted(Path(log_dir).glob(pattern)):
        lines += [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text.strip()]
    return lines


def table(rows: list[dict]) -> str:
    columns = [*GROUP, "requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens"]
    cells = [columns] + [[str(row[name]) if row[name] is not None else "-" for name in columns] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells)


def main(argv: list[str] | None = None) -> int:
    import argparse

    import stack_settings

    parser = argparse.ArgumentParser(prog="python -m adapter.metering", description="Summarise the usage lines.")
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="requests and tokens per day, key, customer and model")
    summary.add_argument("--day", help="one day, YYYY-MM-DD (default: every day in LOG_DIR)")
    summary.add_argument("--json", action="store_true", help="rows as JSON lines instead of a table")
    args = parser.parse_args(argv)
    rows = summarise(read_lines(stack_settings.load().log_dir, args.day))
    print("\n".join(json.dumps(row) for row in rows) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
