"""GitHub's secret scanning messages, as GitHub documents them for its partner program. Each model is
built on its first use (``defer_build``): the labels only ever describe the answer in the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

TRUE_POSITIVE = "true_positive"
FALSE_POSITIVE = "false_positive"
MAX_MATCHES = 5000  # matches in one request (GitHub sends "a large number"; ~1,000 is usual)
MAX_BODY_BYTES = 2 * 1024 * 1024  # 5,000 matches of ~400 bytes


class SecretScanningMatch(BaseModel):
    """One match GitHub found in public: the string, the type name we registered, where it was found.
    Fields GitHub may add later are ignored."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    token: str = Field(min_length=1, max_length=1024, description="The string that matched our token pattern")
    type: str = Field(min_length=1, max_length=256, description="The secret type name registered with GitHub")
    url: str | None = Field(default=None, max_length=2048, description="Where it was found (may be empty)")
    source: str | None = Field(
        default=None, max_length=64, description="What kind of place: content, commit, issue_comment, npm, ..."
    )


class SecretScanningMatches(RootModel[list[SecretScanningMatch]]):
    model_config = ConfigDict(defer_build=True)

    root: list[SecretScanningMatch] = Field(max_length=MAX_MATCHES)


class SecretScanningLabel(BaseModel):
    """GitHub's false-positive feedback for one match: never the token, its SHA-256."""

    model_config = ConfigDict(defer_build=True)

    token_hash: str = Field(description="Hex SHA-256 of the matched string")
    token_type: str = Field(description="The match's type, as GitHub sent it")
    label: Literal["true_positive", "false_positive"] = Field(
        description="true_positive: a secret this deployment issued (live or not); false_positive: anything else"
    )


class SecretScanningLabels(RootModel[list[SecretScanningLabel]]):
    model_config = ConfigDict(defer_build=True)

    root: list[SecretScanningLabel]
