"""adapter.tuning.route_checks: LiteLLM's management-route answer remembered per route, and the same answer."""

import pytest
from litellm.proxy.auth.route_checks import RouteChecks

from adapter.tuning import route_checks

ROUTES = ["/v1/chat/completions", "/chat/completions", "/v1/messages", "/key/generate", "/key/info", "/user/new",
          "/team/new", "/model/new", "/v1/models", "/health", "/spend/logs", "/global/spend/report", "/config/update",
          "/v1/responses", "/organization/new", "/budget/new", "/customer/new", "/sso/key/generate"]


@pytest.fixture()
def installed():
    route_checks.install()
    route_checks.is_management_route.cache_clear()
    try:
        yield
    finally:
        RouteChecks.is_management_route = staticmethod(route_checks.ASKING)


def test_every_route_gets_litellms_own_answer(installed):
    expected = {route: route_checks.ASKING(route) for route in ROUTES}
    assert {route: RouteChecks.is_management_route(route) for route in ROUTES} == expected
    assert expected["/key/generate"] and not expected["/v1/chat/completions"]  # both kinds are among them
    assert route_checks.is_management_route.cache_info().misses == len(ROUTES)


def test_a_route_is_matched_against_litellms_list_once(installed):
    for _ in range(5):
        RouteChecks.is_management_route("/v1/chat/completions")
    info = route_checks.is_management_route.cache_info()
    assert (info.misses, info.hits) == (1, 4)


def test_the_memory_is_bounded(installed):
    for number in range(route_checks.ROUTES_REMEMBERED + 10):
        RouteChecks.is_management_route(f"/v1/models/model-{number}")
    assert route_checks.is_management_route.cache_info().currsize == route_checks.ROUTES_REMEMBERED
