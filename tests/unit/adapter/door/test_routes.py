"""adapter.door.routes: the allow-list, and what the door answers on every other path."""

import pytest

from adapter.door import routes
from adapter.door.errors import DATABASE_MISSING_MESSAGE


@pytest.mark.parametrize("method, path, kind", [
    ("POST", "/v1/chat/completions", "chat"), ("POST", "/chat/completions", "chat"),
    ("POST", "/v1/completions", "completions"), ("POST", "/completions", "completions"),
    ("POST", "/v1/embeddings", "embeddings"), ("POST", "/embeddings", "embeddings"),
    ("POST", "/v1/images/generations", "images"), ("POST", "/images/generations", "images"),
    ("POST", "/v1/responses", "responses"), ("POST", "/responses", "responses"),
    ("GET", "/v1/models", None), ("GET", "/models", None), ("HEAD", "/v1/models", None),
    ("GET", "/v1/models/my-custom-model", None), ("GET", "/models/ft:gpt-4o:org::abc", None),
    ("GET", "/health", None), ("GET", "/health/liveliness", None), ("GET", "/health/liveness", None),
    ("GET", "/health/readiness", None),
    # a browser's CORS preflight reaches LiteLLM's CORS middleware, without a body to check
    ("OPTIONS", "/v1/chat/completions", None),
    # LiteLLM redirects these to the route without the slash
    ("POST", "/v1/chat/completions/", "chat"), ("GET", "/v1/models/", None),
])
def test_served_routes_pass_with_their_body_check(method, path, kind):
    # The door checks the key of API routes first; health routes and a preflight carry none.
    keyed = not path.startswith("/health") and method != "OPTIONS"
    assert routes.lookup(method, path) == routes.Route(body_kind=kind, monitoring=path.startswith("/health"),
                                                       keyed=keyed)


@pytest.mark.parametrize("method, path, kind", [
    ("POST", "/v1/messages", "messages"), ("POST", "/v1/messages/count_tokens", "count_tokens"),
])
def test_anthropic_routes_pass_keyed_with_their_family(method, path, kind):
    assert routes.lookup(method, path) == routes.Route(body_kind=kind, keyed=True, family="anthropic")


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/v1/messages", 405), ("POST", "/v1/messages/batches", 404), ("POST", "/messages", 404),
])
def test_refusals_under_v1_messages_are_in_anthropic_shape(method, path, status):
    route = routes.lookup(method, path)
    assert (route.status, route.family) == (status, "anthropic" if path.startswith("/v1/messages") else "openai")


def test_preflight_on_a_model_is_not_keyed():
    assert routes.lookup("OPTIONS", "/v1/models/my-custom-model") == routes.Route()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_metrics_pass_as_the_path_litellm_mounts_them_at(method, path):
    assert routes.lookup(method, path) == routes.Route(passed_as="/metrics/")


@pytest.mark.parametrize("path", routes.HEALTH_ROUTES)
def test_health_routes_are_monitoring_routes(path):
    assert routes.lookup("GET", path).monitoring
    assert not routes.lookup("GET", "/v1/models").monitoring


@pytest.mark.parametrize("method, path, allow", [
    ("GET", "/v1/chat/completions", "POST"), ("PUT", "/v1/embeddings", "POST"), ("HEAD", "/v1/responses", "POST"),
    ("POST", "/v1/models", "GET, HEAD"), ("DELETE", "/v1/models/my-custom-model", "GET, HEAD"),
    ("POST", "/models/gemini:generateContent", "GET, HEAD"), ("POST", "/health/readiness", "GET, HEAD"),
    ("POST", "/metrics", "GET, HEAD"),
])
def test_served_routes_with_the_wrong_method_are_405_with_allow(method, path, allow):
    route = routes.lookup(method, path)
    assert (route.status, route.allow) == (405, allow)
    assert method in route.message and path in route.message


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/files"), ("POST", "/v1/files"), ("GET", "/files/file-1/content"), ("POST", "/v1/uploads"),
    ("POST", "/v1/batches"), ("GET", "/batches"), ("POST", "/v1/fine_tuning/jobs"), ("GET", "/v1/vector_stores"),
    ("POST", "/v1/vector_stores/vs_1/search"), ("POST", "/v1/assistants"), ("POST", "/v1/threads/runs"),
    ("POST", "/v1/audio/speech"), ("POST", "/v1/audio/transcriptions"), ("POST", "/audio/translations"),
    ("POST", "/v1/moderations"), ("GET", "/v1/realtime"), ("POST", "/v1/realtime/sessions"), ("POST", "/v1/rerank"),
    ("POST", "/rerank"), ("POST", "/v1/images/edits"), ("POST", "/images/variations"), ("POST", "/v1/evals"),
    ("POST", "/v1/containers"), ("POST", "/v1/conversations"), ("GET", "/v1/responses/resp_1"),
    ("DELETE", "/v1/responses/resp_1"), ("GET", "/v1/responses/resp_1/input_items"),
    ("POST", "/v1/responses/resp_1/cancel"), ("POST", "/v1/responses/input_tokens"),
    ("GET", "/v1/chat/completions/chatcmpl-1"), ("GET", "/v1/chat/completions/chatcmpl-1/messages"),
    ("GET", "/v1/organization/usage/completions"), ("POST", "/v1/videos"), ("GET", "/v1/files/"),
])
def test_openai_routes_this_stack_does_not_offer_are_501_naming_what_it_serves(method, path):
    route = routes.lookup(method, path)
    assert route.status == 501
    assert route.message.startswith(f"{method} {path} is an OpenAI endpoint this gateway does not offer")
    assert "POST /v1/chat/completions" in route.message and "GET /v1/models/{model}" in route.message


@pytest.mark.parametrize("method, path", [
    ("POST", "/key/generate"), ("GET", "/key/info"), ("POST", "/user/new"), ("GET", "/team/list"),
    ("GET", "/spend/logs"), ("GET", "/global/spend"), ("GET", "/global/spend/report"), ("GET", "/customer/list"),
    ("POST", "/end_user/new"), ("POST", "/budget/new"), ("GET", "/tag/list"), ("GET", "/audit"),
    ("POST", "/organization/new"), ("POST", "/invitation/new"), ("GET", "/user/daily/activity"),
])
def test_litellm_admin_routes_needing_its_database_are_501(method, path):
    assert routes.lookup(method, path) == routes.Route(501, message=DATABASE_MISSING_MESSAGE)


@pytest.mark.parametrize("method, path", [
    ("GET", "/"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json"), ("GET", "/ui"), ("GET", "/v1/metrics"),
    ("POST", "/openai/v1/chat/completions"), ("GET", "/openai/v1/models"), ("POST", "/anthropic/v1/messages"),
    ("POST", "/vertex-ai/v1/projects/p"), ("POST", "/vertex_ai/x"), ("POST", "/gemini/v1beta/models/g:generateContent"),
    ("POST", "/bedrock/model/x/invoke"), ("POST", "/azure/openai/deployments/d/chat/completions"),
    ("POST", "/v1beta/models/g:generateContent"), ("POST", "/v2/rerank"),
    ("POST", "/engines/gpt-4o/chat/completions"), ("POST", "/openai/deployments/gpt-4o/chat/completions"),
    ("GET", "/routes"), ("GET", "/credentials"),
    ("POST", "/mcp"), ("GET", "/sso/key/generate"), ("GET", "/v1"), ("GET", "/v1/"), ("GET", "/v1/nothing-here"),
    ("GET", "/v1/models/a/b"), ("GET", "/filesystem"),
    ("GET", "/v1/images/other"), ("GET", "/health/backlog"), ("POST", "/health/test_connection"), ("GET", ""),
    ("GET", "/utils/token_counter"), ("POST", "/v1/organization_x"),
])
def test_every_other_path_is_404(method, path):
    route = routes.lookup(method, path)
    assert route.status == 404
    assert route.message.startswith(f"unknown route: {method} {path}; this gateway serves: ")


def test_long_paths_are_cut_in_the_message():
    assert len(routes.lookup("GET", "/x" * 5000).message) < 600


def test_the_table_is_consistent():
    for path, (methods, kind) in routes.SERVED.items():
        assert path.startswith("/"), path
        assert (kind is None) == ("POST" not in methods), path
        assert routes.lookup(methods[0], path).status == 0
    # Only sub-paths of these served routes are closed (responses/{id}, chat/completions/{id}).
    served_prefixes = {prefix for prefix in routes.CLOSED_PREFIXES if prefix in routes.SERVED}
    assert served_prefixes == {"/responses", "/v1/responses", "/chat/completions", "/v1/chat/completions"}


@pytest.mark.parametrize("path, versioned, family", [
    ("/v1/models", True, "anthropic"), ("/v1/models/my-custom-model", True, "anthropic"),
    ("/v1/models", False, "openai"), ("/models", True, "openai"), ("/v1/chat/completions", True, "openai"),
])
def test_listing_models_with_anthropic_version_is_in_anthropic_family(path, versioned, family):
    method = "POST" if "chat" in path else "GET"
    assert routes.as_asked(routes.lookup(method, path), path, versioned).family == family
