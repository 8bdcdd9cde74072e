"""POST /v1/organizations/{organization_id}/policy/preview — which live tokens a candidate policy would
find non-compliant, and why, a page at a time."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body, Query
from tokensmith.http.request import principal_of
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.organizations.service import OrganizationPolicyService, organization_policy_service
from tokensmith.tokens.policies import OrganizationPolicyRequest

router = create_router()


@router.post(
    "/v1/organizations/<organization_id>/policy/preview",
    **operation(
        200,
        "tokensmith.tokens.policies:PolicyPreview",
        (400, 401, 403, 404, 413, 415, 422),
        OrganizationPolicyService.preview_policy,
        """The organization's live tokens that the candidate policy (a PUT body) would find non-compliant, and why.

Reasons: `lifetime` (no `expires_at` under `require_expiry` or `max_lifetime_days`, or one later than
now + `max_lifetime_days`), `allowlist` (the token's recent use, `last_used_ip` and its networks, is
outside `allowed_cidrs`, or its own `allowed_cidrs` overlap none of them), `inactivity` (unused for
longer than `inactivity_days`: the next sweep would revoke it). The policy has no scope field, so no
token is non-compliant for its scopes.

Each page reads at most `limit` of the organization's tokens, whatever its size (`examined`), so a page
may list none and still have a `next_cursor`. Nothing is written; `PUT .../policy` with `enforce`
applies the policy to these tokens.""",
    ),
)
def preview_organization_policy(
    organization_id: str,
    body: Annotated[OrganizationPolicyRequest, Body()],
    limit: Annotated[int, Query(ge=1, le=100, description="Tokens read per page, 1 to 100.")] = 100,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048, description="From next_cursor.")] = None,
):
    preview = organization_policy_service().preview_policy(
        principal_of(router), organization_id, body.model_dump(), limit, cursor
    )
    return json_response(preview)


app = create_app(router)
handler = api_entrypoint(app.resolve)
