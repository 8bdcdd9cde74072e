"""The template and the code agree: every HttpApi route has a function that serves exactly that
route, every function folder is in the template, and the layer ships what uv.lock pins."""

import re
import tomllib
from pathlib import Path

import pytest

from devtools.template import http_routes, load_template
from tests.support import ROOT, load_function

TEMPLATE = load_template(str(ROOT / "template.yaml"))
ROUTES = http_routes(TEMPLATE)


def function_routes(code_uri: str) -> set[tuple[str, str]]:
    module = load_function(code_uri)
    if not hasattr(module, "app"):  # a plain handler (the console's pages) lists its routes
        return set(module.ROUTES)
    app = module.app
    routes = getattr(app, "_static_routes", []) + getattr(app, "_dynamic_routes", [])
    return {(route.method.upper(), re.sub(r"<(\w+)>", r"{\1}", route.path)) for route in routes}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_each_template_route_is_served_by_its_function(route):
    served = {(r.method.upper(), r.path) for r in ROUTES if r.code_uri == route.code_uri}
    assert function_routes(route.code_uri) == served


def test_every_function_folder_is_in_the_template():
    folders = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    in_template = {
        Path(resource["Properties"]["CodeUri"]).name
        for resource in TEMPLATE["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert folders == in_template


def test_routes_are_unique():
    keys = [(r.method.upper(), r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))


def test_the_table_has_ttl_pitr_streams_and_the_organization_index():
    table = TEMPLATE["Resources"]["TokensTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "purge_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-organization", "due"]


def test_read_routes_cannot_write():
    for route in ROUTES:
        if route.method.upper() != "GET":
            continue
        properties = TEMPLATE["Resources"][route.function_id]["Properties"]
        policies = properties.get("Policies", [])
        actions = {a for policy in policies for s in policy["Statement"] for a in s["Action"]}
        assert actions <= {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}, route


def test_the_console_has_no_data_access_and_no_authorizer():
    console = TEMPLATE["Resources"]["ConsoleFunction"]["Properties"]
    assert "Policies" not in console
    assert {(r.method, r.path, r.authorized) for r in ROUTES if r.function_id == "ConsoleFunction"} == {
        ("GET", "/console", False),
        ("GET", "/console/{proxy+}", False),
    }


def test_the_authorizer_has_no_identity_source_and_cannot_cache():
    # Without an identity source API Gateway calls the authorizer for every request, so that a
    # console request carrying only its cookie reaches it; caching needs one, so a Rule forbids it.
    authorizer = TEMPLATE["Resources"]["TokensmithApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"]
    assert set(authorizer["Identity"]) == {"ReauthorizeEvery"}
    assertion = TEMPLATE["Rules"]["AuthorizerCacheNeedsIdentitySources"]["Assertions"][0]["Assert"]
    assert assertion == {"Fn::Equals": [{"Ref": "AuthorizerCacheTtlSeconds"}, 0]}


def test_the_layer_ships_the_locked_runtime_versions():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    shipped = {}
    for line in (ROOT / "layers/common/requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            shipped[name.strip()] = version.split(";")[0].strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in project:
        name = requirement.split("==")[0]
        assert name in shipped, f"{name} missing from layers/common/requirements.txt (make layer-requirements)"
    for name, version in shipped.items():
        assert locked.get(name) == version, f"{name}: layer {version}, uv.lock {locked.get(name)}"


def test_every_function_has_a_sample_event():
    for folder in (ROOT / "functions").iterdir():
        assert (ROOT / "events" / f"{folder.name}.json").exists(), folder.name
