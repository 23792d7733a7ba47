"""The proxy's Prometheus series, a few per call with few labels, under the names LiteLLM's prometheus callback uses."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from litellm.integrations.custom_logger import CustomLogger
from litellm.types.integrations.prometheus import LATENCY_BUCKETS
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from .usage_log import REASONS, LostLines, call_record

KEY, REQUESTED, GROUP = "api_key_alias", "requested_model", "model_group"
SUCCESS = 200


class Metrics(CustomLogger):
    """Counts every call LiteLLM logs (success or failure, streams when they end): requests, failures, tokens, spend,
    latencies. In multiprocess mode (PROMETHEUS_MULTIPROC_DIR) each worker writes its own files, read by exposition()."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY):
        super().__init__()
        self.requests = Counter("litellm_proxy_total_requests_metric", "Requests LiteLLM answered, any status",
                                [KEY, REQUESTED, "route", "status_code"], registry=registry)
        self.failures = Counter("litellm_proxy_failed_requests_metric", "Requests that failed",
                                [KEY, REQUESTED, "exception_status"], registry=registry)
        self.input_tokens, self.output_tokens, self.total_tokens = (
            Counter(f"litellm_{kind}_tokens_metric", f"{kind.capitalize()} tokens, as the responses report them",
                    [KEY, REQUESTED], registry=registry) for kind in ("input", "output", "total"))
        self.spend = Counter("litellm_spend_metric", "Spend in USD, as LiteLLM priced the calls", [KEY, REQUESTED],
                             registry=registry)
        self.total_latency = _latency("litellm_request_total_latency_metric",
                                      "Seconds from the request reaching LiteLLM to its end", registry)
        self.api_latency = _latency("litellm_llm_api_latency_metric", "Seconds spent calling the backend", registry)
        self.first_token = _latency("litellm_llm_api_time_to_first_token_metric",
                                    "Seconds from calling the backend to a stream's first chunk", registry)

    def record(self, payload: dict, kwargs: dict) -> None:
        """One logged call (LiteLLM's standard logging payload, and the call's details) → the series."""
        call = call_record(payload)
        alias, model, status = str(call["key_alias"]), str(call["model"]), str(call["status"])
        route = str((payload.get("metadata") or {}).get("user_api_key_request_route"))
        self.requests.labels(alias, model, route, status).inc()
        if call["status"] != SUCCESS:
            self.failures.labels(alias, model, status).inc()
            return
        self.input_tokens.labels(alias, model).inc(call["prompt_tokens"])
        self.output_tokens.labels(alias, model).inc(call["completion_tokens"])
        self.total_tokens.labels(alias, model).inc(call["total_tokens"])
        self.spend.labels(alias, model).inc(call["cost"])
        total, at_backend, first = seconds(payload, kwargs)
        self.total_latency.labels(alias, model).observe(total)
        self.api_latency.labels(alias, model).observe(at_backend)
        if first is not None and call["stream"]:
            self.first_token.labels(alias, model).observe(first)

    def _logged(self, kwargs: dict) -> None:
        payload = kwargs.get("standard_logging_object")
        if isinstance(payload, dict):
            self.record(payload, kwargs)

    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._logged(kwargs)

    async def async_log_failure_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._logged(kwargs)


def lost_lines(registry: CollectorRegistry | None = REGISTRY) -> LostLines:
    """The usage lines' keeper for when LOG_DIR fails (usage_log.py), counting into two series of our own (not
    LiteLLM's): every `reason` starts at 0, so that a dashboard or an alert sees the series before the first loss."""
    lost = Counter("adapter_usage_lines_lost", "Usage lines not written to LOG_DIR (each copied to the service log)",
                   ["reason"], registry=registry)
    for reason in REASONS:
        lost.labels(reason)
    unrecorded = Counter("adapter_usage_lines_unrecorded",
                         "Usage lines written neither to LOG_DIR nor to the service log (its stderr failed too)",
                         registry=registry)
    return LostLines(lambda reason: lost.labels(reason).inc(), unrecorded.inc)


def _latency(name: str, documentation: str, registry: CollectorRegistry | None) -> Histogram:
    return Histogram(name, documentation, [KEY, GROUP], registry=registry, buckets=LATENCY_BUCKETS)


def seconds(payload: dict, kwargs: dict) -> tuple[float, float, float | None]:
    """(in LiteLLM, at the backend, to a stream's first chunk or None), as LiteLLM's callback measures them: from
    the call's start (plus its wait in LiteLLM's queue, if any) or from the backend call's start when LiteLLM noted
    it (not for custom providers: then from the call's start), to its end."""
    start, end = float(payload.get("startTime") or 0.0), float(payload.get("endTime") or 0.0)
    first = payload.get("completionStartTime")
    called = kwargs.get("api_call_start_time")
    called = called.timestamp() if isinstance(called, datetime) else start
    metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
    queued = metadata.get("queue_time_seconds")
    queued = queued if isinstance(queued, (int, float)) and queued >= 0 else 0.0
    return (max(end - start, 0.0) + queued, max(end - called, 0.0),
            max(float(first) - called, 0.0) if isinstance(first, (int, float)) else None)


def scraped_registry(directory: str | None = None) -> CollectorRegistry:
    """What /metrics reads: every worker's files in multiprocess mode, else this process's registry."""
    directory = directory if directory is not None else os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The Prometheus text of `registry` and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
