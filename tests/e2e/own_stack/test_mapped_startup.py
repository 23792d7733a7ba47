"""A backend file that cannot be used stops the real proxy before it serves, with a message naming file and key."""

import subprocess

import pytest
import yaml

import stack_settings

from ..conftest import SRC, proxy_command, stack_environment

GOOD = {"url": "${MY_API_BASE}/chat", "request": "{q: last_user_text}", "response": {"content": "answer"}}


def start_proxy(tmp, files: dict, model: str = "mapped/mine", **overrides) -> subprocess.CompletedProcess:
    """Run the proxy on a config naming `model`, with `files` as its backends directory; it must exit by itself."""
    backends = tmp / "backends"
    backends.mkdir()
    (backends / "business.yaml").write_text((SRC / "backends" / "business.yaml").read_text())  # my-custom-model's
    for name, content in files.items():
        (backends / name).write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    config = yaml.safe_load((SRC / "config.yaml").read_text())
    config["model_list"].append({"model_name": "mine", "litellm_params": {"model": model}})
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    env = stack_environment(tmp, CONFIG_FILE_PATH=str(tmp / "config.yaml"), BACKENDS_DIR=str(backends), **overrides)
    return subprocess.run(proxy_command(stack_settings.load(env)), cwd=SRC, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("files, fragment", [
    ({"mine.yaml": {**GOOD, "request": "{q: last_user_text"}}, "mine.yaml: request: "),
    ({"mine.yaml": {**GOOD, "respnse": {"content": "answer"}}}, "mine.yaml: respnse: unknown key"),
    ({"mine.yaml": {k: v for k, v in GOOD.items() if k != "url"}}, "mine.yaml: url: is required"),
    ({"mine.yaml": {**GOOD, "url": "${NOT_SET_ANYWHERE}/chat"}}, "mine.yaml: url: ${NOT_SET_ANYWHERE} is not set"),
    ({"other.yaml": GOOD}, "'mapped/mine' needs the backend file"),
])
def test_a_bad_backend_file_stops_the_proxy_naming_the_file_and_the_key(tmp_path, files, fragment):
    finished = start_proxy(tmp_path, files, MY_API_BASE="http://127.0.0.1:9")
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0
    assert "configuration error: " in output and fragment in output, output[-2000:]
    assert "Traceback" not in output  # a message for a person, not a stack


def test_a_malformed_model_name_stops_the_proxy(tmp_path):
    finished = start_proxy(tmp_path, {"mine.yaml": GOOD}, model="mapped/../mine", MY_API_BASE="http://127.0.0.1:9")
    assert finished.returncode != 0
    assert "must be mapped/<name> or mapped/<name>/<backend model>" in finished.stderr
