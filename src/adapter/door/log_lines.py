"""LiteLLM's error log lines without tracebacks: one line per failure, the stack only at LOG_LEVEL=DEBUG.

LiteLLM logs a failed backend call with `logger.exception(...)`: ~50 lines of stack, through the router and its
dispatcher down to the provider, for what is an expected outcome (a backend's 400 or 500, a timeout) that the
provider has already reported in one line. A log is read by people and shipped to log stores; a stack per failed
request buries what matters there. The exception's type and first line stay in the record's message, so nothing is
lost that the operator needs; at DEBUG the full stack stays too, for whoever is chasing a bug.
"""

from __future__ import annotations

import logging

# LiteLLM's loggers (litellm/_logging.py). A filter on a logger sees only the records made on that very logger.
LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Proxy", "LiteLLM Router")


def one_line(error: BaseException) -> str:
    """`Type: first line of the message` of an exception."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class NoTracebacks(logging.Filter):
    """Turns a record's traceback into its exception's one line, appended to the message (`[raised Type: ...]`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
            summary = one_line(record.exc_info[1])
            if record.args:  # the message is still to be %-formatted with them
                summary = summary.replace("%", "%%")
            record.msg = f"{record.msg} [raised {summary}]"
            record.exc_info = record.exc_text = None
        record.stack_info = None
        return True


def install(log_level: str) -> None:
    """Add the filter to LiteLLM's loggers, unless the level is DEBUG."""
    if log_level == "DEBUG":
        return
    for name in LITELLM_LOGGERS:
        logging.getLogger(name).addFilter(NoTracebacks())
