"""Codex CLI (`codex exec`) against the proxy's Responses API: a plain turn and a real shell round trip."""

from __future__ import annotations

import json

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, agent_env, node_agent, run_agent, token_file

CONFIG = """\
model = "{model}"
model_provider = "proxy"

[model_providers.proxy]
name = "proxy"
base_url = "{base_url}"
env_key = "PROXY_API_KEY"
wire_api = "responses"
"""


def codex(stack, tmp_path, model: str, prompt: str) -> str:
    home = tmp_path / "home"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True)
    (codex_home / "config.toml").write_text(CONFIG.format(model=model, base_url=f"{stack.proxy_url}/v1"))
    env = agent_env(home, CODEX_HOME=str(codex_home), PROXY_API_KEY=stack.master_key)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    # Root and no git repository here: no sandbox, no approvals, so the shell tool runs unasked.
    command = [node_agent("codex"), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
               "--color", "never", prompt]
    return run_agent(command, env, work)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_plain_turn(stack, tmp_path, model):
    output = codex(stack, tmp_path, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_shell_round_trip(stack, tmp_path, model):
    # The token is only in a file, never in the prompt: it reaches the answer only if the shell really ran `cat`.
    value = token_file(tmp_path)
    args = json.dumps({"cmd": "cat token.txt"})
    output = codex(stack, tmp_path, model, f"Print it. [mock:tool=exec_command] [mock:args={args}]")
    assert f"Mock answer from {ANSWERER[model]}: the tool returned" in output, output
    assert value in output, output
