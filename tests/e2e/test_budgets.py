"""Money budgets per key through the real proxy with two workers: refusals before the backend, what counts, restarts,
a window that resets, and the keys that have no budget.

A priced model on the shared stack's business API; the keys in a keys file changed with `keys.sh budget` while the
proxy runs (it picks budget changes up like any other key field).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import anthropic
import httpx
import openai
import pytest
import yaml

from adapter.keys import hash_key
from adapter.keys.budget import dollars
from adapter.metering.__main__ import read_lines

from .conftest import SRC, extra_proxy

CAPPED, FREE, MIXED, SHORT = (f"sk-{name}-0123456789abcdef" for name in ("capped", "free", "mixed", "short"))
PRICE = 0.001  # USD per token, in and out: a mock answer costs a few cents
PRICED = [
    {"model_name": "priced-chat", "litellm_params": {"model": "mapped/business/priced-chat"},
     "model_info": {"mode": "chat", "input_cost_per_token": PRICE, "output_cost_per_token": PRICE}},
    {"model_name": "priced-embed", "litellm_params": {"model": "mapped/business/priced-embed", "drop_params": True},
     "model_info": {"mode": "embedding", "input_cost_per_token": PRICE}},
    {"model_name": "priced-image", "litellm_params": {"model": "business-image/priced-image"},
     "model_info": {"mode": "image_generation", "output_cost_per_image": 0.02}},
    {"model_name": "unpriced-chat", "litellm_params": {"model": "mapped/business/unpriced-chat"}},
]
RESET = re.compile(r"it resets at (\S+Z)$")
STARTED = "Application startup complete"  # uvicorn's line, once per worker


def write_keys(path) -> None:
    entries = [{"alias": "capped", "hash": hash_key(CAPPED)}, {"alias": "free", "hash": hash_key(FREE)},
               {"alias": "mixed", "hash": hash_key(MIXED), "max_budget": 1000, "budget_duration": "30d"},
               {"alias": "short", "hash": hash_key(SHORT), "max_budget": 0.000001, "budget_duration": "30s"}]
    path.write_text(yaml.safe_dump({"keys": entries}))


def keys_cli(tmp, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SRC), "KEYS_FILE": str(tmp / "keys.yaml"),
           "LOG_DIR": str(tmp / "logs"), "ENV_FILE": str(tmp / ".env"), "REDIS_URL": ""}
    result = subprocess.run([sys.executable, "-m", "adapter.keys", *args], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def lines_of(tmp, alias: str, count: int, seconds: float = 15) -> list[dict]:
    """The usage lines of `alias`, once there are `count` (LiteLLM logs, and charges, just after answering)."""
    deadline = time.monotonic() + seconds
    while True:
        lines = [line for line in read_lines(tmp / "logs") if line["key_alias"] == alias]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


class Proxy:
    def __init__(self, master: openai.OpenAI):
        self.url = str(master.base_url).rstrip("/").removesuffix("/v1")
        self.master = master

    def client(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=30)

    def chat(self, key: str, stream: bool = False) -> httpx.Response:
        body = {"model": "priced-chat", "messages": [{"role": "user", "content": "price me"}], "stream": stream}
        return httpx.post(f"{self.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"},
                          timeout=30)


@pytest.fixture(scope="module")
def budgets(stack, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("budgets")
    write_keys(tmp / "keys.yaml")
    env = {"BUSINESS_API_BASE": stack.business_url, "BUSINESS_API_KEY": stack.settings.business_api_key}
    with extra_proxy(tmp, models=PRICED, workers=2, **env) as master:
        proxy = Proxy(master)
        wait_for_workers(tmp, 2)
        yield tmp, proxy, env


def wait_for_workers(tmp, count: int, seconds: float = 120) -> None:
    """Until `count` workers serve (each loads LiteLLM on its own; the first ready one answers the health check)."""
    deadline = time.monotonic() + seconds
    while (tmp / "logs" / "litellm_proxy.log").read_text(errors="replace").count(STARTED) < count:
        assert time.monotonic() < deadline, f"{count} workers did not start"
        time.sleep(0.5)


def test_a_30s_window_refuses_with_its_reset_and_works_again_after_it(budgets):
    tmp, proxy, _ = budgets
    assert proxy.chat(SHORT).status_code == 200  # within budget when it started: it finishes
    assert len(lines_of(tmp, "short", 1)) == 1
    refused = proxy.chat(SHORT)
    if refused.status_code == 200:  # the first call ended at a window's end: the second opened the next window
        assert len(lines_of(tmp, "short", 2)) == 2
        refused = proxy.chat(SHORT)
    assert refused.status_code == 429, refused.text
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 30 and "x-should-retry" not in refused.headers  # the SDKs wait it out and retry
    resets = datetime.fromisoformat(RESET.search(refused.json()["error"]["message"]).group(1).replace("Z", "+00:00"))
    assert resets.second % 30 == 0 and resets.microsecond == 0
    assert abs((resets - datetime.now(timezone.utc)).total_seconds() - wait) <= 2
    time.sleep(wait + 0.5)
    assert proxy.chat(SHORT).status_code == 200


def test_a_budget_worth_five_calls_refuses_the_sixth_and_streams_count(budgets):
    tmp, proxy, _ = budgets
    assert proxy.chat(CAPPED).status_code == 200  # no budget yet: not counted
    cost = lines_of(tmp, "capped", 1)[0]["cost"]
    assert cost > 0
    # Four calls leave it within budget; the fifth, started within it, finishes and takes it over.
    keys_cli(tmp, "budget", "capped", "--max-budget", str(cost * 4.5), "--budget-duration", "1d")
    time.sleep(1.5)  # the proxy's workers see the file's new version at their next request
    answers = [proxy.chat(CAPPED, stream=index % 2 == 1) for index in range(5)]
    assert [answer.status_code for answer in answers] == [200] * 5, [answer.text[:200] for answer in answers]
    assert all("[DONE]" in answer.text for answer in answers[1::2])  # the streams ran to their end
    lines = lines_of(tmp, "capped", 6)
    assert sum(line["stream"] for line in lines) == 2 and all(line["cost"] == pytest.approx(cost) for line in lines)
    refused = proxy.chat(CAPPED)
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "budget_exceeded")
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert error["message"] == (f"key 'capped' has spent {dollars(cost * 5)} of its {dollars(cost * 4.5)} budget "
                                f"for 1d; it resets at {tomorrow}T00:00:00Z")
    midnight = datetime.fromisoformat(f"{tomorrow}T00:00:00+00:00")
    assert abs(int(refused.headers["retry-after"]) - (midnight - datetime.now(timezone.utc)).total_seconds()) <= 3
    assert refused.headers["x-should-retry"] == "false"  # hours away: no SDK retry could succeed
    assert proxy.chat(CAPPED, stream=True).status_code == 429
    refusals = [line for line in lines_of(tmp, "capped", 8) if line["status"] == 429]
    assert len(refusals) == 2 and all(line["cost"] == 0 and line["model"] == "priced-chat" for line in refusals)


def test_every_costing_route_is_refused_in_its_callers_shape(budgets):
    _, proxy, _ = budgets
    client = proxy.client(CAPPED)
    calls = [lambda: client.responses.create(model="priced-chat", input="hi"),
             lambda: client.embeddings.create(model="priced-embed", input="hi"),
             lambda: client.images.generate(model="priced-image", prompt="a cat"),
             lambda: client.completions.create(model="priced-chat", prompt="hi")]
    for call in calls:
        with pytest.raises(openai.RateLimitError) as caught:
            call()
        assert caught.value.code == "budget_exceeded" and caught.value.type == "insufficient_quota"
    native = anthropic.Anthropic(base_url=proxy.url, api_key=CAPPED, max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as caught:
        native.messages.create(model="priced-chat", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    body = caught.value.body
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert body["error"]["message"].startswith("key 'capped' has spent $")
    # Counting tokens and listing models cost nothing: still answered.
    assert native.messages.count_tokens(model="priced-chat", messages=[{"role": "user", "content": "hi"}]).input_tokens
    assert [model.id for model in client.models.list()]


def test_a_model_without_prices_is_named_in_a_start_up_warning_and_costs_nothing(budgets):
    tmp, proxy, _ = budgets
    log = (tmp / "logs" / "litellm_proxy.log").read_text(errors="replace")
    assert ("model 'unpriced-chat' (chat) has no input_cost_per_token, output_cost_per_token in its model_info: its "
            "calls are counted as $0 against budgets") in log
    assert "model 'priced-chat'" not in log and "model 'my-custom-model'" not in log  # priced (the shipped ones at 0)
    answer = proxy.client(FREE).chat.completions.create(model="unpriced-chat", messages=[{"role": "user",
                                                                                            "content": "free?"}])
    assert answer.choices[0].message.content
    line = next(line for line in lines_of(tmp, "free", 1) if line["model"] == "unpriced-chat")
    assert line["cost"] == 0.0 and line["status"] == 200


def test_keys_without_a_budget_and_the_master_key_are_unaffected(budgets):
    _, proxy, _ = budgets
    assert proxy.chat(CAPPED).status_code == 429
    assert proxy.chat(FREE).status_code == 200
    assert proxy.master.chat.completions.create(model="priced-chat", messages=[{"role": "user", "content": "hi"}])


def test_every_kind_of_call_counts_exactly_across_both_workers(budgets):
    tmp, proxy, _ = budgets
    client = proxy.client(MIXED)
    for _ in client.chat.completions.create(model="priced-chat", stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "stream"}]):
        pass
    client.responses.create(model="priced-chat", input="a response")
    client.embeddings.create(model="priced-embed", input="some words to embed")
    client.images.generate(model="priced-image", prompt="a cat")
    client.chat.completions.create(model="priced-chat", messages=[{"role": "user", "content": "plain"}])
    anthropic.Anthropic(base_url=proxy.url, api_key=MIXED, max_retries=0).messages.create(
        model="priced-chat", max_tokens=50, messages=[{"role": "user", "content": "messages"}])
    lines = lines_of(tmp, "mixed", 6)
    assert len(lines) == 6 and all(line["cost"] > 0 for line in lines), json.dumps(lines)
    expected = sum(line["cost"] for line in lines)
    time.sleep(0.5)  # the usage line and the charge are two callbacks of one call
    listed = [row.split() for row in keys_cli(tmp, "list").stdout.splitlines()]
    header, row = listed[0], next(row for row in listed if row[0] == "mixed")
    shown = dict(zip(header, row))
    assert shown["BUDGET"] == "$1,000.00/30d" and shown["SPENT"] == dollars(expected)
    metrics = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {proxy.master.api_key}"}).text
    series = [line for line in metrics.splitlines()
              if line.startswith("litellm_spend_metric_total{") and 'api_key_alias="mixed"' in line]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in series) == pytest.approx(expected)
    gauges = {line.split("{", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
              if line.startswith("litellm_") and 'api_key_alias="mixed"' in line and "budget_metric" in line}
    assert gauges == pytest.approx({"litellm_api_key_max_budget_metric": 1000,
                                    "litellm_remaining_api_key_budget_metric": 1000 - expected})


def test_a_restart_keeps_the_spend(stack, tmp_path):
    (tmp_path / "keys.yaml").write_text(yaml.safe_dump({"keys": [
        {"alias": "once", "hash": hash_key(CAPPED), "max_budget": 0.000001},  # a lifetime budget: one call
        {"alias": "free", "hash": hash_key(FREE)}]}))
    env = {"BUSINESS_API_BASE": stack.business_url, "BUSINESS_API_KEY": stack.settings.business_api_key}
    with extra_proxy(tmp_path, models=PRICED, **env) as master:
        proxy = Proxy(master)
        assert proxy.chat(CAPPED).status_code == 200
        assert len(lines_of(tmp_path, "once", 1)) == 1
        time.sleep(0.5)
        refused = proxy.chat(CAPPED)
        assert refused.status_code == 429 and "lifetime budget" in refused.json()["error"]["message"]
        assert "retry-after" not in refused.headers and refused.headers["x-should-retry"] == "false"
    with extra_proxy(tmp_path, models=PRICED, **env) as master:  # the same host's proxy, started again
        proxy = Proxy(master)
        assert proxy.chat(CAPPED).status_code == 429
        assert proxy.chat(FREE).status_code == 200
