"""adapter's package root: importing a module changes nothing; the proxy's modules read the settings once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PURE_MODULES = ("adapter.mapping.apply", "adapter.mapping.load", "adapter.openai.params", "adapter.door.routes",
                "adapter.upstream.errors", "adapter.keys")


# What stack_settings.prepare_litellm_environment sets: absent, so that a module preparing LiteLLM would show.
LITELLM_VARIABLES = ("LITELLM_LOCAL_MODEL_COST_MAP", "LITELLM_LOG", "LITELLM_MASTER_KEY", "CONFIG_FILE_PATH",
                     "INITIAL_RETRY_DELAY", "JITTER")


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name not in LITELLM_VARIABLES} | env
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment, capture_output=True,
                          text=True, timeout=120)


def test_importing_a_module_leaves_the_environment_alone():
    imports = "; ".join(f"import {name}" for name in PURE_MODULES)
    finished = run(f"""
        import os
        before = dict(os.environ)
        {imports}
        assert dict(os.environ) == before, sorted(set(os.environ.items()) ^ set(before.items()))
        """)
    assert finished.returncode == 0, finished.stderr


def test_the_proxys_modules_read_the_settings_once_per_process():
    finished = run("""
        import stack_settings
        calls = []
        load = stack_settings.load
        stack_settings.load = lambda *args, **kwargs: calls.append(1) or load(*args, **kwargs)
        import adapter.gateway  # builds the app: the door, LiteLLM, and every object config.yaml names
        assert adapter.gateway.app is not None
        print(len(calls))
        """, BUSINESS_API_KEY="unit-test-business-key")
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.strip().splitlines()[-1] == "1"
