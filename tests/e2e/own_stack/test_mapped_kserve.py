"""src/backends/kserve.yaml end to end: KServe's own model server (V2 protocol) hosting an echo model, the real
proxy, the openai SDK. KServe runs from its own venv, made by scripts/test.sh and named by KSERVE_PYTHON."""

import os
from pathlib import Path

import openai
import pytest

from ..conftest import ROOT, extra_proxy, free_port, start, wait_healthy

HOSTED = "echo"  # the model name KServe serves, in the V2 URL through ${KSERVE_MODEL}
MODELS = [{"model_name": "kserve-echo", "litellm_params": {"model": "mapped/kserve"}, "model_info": {"mode": "chat"}}]
ECHO_SERVER = ROOT / "tests" / "fake_servers" / "kserve_echo.py"


def kserve_python() -> str:
    """The python of the KServe venv; a run without it fails, as the test would otherwise prove nothing."""
    python = os.environ.get("KSERVE_PYTHON")
    if not python:
        pytest.fail("KSERVE_PYTHON is not set: run ./scripts/test.sh (it installs KServe's model server into "
                    ".venv-kserve and sets it), or set it to a python with tests/fake_servers/requirements-kserve.txt")
    if not os.access(python, os.X_OK):
        pytest.fail(f"KSERVE_PYTHON={python} is not an executable python: run ./scripts/test.sh to make .venv-kserve")
    return python


@pytest.fixture(scope="module")
def kserve(tmp_path_factory):
    """KServe's ModelServer with the echo model on a free loopback port; yields (tmp dir, its base URL)."""
    python = kserve_python()
    tmp = tmp_path_factory.mktemp("mapped_kserve")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # only the KServe venv's modules
    command = [python, str(ECHO_SERVER), "--http_port", str(port), "--model_name", HOSTED]
    server = start("kserve_echo", command, env, tmp / "logs")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(server, f"{base}/v2/health/ready")
        yield tmp, base
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(kserve) -> openai.OpenAI:
    tmp, base = kserve
    with extra_proxy(tmp / "proxy", models=MODELS, KSERVE_API_BASE=base, KSERVE_MODEL=HOSTED) as proxy_client:
        yield proxy_client


def test_chat_answers_kserves_text_output_with_usage_counted_by_litellm(client):
    answer = client.chat.completions.create(model="kserve-echo", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why is the sky blue?"}])
    assert answer.choices[0].message.content == "system: Be brief.\nuser: Why is the sky blue?\nassistant:"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "kserve-echo"
    usage = answer.usage
    assert usage is not None, "V2 reports no usage: the proxy must count the prompt and the answer itself"
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_history_and_sampling_parameters_reach_kserve(client):
    answer = client.chat.completions.create(model="kserve-echo", temperature=0.3, top_p=0.9, max_tokens=64,
                                            messages=[{"role": "user", "content": "Hi"},
                                                      {"role": "assistant", "content": "Hello!"},
                                                      {"role": "user", "content": "Héllo again ✓"}])
    assert answer.choices[0].message.content == "user: Hi\nassistant: Hello!\nuser: Héllo again ✓\nassistant:"


def test_stream_is_the_whole_answer_with_finish_reason_and_usage(client):
    stream = client.chat.completions.create(model="kserve-echo", stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "Count to three"}])
    texts, finishes, usages = [], [], []
    for chunk in stream:
        if chunk.usage is not None:
            usages.append(chunk.usage)
        for choice in chunk.choices:
            texts.append(choice.delta.content or "")
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert "".join(texts) == "user: Count to three\nassistant:"
    assert finishes == ["stop"]
    assert len(usages) == 1 and usages[0].prompt_tokens > 0 and usages[0].completion_tokens > 0


def test_kserves_invalid_input_is_a_400_with_kserves_message(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="kserve-echo",
                                       messages=[{"role": "user", "content": "raise 400: prompt too long for echo"}])
    assert caught.value.status_code == 400
    assert "prompt too long for echo" in caught.value.message


def test_kserves_inference_error_is_a_502_with_kserves_message(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="kserve-echo",
                                       messages=[{"role": "user", "content": "raise 500: the echo broke"}])
    assert caught.value.status_code == 502
    assert "the echo broke" in caught.value.message


def test_a_kserve_error_in_a_stream_is_the_same_clean_error(client):
    with pytest.raises(openai.BadRequestError) as caught:
        for _ in client.chat.completions.create(model="kserve-echo", stream=True,
                                                messages=[{"role": "user", "content": "raise 400: no stream today"}]):
            pass
    assert "no stream today" in caught.value.message


def test_a_parameter_the_file_does_not_read_is_refused_naming_the_backend(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="kserve-echo", presence_penalty=0.5,
                                       messages=[{"role": "user", "content": "Hi"}])
    assert "presence_penalty" in caught.value.message and "kserve" in caught.value.message


def test_a_model_kserve_does_not_host_is_a_502_with_kserves_message(kserve):
    tmp, base = kserve
    with extra_proxy(tmp / "proxy-missing", models=MODELS, KSERVE_API_BASE=base,
                     KSERVE_MODEL="no-such-model") as missing:
        with pytest.raises(openai.APIStatusError) as caught:
            missing.chat.completions.create(model="kserve-echo", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 502
    assert "Model with name no-such-model does not exist." in caught.value.message


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the IPv4 sockets listening on `port` (/proc/net/tcp: hex address:port, state 0A)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:
            found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def test_the_echo_server_listens_on_loopback_only(kserve):
    _, base = kserve
    assert listening_addresses(int(base.rsplit(":", 1)[1])) == {"127.0.0.1"}
