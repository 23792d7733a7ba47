"""Aider (`aider --message`, its own venv .venv-aider) with an openai/ model on the proxy: a plain turn and a real
edit-and-test round trip.

Aider has no function calling: its tools are its edit formats and the commands it runs. Its round trip is its own
loop: the model answers with a whole-file edit block (scripted by [mock:answer=...]), aider writes that file to disk,
`--auto-test` runs `--test-cmd`, and a failing test's output goes back to the model as the next user message (aider's
"reflection"). The mock's answer to that message quotes it, so the token (only in a file, never in a prompt, an edit
or a command) reaches the model's answer only if the edit was applied and the test really ran. Other ways are no
round trip: `--yes-always` declines the shell commands a model suggests (explicit_yes_required) and their output is
never sent back; `--message "/run ..."` adds the output to the chat but asks the model nothing; `/test` does ask, but
the user picks the command, not the model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, agent_env, run_agent, token_file

ROOT = Path(__file__).resolve().parents[2]
AIDER = Path(os.environ.get("AIDER_VENV", ROOT / ".venv-aider")) / "bin" / "aider"


def aider(stack, tmp_path, model: str, prompt: str, *options: str) -> str:
    assert AIDER.is_file(), f"aider is not installed at {AIDER}: run ./scripts/test.sh (it makes .venv-aider)"
    # Aider's litellm would fetch its model cost map from the internet at start: use the bundled copy.
    env = agent_env(tmp_path / "home", LITELLM_LOCAL_MODEL_COST_MAP="True")
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    command = [str(AIDER), "--message", prompt, "--model", f"openai/{model}",
               "--openai-api-base", f"{stack.proxy_url}/v1", "--openai-api-key", stack.master_key,
               "--yes-always", "--no-git", "--no-auto-commits", "--no-check-update", "--no-analytics",
               "--no-show-model-warnings", "--no-pretty", "--no-stream", "--map-tokens", "0", *options]
    return run_agent(command, env, work)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_plain_turn(stack, tmp_path, model):
    output = aider(stack, tmp_path, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
def test_edit_and_test_round_trip(stack, tmp_path, model):
    # The model's edit writes check.sh, which prints the token and fails; aider runs it as the test command and
    # sends its output back. The token is only in token.txt: no prompt, edit or command holds it.
    value = token_file(tmp_path)
    # The mock quotes the user's text: aider's reminder, appended to it by default, holds an example edit block
    # that aider would apply from the quote. `reminder: sys` (as aider's gpt-4.1 settings) sends it as a system
    # message instead, which the business API's query and LaaS's user text leave out.
    settings = tmp_path / "model-settings.yml"
    settings.write_text(f"- name: openai/{model}\n  edit_format: whole\n  reminder: sys\n")
    edit = "check.sh\n```\ncat token.txt\nexit 1\n```\n"
    output = aider(stack, tmp_path, model, f"Write check.sh. [mock:answer={json.dumps(edit)}]",
                   "--model-settings-file", str(settings), "--auto-test", "--test-cmd", "sh check.sh",
                   "--no-auto-lint")
    assert (tmp_path / "work" / "check.sh").read_text() == "cat token.txt\nexit 1\n", output
    # Aider prints the test output too: only the model's answer has the token after "Mock answer from ...".
    # (Aider's plain output spaces the answer's lines out, hence the comparison with whitespace collapsed.)
    quoted = f"Mock answer from {ANSWERER[model]}: I ran this command: sh check.sh And got this output: {value}"
    assert quoted in " ".join(output.split()), output
