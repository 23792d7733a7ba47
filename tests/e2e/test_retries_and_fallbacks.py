"""LiteLLM's router does the retrying (503 and unreachable only) and the falling back, configured in config.yaml."""

import openai
import pytest
import yaml

from .conftest import SRC, extra_proxy, free_port

FAILED_503 = "the business backend call for model my-custom-model failed: 503"


def ask(client, text, model="my-custom-model"):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def outcomes(client, text, count):
    results = []
    for _ in range(count):
        try:
            ask(client, text)
            results.append(200)
        except openai.APIStatusError as error:
            results.append(error.status_code)
    return results


def test_intermittent_503s_are_retried_and_the_retries_are_logged(stack, capsys):
    client = stack.client()
    logged_before = stack.proxy_log().count(FAILED_503)
    results = outcomes(client, "one in three fails [mock:flaky=3]", 12)
    retries = stack.proxy_log().count(FAILED_503) - logged_before
    with capsys.disabled():
        print(f"\nintermittent 503s (1 in 3), retries on: {results.count(200)}/12 succeeded, {retries} retries logged")
    assert results == [200] * 12
    assert retries == 6  # 18 backend calls for 12 answers: every third one failed and was retried


def test_intermittent_500s_are_not_retried(stack, capsys):
    results = outcomes(stack.client(), "one in three fails [mock:flaky=3:500]", 12)
    with capsys.disabled():
        print(f"\nintermittent 500s (1 in 3), not retried: {results.count(200)}/12 succeeded")
    assert results.count(200) == 8
    assert results.count(502) == 4


def test_lasting_503_is_retried_twice_then_passed_on_with_retry_after(stack):
    logged_before = stack.proxy_log().count(FAILED_503)
    with pytest.raises(openai.APIStatusError) as caught:
        ask(stack.client(), "[mock:status=503]")
    assert caught.value.status_code == 503
    assert caught.value.response.headers.get("retry-after") == "1"
    assert stack.proxy_log().count(FAILED_503) - logged_before == 3


@pytest.fixture(scope="module")
def proxy_with_fallback(stack, tmp_path_factory):
    """The shipped config plus a model whose only deployment is down, falling back to my-custom-model."""
    tmp = tmp_path_factory.mktemp("fallback")
    config = yaml.safe_load((SRC / "config.yaml").read_text())
    config["model_list"].append({
        "model_name": "my-custom-model-ha",
        "litellm_params": {"model": "mapped/business", "api_base": f"http://127.0.0.1:{free_port()}"},
    })
    config["router_settings"]["fallbacks"] = [{"my-custom-model-ha": ["my-custom-model"]}]
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    with extra_proxy(
        tmp,
        CONFIG_FILE_PATH=str(tmp / "config.yaml"),
        BUSINESS_API_BASE=stack.business_url,
        BUSINESS_API_KEY=stack.settings.business_api_key,
    ) as client:
        yield client


def test_fallback_answers_when_the_primary_deployment_is_down(proxy_with_fallback):
    response = ask(proxy_with_fallback, "are you there?", model="my-custom-model-ha")
    assert response.choices[0].message.content == "Mock answer from my-custom-model: are you there?"


def test_no_fallback_for_client_errors(proxy_with_fallback):
    with pytest.raises(openai.BadRequestError):
        proxy_with_fallback.chat.completions.create(
            model="my-custom-model-ha", messages=[{"role": "tool", "content": "a tool result that answers no call"}]
        )
