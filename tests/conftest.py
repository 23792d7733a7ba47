"""Every test process hands LiteLLM its environment before anything imports it, as the entry points do.

LiteLLM reads part of its configuration at import time (e.g. whether to fetch its price map from the internet);
importing `adapter` alone changes nothing, so the tests call the same `adapter.settings()` the proxy calls.
"""

import adapter

adapter.settings()
