"""adapter.door.lifespan: lazy parts loaded, LiteLLM tuned and the garbage collector too once LiteLLM has started, and only
then."""

import asyncio
import gc

import pytest

from litellm.proxy.auth.route_checks import RouteChecks
from litellm.router import Router
from litellm_enterprise.enterprise_callbacks.callback_controls import EnterpriseCallbackControls

from adapter.tuning import callback_controls, route_checks, router_usage
from adapter.tuning.inline_dispatch import InlineDispatchExecutor
from adapter.door.lifespan import GC_THRESHOLDS, tuning_after_startup


@pytest.fixture()
def restored_gc():
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        Router._increment_deployment_usage = router_usage.COUNTING
        RouteChecks.is_management_route = staticmethod(route_checks.ASKING)
        EnterpriseCallbackControls.is_callback_disabled_dynamically = staticmethod(callback_controls.ASKING)


def _pass_through(message: dict) -> list[dict]:
    sent = []

    async def send(msg):
        sent.append((msg, asyncio.get_running_loop()._default_executor))

    asyncio.run(tuning_after_startup(send)(message))
    return [msg for msg, _ in sent], [executor for _, executor in sent]


def test_startup_complete_freezes_and_raises_thresholds(restored_gc):
    gc.set_threshold(700, 10, 10)
    message = {"type": "lifespan.startup.complete"}
    assert _pass_through(message)[0] == [message]
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0


def test_other_messages_leave_the_collector_alone(restored_gc):
    gc.set_threshold(700, 10, 10)
    message = {"type": "lifespan.shutdown.complete"}
    assert _pass_through(message) == ([message], [None])
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
    assert Router._increment_deployment_usage is router_usage.COUNTING


def test_startup_complete_runs_our_providers_dispatch_inline_and_counts_usage_only_where_limited(restored_gc):
    _, executors = _pass_through({"type": "lifespan.startup.complete"})
    assert isinstance(executors[0], InlineDispatchExecutor)
    assert Router._increment_deployment_usage is router_usage.counting_only_limited
    assert RouteChecks.is_management_route is route_checks.remembered
    assert EnterpriseCallbackControls.is_callback_disabled_dynamically is callback_controls.is_callback_disabled_dynamically


def test_startup_complete_loads_litellms_tokenizer_before_the_first_request(restored_gc):
    import litellm.main

    litellm.main.__dict__.pop("encoding", None)  # as in a fresh worker: loaded lazily on first use
    _pass_through({"type": "lifespan.startup.complete"})
    assert litellm.main.__dict__["encoding"].encode("hello world") == [15339, 1917]  # cl100k_base
