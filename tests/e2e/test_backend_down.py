"""A proxy whose backends are not running: requests fail fast with 503, and the proxy stays up."""

import time

import openai
import pytest

from .conftest import extra_proxy, free_port


@pytest.fixture(scope="module")
def lonely_proxy(tmp_path_factory):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    with extra_proxy(
        tmp_path_factory.mktemp("down"), BUSINESS_API_BASE=closed, LAAS_API_BASE=f"{closed}/api/preset/v2"
    ) as client:
        yield client


@pytest.mark.parametrize("model", ["my-custom-model", "claude-3.5-sonnet"])
def test_unreachable_backend_is_503_quickly(lonely_proxy, model):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        lonely_proxy.chat.completions.create(model=model, messages=[{"role": "user", "content": "anyone?"}])
    assert caught.value.status_code == 503
    assert "unreachable" in caught.value.body["message"]
    assert time.monotonic() - started < 3  # no retry loop behind a refused connection
    assert [m.id for m in lonely_proxy.models.list()]  # and the proxy itself is fine
