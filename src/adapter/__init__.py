"""LiteLLM adapter: CustomLLM handlers that translate OpenAI chat requests for the business API and LaaS."""

import stack_settings

stack_settings.prepare_litellm_environment(stack_settings.load())
