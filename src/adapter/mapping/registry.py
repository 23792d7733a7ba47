"""The backends the proxy's models name (`mapped/<name>…`), loaded and checked once at start-up.

Only the files a model names are loaded: an example nobody uses cannot stop the proxy (check it with
`python -m adapter.mapping check FILE`). Each comes with the parameter policy its expressions imply.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping as StrMap

import yaml

from ..openai import params
from .apply import backend_of
from .document import NAMED_PARAMS
from .load import MappingError, load_file
from .parts import sent_kinds
from .reads import EVERYTHING, Reads, reads, reads_field
from .spec import Mapping

PROVIDER = "mapped"
log = logging.getLogger("adapter")
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# Hints that cannot change what a backend answers: accepted and ignored when a mapping does not read them.
IGNORED_UNLESS_READ = frozenset({"user", "parallel_tool_calls"})


@dataclass(frozen=True)
class Backend:
    mapping: Mapping
    label: str  # how messages name it: "the <name> backend" (never a path or URL: clients see it)
    policy: params.ParamPolicy  # which client parameters reach the document's `params`
    reads_dimensions: bool  # embeddings: whether `dimensions` reaches the backend
    sent_parts: frozenset[str]  # the kinds of non-text content part the file sends (parts.py); others are refused


def policy_for(label: str, found: Reads) -> params.ParamPolicy:
    """Forward what the expressions read; accept harmless defaults; refuse (or drop) the rest."""
    whole = EVERYTHING in found or ("params" in found and found["params"] is None)
    named = set(NAMED_PARAMS) if whole else set(found.get("params") or ())
    forward = named | ({"parallel_tool_calls"} if whole else set())
    defaults = {**params.HARMLESS_DEFAULTS, "response_format": {"type": "text"}}
    if reads_field(found, "tools"):
        forward.add("tools")
        if reads_field(found, "tool_choice"):
            forward.add("tool_choice")
        else:
            defaults["tool_choice"] = "auto"
    else:
        defaults.update(params.TOOLLESS_DEFAULTS)
    return params.ParamPolicy(backend=label, forward=frozenset(forward),
                              ignore=frozenset(IGNORED_UNLESS_READ - forward), defaults=defaults,
                              forward_others=whole)


def backend_for(mapping: Mapping) -> Backend:
    label = backend_of(mapping)
    embeddings = mapping.embeddings
    return Backend(
        mapping=mapping,
        label=label,
        policy=policy_for(label, reads(mapping.request)),
        reads_dimensions=embeddings is not None and reads_field(reads(embeddings.request), "dimensions"),
        sent_parts=sent_kinds(mapping),
    )


def split_model(model: str) -> tuple[str, str | None]:
    """`<name>` or `<name>/<backend model>` (what LiteLLM passes after `mapped/`) → (name, backend model)."""
    name, _, backend_model = model.partition("/")
    return name, backend_model or None


def _model_entries(config_file: Path) -> list[tuple[str, str, str | None]]:
    """(where, model, mode) for every model_list entry using the mapped provider."""
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{config_file}: cannot be read: {error}") from None
    entries = []
    for index, entry in enumerate(config.get("model_list") or []):
        model = ((entry or {}).get("litellm_params") or {}).get("model")
        if isinstance(model, str) and model.startswith(f"{PROVIDER}/"):
            mode = ((entry.get("model_info") or {}).get("mode"))
            entries.append((f"{config_file}: model_list[{index}].litellm_params.model", model, mode))
    return entries


def _checked_name(where: str, model: str) -> str:
    name = split_model(model[len(PROVIDER) + 1:])[0]
    if not NAME.fullmatch(name):
        raise MappingError(f"{where}: {model!r} must be {PROVIDER}/<name> or {PROVIDER}/<name>/<backend model>, "
                           "where <name> is a file name in the backends directory (without .yaml)")
    return name


def load_backends(config_file: str | Path, backends_dir: str | Path, variables: StrMap[str]) -> dict[str, Backend]:
    """Every backend a model of `config_file` names, from `backends_dir`/<name>.yaml; MappingError on the first fault."""
    backends: dict[str, Backend] = {}
    modes: dict[str, set] = {}
    for where, model, mode in _model_entries(Path(config_file)):
        modes.setdefault(model, set()).add(mode or "chat")
        name = _checked_name(where, model)
        path = Path(backends_dir) / f"{name}.yaml"
        if name not in backends:
            if not path.is_file():
                raise MappingError(f"{where}: {model!r} needs the backend file {path}, which does not exist")
            backends[name] = backend_for(load_file(path, variables))
        if mode == "embedding" and backends[name].mapping.embeddings is None:
            raise MappingError(f"{where}: an embedding model, but {path} has no embeddings: section")
    for model in (model for model, kinds in modes.items() if len(kinds) > 1):
        log.warning("%s: %r serves models of different modes (%s): LiteLLM prices them all by one mode's entry, and "
                    "its zero-cost check then costs ~2 ms per request; give each its own %s/<name>", config_file,
                    model, ", ".join(sorted(modes[model])), model)
    return backends
