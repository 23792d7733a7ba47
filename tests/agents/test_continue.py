"""Continue's CLI (`cn -p`) with its openai and anthropic providers: a plain turn and a real tool round trip on each.

The openai provider calls /v1/chat/completions, the anthropic one /v1/messages (it appends `messages` to apiBase,
so both are given the proxy's /v1; the anthropic provider sends the key as x-api-key).
"""

from __future__ import annotations

import json

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, agent_env, node_agent, run_agent, token_file

PROVIDERS = ["openai", "anthropic"]
CONFIG = """\
name: proxy
version: 1.0.0
schema: v1
models:
  - name: proxy
    provider: {provider}
    model: {model}
    apiBase: {base_url}
    apiKey: {key}
    roles: [chat, edit, apply]
"""


def cn(stack, tmp_path, provider: str, model: str, prompt: str) -> str:
    home = tmp_path / "home"
    home.mkdir(parents=True)
    config = home / "config.yaml"
    config.write_text(CONFIG.format(provider=provider, model=model, base_url=f"{stack.proxy_url}/v1",
                                    key=stack.master_key))
    env = agent_env(home, CONTINUE_GLOBAL_DIR=str(home / ".continue"))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    # --auto: every tool may run unasked (there is nobody to ask).
    return run_agent([node_agent("cn"), "-p", prompt, "--config", str(config), "--auto"], env, work)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_turn(stack, tmp_path, provider, model):
    output = cn(stack, tmp_path, provider, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_read_round_trip(stack, tmp_path, provider, model):
    # The token is only in a file, never in the prompt: it reaches the answer only if Read really read it.
    value = token_file(tmp_path)
    args = json.dumps({"filepath": str(tmp_path / "work" / "token.txt")})
    output = cn(stack, tmp_path, provider, model, f"Print it. [mock:tool=Read] [mock:args={args}]")
    assert f"Mock answer from {ANSWERER[model]}: the tool returned" in output, output
    assert value in output, output
