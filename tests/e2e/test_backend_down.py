"""A proxy whose backends are not running: requests fail fast with 503, and the proxy stays up."""

import time

import openai
import pytest

import stack_settings

from .conftest import free_port, proxy_command, start, stack_environment, wait_healthy


@pytest.fixture(scope="module")
def lonely_proxy(tmp_path_factory):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    env = stack_environment(
        tmp_path_factory.mktemp("down"), BUSINESS_API_BASE=closed, LAAS_API_BASE=f"{closed}/api/preset/v2"
    )
    settings = stack_settings.load(env)
    proxy = start("litellm_proxy", proxy_command(settings), env, tmp_path_factory.mktemp("down-logs"))
    try:
        url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{url}/health/liveliness")
        yield openai.OpenAI(base_url=f"{url}/v1", api_key=settings.litellm_master_key, max_retries=0, timeout=30)
    finally:
        proxy.stop()


@pytest.mark.parametrize("model", ["my-custom-model", "claude-3.5-sonnet"])
def test_unreachable_backend_is_503_quickly(lonely_proxy, model):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        lonely_proxy.chat.completions.create(model=model, messages=[{"role": "user", "content": "anyone?"}])
    assert caught.value.status_code == 503
    assert "unreachable" in caught.value.body["message"]
    assert time.monotonic() - started < 3  # no retry loop behind a refused connection
    assert [m.id for m in lonely_proxy.models.list()]  # and the proxy itself is fine
