"""business_api.metrics: GET /metrics counts and times requests by route rule and status (one process here;
several gunicorn workers are summed in tests/e2e/own_stack/test_metrics.py)."""

from prometheus_client.parser import text_string_to_metric_families

from .conftest import API_KEY


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def test_requests_are_counted_and_timed_by_route_rule_and_status(client):
    for _ in range(3):
        assert client.post("/api/process", json={"query": "hi", "model_info": {"name": "m"}}, headers={"X-API-Key": API_KEY}).status_code == 200
    assert client.post("/api/process", json={"query": "hi", "model_info": {"name": "m"}}).status_code == 401
    assert client.get("/no/such/path").status_code == 404
    samples = scrape(client)
    count = "flask_http_request_duration_seconds_count"
    assert samples[count, (("method", "POST"), ("status", "200"), ("url_rule", "/api/process"))] == 3
    assert samples[count, (("method", "POST"), ("status", "401"), ("url_rule", "/api/process"))] == 1
    assert samples[count, (("method", "GET"), ("status", "404"), ("url_rule", "None"))] == 1
    assert samples["flask_http_request_total", (("method", "POST"), ("status", "200"))] == 3


def test_each_app_has_its_own_counts_and_metrics_need_no_key(client):
    """A new app (as in every test) starts from zero: its registry is its own, not the process-wide one."""
    samples = scrape(client)
    assert not [key for key in samples if key[0] == "flask_http_request_total"]
