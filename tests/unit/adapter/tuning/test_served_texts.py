"""adapter.tuning.served_texts: a stream no hook changes is relayed as LiteLLM's hook chain relays it, without its
chunks kept; the served text, the deferred logging and the errors are what LiteLLM's own code makes of them."""

import asyncio
import datetime

import litellm
import pytest
from litellm.caching.dual_cache import DualCache
from litellm.integrations.custom_logger import CustomLogger
from litellm.litellm_core_utils.litellm_logging import Logging
from litellm.litellm_core_utils.served_output_texts import SERVED_OUTPUT_TEXTS_KEY
from litellm.proxy._types import UserAPIKeyAuth
from litellm.proxy.hooks.responses_id_security import ResponsesIDSecurity
from litellm.proxy.utils import ProxyLogging
from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

from adapter.tuning import served_texts


def chunk(text: str | None, index: int = 0) -> ModelResponseStream:
    return ModelResponseStream(choices=[StreamingChoices(index=index, delta=Delta(content=text))])


STREAMS = {
    "text": [chunk(f"w{n} ") for n in range(20)],
    "no text": [chunk(None), chunk(None)],
    "two choices": [chunk("a"), chunk("b", 1), chunk(None), chunk("c")],
    "empty": [],
    "raw frames": [b"event: ping\ndata: {}\n\n", chunk("x")],
}


class Changer(CustomLogger):
    """A callback that does change the stream: LiteLLM's own code must run then."""

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict, response, request_data):
        async for item in response:
            yield item


class Failing(Exception):
    pass


async def upstream(items: list, fail_after: int | None):
    for number, item in enumerate(items):
        if number == fail_after:
            raise Failing("upstream broke")
        yield item


def request(route: str = "/v1/chat/completions") -> tuple[UserAPIKeyAuth, dict]:
    logging_obj = Logging(model="m", messages=[{"role": "user", "content": "hi"}], stream=True, call_type="acompletion",
                          start_time=datetime.datetime.now(), litellm_call_id="call", function_id="f")
    fired: list = []

    async def deferred(*args):
        fired.append(args)

    logging_obj._on_deferred_stream_complete = deferred
    logging_obj._deferred_stream_complete_args = ("complete", False)
    return UserAPIKeyAuth(request_route=route), {"litellm_logging_obj": logging_obj, "fired": fired}


async def relay(hook, items: list, fail_after: int | None = None, take: int | None = None,
                route: str = "/v1/chat/completions") -> tuple:
    """One stream through a hook: what the client got, how it ended, the served texts and the deferred logging."""
    auth, data = request(route)
    stream = hook(ProxyLogging(user_api_key_cache=DualCache()), response=upstream(items, fail_after),
                  user_api_key_dict=auth, request_data=data)
    got, ended = [], "done"
    try:
        async for item in stream:
            got.append(item)
            if take is not None and len(got) == take:
                await stream.aclose()
                ended = "closed"
                break
    except Failing as error:
        ended = f"raised {error}"
    await asyncio.sleep(0)  # the deferred logging runs as a task
    details = data["litellm_logging_obj"].model_call_details
    return got, ended, details.get(SERVED_OUTPUT_TEXTS_KEY, "unset"), len(data["fired"])


@pytest.fixture()
def callbacks(monkeypatch):
    """LiteLLM's callbacks as the proxy has them: ResponsesIDSecurity among plain loggers."""
    registered = [ResponsesIDSecurity(general_settings_reader=dict), CustomLogger()]
    monkeypatch.setattr(litellm, "callbacks", registered)
    return registered


def both_ways(**kwargs) -> tuple:
    ours = asyncio.run(relay(served_texts.async_post_call_streaming_iterator_hook, **kwargs))
    litellms = asyncio.run(relay(served_texts.ORIGINAL, **kwargs))
    return ours, litellms


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.parametrize("ending", ["done", "fails", "client leaves"])
def test_a_stream_ends_as_through_litellms_hook_chain(callbacks, name, ending):
    items = STREAMS[name]
    kwargs = {"items": items, "fail_after": len(items) // 2 if ending == "fails" else None,
              "take": max(1, len(items) // 2) if ending == "client leaves" and items else None}
    ours, litellms = both_ways(**kwargs)
    assert ours == litellms
    assert served_texts.passes_through(*request())


async def chunks_held_midway(hook) -> int:
    """How many served chunks the hook's own frame holds after relaying half of a stream."""
    auth, data = request()
    stream = hook(ProxyLogging(user_api_key_cache=DualCache()), response=upstream(STREAMS["text"], None),
                  user_api_key_dict=auth, request_data=data)
    for _ in range(10):
        await stream.__anext__()
    held = sum(sum(isinstance(item, ModelResponseStream) for item in value)
               for value in stream.ag_frame.f_locals.values() if isinstance(value, list))
    await stream.aclose()
    return held


def test_the_served_chunks_are_not_kept(callbacks):
    assert asyncio.run(chunks_held_midway(served_texts.ORIGINAL)) == 10
    assert asyncio.run(chunks_held_midway(served_texts.async_post_call_streaming_iterator_hook)) == 0


def test_the_served_text_is_recorded(callbacks):
    _, ended, texts, fired = asyncio.run(relay(served_texts.async_post_call_streaming_iterator_hook,
                                               items=STREAMS["two choices"]))
    assert (ended, texts, fired) == ("done", ("ac", "b"), 1)


def test_litellms_own_chain_runs_when_a_hook_may_change_the_stream(callbacks, monkeypatch):
    monkeypatch.setattr(litellm, "callbacks", [*callbacks, Changer()])
    assert not served_texts.passes_through(*request())
    ours, litellms = both_ways(items=STREAMS["text"])
    assert ours == litellms


def test_litellms_own_chain_runs_on_the_responses_api(callbacks):
    assert not served_texts.passes_through(*request("/v1/responses"))
    assert served_texts.passes_through(*request("/v1/chat/completions"))
