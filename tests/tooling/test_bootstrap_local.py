"""`make bootstrap ... ENDPOINT=<the local run's DynamoDB>` on a machine without any AWS configuration: it
used to fail for want of a region and credentials, which a DynamoDB on this machine never checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devtools.embedded_dynamodb import embedded_dynamodb
from devtools.local_aws import dynamodb_client
from devtools.template import PROJECT_ROOT, create_table, load_template
from tokensmith.bootstrap import local_aws_defaults


def test_bootstrap_against_a_local_endpoint_needs_no_aws_configuration(tmp_path: Path) -> None:
    # Given the local run's table and an environment with no AWS variable and no ~/.aws
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(HOME=str(tmp_path), PYTHONPATH=str(PROJECT_ROOT / "layers" / "common"))
    with embedded_dynamodb() as endpoint:
        create_table(dynamodb_client(endpoint), load_template(), "tokensmith-bootstrap-local")
        # When the README's bootstrap command runs against it
        command = [sys.executable, "-m", "tokensmith.bootstrap", "--table", "tokensmith-bootstrap-local"]
        result = subprocess.run(
            [*command, "--endpoint-url", endpoint], env=environment, capture_output=True, text=True, timeout=120
        )
    # Then it prints a secret
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("tks_"), result.stdout


def test_dummy_credentials_never_replace_real_ones() -> None:
    environment = {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_SECRET_ACCESS_KEY": "x"}
    local_aws_defaults(environment)
    assert environment == {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAREAL",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    profile = {"AWS_PROFILE": "dev"}
    local_aws_defaults(profile)
    assert profile == {"AWS_PROFILE": "dev", "AWS_DEFAULT_REGION": "us-east-1"}
