"""Per-model context window and output limit (config.yaml model_info): published in /model/info, never enforced."""

import json
import urllib.request

import anthropic
import pytest

LIMITS = {"my-custom-model": (128000, 4096), "claude-3.5-sonnet": (200000, 8192)}


def model_info(stack, path: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{stack.proxy_url}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("path", ["/model/info", "/v1/model/info"])
def test_model_info_publishes_each_models_limits_to_a_key_holder(stack, path):
    status, info = model_info(stack, path, stack.master_key)
    assert status == 200
    published = {entry["model_name"]: entry["model_info"] for entry in info["data"]}
    for model, (window, output) in LIMITS.items():
        assert (published[model]["max_input_tokens"], published[model]["max_output_tokens"]) == (window, output)
    assert "LAAS_API_KEY" not in json.dumps(info) and stack.master_key not in json.dumps(info)
    status, error = model_info(stack, path, "sk-wrong")
    assert status == 401 and "error" in error


@pytest.mark.parametrize("model", LIMITS)
def test_the_limits_are_not_enforced(stack, model):
    # Published for clients to plan by; the backend is the judge. max_tokens above the output limit reaches it as sent.
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key=stack.master_key, max_retries=0, timeout=30)
    answer = client.messages.create(model=model, max_tokens=50000,
                                    messages=[{"role": "user", "content": "[mock:echo]"}])
    sent = json.loads(answer.content[0].text)
    limit = sent["model_info"]["max_tokens"] if model == "my-custom-model" else sent["max_tokens"]
    assert limit == 50000
