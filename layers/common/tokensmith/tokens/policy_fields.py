"""A token's usage-policy fields as stored on its item: their names, and the stored form of validated
request values (``meta`` as its JSON text). No pydantic here: the services and rules that write tokens use
these on every route, the read-only ones included, whose functions never import pydantic
(docs/performance.md, *Cold start*); the fields' shapes and bounds are ``tokens.policies``'.
"""

from __future__ import annotations

import json
from typing import Any

POLICY_FIELDS = ("ratelimits", "credits", "allowed_cidrs", "meta")


def meta_text(meta: dict[str, Any]) -> str:
    """``meta`` as stored and as the authorizer passes it on: compact JSON."""
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False)


def stored_policy_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Request policy fields (validated, as plain values) → stored attributes: ``meta`` as its
    JSON text, an empty list or object as absent (None)."""
    values: dict[str, Any] = {}
    for key in ("ratelimits", "allowed_cidrs"):
        if key in fields:
            values[key] = fields[key] or None
    if "credits" in fields:
        values["credits"] = fields["credits"]
    if "meta" in fields:
        values["meta"] = meta_text(fields["meta"]) if fields["meta"] else None
    return values
