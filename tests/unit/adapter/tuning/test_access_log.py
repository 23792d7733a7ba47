"""adapter.tuning.access_log: uvicorn's access line scrubbed as LiteLLM scrubs it, each repeating value once."""

import logging

import pytest
from litellm import _logging as litellm_logging

from adapter.tuning import access_log

SECRET = "sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2
LINES = [
    ("127.0.0.1:51234", "POST", "/v1/chat/completions", "1.1"),
    ("10.0.0.7:40000", "GET", "/v1/models", "1.1"),
    ("127.0.0.1:51234", "GET", f"/key/info?key={SECRET}", "1.1"),
    ("127.0.0.1:51235", "GET", f"/v1/models/{SECRET}", "1.1"),
    ("127.0.0.1:51235", "GET", "/v1/models?k%65y=sk%2D" + SECRET[3:], "2"),
    ("127.0.0.1:51236", "POST", "/v1/chat/completions?" + "a=1&" * 300, "1.1"),
]


def access_record(args: tuple) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it: five positional args, the status last."""
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', (*args, 200),
                             None)


def filtered(args: tuple) -> tuple:
    record = access_record(args)
    assert litellm_logging._access_log_filter.filter(record)
    return record.args


@pytest.fixture()
def installed():
    access_log._scrubbed.cache_clear()
    access_log.install()
    try:
        yield
    finally:
        litellm_logging._scrub_access_arg = access_log.SCRUBBING


def test_every_line_is_scrubbed_exactly_as_litellm_scrubs_it():
    expected = [filtered(args) for args in LINES]
    access_log.install()
    try:
        assert [filtered(args) for args in LINES] == expected
    finally:
        litellm_logging._scrub_access_arg = access_log.SCRUBBING
    # The lines hold secrets in a path, a query and a percent-encoded query: LiteLLM's filter takes each out.
    assert SECRET not in repr(expected) and "sk%2D" not in repr(expected)


def test_a_repeating_value_is_scrubbed_once(installed):
    for _ in range(5):
        filtered(LINES[0])
    info = access_log._scrubbed.cache_info()
    assert (info.misses, info.hits) == (4, 16)


def test_values_with_a_query_or_past_the_bound_are_never_remembered(installed):
    filtered(LINES[2])
    filtered(LINES[5])
    # Two addresses, two methods, one version; neither request target (one has a query, one is past the bound).
    assert access_log._scrubbed.cache_info().currsize == 5


def test_the_memory_is_bounded(installed):
    for port in range(access_log.VALUES_REMEMBERED + 10):
        filtered((f"127.0.0.1:{port}", "POST", "/v1/chat/completions", "1.1"))
    assert access_log._scrubbed.cache_info().currsize == access_log.VALUES_REMEMBERED
