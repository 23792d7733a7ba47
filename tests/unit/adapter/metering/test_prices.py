"""Prices per mode, as LiteLLM reads them from model_info, and the start-up warning for a model without them."""

from __future__ import annotations

from pathlib import Path

import litellm
import pytest
import yaml

import adapter
from adapter.metering.prices import missing_prices, prices, unpriced


@pytest.mark.parametrize("info, expected", [
    ({"mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
     {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}),
    ({"input_cost_per_token": 1e-6}, {"input_cost_per_token": 1e-6, "output_cost_per_token": 0.0}),  # chat: default
    ({"mode": "embedding", "input_cost_per_token": 3e-7, "output_cost_per_token": 9}, {"input_cost_per_token": 3e-7}),
    ({"mode": "image_generation", "output_cost_per_image": 0.04},
     {"output_cost_per_image": 0.04, "input_cost_per_image": 0.0, "input_cost_per_pixel": 0.0}),
    (None, {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0}),
])
def test_the_prices_of_a_models_mode_missing_ones_as_zero(info, expected):
    assert prices(info) == expected


@pytest.mark.parametrize("info, missing", [
    ({"mode": "chat", "input_cost_per_token": 0, "output_cost_per_token": 0}, ()),  # an explicit 0 is a price
    ({"mode": "chat", "input_cost_per_token": 1e-6}, ("output_cost_per_token",)),
    ({}, ("input_cost_per_token", "output_cost_per_token")),
    ({"mode": "embedding", "input_cost_per_token": 0}, ()),
    ({"mode": "embedding"}, ("input_cost_per_token",)),
    ({"mode": "image_generation", "input_cost_per_image": 0.01}, ()),  # any one image price will do
    ({"mode": "image_generation"}, ("output_cost_per_image", "input_cost_per_image", "input_cost_per_pixel")),
])
def test_missing_prices_per_mode(info, missing):
    assert missing_prices(info) == missing


def test_one_warning_per_unpriced_model_naming_it_and_the_fields():
    warnings = unpriced([
        {"model_name": "priced", "model_info": {"input_cost_per_token": 0, "output_cost_per_token": 0}},
        {"model_name": "bare", "litellm_params": {"model": "laas/bare"}},
        {"model_name": "pictures", "model_info": {"mode": "image_generation"}},
    ])
    assert warnings == [
        "model 'bare' (chat) has no input_cost_per_token, output_cost_per_token in its model_info: its calls are "
        "counted as $0 against budgets (set 0 for a free model to silence this)",
        "model 'pictures' (image_generation) has no output_cost_per_image or input_cost_per_image or "
        "input_cost_per_pixel in its model_info: its calls are counted as $0 against budgets (set 0 for a free "
        "model to silence this)"]


def test_the_shipped_config_prices_every_model():
    config = yaml.safe_load((Path(adapter.__file__).parents[1] / "config.yaml").read_text(encoding="utf-8"))
    assert unpriced(config["model_list"]) == []


def test_litellm_charges_what_these_prices_say():
    """The fields are LiteLLM's: its own cost function, given a model with these prices, charges them."""
    litellm.register_model({"unit-priced": {"litellm_provider": "openai", "mode": "chat",
                                            "input_cost_per_token": 2e-6, "output_cost_per_token": 1e-5}})
    prompt, completion = litellm.cost_per_token(model="unit-priced", prompt_tokens=100, completion_tokens=10)
    assert (prompt, completion) == pytest.approx((100 * 2e-6, 10 * 1e-5))
