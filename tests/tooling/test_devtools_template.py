"""devtools.template: parsing template.yaml into routes, table arguments and the functions' environment."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.local_aws import dynamodb_client
from devtools.template import (
    DEFAULT_TEMPLATE,
    HttpRoute,
    TemplateError,
    authorizer_function,
    create_table,
    function_environment,
    http_routes,
    load_template,
    table_create_kwargs,
)

ROOT = DEFAULT_TEMPLATE.parent


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(DEFAULT_TEMPLATE)


def fake_template(**extra_resources: Any) -> dict[str, Any]:
    """A minimal SAM template: one HttpApi with a default authorizer and three functions."""
    return {
        "Parameters": {"Greeting": {"Type": "String", "Default": "hello"}},
        "Globals": {
            "Function": {
                "Handler": "app.handler",
                "Environment": {"Variables": {"GREETING": {"Ref": "Greeting"}}},
            }
        },
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "Auth": {
                        "DefaultAuthorizer": "Gate",
                        "Authorizers": {"Gate": {"FunctionArn": {"Fn::GetAtt": ["GateFunction", "Arn"]}}},
                    }
                },
            },
            "GateFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "gate/", "Handler": "auth.check"},
            },
            "PrivateFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "private/",
                    "Events": {
                        "Get": {
                            "Type": "HttpApi",
                            "Properties": {"ApiId": {"Ref": "Api"}, "Method": "get", "Path": "/things/{id}"},
                        },
                        "Timer": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}},
                    },
                },
            },
            "PublicFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "public/",
                    "Handler": "main.entry",
                    "Events": {
                        "Post": {
                            "Type": "HttpApi",
                            "Properties": {
                                "ApiId": {"Ref": "Api"},
                                "Method": "POST",
                                "Path": "/open",
                                "Auth": {"Authorizer": "NONE"},
                            },
                        }
                    },
                },
            },
            **extra_resources,
        },
    }


# --- load_template ---------------------------------------------------------------------------------------


def test_short_form_intrinsics_become_long_form(tmp_path: Path) -> None:
    # Given a template using the short tags
    path = tmp_path / "template.yaml"
    path.write_text(
        "A: !Ref Param\n"
        "B: !Sub '${AWS::Region}-x'\n"
        "C: !GetAtt Table.StreamArn\n"
        "D: !GetAtt [Table, Arn]\n"
        "E: !If [IsProd, 1, !Ref AWS::NoValue]\n"
        "F: !Join ['', [a, !Ref B]]\n"
        "G: !Sub ['${X}', {X: !Ref Y}]\n"
        "H: !Equals [a, b]\n"
        "I: !GetAtt Nested.Outputs.Value\n",
        encoding="utf-8",
    )
    # When it is loaded
    loaded = load_template(path)
    # Then every tag has become its JSON form
    assert loaded == {
        "A": {"Ref": "Param"},
        "B": {"Fn::Sub": "${AWS::Region}-x"},
        "C": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "D": {"Fn::GetAtt": ["Table", "Arn"]},
        "E": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
        "F": {"Fn::Join": ["", ["a", {"Ref": "B"}]]},
        "G": {"Fn::Sub": ["${X}", {"X": {"Ref": "Y"}}]},
        "H": {"Fn::Equals": ["a", "b"]},
        "I": {"Fn::GetAtt": ["Nested", "Outputs.Value"]},
    }


def test_the_real_template_loads_with_its_intrinsics(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "TokensTable"}
    auth = template["Resources"]["TokensmithApi"]["Properties"]["Auth"]
    assert auth["Authorizers"]["TokenAuthorizer"]["FunctionArn"] == {
        "Fn::GetAtt": ["AuthorizerFunction", "Arn"]
    }


# --- routes ---------------------------------------------------------------------------------------------------


def test_routes_of_the_real_template(template: dict[str, Any]) -> None:
    routes = http_routes(template)
    keys = [route.route_key for route in routes]
    assert len(keys) == len(set(keys)), "a route is declared twice"
    by_key = {route.route_key: route for route in routes}
    assert by_key["GET /v1/tokens/self"] == HttpRoute(
        method="GET",
        path="/v1/tokens/self",
        function_id="GetSelfFunction",
        code_uri="functions/get_self/",
        handler="app.handler",
        authorized=True,
    )
    assert {"POST /v1/tokens", "GET /v1/tokens/{id}", "PATCH /v1/admin/tokens/{id}"} <= set(by_key)
    for route in routes:  # every route's code is where the template says
        assert (ROOT / route.code_uri / "app.py").is_file(), route


def test_routes_follow_events_auth_and_handler_defaults() -> None:
    routes = {route.function_id: route for route in http_routes(fake_template())}
    # Given a function without its own Handler, one with Auth NONE, and a Schedule event that is no route
    assert routes["PrivateFunction"] == HttpRoute(
        "GET", "/things/{id}", "PrivateFunction", "private/", "app.handler", True
    )
    assert routes["PublicFunction"] == HttpRoute(
        "POST", "/open", "PublicFunction", "public/", "main.entry", False
    )
    assert len(routes) == 2


def test_routes_are_unauthorized_when_the_api_has_no_default_authorizer() -> None:
    template = fake_template()
    del template["Resources"]["Api"]["Properties"]["Auth"]["DefaultAuthorizer"]
    assert [route.authorized for route in http_routes(template)] == [False, False]


def test_authorizer_function(template: dict[str, Any]) -> None:
    assert authorizer_function(template) == ("functions/authorizer/", "app.handler")
    assert authorizer_function(fake_template()) == ("gate/", "auth.check")


def test_authorizer_function_without_an_authorizer_is_an_error() -> None:
    template = fake_template()
    del template["Resources"]["Api"]["Properties"]["Auth"]
    with pytest.raises(TemplateError, match="DefaultAuthorizer"):
        authorizer_function(template)


# --- the table -------------------------------------------------------------------------------------------------


def test_table_create_kwargs_of_the_real_template(template: dict[str, Any]) -> None:
    kwargs = table_create_kwargs(template, "my-table")
    assert kwargs["TableName"] == "my-table"
    assert kwargs["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in kwargs
    assert kwargs["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (index,) = kwargs["GlobalSecondaryIndexes"]
    assert index == {
        "IndexName": "by-organization",
        "KeySchema": [
            {"AttributeName": "org_pk", "KeyType": "HASH"},
            {"AttributeName": "org_sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    # Every key attribute is defined, and nothing else (DynamoDB rejects both mistakes)
    defined = {definition["AttributeName"] for definition in kwargs["AttributeDefinitions"]}
    used = {key["AttributeName"] for key in kwargs["KeySchema"] + index["KeySchema"]}
    assert defined == used


def test_table_create_kwargs_for_a_provisioned_table() -> None:
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "AttributeDefinitions": [
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        },
    }
    kwargs = table_create_kwargs(fake_template(Things=table), "t", logical_id="Things")
    assert kwargs["BillingMode"] == "PROVISIONED"
    assert kwargs["ProvisionedThroughput"] == {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    assert kwargs["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 5,
    }
    assert "StreamSpecification" not in kwargs


def test_create_table_in_moto_has_the_index_and_ttl(moto_endpoint: str, template: dict[str, Any]) -> None:
    # Given the embedded moto server
    client = dynamodb_client(moto_endpoint)
    name = f"t-{uuid.uuid4().hex[:8]}"
    # When the template's table is created there
    table = create_table(client, template, name)
    # Then it is ACTIVE with the by-organization index, and TTL is on purge_at
    assert table["TableStatus"] == "ACTIVE"
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["by-organization"]
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "purge_at"}
    # And the index answers queries
    client.put_item(
        TableName=name,
        Item={
            "pk": {"S": "TOKEN#1"},
            "sk": {"S": "TOKEN"},
            "org_pk": {"S": "ORG#a"},
            "org_sk": {"S": "2026#1"},
        },
    )
    found = client.query(
        TableName=name,
        IndexName="by-organization",
        KeyConditionExpression="org_pk = :org",
        ExpressionAttributeValues={":org": {"S": "ORG#a"}},
    )["Items"]
    assert [item["pk"]["S"] for item in found] == ["TOKEN#1"]
    client.delete_table(TableName=name)


# --- environment -----------------------------------------------------------------------------------------------


def test_function_environment_of_the_real_template(template: dict[str, Any]) -> None:
    environment = function_environment(template, {"TokenPrefix": "acme"}, {"TokensTable": "tokensmith-local"})
    assert environment == {
        "TABLE_NAME": "tokensmith-local",
        "TOKEN_PREFIX": "acme",  # the override
        "MAX_TOKEN_LIFETIME_DAYS": "365",  # a Number default, as a string
        "RETENTION_DAYS": "90",
        "SCOPE_CATALOG": "",
        "POWERTOOLS_SERVICE_NAME": "tokensmith",
        "POWERTOOLS_METRICS_NAMESPACE": "Tokensmith",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_function_environment_needs_every_resource_ref(template: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="TokensTable"):
        function_environment(template, {}, {})


def test_function_environment_resolves_sub_join_and_function_overrides() -> None:
    template = fake_template()
    template["Globals"]["Function"]["Environment"]["Variables"].update(
        {
            "ARN": {"Fn::Sub": "${Table.Arn}/index/*"},
            "WHERE": {"Fn::Sub": ["${AWS::Region}:${Name}", {"Name": {"Ref": "Greeting"}}]},
            "LIST": {"Fn::Join": [",", ["a", {"Ref": "Greeting"}]]},
            "FLAG": True,
            "LITERAL": {"Fn::Sub": "${!NotResolved}"},
        }
    )
    template["Resources"]["PublicFunction"]["Properties"]["Environment"] = {"Variables": {"GREETING": "own"}}
    refs = {"Table.Arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t"}

    environment = function_environment(template, {}, refs)
    assert environment == {
        "GREETING": "hello",
        "ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/*",
        "WHERE": "us-east-1:hello",
        "LIST": "a,hello",
        "FLAG": "true",
        "LITERAL": "${NotResolved}",
    }
    assert function_environment(template, {}, refs, function_id="PublicFunction")["GREETING"] == "own"
