"""The proxy's log after failed calls: one line per failure, no traceback (src/adapter/door/log_lines.py)."""

import time

import openai
import pytest

FAILURES = [
    ("my-custom-model", "[mock:status=400] refused", False),
    ("my-custom-model", "[mock:status=500] broken", False),
    ("claude-4-sonnet", "[mock:status=500] broken", False),
    ("my-custom-model", "[mock:fail_after=2] one two three four", True),
]


def test_failed_calls_leave_one_line_each_and_no_traceback(stack):
    client = stack.client()
    start = len(stack.proxy_log())
    for model, text, stream in FAILURES:
        with pytest.raises(openai.APIError):
            answer = client.chat.completions.create(model=model, stream=stream,
                                                    messages=[{"role": "user", "content": text}])
            if stream:
                for _ in answer:
                    pass
    time.sleep(1)  # failure callbacks log after the answer
    written = stack.proxy_log()[start:]
    assert "Traceback" not in written and 'File "' not in written, written[-3000:]
    # LiteLLM's own line for each failure is still there, with the error it raised
    assert written.count("[raised ") >= len(FAILURES) - 1, written[-3000:]
    assert "mock failure: status 400" in written and "mock failure: status 500" in written
