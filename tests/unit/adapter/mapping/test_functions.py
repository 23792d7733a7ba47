"""from_json() and split(): the two functions a mapping file may use beyond standard JMESPath."""

import jmespath
import pytest
from jmespath.exceptions import JMESPathError

from adapter.mapping.apply import request_body
from adapter.mapping.functions import OPTIONS
from adapter.mapping.load import MappingError, load_file


def search(expression: str, data):
    return jmespath.compile(expression).search(data, options=OPTIONS)


def test_from_json_parses_tool_call_arguments_and_gives_null_for_non_json():
    calls = [{"function": {"arguments": '{"city": "Paris"}'}}, {"function": {"arguments": "not json"}}]
    assert search("[].{a: from_json(function.arguments)}", calls) == [{"a": {"city": "Paris"}}, {"a": None}]


def test_split_cuts_a_data_url_into_header_and_data():
    assert search("split(@, ',')[1]", "data:image/png;base64,iVBORw0KGgo=") == "iVBORw0KGgo="


@pytest.mark.parametrize("expression, data", [("from_json(@)", 5), ("split(@, '')", "a,b"), ("split(@, `1`)", "a")])
def test_wrong_arguments_are_errors(expression, data):
    with pytest.raises(JMESPathError):
        search(expression, data)


def test_the_loader_knows_them_and_still_refuses_unknown_functions(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("url: http://x\nrequest: \"{a: from_json(last_user_text), b: split(model, '/')}\"\n"
                    "response: {content: answer}\n")
    mapping = load_file(path, {})
    assert request_body(mapping, {"last_user_text": "[1, 2]", "model": "a/b"}) == {"a": [1, 2], "b": ["a", "b"]}
    path.write_text("url: http://x\nrequest: \"parse_json(last_user_text)\"\nresponse: {content: answer}\n")
    with pytest.raises(MappingError, match="unknown JMESPath function parse_json"):
        load_file(path, {})
