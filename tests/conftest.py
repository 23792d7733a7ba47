"""Every test process hands LiteLLM its environment before anything imports it, as the entry points do.

LiteLLM reads part of its configuration at import time (e.g. whether to fetch its price map from the internet);
importing `adapter` alone changes nothing, so the tests call the same `adapter.settings()` the proxy calls, once.
Tests that import the proxy's modules load src/config.yaml's backend files: they get the one secret business.yaml
needs (start_services.sh generates it into src/.env; a fresh clone has no src/.env). The stacks the e2e tests
start write their own src/.env-style files, whose values their processes read.
"""

import os

os.environ.setdefault("BUSINESS_API_KEY", "unit-test-business-key")

import adapter  # noqa: E402

adapter.settings()
