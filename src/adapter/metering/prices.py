"""Model prices as LiteLLM spells them in config.yaml's model_info, per mode; which models have none (priced $0)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TOKEN_PRICES = ("input_cost_per_token", "output_cost_per_token")
# What LiteLLM prices each mode's answer by. All of a mode's fields are needed, except for images: any one will do.
PRICE_FIELDS = {
    "chat": TOKEN_PRICES,
    "completion": TOKEN_PRICES,
    "responses": TOKEN_PRICES,
    "embedding": ("input_cost_per_token",),
    "image_generation": ("output_cost_per_image", "input_cost_per_image", "input_cost_per_pixel"),
}
ANY_ONE_OF = {"image_generation"}
DEFAULT_MODE = "chat"  # LiteLLM's, for a model_info without `mode`


def prices(model_info: Mapping[str, Any] | None) -> dict[str, float]:
    """The prices that apply to the model's mode (USD), a missing one as 0, as LiteLLM then charges it."""
    info = model_info or {}
    fields = PRICE_FIELDS.get(info.get("mode") or DEFAULT_MODE, TOKEN_PRICES)
    return {field: float(info.get(field) or 0) for field in fields}


def missing_prices(model_info: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The price fields the model's mode needs and model_info lacks (none of them, for images)."""
    info = model_info or {}
    mode = info.get("mode") or DEFAULT_MODE
    fields = PRICE_FIELDS.get(mode, TOKEN_PRICES)
    absent = tuple(field for field in fields if info.get(field) is None)
    if mode in ANY_ONE_OF:
        return absent if len(absent) == len(fields) else ()
    return absent


def unpriced(model_list: Iterable[Mapping[str, Any]]) -> list[str]:
    """One warning per model of config.yaml's model_list that has no price for its mode."""
    warnings = []
    for entry in model_list:
        info = entry.get("model_info") or {}
        absent = missing_prices(info)
        if absent:
            mode = info.get("mode") or DEFAULT_MODE
            fields = " or ".join(absent) if mode in ANY_ONE_OF else ", ".join(absent)
            warnings.append(f"model '{entry.get('model_name')}' ({mode}) has no {fields} in its model_info: its "
                            f"calls are counted as $0 against budgets (set 0 for a free model to silence this)")
    return warnings
