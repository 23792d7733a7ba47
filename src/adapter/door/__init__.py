"""The door in front of LiteLLM: routes, body, checks per API family, errors in the caller's shape, lifespan, log lines."""
