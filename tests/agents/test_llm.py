"""Simon Willison's `llm` CLI (its own venv, .venv-agents) with an extra OpenAI model: a plain turn and a tool."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, agent_env, run_agent, token_file

ROOT = Path(__file__).resolve().parents[2]
# scripts/test.sh makes the venv and exports AGENTS_VENV; its default is the same place.
LLM = Path(os.environ.get("AGENTS_VENV", ROOT / ".venv-agents")) / "bin" / "llm"
# A tool defined on the command line: it reads the token from the file, so only a real call can know it.
READ_TOKEN = "def read_token() -> str:\n    return open('token.txt').read().strip()\n"


def llm(stack, tmp_path, model: str, prompt: str, *options: str) -> str:
    assert LLM.is_file(), f"llm is not installed at {LLM}: run ./scripts/test.sh (it makes .venv-agents)"
    user = tmp_path / "llm"
    user.mkdir(parents=True)
    (user / "extra-openai-models.yaml").write_text(json.dumps([{  # YAML is a superset of JSON
        "model_id": f"proxy-{model}", "model_name": model, "api_base": f"{stack.proxy_url}/v1",
        "api_key_name": "proxy", "supports_tools": True}]))
    (user / "keys.json").write_text(json.dumps({"proxy": stack.master_key}))
    env = agent_env(tmp_path / "home", LLM_USER_PATH=str(user))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return run_agent([str(LLM), "-m", f"proxy-{model}", "--no-log", *options, prompt], env, work)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_plain_turn(stack, tmp_path, model):
    output = llm(stack, tmp_path, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_function_round_trip(stack, tmp_path, model):
    value = token_file(tmp_path)
    output = llm(stack, tmp_path, model, "Print it. [mock:tool=read_token]", "--functions", READ_TOKEN)
    assert f"Mock answer from {ANSWERER[model]}: the tool returned {value}" in output, output
