"""docs/openapi.json is generated from the code and must not drift from it; it covers every route."""

import json

from devtools.openapi import DOCUMENT, build_document, documented_routes, render


def test_the_committed_document_matches_the_code():
    assert DOCUMENT.read_text() == render(build_document()), "docs/openapi.json is stale: run `make openapi`"


def test_every_template_route_is_documented_with_problem_answers():
    document = json.loads(DOCUMENT.read_text())
    for route in documented_routes():
        operation = document["paths"][route.path][route.method.lower()]
        responses = operation["responses"]
        assert any(status.startswith("2") for status in responses), route
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "429":
                assert "application/problem+json" in response["content"], (route, status)
        if (route.method, route.path) == ("GET", "/v1/sessions/current"):
            assert operation["security"] == [{"sessionCookie": []}], route  # no authorizer: it reads the cookie
        elif not route.authorized:
            assert operation["security"] == [], route  # declared empty: redocly's security-defined
        else:
            assert operation["security"] == [{"bearerAuth": []}, {"sessionCookie": [], "sessionAuth": []}], route


def test_request_bodies_refuse_unknown_fields():
    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith("Request"):
            assert schema.get("additionalProperties") is False, name


def test_a_refusal_declares_one_schema_for_both_of_its_shapes():
    """401 and 403 (and a token route's 429: the throttle, or the token over its limits) come from API
    Gateway (`{"message"}`) or from a function (a problem): whatever media type a client picks, its
    schema parses both (a generated client keeps only the first)."""
    document = json.loads(DOCUMENT.read_text())
    refusal = document["components"]["schemas"]["Refusal"]
    assert refusal["anyOf"] == [{"$ref": "#/components/schemas/Problem"}, {"$ref": "#/components/schemas/GatewayError"}]
    for route in documented_routes():
        operation = document["paths"][route.path][route.method.lower()]
        responses = operation["responses"]
        # a 429 is a function's too where the authorizer passes a token over its limits (usage policies)
        for status in ("401", "403", "429") if route.authorized else ("401", "403"):
            for media in responses.get(status, {}).get("content", {}).values():
                assert media["schema"] == {"$ref": "#/components/schemas/Refusal"}, (route, status)


def test_every_operation_that_answers_412_declares_if_match():
    document = json.loads(DOCUMENT.read_text())
    conditional = []
    for route in documented_routes():
        operation = document["paths"][route.path][route.method.lower()]
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert ("If-Match" in headers) == ("412" in operation["responses"]), route
        assert "428" not in operation["responses"], route  # If-Match is never required
        conditional += ["If-Match" in headers]
    assert sum(conditional) == 12  # 8 token changes (admin's included), 3 webhook changes, an organization's policy


def test_timestamps_and_ids_declare_their_format():
    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]

    def formats(schema, name):
        prop = schema["properties"][name]
        return {option.get("format") for option in prop.get("anyOf", [prop])} - {None}

    for model, names in {
        "Token": ("created_at", "modified_at", "expires_at", "last_used_at", "revoked_at"),
        "TokenEvent": ("occurred_at",),
        "AuditStamp": ("at",),
        "Session": ("expires_at",),
        "Webhook": ("created_at", "modified_at"),
        "WebhookDelivery": ("attempted_at", "next_retry_at"),
    }.items():
        for name in names:
            assert formats(schemas[model], name) == {"date-time"}, (model, name)
    for model, name in (
        ("Token", "id"),
        ("TokenEvent", "token_id"),
        ("Webhook", "id"),
        ("WebhookDelivery", "webhook_id"),
    ):
        assert formats(schemas[model], name) == {"uuid"}, (model, name)


def test_the_console_session_scheme_is_declared():
    schemes = json.loads(DOCUMENT.read_text())["components"]["securitySchemes"]
    assert schemes["sessionCookie"] == {**schemes["sessionCookie"], "type": "apiKey", "in": "cookie"}
    assert schemes["sessionCookie"]["name"] == "__Host-tokensmith_session"
    assert schemes["sessionAuth"] == {**schemes["sessionAuth"], "type": "http", "scheme": "Session"}


def test_every_tag_is_declared_and_the_license_is_named():
    document = json.loads(DOCUMENT.read_text())
    declared = {tag["name"] for tag in document["tags"]}
    used = {tag for path in document["paths"].values() for op in path.values() for tag in op.get("tags", [])}
    assert used == declared
    assert document["info"]["license"]["identifier"] == "Apache-2.0"


def test_the_webhook_url_pattern_is_https_only():
    """The server refuses http:// receivers (tokensmith.webhooks.egress); so does the document."""
    import re

    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]
    for name in ("CreateWebhookRequest", "UpdateWebhookRequest"):
        prop = schemas[name]["properties"]["url"]
        pattern = next(option for option in prop.get("anyOf", [prop]) if "pattern" in option)["pattern"]
        assert re.match(pattern, "HTTPS://hooks.example.com/x") and re.match(pattern, "https://hooks.example.com/x")
        assert not re.match(pattern, "http://hooks.example.com/x"), name
