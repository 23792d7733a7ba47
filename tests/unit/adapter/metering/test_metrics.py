"""adapter.metering.metrics: each logged call updates a few low-cardinality series, written in prometheus_client's
multiprocess mode (files in a directory, as the proxy's workers write them) and summed over the workers as /metrics
reads them."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

import pytest
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families

from adapter.metering.metrics import Metrics, exposition, scraped_registry, seconds

MODEL = "my-custom-model"
# Every label the series carry: none grows with clients (no client_ip, user_agent, hashed key, team, user, end user).
LABELS = {"api_key_alias", "requested_model", "model_group", "route", "status_code", "exception_status", "le"}


@pytest.fixture()
def directory(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return tmp_path


def worker(monkeypatch, pid: int) -> Metrics:
    """The series of one worker process (`pid`), writing its own files in the multiprocess directory."""
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: pid))
    return Metrics(registry=None)


def payload(alias: str | None = "team-a", status: str = "success", code: str = "", stream: bool = False,
            start: float = 100.0, first: float = 101.5, end: float = 101.5, cost: float = 0.25) -> dict:
    """The part of LiteLLM's standard logging payload the series read."""
    return {"status": status, "model_group": MODEL, "model": "business/" + MODEL, "stream": stream,
            "prompt_tokens": 3 if status == "success" else 0, "completion_tokens": 4 if status == "success" else 0,
            "total_tokens": 7 if status == "success" else 0, "response_cost": cost if status == "success" else 0,
            "startTime": start, "endTime": end, "completionStartTime": first, "response_time": end - start,
            "error_information": {"error_code": code}, "litellm_call_id": "call-1",
            "metadata": {"user_api_key_alias": alias, "user_api_key_request_route": "/v1/chat/completions"}}


def scraped(directory) -> dict:
    """(sample name, labels) → value, summed over every worker's files, parsed from the exposition."""
    text, content_type = exposition(scraped_registry(str(directory)))
    assert content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode()) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (n, found), v in samples.items() if n == name and labels.items() <= dict(found).items())


def test_a_successful_call_counts_a_request_its_tokens_spend_and_latencies(directory, monkeypatch):
    worker(monkeypatch, 1001).record(payload(), {})
    samples = scraped(directory)
    assert value(samples, "litellm_proxy_total_requests_metric_total", api_key_alias="team-a",
                 requested_model=MODEL, route="/v1/chat/completions", status_code="200") == 1
    assert value(samples, "litellm_proxy_failed_requests_metric_total") == 0
    for kind, tokens in (("input", 3), ("output", 4), ("total", 7)):
        assert value(samples, f"litellm_{kind}_tokens_metric_total", api_key_alias="team-a",
                     requested_model=MODEL) == tokens
    assert value(samples, "litellm_spend_metric_total", api_key_alias="team-a") == 0.25
    for name in ("litellm_request_total_latency_metric", "litellm_llm_api_latency_metric"):
        assert value(samples, name + "_count", api_key_alias="team-a", model_group=MODEL) == 1
        assert value(samples, name + "_sum", api_key_alias="team-a") == pytest.approx(1.5)
        assert value(samples, name + "_bucket", api_key_alias="team-a", le="2.0") == 1
        assert value(samples, name + "_bucket", api_key_alias="team-a", le="1.0") == 0
    assert value(samples, "litellm_llm_api_time_to_first_token_metric_count") == 0  # not a stream


def test_a_failure_counts_a_request_and_a_failure_with_its_status_and_nothing_else(directory, monkeypatch):
    worker(monkeypatch, 1001).record(payload(status="failure", code="400"), {})
    samples = scraped(directory)
    assert value(samples, "litellm_proxy_total_requests_metric_total", api_key_alias="team-a",
                 status_code="400") == 1
    assert value(samples, "litellm_proxy_failed_requests_metric_total", api_key_alias="team-a",
                 requested_model=MODEL, exception_status="400") == 1
    assert value(samples, "litellm_total_tokens_metric_total") == 0
    assert value(samples, "litellm_request_total_latency_metric_count") == 0


def test_a_failure_without_a_status_is_a_500_and_a_call_without_a_key_is_alias_none(directory, monkeypatch):
    worker(monkeypatch, 1001).record(payload(alias=None, status="failure"), {})
    assert value(scraped(directory), "litellm_proxy_failed_requests_metric_total", api_key_alias="None",
                 exception_status="500") == 1


def test_the_counts_of_several_workers_are_summed(directory, monkeypatch):
    first = worker(monkeypatch, 1001)  # a worker's series write their samples when first used: one worker at a time
    first.record(payload(), {})
    first.record(payload(alias="master"), {})
    second = worker(monkeypatch, 1002)
    for _ in range(2):
        second.record(payload(), {})
    samples = scraped(directory)
    assert {path.stem.rpartition("_")[2] for path in directory.glob("*.db")} == {"1001", "1002"}
    assert value(samples, "litellm_proxy_total_requests_metric_total", api_key_alias="team-a") == 3
    assert value(samples, "litellm_total_tokens_metric_total", api_key_alias="team-a") == 21
    assert value(samples, "litellm_request_total_latency_metric_count", api_key_alias="master") == 1


def test_a_stream_observes_its_time_to_first_chunk(directory, monkeypatch):
    worker(monkeypatch, 1001).record(payload(stream=True, first=100.2, end=103.0), {})
    samples = scraped(directory)
    assert value(samples, "litellm_llm_api_time_to_first_token_metric_count", model_group=MODEL) == 1
    assert value(samples, "litellm_llm_api_time_to_first_token_metric_sum") == pytest.approx(0.2)
    assert value(samples, "litellm_request_total_latency_metric_sum") == pytest.approx(3.0)


def test_only_low_cardinality_labels():
    series = Metrics(registry=None)
    series.record(payload(stream=True), {})
    names = {label for metric in vars(series).values() if hasattr(metric, "collect")
             for family in metric.collect() for sample in family.samples for label in sample.labels}
    assert names <= LABELS and "route" in names


def test_the_backend_latency_starts_when_litellm_called_the_backend_and_queueing_counts_in_the_total():
    called = datetime.fromtimestamp(100.5)
    kwargs = {"api_call_start_time": called, "litellm_params": {"metadata": {"queue_time_seconds": 0.25}}}
    total, at_backend, first = seconds(payload(start=100.0, first=101.0, end=102.0), kwargs)
    assert (total, at_backend, first) == pytest.approx((2.25, 1.5, 0.5))
    assert seconds(payload(start=100.0, first=101.0, end=102.0), {}) == pytest.approx((2.0, 2.0, 1.0))


def test_the_callback_records_logged_calls_and_ignores_calls_without_a_payload(directory, monkeypatch):
    series = worker(monkeypatch, 1001)
    asyncio.run(series.async_log_success_event({"standard_logging_object": payload()}, None, None, None))
    asyncio.run(series.async_log_failure_event({"standard_logging_object": payload(status="failure", code="429")},
                                               None, None, None))
    asyncio.run(series.async_log_success_event({}, None, None, None))
    assert value(scraped(directory), "litellm_proxy_total_requests_metric_total") == 2


def test_usage_lines_lost_are_counted_per_reason_from_zero_summed_over_workers(directory, monkeypatch, tmp_path):
    from adapter.metering.metrics import lost_lines
    from adapter.metering.usage_log import REASONS, UsageLog

    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: 101))
    first = lost_lines(registry=None)
    samples = scraped(directory)
    assert [value(samples, "adapter_usage_lines_lost_total", reason=reason) for reason in REASONS] == [0.0] * 5
    assert value(samples, "adapter_usage_lines_unrecorded_total") == 0.0

    full = open("/dev/full", "wb")  # the worker's stderr is full too: its lines are unrecorded as well
    try:
        first.stderr = full.fileno()
        UsageLog(str(tmp_path / "gone"), first).refused(401, None)
    finally:
        full.close()
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: 102))
    second = lost_lines(registry=None)
    read_end, write_end = os.pipe()
    try:
        second.stderr = write_end
        UsageLog(str(tmp_path / "gone"), second).refused(401, None)
    finally:
        os.close(read_end)
        os.close(write_end)
    samples = scraped(directory)
    assert value(samples, "adapter_usage_lines_lost_total", reason="no_directory") == 2.0
    assert value(samples, "adapter_usage_lines_unrecorded_total") == 1.0
