"""LiteLLM adapter: CustomLLM handlers that translate OpenAI chat requests for the business API and LaaS."""
