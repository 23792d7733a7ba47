"""Usage metering: one JSON line per finished model call in LOG_DIR/usage_<date>.jsonl, from LiteLLM's callback.

Written by a LiteLLM CustomLogger (registered as `litellm_settings.callbacks` in config.yaml), from the standard
logging payload LiteLLM builds for every call, success or failure, streams included (logged when they end), and
requests refused at authentication (key_alias null, status 401 or 403: the door refuses them before LiteLLM and
says so through `refused`). A body the door refuses (400) never reaches LiteLLM and has no line.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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

    def refused(self, status: int, model: str | None, alias: str | None = None) -> None:
        """A request the door refused for its key (401; 403 for a model the key may not use; 429 over its budget,
        with the key's alias)."""
        now = datetime.now(timezone.utc)
        record = {"time": now.isoformat(timespec="milliseconds"), "request_id": str(uuid.uuid4()), "key_alias": alias,
                  "customer_id": None, "model": model, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                  "cost": 0.0, "status": status, "latency_ms": 0.0, "stream": False}
        try:
            append_line(usage_file(self.log_dir, now), record)
        except OSError as error:  # metering must never fail a request
            log.warning("usage line not written: %s", error)

    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs)

    async def async_log_failure_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs)
