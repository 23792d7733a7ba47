"""LiteLLM's "is this a management route?" answered once per route instead of once per request.

Every authenticated request asks `RouteChecks.is_management_route(route)`, which matches the route against
LiteLLM's ~150 management routes and patterns one by one: ~2 % of the proxy's CPU per request (py-spy,
docs/performance-notes.md). The answer depends on the route and on that fixed list only, so it is remembered for
the routes seen (bounded: the door passes only the routes it serves, and a path with an id in it is one more entry).
"""

from __future__ import annotations

from functools import lru_cache

from litellm.proxy.auth.route_checks import RouteChecks

ROUTES_REMEMBERED = 4096
ASKING = RouteChecks.is_management_route


@lru_cache(maxsize=ROUTES_REMEMBERED)
def is_management_route(route: str) -> bool:
    return ASKING(route)


def remembered(route) -> bool:
    """LiteLLM's answer, from memory for a string route (anything else is asked afresh, as before)."""
    return is_management_route(route) if isinstance(route, str) else ASKING(route)


def install() -> None:
    RouteChecks.is_management_route = staticmethod(remembered)
