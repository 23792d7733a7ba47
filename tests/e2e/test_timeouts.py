"""BUSINESS_API_TIMEOUT through the real proxy: one bounded attempt, no retries, for answers and for streams."""

import time

import openai
import pytest

from .conftest import extra_proxy

TIMEOUT = 2


@pytest.fixture(scope="module")
def impatient(stack, tmp_path_factory):
    """A second proxy in front of the same mock, waiting only TIMEOUT seconds for it."""
    with extra_proxy(
        tmp_path_factory.mktemp("impatient"),
        BUSINESS_API_TIMEOUT=str(TIMEOUT),
        BUSINESS_API_BASE=stack.business_url,
        LAAS_API_BASE=f"{stack.business_url}/api/preset/v2",
        BUSINESS_API_KEY=stack.settings.business_api_key,
        LAAS_API_KEY=stack.settings.laas_api_key,
        LAAS_PRESET_HASH=stack.settings.laas_preset_hash,
    ) as client:
        # LiteLLM's first request in a fresh process is slow (lazy imports); keep it out of the timings.
        client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "warm-up"}])
        yield client


@pytest.mark.parametrize("model", ["my-custom-model", "claude-3.5-sonnet"])
def test_slow_backend_is_504_at_the_timeout_without_retries(impatient, model):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        impatient.chat.completions.create(model=model, messages=[{"role": "user", "content": "[mock:sleep=6000]"}])
    elapsed = time.monotonic() - started
    assert caught.value.status_code == 504
    backend = {"my-custom-model": "the business backend", "claude-3.5-sonnet": "LaaS"}[model]
    assert caught.value.body["message"] == f"{backend} did not answer within {TIMEOUT} s (BUSINESS_API_TIMEOUT)"
    assert TIMEOUT - 0.5 < elapsed < TIMEOUT + 1  # one attempt: a retry would double it


def test_fast_enough_backend_is_fine(impatient):
    response = impatient.chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "[mock:sleep=500] ok"}]
    )
    assert response.choices[0].message.content.endswith("ok")


def test_stream_that_stalls_longer_than_the_timeout_ends_with_a_504_event(impatient):
    stream = impatient.chat.completions.create(
        model="my-custom-model",
        messages=[{"role": "user", "content": f"a b [mock:chunk_delay={(TIMEOUT + 2) * 1000}]"}],
        stream=True,
    )
    first = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            first.append(chunk.choices[0].delta.content)
    assert first[0] == "Mock "
    assert "did not answer within" in str(caught.value.message)


def test_stream_with_gaps_shorter_than_the_timeout_completes(impatient):
    stream = impatient.chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "a b [mock:chunk_delay=300]"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Mock answer from my-custom-model: a b [mock:chunk_delay=300]"
