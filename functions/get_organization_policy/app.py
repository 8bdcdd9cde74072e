"""GET /v1/organizations/{organization_id}/policy — the CIDRs every token of the organization must satisfy."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.organizations.service import OrganizationPolicyService, organization_policy_service

router = create_router()


@router.get(
    "/v1/organizations/<organization_id>/policy",
    **operation(
        200,
        "tokensmith.tokens.policies:OrganizationPolicy",
        (401, 403, 404),
        OrganizationPolicyService.get_policy,
        """The organization's policy: `allowed_cidrs` that every token of the organization must also satisfy.

An organization that never had one answers an empty policy at version 0. `tokens:manage` reads its
own organization's; `admin` any.""",
    ),
)
def get_organization_policy(organization_id: str):
    policy = organization_policy_service().get_policy(principal_of(router), organization_id)
    return json_response(policy, headers={"ETag": f'"{policy["version"]}"'})


app = create_app(router)
handler = api_entrypoint(app.resolve)
