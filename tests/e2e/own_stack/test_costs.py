"""The cost of every call (USD, from the model's prices in config.yaml) in its usage line and in the summary."""

from __future__ import annotations

import json
import time

import pytest

from adapter.metering.__main__ import read_lines, summarise

from ..conftest import extra_proxy

INPUT_PRICE, OUTPUT_PRICE = 0.000002, 0.00001  # USD per token, as LiteLLM spells them in model_info
PRICED = {"model_name": "priced-model", "litellm_params": {"model": "mapped/business/priced-model"},
          "model_info": {"mode": "chat", "input_cost_per_token": INPUT_PRICE, "output_cost_per_token": OUTPUT_PRICE}}


def lines_for(log_dir, count: int, seconds: float = 15) -> list[dict]:
    """The usage lines of `priced-model`, once `count` are there (LiteLLM logs after answering)."""
    deadline = time.monotonic() + seconds
    while True:
        lines = [line for line in read_lines(log_dir) if line["model"] == "priced-model"]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


@pytest.fixture(scope="module")
def priced(stack, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("priced")
    with extra_proxy(tmp, models=[PRICED], BUSINESS_API_BASE=stack.business_url,
                     BUSINESS_API_KEY=stack.settings.business_api_key) as client:
        yield client, tmp / "logs"


def test_each_call_and_stream_carries_its_cost_and_the_summary_sums_it(priced):
    client, log_dir = priced
    client.chat.completions.create(model="priced-model", messages=[{"role": "user", "content": "price this"}])
    stream = client.chat.completions.create(model="priced-model", stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "and this stream"}])
    for _ in stream:
        pass
    lines = lines_for(log_dir, 2)
    assert len(lines) == 2, json.dumps(lines)
    for line in lines:
        assert line["status"] == 200 and line["completion_tokens"] > 0, line
        assert line["cost"] == pytest.approx(line["prompt_tokens"] * INPUT_PRICE + line["completion_tokens"] * OUTPUT_PRICE)
    assert {line["stream"] for line in lines} == {True, False}
    rows = [row for row in summarise(read_lines(log_dir)) if row["model"] == "priced-model"]
    assert [row["cost"] for row in rows] == [pytest.approx(sum(line["cost"] for line in lines))]
