"""adapter.metering.usage_log: LiteLLM's logging payload → one usage line, appended whole."""

import json
import os
import stat
from datetime import datetime, timezone

from adapter.metering.usage_log import append_line, usage_file, usage_line

NOW = datetime(2026, 11, 23, 18, 5, 1, 250000, tzinfo=timezone.utc)
SUCCESS = {"id": "chatcmpl-1", "litellm_call_id": "call-1", "status": "success", "stream": True,
           "model": "business/my-custom-model", "model_group": "my-custom-model", "prompt_tokens": 9,
           "completion_tokens": 6, "total_tokens": 15, "response_time": 0.1234, "response_cost": 0.000021,
           "metadata": {"user_api_key_alias": "team-a", "user_api_key_auth_metadata": {"customer_id": "acme"}}}


def test_a_success_becomes_a_line_with_key_customer_model_tokens_and_latency():
    assert usage_line(SUCCESS, NOW) == {
        "time": "2026-11-23T18:05:01.250+00:00", "request_id": "call-1", "key_alias": "team-a", "customer_id": "acme",
        "model": "my-custom-model", "prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15, "cost": 0.000021,
        "status": 200, "latency_ms": 123.4, "stream": True}


def test_a_failure_carries_its_status_and_a_request_without_a_valid_key_no_alias():
    failure = {"status": "failure", "error_information": {"error_code": "401"}, "model_group": "m", "metadata": {}}
    line = usage_line(failure, NOW)
    assert (line["status"], line["key_alias"], line["customer_id"], line["total_tokens"], line["cost"]) == (
        401, None, None, 0, 0.0)
    assert usage_line({"status": "failure", "error_information": {"error_code": ""}}, NOW)["status"] == 500


def test_a_stream_that_failed_is_still_a_stream():
    broken = {"status": "failure", "error_information": {"error_code": "502"}, "stream": None,
              "model_parameters": {"stream": True}}
    assert usage_line(broken, NOW)["stream"] is True
    assert usage_line({**broken, "model_parameters": {"stream": False}}, NOW)["stream"] is False
    assert usage_line({**broken, "model_parameters": {}}, NOW)["stream"] is False
    assert usage_line({"status": "success", "stream": True}, NOW)["stream"] is True


def test_lines_go_to_the_days_file_appended_whole_and_private(tmp_path):
    path = usage_file(tmp_path, NOW)
    assert path.name == "usage_2026-11-23.jsonl"
    append_line(path, {"a": 1})
    append_line(path, {"a": 2})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"a": 1}, {"a": 2}]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_summary_groups_by_day_key_customer_and_model(tmp_path):
    from adapter.metering.__main__ import read_lines, summarise, table

    for line in (usage_line(SUCCESS, NOW), usage_line(SUCCESS, NOW),
                 usage_line({**SUCCESS, "status": "failure", "error_information": {"error_code": "400"},
                             "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "response_cost": None}, NOW),
                 usage_line({**SUCCESS, "metadata": {"user_api_key_alias": "master"}}, NOW.replace(day=24))):
        append_line(usage_file(tmp_path, datetime.fromisoformat(line["time"])), line)
    rows = summarise(read_lines(tmp_path))
    assert [(r["day"], r["key_alias"], r["requests"], r["errors"], r["total_tokens"], r["cost"]) for r in rows] == [
        ("2026-11-23", "team-a", 3, 1, 30, 0.000042), ("2026-11-24", "master", 1, 0, 15, 0.000021)]
    assert [r["day"] for r in summarise(read_lines(tmp_path, "2026-11-24"))] == ["2026-11-24"]
    assert table(rows).splitlines()[0].split() == ["day", "key_alias", "customer_id", "model", "requests", "errors",
                                                   "prompt_tokens", "completion_tokens", "total_tokens", "cost"]


def test_lines_written_before_cost_was_recorded_count_as_no_cost():
    from adapter.metering.__main__ import summarise

    old = {k: v for k, v in usage_line(SUCCESS, NOW).items() if k != "cost"}
    assert summarise([old, usage_line(SUCCESS, NOW)])[0]["cost"] == 0.000021


def test_a_refusal_at_the_door_is_a_line_with_its_status_and_for_a_budget_the_keys_alias(tmp_path):
    from adapter.metering.usage_log import UsageLog

    log = UsageLog(str(tmp_path))
    log.refused(401, None)
    log.refused(429, "priced-model", "team-a")
    lines = [json.loads(line) for path in tmp_path.glob("usage_*.jsonl") for line in path.read_text().splitlines()]
    assert [(line["status"], line["key_alias"], line["model"], line["cost"]) for line in lines] == [
        (401, None, None, 0.0), (429, "team-a", "priced-model", 0.0)]
