"""Handlers registered with LiteLLM in-process, as the proxy registers them from config.yaml, and removed after."""

from contextlib import contextmanager

import litellm


@contextmanager
def registered_providers(handlers: dict):
    """`handlers`: provider name → CustomLLM instance, in litellm.custom_provider_map for the duration."""
    previous = litellm.custom_provider_map
    litellm.custom_provider_map = [{"provider": name, "custom_handler": handler} for name, handler in handlers.items()]
    litellm.utils.custom_llm_setup()
    try:
        yield
    finally:
        litellm.custom_provider_map = previous
        litellm.utils.custom_llm_setup()
