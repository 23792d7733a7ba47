"""LiteLLM adapter: the gateway in front of LiteLLM's proxy and the CustomLLM providers behind it."""

import sys

import stack_settings

try:
    _settings = stack_settings.load()
except stack_settings.SettingsError as error:
    # One line, not a traceback, for every entry point that imports the package (proxy, python -m adapter.mapping).
    print(f"configuration error: {error}", file=sys.stderr)
    raise SystemExit(2) from None
stack_settings.prepare_litellm_environment(_settings)
