"""PUT /v1/organizations/{organization_id}/policy — replace the organization's policy."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.organizations.service import OrganizationPolicyService, organization_policy_service
from tokensmith.tokens.policies import PutOrganizationPolicyRequest

router = create_router()


@router.put(
    "/v1/organizations/<organization_id>/policy",
    **operation(
        200,
        "tokensmith.tokens.policies:OrganizationPolicy",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        OrganizationPolicyService.put_policy,
        """Replace the organization's policy (an omitted field takes its default).

- `allowed_cidrs` (up to 50; `[]`: anywhere): every token of the organization must then also be
  presented from one of these networks; a token's own `allowed_cidrs` can only narrow them.
- `max_lifetime_days`, `require_expiry`: what new tokens' `expires_at` must satisfy.
- `on_new_location`: `notify` (a `token.new_location` event) or `disable` (the token too).
- `inactivity_days`, `inactivity_notice_days`: tokens unused that long are revoked (reason
  `inactive`), with `token.inactive_soon` notices that many days before. A token already unused
  longer when the policy reaches it is revoked no sooner than the largest notice day after.

Answers at once: a worker copies what verification needs onto the organization's tokens within
seconds (a token created meanwhile copies it at creation), and the policy says `propagated: true` once
every token carries it.

`enforce` (`none` by default; not part of the policy): `disable` or `revoke` (reason `policy`) the live
tokens the policy finds non-compliant (`POST .../policy/preview` shows them first), by the same worker,
page by page, each with its own audit event whose actor is the calling token; GET shows the progress in
`enforcement`. Send `If-Match` with the ETag to refuse the change if someone else changed it
first.""",
    ),
)
def put_organization_policy(organization_id: str, body: Annotated[PutOrganizationPolicyRequest, Body()]):
    policy = organization_policy_service().put_policy(
        principal_of(router), organization_id, body.model_dump(), request_meta(router)
    )
    return json_response(policy, headers={"ETag": f'"{policy["version"]}"'})


app = create_app(router)
handler = api_entrypoint(app.resolve)
