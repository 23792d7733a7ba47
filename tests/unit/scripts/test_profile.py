"""scripts/bench/profile.py: each py-spy sample counted for the innermost part of ours or LiteLLM's that it ran in."""

import pytest

from bench import profile

SITE = "/x/.venv/lib/python3.11/site-packages"
SERVER = f"Server.run ({SITE}/uvicorn/server.py:1);Gateway._http (/x/src/adapter/gateway.py:2)"
ROUTER = f"Router.acompletion ({SITE}/litellm/router.py:3)"


@pytest.mark.parametrize(("stack", "part"), [
    (f"{SERVER};{ROUTER};MappedProvider.acompletion (/x/src/adapter/providers/mapped.py:4);"
     f"ClientSession._request ({SITE}/aiohttp/client.py:5)", "ours: provider (mapping, the backend call)"),
    (f"{SERVER};{ROUTER};BaseModel.__init__ ({SITE}/pydantic/main.py:6)", "LiteLLM: router and dispatch"),
    (f"{SERVER};{ROUTER};InlineDispatchExecutor.submit (/x/src/adapter/tuning/inline_dispatch.py:7);"
     f"deepcopy (/usr/lib/python3.11/copy.py:8)", "LiteLLM: router and dispatch"),
    (f"{SERVER};Logging.async_success_handler ({SITE}/litellm/litellm_core_utils/litellm_logging.py:9);"
     f"UsageLog._record (/x/src/adapter/metering/usage_log.py:10)", "ours: usage lines, metrics, spend (callbacks)"),
    (f"Server.run ({SITE}/uvicorn/server.py:1);asyncio_run ({SITE}/uvicorn/_compat.py:30);"
     f"ClientRequest.write_bytes ({SITE}/aiohttp/client_reqrep.py:13)", "aiohttp: sending the backend call (its own task)"),
    (f"{SERVER};body.read_body (/x/src/adapter/door/body.py:11)", "ours: door (routes, body checks)"),
    (f"Server.run ({SITE}/uvicorn/server.py:1);Logger.info (/usr/lib/python3.11/logging/__init__.py:12)",
     "uvicorn and its access log"),
    ("Runner.run (/usr/lib/python3.11/asyncio/runners.py:118);select (<built-in>:0)", profile.REST),
    (f"Server.run ({SITE}/uvicorn/server.py:1);asyncio_run ({SITE}/uvicorn/_compat.py:30)", profile.REST),
])
def test_a_sample_counts_for_the_innermost_known_part(stack, part):
    assert profile.part_of(stack) == part


def test_shares_leave_out_idle_threads_and_add_up_to_one():
    lines = [f"{SERVER};{ROUTER} 30", f"{SERVER};body.read_body (/x/src/adapter/door/body.py:11) 10",
             "Thread.run (threading.py:982);_worker (concurrent/futures/thread.py:81) 500", "", "garbage"]
    shares = profile.shares(lines)
    assert shares["LiteLLM: router and dispatch"] == 0.75
    assert shares["ours: door (routes, body checks)"] == 0.25
    assert sum(shares.values()) == pytest.approx(1.0)


def test_no_samples_no_shares():
    assert profile.shares([]) == {}
