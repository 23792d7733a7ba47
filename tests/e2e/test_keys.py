"""Keys from the keys file through the real proxy: models per key, LiteLLM's own limits, revocation without restart,
and the usage line of every call."""

import json
import time

import openai
import pytest
import yaml

from adapter.keys import hash_key

from .conftest import extra_proxy

TEAM_A, TEAM_B, OLD, LATE = "sk-team-a-key-0123456789", "sk-team-b-key-0123456789", "sk-old-key-0123456789", \
    "sk-late-key-0123456789"
RPM = 3


def keys_file(path, *entries: dict) -> None:
    path.write_text(yaml.safe_dump({"keys": list(entries)}))


ENTRIES = [
    {"alias": "team-a", "hash": hash_key(TEAM_A), "models": ["my-custom-model"], "rpm": RPM, "customer_id": "acme"},
    {"alias": "team-b", "hash": hash_key(TEAM_B), "disabled": True},
    {"alias": "old", "hash": hash_key(OLD), "expires": "2020-01-01"},
]


@pytest.fixture(scope="module")
def proxy(stack, tmp_path_factory):
    """A proxy in front of the stack's mock with a keys file; yields (its master-key client, the file)."""
    tmp = tmp_path_factory.mktemp("keys")
    path = tmp / "keys.yaml"
    keys_file(path, *ENTRIES)
    with extra_proxy(tmp, KEYS_FILE=str(path), BUSINESS_API_BASE=stack.business_url,
                     BUSINESS_API_KEY=stack.settings.business_api_key) as client:
        yield client, path


def ask(client, key: str, model: str = "my-custom-model", text: str = "hi"):
    return client.with_options(api_key=key).chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}])


def test_a_key_with_its_model_is_answered_and_another_model_is_403_naming_both(proxy):
    client, _ = proxy
    assert ask(client, TEAM_A, text="from team a").choices[0].message.content == \
        "Mock answer from my-custom-model: from team a"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        ask(client, TEAM_A, model="claude-3.5-sonnet")
    assert "'team-a' may not use model 'claude-3.5-sonnet'" in caught.value.message


@pytest.mark.parametrize("body", [
    {"model": "claude-3.5-sonnet", "messages": "not a list", "temperature": "hot"},
    {"model": "claude-3.5-sonnet", "messages": [{"role": "user", "content": "hi"}], "api_base": "http://evil"},
])
def test_a_key_not_allowed_the_model_gets_403_before_any_body_check(proxy, body):
    """The body is parsed for its model only: a key limited to some models learns nothing else about the others."""
    with pytest.raises(openai.PermissionDeniedError) as caught:
        proxy[0].with_options(api_key=TEAM_A).post("/chat/completions", body=body, cast_to=object)
    assert "'team-a' may not use model 'claude-3.5-sonnet'" in caught.value.message
    assert "messages" not in caught.value.message and "api_base" not in caught.value.message


def test_a_key_with_its_model_still_gets_the_body_checks(proxy):
    with pytest.raises(openai.BadRequestError) as caught:
        proxy[0].with_options(api_key=TEAM_A).post("/chat/completions", cast_to=object,
                                                   body={"model": "my-custom-model", "messages": "not a list"})
    assert "'messages'" in caught.value.message


@pytest.mark.parametrize("key, words", [(TEAM_B, "'team-b' is disabled"), (OLD, "'old' expired on 2020-01-01"),
                                        ("sk-nobody-0123456789", "missing or invalid API key")])
def test_disabled_expired_and_unknown_keys_are_401(proxy, key, words):
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(proxy[0], key)
    assert words in caught.value.message


def test_the_master_key_still_works(proxy):
    assert ask(proxy[0], proxy[0].api_key).choices[0].message.content == "Mock answer from my-custom-model: hi"


def test_a_key_over_its_rpm_gets_429_with_retry_after(proxy):
    client, _ = proxy
    statuses = []
    for number in range(RPM + 2):
        try:
            ask(client, TEAM_A, text=f"burst {number}")
            statuses.append(200)
        except openai.RateLimitError as error:
            statuses.append(429)
            refused = error
    assert statuses.count(200) <= RPM and statuses[-1] == 429, statuses
    assert refused.response.headers.get("retry-after")


def test_keys_added_and_revoked_in_the_file_take_effect_at_the_next_request(proxy):
    client, path = proxy
    with pytest.raises(openai.AuthenticationError):
        ask(client, LATE)
    keys_file(path, *ENTRIES, {"alias": "late", "hash": hash_key(LATE)})
    assert ask(client, LATE, text="late").choices[0].message.content == "Mock answer from my-custom-model: late"
    keys_file(path, *ENTRIES)  # revoked
    with pytest.raises(openai.AuthenticationError):
        ask(client, LATE)


def usage_lines(log_dir) -> list[dict]:
    return [json.loads(line) for path in sorted(log_dir.glob("usage_*.jsonl")) for line in path.read_text().splitlines()]


def new_lines(log_dir, before: int, count: int) -> list[dict]:
    """The usage lines after the first `before`, once `count` of them are there (LiteLLM logs after answering)."""
    deadline = time.monotonic() + 10
    while len(usage_lines(log_dir)) < before + count and time.monotonic() < deadline:
        time.sleep(0.2)
    return usage_lines(log_dir)[before:]


def test_every_call_is_a_usage_line_with_its_key_customer_tokens_and_status(proxy, tmp_path_factory):
    client, path = proxy
    log_dir = path.parent / "logs"
    before = len(usage_lines(log_dir))
    keys_file(path, *[{**entry, "rpm": None} if entry["alias"] == "team-a" else entry for entry in ENTRIES])
    ask(client, TEAM_A, text="metered")
    stream = client.with_options(api_key=TEAM_A).chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "metered stream"}], stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    with pytest.raises(openai.BadRequestError):
        ask(client, TEAM_A, text="[mock:status=400]")
    lines = new_lines(log_dir, before, 3)
    assert len(lines) == 3, lines
    ok, streamed, failed = sorted(lines, key=lambda line: (line["stream"], line["status"] != 200))[0], \
        next(line for line in lines if line["stream"]), next(line for line in lines if line["status"] != 200)
    for line in lines:
        assert (line["key_alias"], line["customer_id"], line["model"]) == ("team-a", "acme", "my-custom-model"), line
        assert line["request_id"] and line["latency_ms"] >= 0
    assert ok["status"] == 200 and ok["total_tokens"] == ok["prompt_tokens"] + ok["completion_tokens"] > 0
    assert streamed["status"] == 200 and streamed["completion_tokens"] > 0
    assert failed["status"] == 400 and not failed["stream"]


def test_the_master_key_and_a_refused_key_are_told_apart_in_usage(proxy):
    client, path = proxy
    log_dir = path.parent / "logs"
    before = len(usage_lines(log_dir))
    ask(client, client.api_key, text="as the platform team")
    with pytest.raises(openai.AuthenticationError):
        ask(client, "sk-nobody-0123456789")
    lines = new_lines(log_dir, before, 2)
    assert sorted((line["key_alias"] or "", line["status"]) for line in lines) == [("", 401), ("master", 200)], lines


def test_a_key_lists_only_the_models_it_may_use(proxy):
    client, _ = proxy
    assert [model.id for model in client.with_options(api_key=TEAM_A).models.list()] == ["my-custom-model"]
    assert "claude-4-sonnet" in [model.id for model in client.models.list()]  # the master key sees every model
