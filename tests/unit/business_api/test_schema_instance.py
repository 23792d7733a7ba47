"""business_api.schema_instance: every instance is checked against its schema with the jsonschema package."""

from enum import Enum
from typing import Literal, Optional

import jsonschema
import pytest
from pydantic import BaseModel, Field

from business_api.schema_instance import SchemaError, minimal_instance

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def valid_instance(schema, validator=jsonschema.Draft202012Validator):
    """The minimal instance of `schema`, after checking that it validates (formats included)."""
    validator.check_schema(schema)
    instance = minimal_instance(schema)
    validator(schema, format_checker=FORMAT_CHECKER).validate(instance)
    return instance


@pytest.mark.parametrize(
    "schema, expected",
    [
        ({"type": "string"}, "string"),
        ({"type": "integer"}, 0),
        ({"type": "number"}, 0),
        ({"type": "boolean"}, False),
        ({"type": "null"}, None),
        ({"type": "object"}, {}),
        ({"type": "array"}, []),
        ({"enum": ["celsius", "fahrenheit"]}, "celsius"),
        ({"type": "string", "enum": ["b", "a"]}, "b"),
        ({"const": 42}, 42),
        ({"type": ["null", "string"]}, "string"),
        ({"type": ["integer", "null"]}, 0),
        ({"type": "integer", "minimum": 3}, 3),
        ({"type": "integer", "exclusiveMinimum": 3}, 4),
        ({"type": "integer", "minimum": 1, "exclusiveMinimum": 5}, 6),
        ({"type": "integer", "maximum": -5}, -5),
        ({"type": "integer", "exclusiveMaximum": 0}, -1),
        ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, 0.5),
        ({"type": "number", "minimum": 0.25, "multipleOf": 0.5}, 0.5),
        ({"type": "integer", "minimum": 7, "multipleOf": 5}, 10),
        ({"type": "string", "minLength": 10}, "stringxxxx"),
        ({"type": "string", "maxLength": 3}, "str"),
        ({"type": "string", "pattern": "^[0-9]+$"}, "0"),
        ({"type": "string", "format": "date"}, "2026-01-01"),
        ({"type": "string", "format": "date-time"}, "2026-01-01T00:00:00Z"),
        ({"type": "string", "format": "email"}, "user@example.com"),
        ({"type": "string", "format": "uri"}, "https://example.com"),
        ({"type": "string", "format": "uuid"}, "00000000-0000-4000-8000-000000000000"),
        ({"type": "string", "format": "ipv4"}, "127.0.0.1"),
        ({"type": "string", "format": "no-such-format"}, "string"),
        ({}, None),
        (True, None),
    ],
)
def test_scalars_and_simple_keywords(schema, expected):
    assert valid_instance(schema) == expected


def test_a_pattern_no_candidate_fits_still_gives_a_string():
    # Patterns are guessed (regex_example) or matched by a few common strings; else the plain string stays.
    assert minimal_instance({"type": "string", "pattern": "^[A-Z]{2}$"}) == "AA"
    assert minimal_instance({"type": "string", "pattern": "^(?=.*[A-Z])(?=.*[0-9]).{9}$"}) == "string"
    assert minimal_instance({"type": "string", "pattern": "(?<!x"}) == "string"  # not a regex Python reads


def test_nested_objects_keep_only_required_properties_recursively():
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "when": {
                "type": "object",
                "properties": {"day": {"type": "string", "format": "date"}, "hour": {"type": "integer"}},
                "required": ["day"],
                "additionalProperties": False,
            },
            "note": {"type": "string"},
        },
        "required": ["city", "unit", "when"],
        "additionalProperties": False,
    }
    assert valid_instance(schema) == {"city": "string", "unit": "c", "when": {"day": "2026-01-01"}}


def test_arrays_have_min_items_of_the_item_schema():
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "points": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "number"}},
                                                   "required": ["x"]}, "minItems": 1},
            "empty": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["tags", "points", "empty"],
    }
    assert valid_instance(schema) == {"tags": ["string", "string"], "points": [{"x": 0}], "empty": []}


def test_unique_items_are_made_distinct():
    schema = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 3, "uniqueItems": True}
    assert valid_instance(schema) == [1, 2, 3]
    assert valid_instance({**schema, "items": {"type": "string"}}) == ["string", "string1", "string2"]


def test_tuples_prefix_items_and_draft7_item_lists():
    assert valid_instance({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                           "minItems": 2}) == ["string", 0]
    draft7 = {"type": "array", "items": [{"type": "boolean"}, {"const": "x"}], "minItems": 2}
    assert valid_instance(draft7, jsonschema.Draft7Validator) == [False, "x"]


def test_contains_needs_one_item():
    assert valid_instance({"type": "array", "contains": {"const": "needle"}}) == ["needle"]


def test_any_of_and_one_of_take_the_first_non_null_choice():
    assert valid_instance({"anyOf": [{"type": "integer"}, {"type": "string"}]}) == 0
    assert valid_instance({"anyOf": [{"type": "null"}, {"type": "string", "format": "email"}]}) == "user@example.com"
    assert valid_instance({"oneOf": [{"type": "object", "properties": {"kind": {"const": "a"}}, "required": ["kind"]},
                                     {"type": "string"}]}) == {"kind": "a"}
    assert valid_instance({"anyOf": [{"type": "null"}]}) is None


def test_all_of_is_merged():
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "minimum": 2}}, "required": ["b"]},
            {"properties": {"b": {"maximum": 9}}},
        ]
    }
    assert valid_instance(schema) == {"a": "string", "b": 2}


def test_refs_to_defs_and_definitions_are_resolved():
    schema = {
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}},
        "type": "object",
        "properties": {"p": {"$ref": "#/$defs/Point"}, "q": {"$ref": "#/$defs/Point", "description": "sibling"}},
        "required": ["p", "q"],
    }
    assert valid_instance(schema) == {"p": {"x": 0}, "q": {"x": 0}}
    weight = {"type": "object", "properties": {"unit": {"$ref": "#/definitions/Unit"}}, "required": ["unit"]}
    draft7 = {"definitions": {"Unit": {"enum": ["kg", "lb"]}, "Weight": weight}, "$ref": "#/definitions/Weight"}
    assert valid_instance(draft7, jsonschema.Draft7Validator) == {"unit": "kg"}


def test_recursive_schemas_stop_where_nothing_more_is_required():
    children = {"type": "array", "items": {"$ref": "#/$defs/Node"}}
    node = {"type": "object", "properties": {"value": {"type": "integer"}, "children": children},
            "required": ["value", "children"]}
    tree = {"$defs": {"Node": node}, "$ref": "#/$defs/Node"}
    assert valid_instance(tree) == {"value": 0, "children": []}


def test_required_name_without_a_property_schema_follows_additional_properties():
    schema = {"type": "object", "required": ["x"], "additionalProperties": {"type": "integer"}}
    assert valid_instance(schema) == {"x": 0}


def test_min_properties_adds_optional_properties_in_order():
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}, "minProperties": 1}
    assert valid_instance(schema) == {"a": "string"}


def test_type_is_inferred_from_keywords_when_missing():
    assert valid_instance({"properties": {"a": {"type": "string"}}, "required": ["a"]}) == {"a": "string"}
    assert valid_instance({"minLength": 2}) == "string"
    assert valid_instance({"items": {"type": "string"}, "minItems": 1}) == ["string"]


def test_draft4_exclusive_minimum_flag():
    schema = {"type": "integer", "minimum": 5, "exclusiveMinimum": True}
    assert valid_instance(schema, jsonschema.Draft4Validator) == 6


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/Missing"},
        {"$ref": "https://example.com/schema.json"},
        {"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}, "required": ["a"]},
        {"type": "object", "properties": "not an object", "required": ["a"]},
        {"type": "array", "minItems": "two"},
    ],
)
def test_unreadable_schemas_raise_schema_error(schema):
    with pytest.raises(SchemaError):
        minimal_instance(schema)


# The kind of schemas LangChain's with_structured_output / bind_tools send: pydantic's model_json_schema().


class Unit(str, Enum):
    celsius = "celsius"
    fahrenheit = "fahrenheit"


class Address(BaseModel):
    street: str
    city: str
    postcode: Optional[str] = None


class Person(BaseModel):
    """A person, as a structured-output target."""

    name: str = Field(description="full name")
    age: int = Field(ge=18, le=130)
    email: Optional[str] = None
    height_m: float = Field(gt=0.5, lt=3.0)
    home: Address
    previous: list[Address] = Field(default_factory=list)
    nicknames: list[str] = Field(min_length=1)
    unit: Unit
    mood: Literal["happy", "sad"]
    tags: dict[str, int]
    manager: Optional["Person"] = None
    partner: Optional[Address]


class GetWeather(BaseModel):
    """Get the current weather in a given location."""

    location: str = Field(description="The city and state, e.g. San Francisco, CA")
    unit: Unit = Unit.celsius


class Plan(BaseModel):
    steps: list[str]
    deadline: str = Field(json_schema_extra={"format": "date"})
    priority: int = Field(default=1, ge=1, le=5)
    owner: Person


def test_pydantic_nested_models_optional_fields_enums_and_lists():
    schema = Person.model_json_schema()
    instance = valid_instance(schema)
    Person.model_validate(instance)  # and pydantic itself accepts it back
    assert instance["home"] == {"street": "string", "city": "string"}
    assert instance["age"] == 18 and instance["unit"] == "celsius" and instance["mood"] == "happy"
    assert instance["nicknames"] == ["string"] and instance["partner"] == {"street": "string", "city": "string"}
    assert 0.5 < instance["height_m"] < 3.0
    assert "email" not in instance and "manager" not in instance


@pytest.mark.parametrize("model", [GetWeather, Plan, Address])
def test_pydantic_models_round_trip(model):
    instance = valid_instance(model.model_json_schema())
    model.model_validate(instance)


def test_openai_strict_mode_schema_where_every_property_is_required():
    # OpenAI's strict mode: all properties required, optional ones as anyOf [X, null], no extra properties.
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "scores": {"type": "array", "items": {"type": "number"}},
        },
        "required": ["name", "nickname", "scores"],
        "additionalProperties": False,
    }
    assert valid_instance(schema) == {"name": "string", "nickname": "string", "scores": []}


# Random schemas built from the keywords above: whatever the combination, the instance must validate.

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

NAMES = st.sampled_from(["a", "b", "city", "unit", "items"])
OTHER_NAMES = st.sampled_from(["x", "y", "when"])
SCALARS = st.one_of(
    st.just({"type": "string"}),
    st.builds(lambda low: {"type": "string", "minLength": low}, st.integers(0, 12)),
    st.sampled_from([{"type": "string", "format": name} for name in ("date", "email", "uuid", "ipv4", "date-time")]),
    st.builds(lambda low, step: {"type": "integer", "minimum": low, "multipleOf": step},
              st.integers(-50, 50), st.integers(1, 7)),
    st.builds(lambda low, width: {"type": "number", "exclusiveMinimum": low, "exclusiveMaximum": low + width},
              st.floats(-100, 100), st.sampled_from([0.5, 1, 3])),
    st.builds(lambda values: {"enum": values}, st.lists(st.integers() | st.text(max_size=5), min_size=1, max_size=3)),
    st.just({"type": "boolean"}),
    st.just({"type": ["null", "integer"]}),
)


def _object(children, names=NAMES, open_only=False):
    return st.builds(
        lambda props, required_flags, closed: {
            "type": "object",
            "properties": props,
            "required": [name for name, flag in zip(props, required_flags) if flag],
            "additionalProperties": open_only or not closed,
        },
        st.dictionaries(names, children, max_size=4),
        st.lists(st.booleans(), min_size=4, max_size=4),
        st.booleans(),
    )


def _schemas(leaves):
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            _object(children),
            st.builds(lambda item, low: {"type": "array", "items": item, "minItems": low}, children, st.integers(0, 3)),
            st.builds(lambda choices: {"anyOf": choices}, st.lists(children, min_size=1, max_size=3)),
            # allOf parts that can hold together: different property names, no closed objects.
            st.builds(lambda first, second: {"allOf": [first, second]},
                      _object(children, NAMES, open_only=True), _object(children, OTHER_NAMES, open_only=True)),
            st.builds(lambda inner: {"anyOf": [{"type": "null"}, inner]}, children),
        ),
        max_leaves=8,
    )


# $defs live at the root (where "#/$defs/..." points); the rest of the schema may refer to them anywhere.
REF = st.just({"$ref": "#/$defs/Inner"})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_schemas(SCALARS), _schemas(SCALARS | REF))
def test_random_schemas_give_valid_instances(inner, outer):
    valid_instance({"$defs": {"Inner": inner}, **outer})
