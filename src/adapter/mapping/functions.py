"""Two JMESPath functions beyond the standard set, for what real backend shapes need and JMESPath cannot express.

- `from_json(text)`: JSON text → its value (null when the text is not JSON). OpenAI sends a tool call's arguments
  as JSON text; backends such as Ollama want the object.
- `split(text, separator)`: text → the list of its parts (JEP-14's `split`, without a count). Cuts a data: URL
  into its header and its base64 data, for backends that take bare base64 images.
Every expression in a mapping file is searched with these (OPTIONS); the loader knows their names.
"""

from __future__ import annotations

import json
from typing import Any

from jmespath import Options, functions
from jmespath.exceptions import JMESPathError


class MappingFunctions(functions.Functions):
    @functions.signature({"types": ["string"]})
    def _func_from_json(self, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            return None

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_split(self, text: str, separator: str) -> list[str]:
        if not separator:
            raise JMESPathError("split() needs a non-empty separator")
        return text.split(separator)


OPTIONS = Options(custom_functions=MappingFunctions())
NAMES = frozenset(MappingFunctions.FUNCTION_TABLE)
