"""End-to-end suites that start stacks of their own (through the scripts, or with backends, Redis, workers or
settings the session stack cannot have): mostly waiting, so scripts/test.sh runs them beside the clients."""
