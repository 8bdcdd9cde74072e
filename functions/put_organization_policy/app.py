"""PUT /v1/organizations/{organization_id}/policy — replace the organization's policy."""

from typing import Annotated

from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.organizations.service import OrganizationPolicyService, organization_policy_service
from tokensmith.tokens.policies import OrganizationPolicy, OrganizationPolicyRequest

router = create_router()


@router.put(
    "/v1/organizations/<organization_id>/policy",
    **operation(
        200,
        OrganizationPolicy,
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        OrganizationPolicyService.put_policy,
        """Replace the organization's policy: `allowed_cidrs` (up to 50; `[]`: anywhere).

Every token of the organization must then also be presented from one of these networks; a token's
own `allowed_cidrs` can only narrow them. Answers at once: a worker copies the list onto the
organization's tokens within seconds (a token created meanwhile copies it at creation), and the policy
says `propagated: true` once every token carries it. Send `If-Match` with the ETag to refuse the
change if someone else changed it first.""",
    ),
)
def put_organization_policy(organization_id: str, body: Annotated[OrganizationPolicyRequest, Body()]):
    policy = organization_policy_service().put_policy(
        principal_of(router), organization_id, body.allowed_cidrs, request_meta(router)
    )
    return json_response(policy, headers={"ETag": f'"{policy["version"]}"'})


app = create_app(router)
handler = api_entrypoint(app.resolve)
