"""Aider (`aider --message`, its own venv .venv-aider) with an openai/ model on the proxy: a plain turn."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, agent_env, run_agent

ROOT = Path(__file__).resolve().parents[2]
AIDER = Path(os.environ.get("AIDER_VENV", ROOT / ".venv-aider")) / "bin" / "aider"


def aider(stack, tmp_path, model: str, prompt: str) -> str:
    assert AIDER.is_file(), f"aider is not installed at {AIDER}: run ./scripts/test.sh (it makes .venv-aider)"
    # Aider's litellm would fetch its model cost map from the internet at start: use the bundled copy.
    env = agent_env(tmp_path / "home", LITELLM_LOCAL_MODEL_COST_MAP="True")
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    command = [str(AIDER), "--message", prompt, "--model", f"openai/{model}",
               "--openai-api-base", f"{stack.proxy_url}/v1", "--openai-api-key", stack.master_key,
               "--yes-always", "--no-git", "--no-auto-commits", "--no-check-update", "--no-analytics",
               "--no-show-model-warnings", "--no-pretty", "--no-stream", "--map-tokens", "0"]
    return run_agent(command, env, work)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_plain_turn(stack, tmp_path, model):
    output = aider(stack, tmp_path, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output
