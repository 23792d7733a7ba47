import pytest

import stack_settings
from business_api import create_app

API_KEY = "business-test-key"
LAAS = {"project": "proj-test", "apiKey": "laas-test-key"}
PRESET_HASH = "hash-test-123"


@pytest.fixture()
def settings(tmp_path):
    return stack_settings.load(
        {
            "ENV_FILE": str(tmp_path / "none.env"),
            "BUSINESS_API_KEY": API_KEY,
            "LAAS_PROJECT_CODE": LAAS["project"],
            "LAAS_API_KEY": LAAS["apiKey"],
            "LAAS_PRESET_HASH": PRESET_HASH,
            "MAX_REQUEST_BODY_MB": "8",
        }
    )


@pytest.fixture()
def client(settings):
    return create_app({"SETTINGS": settings, "TESTING": True}).test_client()
