"""Usage metering: one JSON line per finished model call in LOG_DIR/usage_<date>.jsonl, from LiteLLM's callback.

Written by a LiteLLM CustomLogger (registered as `litellm_settings.callbacks` in config.yaml), from the standard
logging payload LiteLLM builds for every call, success or failure, streams included (logged when they end), and
requests refused at authentication (key_alias null, status 401 or 403: the door refuses them before LiteLLM and
says so through `refused`). A body the door refuses (400) never reaches LiteLLM and has no line.

A line that cannot be written (LOG_DIR full, unwritable or gone) never fails the request and is never dropped
silently: it is counted (adapter_usage_lines_lost_total, metrics.py), copied whole to the process's stderr after
LOST_PREFIX so that it can be recovered from the service log, and reported once per episode (docs/operations.md).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import resource
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from litellm.integrations.custom_logger import CustomLogger

log = logging.getLogger("adapter")


def usage_line(payload: dict, now: datetime) -> dict:
    """LiteLLM's standard logging payload → the usage record (plain data)."""
    return {"time": now.isoformat(timespec="milliseconds"), **call_record(payload)}


def call_record(payload: dict) -> dict:
    """The call's part of the usage record (all of it but the time), as the metrics read it too (metrics.py)."""
    metadata = payload.get("metadata") or {}
    auth = metadata.get("user_api_key_auth_metadata") or {}
    error = payload.get("error_information") or {}
    succeeded = payload.get("status") == "success"
    code = str(error.get("error_code") or "")
    return {
        "request_id": payload.get("litellm_call_id") or payload.get("id"),
        "key_alias": metadata.get("user_api_key_alias"),  # "master" for the master key; null: no valid key (401)
        "customer_id": auth.get("customer_id") if isinstance(auth, dict) else None,
        "model": payload.get("model_group") or payload.get("model"),
        "prompt_tokens": int(payload.get("prompt_tokens") or 0),
        "completion_tokens": int(payload.get("completion_tokens") or 0),
        "total_tokens": int(payload.get("total_tokens") or 0),
        # USD, as LiteLLM priced the call from the model's model_info (0 for an unpriced model or a failure)
        "cost": float(payload.get("response_cost") or 0.0),
        "status": 200 if succeeded else (int(code) if code.isdigit() else 500),
        "latency_ms": round(float(payload.get("response_time") or 0.0) * 1000, 1),
        "stream": is_stream(payload),
    }


def is_stream(payload: dict) -> bool:
    """Whether the call was a stream: LiteLLM's payload says `stream` only of a stream that completed; one that failed
    (its backend gone mid-stream) says so only in the request's parameters."""
    return bool(payload.get("stream") or (payload.get("model_parameters") or {}).get("stream"))


def usage_file(log_dir: str | Path, now: datetime) -> Path:
    return Path(log_dir) / f"usage_{now.strftime('%Y-%m-%d')}.jsonl"


def append_line(path: Path, record: dict) -> None:
    """One line, appended in one write: lines from several workers never interleave (O_APPEND).

    A short write (the disk filled, or the file size limit, mid-line) is undone, so that no torn line is left for
    the next append to glue onto; it raises OSError like a failed write.
    """
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, data)
        if written < len(data):
            _undo_short_write(fd, path, written)
    finally:
        os.close(fd)


def _undo_short_write(fd: int, path: Path, written: int) -> None:
    end = os.lseek(fd, 0, os.SEEK_CUR)  # O_APPEND: the end of this write's bytes
    # A short write to a regular file means the medium is full or the file size limit is reached (POSIX).
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    code = errno.EFBIG if limit != resource.RLIM_INFINITY and end >= limit else errno.ENOSPC
    # Only when nothing was appended after the fragment (another worker): truncating would then cut its line too.
    # On a full disk no other append can land between this check and the truncation.
    if os.fstat(fd).st_size == end:
        os.ftruncate(fd, end - written)
        raise OSError(code, f"{os.strerror(code)} (the {written} bytes written of the line were removed)", str(path))
    raise OSError(code, f"{os.strerror(code)} (a torn line was left at byte {end - written})", str(path))


# Why a line was not written, as the `reason` label of adapter_usage_lines_lost_total: a few values, fixed, so
# that every series exists (at 0) from the start and an alert can watch them.
REASONS = ("no_space", "file_too_large", "not_writable", "no_directory", "other")
_REASON_OF = {errno.ENOSPC: "no_space", errno.EDQUOT: "no_space", errno.EFBIG: "file_too_large",
              errno.EACCES: "not_writable", errno.EPERM: "not_writable", errno.EROFS: "not_writable",
              errno.ENOENT: "no_directory", errno.ENOTDIR: "no_directory"}
LOST_PREFIX = "usage line not written to LOG_DIR, kept here: "


def reason(error: OSError) -> str:
    """The `reason` label of a failed write."""
    return _REASON_OF.get(error.errno, "other")


class LostLines:
    """Lines that could not be written: each counted and copied to stderr; one error per episode, one line at
    its end. One per worker process, so the messages are per worker too."""

    def __init__(self, count: Callable[[str], None], unrecorded: Callable[[], None], stderr: int = 2):
        self.count, self.unrecorded, self.stderr = count, unrecorded, stderr
        self._lock = threading.Lock()  # LiteLLM may call a logger from its threads too
        self._lost = 0  # since the episode began; > 0 means an episode was reported
        self._reason = ""

    def lost(self, record: dict, path: Path, error: OSError) -> None:
        why = reason(error)
        line = (LOST_PREFIX + json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._lock:
            self._lost += 1
            try:
                os.write(self.stderr, line)  # one write: whole among other workers' output (≤ PIPE_BUF)
            except OSError:  # the service log is on the same full disk: the counters still tell
                self.unrecorded()
            self.count(why)  # after the copy: a line counted is in the log already
            if why != self._reason:  # the episode's first line, or a new cause: said once
                self._reason = why
                # errno's text and the path only: neither holds a key.
                log.error("usage lines cannot be written to %s (%s: %s); serving goes on, each line is counted in "
                          "adapter_usage_lines_lost_total and copied to this log after %r. Said again when lines "
                          "are written again.", path, why, error.strerror or error,
                          LOST_PREFIX.strip())

    def written(self) -> None:
        """A line was written: ends an episode, if one was on."""
        if not self._lost:  # the usual case: no lock taken
            return
        with self._lock:
            if self._lost:
                log.warning("usage lines are written to LOG_DIR again; %d line(s) were copied to this log instead "
                            "in the meantime (docs/operations.md: When LOG_DIR is full or unwritable)", self._lost)
                self._lost, self._reason = 0, ""


class UsageLog(CustomLogger):
    def __init__(self, log_dir: str, lost: LostLines | None = None):
        super().__init__()
        self.log_dir = log_dir
        self.lost = lost or LostLines(lambda why: None, lambda: None)

    def _record(self, kwargs: dict) -> None:
        payload = kwargs.get("standard_logging_object")
        if not isinstance(payload, dict):
            return
        now = datetime.now(timezone.utc)
        self._write(now, usage_line(payload, now))

    def refused(self, status: int, model: str | None, alias: str | None = None) -> None:
        """A request the door refused for its key (401; 403 for a model the key may not use; 429 over its budget,
        with the key's alias)."""
        now = datetime.now(timezone.utc)
        record = {"time": now.isoformat(timespec="milliseconds"), "request_id": str(uuid.uuid4()), "key_alias": alias,
                  "customer_id": None, "model": model, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                  "cost": 0.0, "status": status, "latency_ms": 0.0, "stream": False}
        self._write(now, record)

    def _write(self, now: datetime, record: dict) -> None:
        path = usage_file(self.log_dir, now)
        try:
            append_line(path, record)
        except OSError as error:  # metering must never fail a request, nor lose a line silently
            self.lost.lost(record, path, error)
            return
        self.lost.written()

    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs)

    async def async_log_failure_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs)
