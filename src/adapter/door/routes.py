"""The proxy's closed surface as plain data: the routes it serves, and what it answers on every other path."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import ANTHROPIC, DATABASE_MISSING_MESSAGE, OPENAI

# Served OpenAI routes (LiteLLM serves each with and without the /v1 prefix) → the methods and the kind of
# JSON body the door checks (door/checks); None: no body to check.
OPENAI_SERVED = {
    "/chat/completions": ("POST", "chat"),
    "/completions": ("POST", "completions"),
    "/embeddings": ("POST", "embeddings"),
    "/images/generations": ("POST", "images"),
    "/responses": ("POST", "responses"),
    "/models": ("GET", None),
    # LiteLLM's per-model details, with config.yaml's max_input_tokens / max_output_tokens: agents read the limits
    # here. Keyed like every API route.
    "/model/info": ("GET", None),
}
# Anthropic's Messages API (only with /v1, as Anthropic serves it; Claude Code adds ?beta=true, a query string the
# routes ignore): its errors in Anthropic's shape (errors.py).
ANTHROPIC_SERVED = {
    "/v1/messages": ("POST", "messages"),
    "/v1/messages/count_tokens": ("POST", "count_tokens"),
}
# The body kinds whose calls cost money: checked against the key's budget before LiteLLM calls the backend.
COSTING = frozenset(("chat", "completions", "embeddings", "images", "responses", "messages"))
MODEL_RETRIEVE = "/models/"  # + one path segment, the model's name: GET /v1/models/{model}
HEALTH_ROUTES = ("/health", "/health/liveliness", "/health/liveness", "/health/readiness")
# The door serves this itself (gateway.py, from metering/metrics.py's series), to the master key only (keys/auth.py):
# the series name every key's alias. With LiteLLM's own prometheus callback in config.yaml instead, LiteLLM serves
# it; its middleware asks our auth hook, and it mounts its metrics app at /metrics/ and redirects /metrics there
# (307, which curl and some scrapers do not follow): it is then handed the mounted path directly.
METRICS_ROUTE = "/metrics"
METRICS_MOUNTED = "/metrics/"

# OpenAI API routes (with and without /v1) this stack does not offer: 501 saying what it serves.
# A prefix covers its sub-paths, so "/responses" closes /v1/responses/{id}, …/input_items and …/cancel
# while POST /v1/responses itself stays served (exact matches are looked up first).
OPENAI_NOT_OFFERED = (
    "/files", "/uploads", "/batches", "/fine_tuning", "/vector_stores", "/assistants", "/threads", "/audio",
    "/moderations", "/realtime", "/rerank", "/images/edits", "/images/variations", "/evals", "/containers",
    "/conversations", "/responses", "/chat/completions", "/videos", "/chatkit",
)
OPENAI_ONLY_WITH_V1 = ("/organization",)  # without /v1, /organization/* is LiteLLM's admin API (below)

# LiteLLM's admin API families that need its database (virtual keys, users, teams, spend): 501 at the door,
# with the message LiteLLM's own answers are rewritten to (errors.DATABASE_MISSING).
DATABASE_ROUTES = (
    "/key", "/user", "/team", "/spend", "/global", "/customer", "/end_user", "/budget", "/tag", "/audit",
    "/organization", "/invitation",
)

GET_METHODS = ("GET", "HEAD")
# Browsers send a CORS preflight before a cross-origin call; LiteLLM's CORS middleware answers it.
PREFLIGHT = "OPTIONS"
MAX_PATH_IN_MESSAGE = 200


@dataclass(frozen=True)
class Route:
    """What the door does with a request: pass it on (status 0) or answer `status` itself."""

    status: int = 0
    body_kind: str | None = None  # for a served POST: which body check applies
    message: str = ""
    allow: str = ""  # the Allow header of a 405
    monitoring: bool = False  # a health route (its 503 carries a health report, not an error)
    passed_as: str = ""  # the path LiteLLM is given instead of the client's (see METRICS_ROUTE)
    keyed: bool = False  # the door checks the API key before anything else (an API route; not health, not metrics)
    family: str = OPENAI  # whose error shape the caller reads


def _served_table() -> dict[str, tuple[tuple[str, ...], str | None]]:
    table = {}
    for path, (method, kind) in OPENAI_SERVED.items():
        methods = GET_METHODS if method == "GET" else (method,)
        table[path] = table["/v1" + path] = (methods, kind)
    for path, (method, kind) in ANTHROPIC_SERVED.items():
        table[path] = ((method,), kind)
    for path in HEALTH_ROUTES:
        table[path] = (GET_METHODS, None)
    table[METRICS_ROUTE] = (GET_METHODS, None)
    return table


def _with_v1(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    return prefixes + tuple("/v1" + prefix for prefix in prefixes)


SERVED = _served_table()
SERVED_LIST = ", ".join(
    [f"{method} /v1{path}" for path, (method, _) in OPENAI_SERVED.items()] + [f"GET /v1{MODEL_RETRIEVE}{{model}}"]
    + [f"{method} {path}" for path, (method, _) in ANTHROPIC_SERVED.items()]
)
ANTHROPIC_SUBPATHS = tuple(path + "/" for path in ANTHROPIC_SERVED)
# LiteLLM answers these in Anthropic's list shape when the request carries `anthropic-version` (its SDKs' models.list);
# their errors then follow (as_asked).
MODEL_RETRIEVE_V1 = "/v1/models/"
ANTHROPIC_WHEN_VERSIONED = ("/v1/models", MODEL_RETRIEVE_V1)
UNKEYED = (*HEALTH_ROUTES, METRICS_ROUTE)  # health for monitors; /metrics has its own guard (master key only)
# (method, path) → the Route that passes it on: one dict lookup for every request LiteLLM answers.
# A CORS preflight carries no key (browsers send none): LiteLLM's CORS middleware answers it.
PASSING = {
    (method, path): Route(body_kind=kind if method == "POST" else None, monitoring=path in HEALTH_ROUTES,
                          passed_as=METRICS_MOUNTED if path == METRICS_ROUTE else "",
                          keyed=path not in UNKEYED and method != PREFLIGHT,
                          family=ANTHROPIC if path in ANTHROPIC_SERVED else OPENAI)
    for path, (methods, kind) in SERVED.items()
    for method in methods + (PREFLIGHT,)
}
MODEL_RETRIEVE_ROUTE, PREFLIGHT_ROUTE = Route(keyed=True), Route()
# Prefix → which 501 it gets. Built once: the per-request work is a few dict lookups.
CLOSED_PREFIXES = {
    **{prefix: "openai" for prefix in _with_v1(OPENAI_NOT_OFFERED)},
    **{"/v1" + prefix: "openai" for prefix in OPENAI_ONLY_WITH_V1},
    **{prefix: "database" for prefix in DATABASE_ROUTES},
}


def lookup(method: str, path: str) -> Route:
    """The door's decision for `method path`: a dict lookup for served routes, a prefix walk for the rest."""
    passing = PASSING.get((method, path))
    if passing is not None:
        return passing
    # A trailing slash passes too: LiteLLM redirects it to the route (307, same host), as before.
    unslashed = path[:-1] if path.endswith("/") else path
    served = SERVED.get(unslashed)
    if served is None and _is_model_retrieve(path):
        served = (GET_METHODS, None)
    if served is not None:
        methods, _ = served
        if method in methods or method == PREFLIGHT:
            return PASSING.get((method, unslashed), PREFLIGHT_ROUTE if method == PREFLIGHT else MODEL_RETRIEVE_ROUTE)
        return Route(405, message=f"{method} is not allowed on {path}; use {methods[0]}", allow=", ".join(methods),
                     family=_family(path))
    closed = _closed_family(path)
    shown = path[:MAX_PATH_IN_MESSAGE]
    if closed == "openai":
        return Route(501, message=f"{method} {shown} is an OpenAI endpoint this gateway does not offer; "
                                  f"it serves: {SERVED_LIST}")
    if closed == "database":
        return Route(501, message=DATABASE_MISSING_MESSAGE)
    return Route(404, message=f"unknown route: {method} {shown}; this gateway serves: {SERVED_LIST}",
                 family=_family(path))


def as_asked(route: Route, path: str, anthropic_version: bool) -> Route:
    """The route in Anthropic's family when an Anthropic client lists models (it sends `anthropic-version`)."""
    if anthropic_version and route.family == OPENAI and path.startswith(ANTHROPIC_WHEN_VERSIONED):
        return replace(route, family=ANTHROPIC)
    return route


def _family(path: str) -> str:
    """Whose error shape a refused path gets: Anthropic's on and under its routes (e.g. /v1/messages/batches)."""
    return ANTHROPIC if path in ANTHROPIC_SERVED or path.startswith(ANTHROPIC_SUBPATHS) else OPENAI


def _is_model_retrieve(path: str) -> bool:
    rest = path[3:] if path.startswith("/v1/") else path
    name = rest[len(MODEL_RETRIEVE):] if rest.startswith(MODEL_RETRIEVE) else ""
    return bool(name) and "/" not in name


def _closed_family(path: str) -> str | None:
    """The CLOSED_PREFIXES entry covering `path` (the prefix itself or a sub-path), longest first."""
    end = len(path)
    while end > 0:
        family = CLOSED_PREFIXES.get(path[:end])
        if family is not None:
            return family
        end = path.rfind("/", 0, end)
    return None
