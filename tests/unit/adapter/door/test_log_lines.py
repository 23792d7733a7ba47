"""LiteLLM's error records lose their traceback but keep the exception's one line; DEBUG keeps everything."""

import io
import logging

import pytest

from adapter.door import log_lines


@pytest.fixture
def logger():
    """A logger like LiteLLM's, with the filter and a handler writing to a buffer."""
    logger = logging.getLogger("test-log-lines")
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.addFilter(log_lines.NoTracebacks())
    yield logger, stream
    logger.removeHandler(handler)
    logger.filters.clear()


def raised(error: Exception) -> Exception:
    try:
        raise error
    except Exception as caught:  # noqa: BLE001
        return caught


def test_an_exception_record_is_one_line_naming_the_error(logger):
    log, stream = logger
    log.error("call %s failed", "abc-1", exc_info=raised(ValueError("backend said 400: 100% wrong\nsecond line")))
    assert stream.getvalue() == "call abc-1 failed [raised ValueError: backend said 400: 100% wrong]\n"


def test_a_message_without_arguments_keeps_its_percent_signs(logger):
    log, stream = logger
    log.exception("50% done", exc_info=raised(RuntimeError("at 100%")))
    assert stream.getvalue() == "50% done [raised RuntimeError: at 100%]\n"


def test_records_without_exceptions_pass_unchanged(logger):
    log, stream = logger
    log.warning("plain %d", 7)
    assert stream.getvalue() == "plain 7\n"


@pytest.mark.parametrize("level, installed", [("INFO", True), ("DEBUG", False)])
def test_install_filters_litellms_loggers_unless_debugging(level, installed):
    before = {name: list(logging.getLogger(name).filters) for name in log_lines.LITELLM_LOGGERS}
    try:
        log_lines.install(level)
        for name in log_lines.LITELLM_LOGGERS:
            added = [f for f in logging.getLogger(name).filters if f not in before[name]]
            assert [type(f) for f in added] == ([log_lines.NoTracebacks] if installed else [])
    finally:
        for name, filters in before.items():
            logging.getLogger(name).filters[:] = filters
