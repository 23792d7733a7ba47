"""uvicorn's access line scrubbed of secrets once per distinct value instead of on every request.

LiteLLM puts a filter on `uvicorn.access` that runs each of the line's strings (client address, method, request
target, HTTP version) through its secret patterns and a percent-decoded second look: ~1 % of the proxy's samples per
request (py-spy, docs/performance-notes.md). The answer depends on the string and on patterns fixed when LiteLLM is
imported, and all but the request target repeat from one request to the next, so an answer is remembered per value.
Values with a query string are never remembered (a credential in the query would otherwise stay in memory) nor are
values longer than LiteLLM's scanning bound: both are scrubbed afresh every time, as before.
"""

from __future__ import annotations

from functools import lru_cache

from litellm import _logging as litellm_logging

VALUES_REMEMBERED = 1024  # addresses and routes in use at once; a miss costs what every request cost before
LONGEST_REMEMBERED = litellm_logging._MAX_SCRUBBED_ACCESS_ARG
SCRUBBING = litellm_logging._scrub_access_arg


@lru_cache(maxsize=VALUES_REMEMBERED)
def _scrubbed(value: str) -> str:
    return SCRUBBING(value)


def scrubbed(value: str) -> str:
    """LiteLLM's scrubbed value, from memory when it has no query string and is short."""
    if "?" in value or len(value) > LONGEST_REMEMBERED:
        return SCRUBBING(value)
    return _scrubbed(value)


def install() -> None:
    # LiteLLM's filter looks the function up in its module at each record, so replacing it there is enough.
    litellm_logging._scrub_access_arg = scrubbed
