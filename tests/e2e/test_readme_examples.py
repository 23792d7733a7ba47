"""The README's curl and openai-SDK examples, run verbatim against a live stack."""

import re
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT

EXAMPLE = re.compile(r"<!-- readme-example: ([\w-]+) -->\n```\w+\n(.*?)```", re.DOTALL)
DEFAULT_PROXY = "http://127.0.0.1:8080"


def readme_examples() -> dict[str, str]:
    return dict(EXAMPLE.findall((ROOT / "README.md").read_text()))


def run_example(stack, tmp_path, language: str) -> str:
    """Run the example from a directory holding the stack's src/.env, aimed at the stack's proxy port."""
    (tmp_path / "src").mkdir(exist_ok=True)
    shutil.copy(stack.settings.env_file, tmp_path / "src" / ".env")
    examples = readme_examples()
    script = examples["bash"].replace(DEFAULT_PROXY, stack.proxy_url)
    if language != "bash":
        # Later Python examples continue the first one (they reuse its `client`).
        python_code = "\n".join(dict.fromkeys([examples["python"], examples[language]]))
        (tmp_path / "example.py").write_text(python_code.replace(DEFAULT_PROXY, stack.proxy_url))
        script = script.split("curl", 1)[0] + f'"{sys.executable}" example.py\n'
    env = {k: v for k, v in stack.env.items() if k != "LITELLM_MASTER_KEY"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_readme_has_both_examples():
    assert set(readme_examples()) == {"bash", "python", "python-stream", "python-tools", "python-embeddings"}
    assert DEFAULT_PROXY in readme_examples()["bash"]


def test_curl_example(stack, tmp_path):
    output = run_example(stack, tmp_path, "bash")
    assert '"content":"Mock answer from my-custom-model: Hello!"' in output


def test_openai_sdk_example(stack, tmp_path):
    output = run_example(stack, tmp_path, "python")
    assert "my-custom-model → Mock answer from my-custom-model: Hello!" in output
    assert "claude-3.5-sonnet → Mock answer from laas-preset: Hello!" in output
    assert re.search(r"total_tokens=\d+", output)


@pytest.mark.parametrize("command", ["./start_services.sh", "./scripts/test.sh"])
def test_quickstart_names_the_real_commands(command):
    assert command in (ROOT / "README.md").read_text()
    assert (ROOT / command).is_file()


def test_openai_sdk_streaming_example(stack, tmp_path):
    output = run_example(stack, tmp_path, "python-stream")
    assert "Mock answer from my-custom-model: Stream this, please." in output
    assert re.search(r"\[\d+ tokens\]", output)


def test_openai_sdk_tools_example(stack, tmp_path):
    output = run_example(stack, tmp_path, "python-tools")
    assert "tool call: get_weather {'city': 'string'}" in output
    assert "answer: Mock answer from my-custom-model: the tool returned 18 C and sunny" in output


def test_openai_sdk_embeddings_example(stack, tmp_path):
    output = run_example(stack, tmp_path, "python-embeddings")
    assert "2 vectors of 1536 dimensions" in output
    assert re.search(r"PNG bytes: \d{3,}", output)
