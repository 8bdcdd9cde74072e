"""GET /v1/tokens — the organization's tokens, newest first, a page at a time."""

from tokensmith.http import (
    choice_param,
    create_app,
    limit_param,
    principal_of,
    query_params,
    text_param,
    token_list_response,
)
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.get("/v1/tokens")
def list_tokens():
    params = query_params(app, {"limit", "cursor", "status", "owner", "organization_id"})
    items, next_cursor = token_service().list_tokens(
        principal_of(app),
        limit=limit_param(params),
        cursor=text_param(params, "cursor", 2048),
        status=choice_param(params, "status", ("active", "disabled", "revoked", "expired")),
        owner=text_param(params, "owner", 320),
        organization_id=text_param(params, "organization_id", 128),
    )
    return token_list_response(items, next_cursor)


handler = api_entrypoint(app.resolve)
