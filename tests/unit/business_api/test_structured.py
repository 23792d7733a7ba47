"""POST /api/process with response_format (JSON answers) and the extra model_info parameters."""

import json

import jsonschema
import pytest
from pydantic import BaseModel

from .test_process import events, post

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer", "minimum": 1900},
        "genres": {"type": "array", "items": {"enum": ["drama", "comedy"]}, "minItems": 1},
        "rating": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
    "required": ["title", "year", "genres", "rating"],
    "additionalProperties": False,
}


def json_schema_format(schema=SCHEMA, **extra):
    return {"type": "json_schema", "json_schema": {"name": "movie", "schema": schema, "strict": True, **extra}}


def answer(client, query="Tell me about a film", **extra):
    response = post(client, {"query": query, "model_info": {"name": "m"}, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_json_object_wraps_the_usual_answer(client):
    result = answer(client, "hi", response_format={"type": "json_object"})
    assert json.loads(result["answer"]) == {"answer": "Mock answer from m: hi"}
    assert result["finish_reason"] == "stop"


def test_json_schema_answers_a_minimal_valid_instance(client):
    result = answer(client, response_format=json_schema_format())
    document = json.loads(result["answer"])
    jsonschema.validate(document, SCHEMA)
    assert document == {"title": "string", "year": 1900, "genres": ["drama"], "rating": 0}


def test_json_schema_from_a_pydantic_model_round_trips(client):
    class Actor(BaseModel):
        name: str
        born: int | None = None

    class Movie(BaseModel):
        title: str
        cast: list[Actor]
        lead: Actor

    result = answer(client, response_format=json_schema_format(Movie.model_json_schema()))
    Movie.model_validate_json(result["answer"])


@pytest.mark.parametrize("response_format", [{"type": "json_object"}, json_schema_format()])
def test_json_directive_gives_the_document(client, response_format):
    query = 'film [mock:json={"title": "Brazil [1985]", "tags": []}]'
    assert json.loads(answer(client, query, response_format=response_format)["answer"]) == {
        "title": "Brazil [1985]", "tags": []}


def test_json_directive_without_response_format_is_plain_text(client):
    result = answer(client, 'x [mock:json={"a": 1}]')
    assert result["answer"] == 'Mock answer from m: x [mock:json={"a": 1}]'


def test_bad_json_directive_is_400_naming_it(client):
    response = post(client, {"query": "[mock:json={oops}]", "model_info": {"name": "m"},
                             "response_format": {"type": "json_object"}})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "[mock:json=" in error["message"] and error["param"] == "query"


def test_text_response_format_is_a_plain_answer(client):
    assert answer(client, "hi", response_format={"type": "text"})["answer"] == "Mock answer from m: hi"


def test_tools_win_over_response_format(client):
    tool = {"name": "lookup", "parameters": {"type": "object", "properties": {}}}
    result = answer(client, tools=[tool], tool_choice="required", response_format={"type": "json_object"})
    assert result["finish_reason"] == "tool_calls"


def test_structured_answer_streams_in_pieces_that_join_to_the_document(client):
    body = {"query": "q", "model_info": {"name": "m"}, "response_format": json_schema_format()}
    whole = post(client, body).get_json()["answer"]
    streamed = events(post(client, {**body, "stream": True}))
    pieces = [event["delta"] for event in streamed[:-2]]
    assert len(pieces) > 1 and "".join(pieces) == whole


def test_answer_directive_does_not_replace_a_json_document(client):
    result = answer(client, query='[mock:answer="plain"]', response_format={"type": "json_object"})
    assert json.loads(result["answer"]) == {"answer": 'Mock answer from m: [mock:answer="plain"]'}


def test_echo_wins_over_the_json_document(client):
    result = answer(client, "[mock:echo]", response_format={"type": "json_object"})
    assert json.loads(result["answer"])["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    "response_format, param",
    [
        ("json_object", "response_format"),
        ({}, "response_format.type"),
        ({"type": "json"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": {"schema": SCHEMA}}, "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": 1, "schema": SCHEMA}}, "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "response_format.json_schema.schema"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": "object"}},
         "response_format.json_schema.schema"),
        (json_schema_format(strict="yes"), "response_format.json_schema.strict"),
        (json_schema_format({"$ref": "#/definitions/Missing"}), "response_format.json_schema.schema"),
    ],
)
def test_bad_response_format_is_400_naming_the_field(client, response_format, param):
    response = post(client, {"query": "q", "model_info": {"name": "m"}, "response_format": response_format})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


def test_extra_model_info_parameters_are_accepted(client):
    info = {"name": "m", "presence_penalty": -2, "frequency_penalty": 1.5, "seed": 7, "user": "u-1",
            "reasoning_effort": "low"}
    result = answer(client, "hi", model_info=info)
    assert result["answer"] == "Mock answer from m: hi"
    echoed = json.loads(answer(client, "[mock:echo]", model_info=info)["answer"])
    assert echoed["model_info"] == info


@pytest.mark.parametrize("effort", ["none", "minimal", "low", "medium", "high", "xhigh"])
def test_every_reasoning_effort_is_accepted(client, effort):
    answer(client, "hi", model_info={"name": "m", "reasoning_effort": effort})


@pytest.mark.parametrize(
    "field, value",
    [
        ("presence_penalty", 2.5), ("presence_penalty", "0"), ("frequency_penalty", -3), ("frequency_penalty", True),
        ("seed", 1.5), ("seed", "7"), ("seed", True), ("user", 5), ("reasoning_effort", "extreme"),
        ("reasoning_effort", 1),
    ],
)
def test_bad_extra_model_info_parameters_are_400_naming_them(client, field, value):
    response = post(client, {"query": "q", "model_info": {"name": "m", field: value}})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == f"model_info.{field}"
