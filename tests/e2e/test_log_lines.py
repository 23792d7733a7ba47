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


def test_access_lines_are_written_and_a_credential_in_the_target_is_not(stack):
    """uvicorn's access line per request (scrubbed by LiteLLM's filter, remembered per value: tuning/access_log.py)."""
    import httpx

    secret = "sk-" + "Zq8Wm2Lp5Rt7Yv3Xb9Nc" * 2
    start = len(stack.proxy_log())
    headers = {"Authorization": f"Bearer {stack.master_key}"}
    with httpx.Client(base_url=stack.proxy_url, timeout=30) as client:
        for _ in range(3):
            assert client.get("/v1/models", headers=headers).status_code == 200
        client.get(f"/v1/models?key={secret}", headers=headers)
        client.get(f"/v1/models/{secret}", headers=headers)
    time.sleep(0.5)
    written = stack.proxy_log()[start:]
    assert written.count('"GET /v1/models HTTP/1.1" 200') == 3, written[-3000:]
    assert secret not in written and secret[3:20] not in written, written[-3000:]
    assert written.count("GET /v1/models?REDACTED") + written.count("GET /v1/models?key=REDACTED") == 1, \
        written[-3000:]
