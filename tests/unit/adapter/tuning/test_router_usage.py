"""adapter.tuning.router_usage: LiteLLM's usage counting skipped for deployments without limits, kept for the others."""

import asyncio

import pytest
from litellm.router import Router

from adapter.tuning import router_usage

FREE = {"model_name": "free", "litellm_params": {"model": "openai/free", "api_key": "unused"},
        "model_info": {"id": "free-1"}}
LIMITED = {"model_name": "limited", "litellm_params": {"model": "openai/limited", "api_key": "unused", "rpm": 10},
           "model_info": {"id": "limited-1"}}


@pytest.fixture()
def installed():
    router_usage.install()
    try:
        yield
    finally:
        Router._increment_deployment_usage = router_usage.COUNTING


def count(router: Router, deployment: dict):
    return asyncio.run(router._increment_deployment_usage(
        deployment_id=deployment["model_info"]["id"], deployment_name=deployment["litellm_params"]["model"],
        model_group=deployment["model_name"], total_tokens=7, rpm_increment=1, parent_otel_span=None))


def lookups(router: Router) -> list[str]:
    """Record each time LiteLLM looks up a deployment's model info (the work skipped)."""
    seen = []
    original = router.get_router_model_info

    def recording(*args, **kwargs):
        seen.append(kwargs.get("received_model_name"))
        return original(*args, **kwargs)

    router.get_router_model_info = recording
    return seen


def test_a_deployment_without_limits_is_looked_at_once_and_never_counted(installed):
    router = Router(model_list=[FREE, LIMITED])
    seen = lookups(router)
    assert [count(router, FREE) for _ in range(3)] == [None, None, None]  # as LiteLLM's own answer
    assert seen == ["free"]
    assert router_usage.COUNTING is not Router._increment_deployment_usage


def test_a_deployment_with_a_limit_is_counted_by_litellm_as_before(installed):
    router = Router(model_list=[FREE, LIMITED])
    keys = [count(router, LIMITED) for _ in range(2)]
    assert keys[0] == keys[1] and keys[0].startswith("global_router:limited-1:")  # LiteLLM's tpm key
    rpm_key = keys[0].replace(":tpm:", ":rpm:")
    assert router.cache.get_cache(rpm_key, local_only=True) == 2
    assert router.cache.get_cache(keys[0], local_only=True) == 14


def test_a_changed_model_list_is_looked_at_again(installed):
    router = Router(model_list=[FREE, LIMITED])
    assert count(router, FREE) is None
    now_limited = {**FREE, "litellm_params": {**FREE["litellm_params"], "tpm": 1000}}
    router.set_model_list([now_limited, LIMITED])
    assert count(router, now_limited) is not None


def test_without_the_check_litellm_gives_the_same_answers():
    router = Router(model_list=[FREE, LIMITED])
    assert count(router, FREE) is None
    assert count(router, LIMITED).startswith("global_router:limited-1:")
