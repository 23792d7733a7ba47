"""LiteLLM's per-request work that buys nothing in this stack, taken away once LiteLLM has started (measured in
docs/performance-notes.md, "The whole stack with everything on"). Each part does what LiteLLM 1.106.2 would
have done, only cheaper; its tests run LiteLLM's own code both ways."""

from . import access_log, callback_controls, inline_dispatch, route_checks, router_usage, served_texts, sse_bytes, stream_chunks


def install() -> None:
    """In the running worker, before its first request."""
    inline_dispatch.install()
    router_usage.install()
    route_checks.install()
    callback_controls.install()
    stream_chunks.install()
    served_texts.install()
    sse_bytes.install()
    access_log.install()
