"""Continue's CLI (`cn -p`) with the openai provider: a plain turn and a real tool round trip."""

from __future__ import annotations

import json

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, agent_env, node_agent, run_agent, token_file

CONFIG = """\
name: proxy
version: 1.0.0
schema: v1
models:
  - name: proxy
    provider: openai
    model: {model}
    apiBase: {base_url}
    apiKey: {key}
    roles: [chat, edit, apply]
"""


def cn(stack, tmp_path, model: str, prompt: str) -> str:
    home = tmp_path / "home"
    home.mkdir(parents=True)
    config = home / "config.yaml"
    config.write_text(CONFIG.format(model=model, base_url=f"{stack.proxy_url}/v1", key=stack.master_key))
    env = agent_env(home, CONTINUE_GLOBAL_DIR=str(home / ".continue"))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    # --auto: every tool may run unasked (there is nobody to ask).
    return run_agent([node_agent("cn"), "-p", prompt, "--config", str(config), "--auto"], env, work)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_plain_turn(stack, tmp_path, model):
    output = cn(stack, tmp_path, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_read_round_trip(stack, tmp_path, model):
    # The token is only in a file, never in the prompt: it reaches the answer only if Read really read it.
    value = token_file(tmp_path)
    args = json.dumps({"filepath": str(tmp_path / "work" / "token.txt")})
    output = cn(stack, tmp_path, model, f"Print it. [mock:tool=Read] [mock:args={args}]")
    assert f"Mock answer from {ANSWERER[model]}: the tool returned" in output, output
    assert value in output, output
