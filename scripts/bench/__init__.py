"""The benchmark harness and the measurements the scripts/benchmark*.py entry points share."""
