"""Unit tests import the proxy's modules, which load src/config.yaml's backend files: give them the one secret
business.yaml needs (start_services.sh generates it into src/.env; a fresh clone has no src/.env)."""

import os

os.environ.setdefault("BUSINESS_API_KEY", "unit-test-business-key")
