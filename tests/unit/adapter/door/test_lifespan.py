"""adapter.door.lifespan: lazy parts loaded and the garbage collector tuned once LiteLLM has started, and only then."""

import asyncio
import gc

import pytest

from adapter.door.lifespan import GC_THRESHOLDS, tuning_gc_after_startup


@pytest.fixture()
def restored_gc():
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _pass_through(message: dict) -> list[dict]:
    sent = []

    async def send(msg):
        sent.append(msg)

    asyncio.run(tuning_gc_after_startup(send)(message))
    return sent


def test_startup_complete_freezes_and_raises_thresholds(restored_gc):
    gc.set_threshold(700, 10, 10)
    message = {"type": "lifespan.startup.complete"}
    assert _pass_through(message) == [message]
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0


def test_other_messages_leave_the_collector_alone(restored_gc):
    gc.set_threshold(700, 10, 10)
    message = {"type": "lifespan.shutdown.complete"}
    assert _pass_through(message) == [message]
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_startup_complete_loads_litellms_tokenizer_before_the_first_request(restored_gc):
    import litellm.main

    litellm.main.__dict__.pop("encoding", None)  # as in a fresh worker: loaded lazily on first use
    _pass_through({"type": "lifespan.startup.complete"})
    assert litellm.main.__dict__["encoding"].encode("hello world") == [15339, 1917]  # cl100k_base
