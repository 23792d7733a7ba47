"""business_api.regex_example: a string each pattern matches (checked with re.search, as JSON Schema does)."""

import re

import jsonschema
import pytest
from pydantic import BaseModel, Field

from business_api.regex_example import example
from business_api.schema_instance import minimal_instance

PATTERNS = [
    r"^[0-9]{3}$", r"^\d{3}-\d{4}$", r"^[A-Z][a-z]+$", r"^(foo|ba)+\.txt$", r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
    r"^#[0-9a-fA-F]{6}$", r"^\w+$", r"^(?:\+?1)?\d{10}$", r"(a)\1", r"^[a-z0-9-]{3,20}$", r"^\S+$",
    r"^[A-Z]{2}\d{2}[A-Z0-9]{4}\d{7}$", r"^v\d+\.\d+\.\d+(-[a-z]+)?$", r"^[^a-z]+$", r"(?i)^abc$", r"^x*?y$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_example_matches(pattern):
    text = example(pattern)
    assert text is not None and re.search(pattern, text)


@pytest.mark.parametrize("pattern", [r"(", r"^(?=.*\d).{8,}$"])
def test_unreadable_or_unguessable_patterns_give_none(pattern):
    assert example(pattern) is None


class Account(BaseModel):
    iban: str = Field(pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{4}\d{7}$")
    code: str = Field(pattern=r"^[0-9]{3}$", min_length=3, max_length=3)
    colour: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")


def test_pydantic_pattern_fields_get_valid_instances():
    schema = Account.model_json_schema()
    jsonschema.validate(minimal_instance(schema), schema)
    Account.model_validate(minimal_instance(schema))
