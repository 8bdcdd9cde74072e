"""Dummy credentials and a DynamoDB client factory for local endpoints (no AWS account involved)."""

from __future__ import annotations

from typing import Any

REGION = "us-east-1"
LOCAL_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


def client(service: str, endpoint_url: str, config: Any = None) -> Any:
    """A boto3 client of `service` for `endpoint_url` with dummy credentials, region us-east-1."""
    import boto3  # heavy: imported only when used

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=config,
    )


def dynamodb_client(endpoint_url: str, *, timeout_seconds: float = 10.0, attempts: int = 3) -> Any:
    """A DynamoDB client for `endpoint_url` (see `client`) with bounded retries and timeouts."""
    from botocore.config import Config

    return client(
        "dynamodb",
        endpoint_url,
        Config(
            retries={"max_attempts": attempts, "mode": "standard"},
            connect_timeout=min(timeout_seconds, 2.0),
            read_timeout=timeout_seconds,
        ),
    )
