"""adapter.upstream.errors: the table from backend outcomes to client statuses."""

import pytest

from adapter.upstream.errors import bad_answer, from_backend_status, timed_out, trim, unreachable


@pytest.mark.parametrize(
    "backend_status, client_status",
    [(400, 400), (422, 400), (401, 502), (403, 502), (404, 502), (413, 413), (429, 429), (500, 502), (502, 502),
     (503, 503), (504, 502)],
)
def test_backend_status_table(backend_status, client_status):
    assert from_backend_status("the backend", backend_status, "msg", None).status_code == client_status


def test_credential_rejection_blames_the_adapter_configuration_not_the_client():
    error = from_backend_status("LaaS", 401, "bad apiKey", None)
    assert "adapter's own credentials" in error.message


def test_rate_limit_passes_retry_after_on():
    assert from_backend_status("b", 429, "slow down", "7").headers == {"retry-after": "7"}
    assert from_backend_status("b", 429, "slow down", None).headers == {}


def test_backend_400_message_is_passed_on_trimmed():
    error = from_backend_status("b", 400, "bad\n  field   " + "x" * 1000, None)
    assert error.message.startswith("b refused the request: bad field")
    assert len(error.message) < 400


def test_transport_outcomes():
    assert unreachable("b", "ConnectError").status_code == 503
    assert timed_out("b", 3).status_code == 504
    assert "3 s" in timed_out("b", 3).message
    assert bad_answer("b", "not JSON").status_code == 502


def test_trim_collapses_whitespace():
    assert trim("a\n\n b ") == "a b"


def test_backend_503_keeps_its_status_and_retry_after_so_the_router_retries_it():
    error = from_backend_status("b", 503, "busy", "2")
    assert error.status_code == 503
    assert error.headers == {"retry-after": "2"}


@pytest.mark.parametrize("status, kind", [
    (400, "BadRequestError"), (413, "BadRequestError"), (429, "RateLimitError"), (502, "BadGatewayError"),
    (503, "ServiceUnavailableError"), (504, "Timeout"), (501, "InternalServerError"),
])
def test_litellm_error_keeps_status_param_and_headers(status, kind):
    from adapter.providers.base import as_litellm_error
    from adapter.upstream.errors import AdapterError

    converted = as_litellm_error(AdapterError(status, "why", "messages[0]", {"retry-after": "2"}), "m", "p")
    assert type(converted).__name__ == kind  # the router's retry policy keys on these classes
    assert converted.status_code == status
    assert converted.param == "messages[0]"
    assert converted.litellm_response_headers["retry-after"] == "2"
    assert "why" in str(converted)
