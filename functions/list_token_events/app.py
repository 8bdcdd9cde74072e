"""GET /v1/tokens/{id}/events — the token's audit trail, newest first."""

from tokensmith.http import (
    create_app,
    event_list_response,
    limit_param,
    principal_of,
    query_params,
    text_param,
)
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.get("/v1/tokens/<token_id>/events")
def list_token_events(token_id: str):
    params = query_params(app, {"limit", "cursor"})
    items, next_cursor = token_service().list_events(
        principal_of(app), token_id, limit=limit_param(params), cursor=text_param(params, "cursor", 2048)
    )
    return event_list_response(items, next_cursor)


handler = api_entrypoint(app.resolve)
