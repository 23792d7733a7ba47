"""LiteLLM adapter: the door in front of LiteLLM's proxy and the providers behind it.

Importing the package (or any pure module in it) changes nothing. The entry points (gateway, hooks, the CLIs) call
`settings()` first: it reads the configuration once per process and hands LiteLLM the values it reads from the
environment at import time.
"""

from __future__ import annotations

import sys

import stack_settings

_settings: stack_settings.Settings | None = None


def settings() -> stack_settings.Settings:
    """The settings, read once per process; the first call also prepares LiteLLM's environment."""
    global _settings
    if _settings is None:
        try:
            loaded = stack_settings.load()
        except stack_settings.SettingsError as error:
            # One line, not a traceback, for every entry point (proxy, python -m adapter.mapping, ...).
            print(f"configuration error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        stack_settings.prepare_litellm_environment(loaded)
        _settings = loaded
    return _settings
