"""Usage lines the proxy copied to its service log while LOG_DIR failed (usage_log.LostLines) → back into LOG_DIR.

Idempotent: a line whose request_id is already in its day's file is not added again, so a log read twice (or a
line written after all) is never billed twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .usage_log import LOST_PREFIX, append_line, usage_file


@dataclass
class Recovered:
    added: int = 0
    already_there: int = 0
    unreadable: int = 0  # copies cut short in the log (a log line too long for the log's collector, say)


def copied_lines(texts: Iterable[str], outcome: Recovered) -> list[dict]:
    """The usage lines in a service log's lines, wherever the prefix starts (journald and others put their own
    stamp before it)."""
    lines = []
    for text in texts:
        at = text.find(LOST_PREFIX)
        if at < 0:
            continue
        try:
            record = json.loads(text[at + len(LOST_PREFIX):])
            datetime.fromisoformat(record["time"])
            lines.append(record)
        except (ValueError, TypeError, KeyError):
            outcome.unreadable += 1
    return lines


def _request_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids = set()
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            ids.add(json.loads(text)["request_id"])
        except (ValueError, TypeError, KeyError):
            continue  # not a usage line of ours: it holds no request id to compare with
    return ids


def recover(log_dir: str | Path, texts: Iterable[str]) -> Recovered:
    """Append each usage line found in `texts` to its day's file in `log_dir`, unless its request_id is there."""
    outcome = Recovered()
    known: dict[Path, set[str]] = {}
    for record in copied_lines(texts, outcome):
        path = usage_file(log_dir, datetime.fromisoformat(record["time"]))
        ids = known.setdefault(path, _request_ids(path))
        if record.get("request_id") in ids:
            outcome.already_there += 1
            continue
        append_line(path, record)
        ids.add(record.get("request_id"))
        outcome.added += 1
    return outcome
