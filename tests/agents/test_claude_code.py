"""Claude Code (`claude -p`) against the proxy's Messages API: a plain turn and a real tool round trip."""

from __future__ import annotations

import json

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, agent_env, node_agent, run_agent, token_file


def claude(stack, tmp_path, model: str, prompt: str, *tools: str) -> str:
    env = agent_env(tmp_path / "home", ANTHROPIC_BASE_URL=stack.proxy_url, ANTHROPIC_AUTH_TOKEN=stack.master_key,
                    DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                    DISABLE_TELEMETRY="1", DISABLE_ERROR_REPORTING="1")
    # As root Claude Code refuses --dangerously-skip-permissions: the tools it may run unasked are listed instead.
    command = [node_agent("claude"), "-p", prompt, "--model", model, "--output-format", "text"]
    if tools:
        command += ["--allowedTools", *tools]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return run_agent(command, env, work)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_plain_turn(stack, tmp_path, model):
    output = claude(stack, tmp_path, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_bash_round_trip(stack, tmp_path, model):
    # The token is only in a file, never in the prompt: it reaches the answer only if Bash really ran `cat`.
    value = token_file(tmp_path)
    args = json.dumps({"command": "cat token.txt", "description": "Print the token"})
    output = claude(stack, tmp_path, model, f"Print it. [mock:tool=Bash] [mock:args={args}]", "Bash")
    assert f"Mock answer from {ANSWERER[model]}: the tool returned {value}" in output, output
