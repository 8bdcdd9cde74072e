"""Transform template.yaml the way CloudFormation's SAM transform does, for checkov.

checkov reads CloudFormation; in SAM's short form it cannot see the IAM roles, event source mappings,
API stages and permissions that the transform generates. This writes the transformed template (JSON) with
aws-sam-translator, the library behind both `sam build`/`sam deploy` and the server-side transform. The
parameters keep their defaults. Run by `make checkov`, from the `iac` dependency group.

    python -m devtools.checkov_template [--template template.yaml] [--output .aws-sam/checkov/template.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform

from devtools.template import DEFAULT_TEMPLATE, PSEUDO_PARAMETERS, load_template


class _NoManagedPolicies:
    """The template names no AWS-managed policy by its short name, so no lookup in IAM is needed."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(path: str | Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    parameters = {
        "AWS::Region": PSEUDO_PARAMETERS["AWS::Region"],
        "AWS::AccountId": PSEUDO_PARAMETERS["AWS::AccountId"],
        "AWS::Partition": PSEUDO_PARAMETERS["AWS::Partition"],
    }
    template = load_template(path)
    for resource in template["Resources"].values():  # what `sam package` does: local folders become S3 objects
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://packaged-artifacts/{properties[key].strip('/')}"
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO_PARAMETERS["AWS::Region"])  # the translator asks boto3
    result = transform(template, parameters, _NoManagedPolicies())
    # SAM drops a function's Metadata from the AWS::Lambda::Function it generates (same logical id): carry
    # the checkov skips across, so that each skip and its reason stay written where the resource is.
    for logical_id, resource in load_template(path)["Resources"].items():
        skips = (resource.get("Metadata") or {}).get("checkov")
        generated = result["Resources"].get(logical_id)
        if skips and generated is not None:
            generated.setdefault("Metadata", {})["checkov"] = skips
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE))
    parser.add_argument("--output", default=".aws-sam/checkov/template.json")
    args = parser.parse_args()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(transformed(args.template), indent=1, default=str))
    print(f"{args.template} -> {output} (SAM-transformed, for checkov)")


if __name__ == "__main__":
    main()
