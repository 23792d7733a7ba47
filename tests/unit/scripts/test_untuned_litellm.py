"""scripts/untuned_litellm.py hides exactly the packages this project adds, as a plain LiteLLM install lacks them."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "untuned_litellm.py"
spec = importlib.util.spec_from_file_location("untuned_litellm", SCRIPT)
untuned_litellm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(untuned_litellm)


@pytest.mark.parametrize("name", ["opentelemetry.sdk", "opentelemetry.sdk._logs", "opentelemetry.sdk.trace"])
def test_added_packages_cannot_be_imported(name):
    with pytest.raises(ModuleNotFoundError):
        untuned_litellm.HideAddedPackages().find_spec(name)


@pytest.mark.parametrize("name", ["opentelemetry", "opentelemetry.trace", "opentelemetry.sdkx", "litellm"])
def test_everything_else_is_left_to_the_normal_finders(name):
    assert untuned_litellm.HideAddedPackages().find_spec(name) is None
