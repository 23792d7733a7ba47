"""LiteLLM's per-call usage counting, skipped at once for deployments that have no tpm/rpm limit to count against.

After every successful call LiteLLM's router runs `Router._increment_deployment_usage` twice (for the response and
again from its success callback). Each run rebuilds the deployment as a pydantic object, deep-copies its model
info and dumps it again, only to find that the deployment has no tpm, rpm or input/output token limit, and
return without counting anything: ~6 % of the proxy's CPU per request (py-spy, docs/performance-notes.md).
Here that answer is worked out once per deployment, by LiteLLM's own test, and remembered; a deployment with a
limit is counted by LiteLLM exactly as before. The model list only changes when the workers are replaced
(a reload), but a changed list is noticed anyway and the answers worked out again.
"""

from __future__ import annotations

from functools import wraps

from litellm.router import Router
from litellm.router_utils.pre_call_checks.io_token_rate_limit_check import deployment_has_io_token_limits

COUNTING = Router._increment_deployment_usage


def has_limits(router: Router, deployment_id: str, model_group: str) -> bool | None:
    """Whether LiteLLM would count usage for this deployment (its own test); None when it cannot tell."""
    deployment = router.get_deployment(model_id=deployment_id)
    if deployment is None:
        return None
    try:
        info = router.get_router_model_info(deployment=deployment, received_model_name=model_group)
    except Exception:  # noqa: BLE001  (LiteLLM's own counting then runs and deals with it)
        return None
    limits = (deployment.get("tpm", None), deployment.get("rpm", None), deployment.litellm_params.tpm,
              deployment.litellm_params.rpm, info.get("tpm", None), info.get("rpm", None))
    return any(limit is not None for limit in limits) or deployment_has_io_token_limits(deployment.model_dump())


def known_unlimited(router: Router, deployment_id: str, model_group: str) -> bool:
    """Whether this deployment is known to have no limit, for the router's current model list."""
    generation = (id(router.model_list), len(router.model_list))
    memo = router.__dict__.get("_adapter_usage_limits")
    if memo is None or memo[0] != generation:
        memo = (generation, {})
        router.__dict__["_adapter_usage_limits"] = memo
    answers = memo[1]
    key = (deployment_id, model_group)
    if key not in answers:
        answers[key] = has_limits(router, deployment_id, model_group)
    return answers[key] is False


@wraps(COUNTING)
async def counting_only_limited(self: Router, *, deployment_id: str, model_group: str, **rest):
    if known_unlimited(self, deployment_id, model_group):
        return None
    return await COUNTING(self, deployment_id=deployment_id, model_group=model_group, **rest)


def install() -> None:
    """Put the check in front of LiteLLM's counting (once per process)."""
    Router._increment_deployment_usage = counting_only_limited
