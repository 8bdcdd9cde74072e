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
    ScheduledFunction,
    TemplateError,
    UnsupportedScheduleError,
    authorizer_function,
    create_table,
    function_environment,
    http_routes,
    load_template,
    schedule_interval_seconds,
    scheduled_functions,
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
    assert auth["Authorizers"]["TokenAuthorizer"]["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}


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
    assert {"POST /v1/tokens", "GET /v1/tokens/{token_id}", "PATCH /v1/admin/tokens/{token_id}"} <= set(by_key)
    for route in routes:  # every route's code is where the template says
        assert (ROOT / route.code_uri / "app.py").is_file(), route


def test_routes_follow_events_auth_and_handler_defaults() -> None:
    routes = {route.function_id: route for route in http_routes(fake_template())}
    # Given a function without its own Handler, one with Auth NONE, and a Schedule event that is no route
    assert routes["PrivateFunction"] == HttpRoute(
        "GET", "/things/{id}", "PrivateFunction", "private/", "app.handler", True
    )
    assert routes["PublicFunction"] == HttpRoute("POST", "/open", "PublicFunction", "public/", "main.entry", False)
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
    indexes = {index["IndexName"]: index for index in kwargs["GlobalSecondaryIndexes"]}
    assert indexes["by-organization"] == {
        "IndexName": "by-organization",
        "KeySchema": [
            {"AttributeName": "org_pk", "KeyType": "HASH"},
            {"AttributeName": "org_sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    # Every index of the template, with its projection as written (INCLUDE keeps its NonKeyAttributes)
    declared = template["Resources"]["TokensTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert kwargs["GlobalSecondaryIndexes"] == [
        {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
        for index in declared
    ]
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    # Every key attribute is defined, and nothing else (DynamoDB rejects both mistakes)
    defined = {definition["AttributeName"] for definition in kwargs["AttributeDefinitions"]}
    used = {
        key["AttributeName"] for key in kwargs["KeySchema"] + [key for index in declared for key in index["KeySchema"]]
    }
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
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "b"]},
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
    assert kwargs["GlobalSecondaryIndexes"][0]["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["a", "b"],
    }
    assert "StreamSpecification" not in kwargs


def test_create_table_in_moto_has_the_index_and_ttl(moto_endpoint: str, template: dict[str, Any]) -> None:
    # Given the embedded moto server
    client = dynamodb_client(moto_endpoint)
    name = f"t-{uuid.uuid4().hex[:8]}"
    # When the template's table is created there
    table = create_table(client, template, name)
    # Then it is ACTIVE with the template's indexes, and TTL is on purge_at
    assert table["TableStatus"] == "ACTIVE"
    declared = template["Resources"]["TokensTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {
        index["IndexName"] for index in declared
    }
    assert "by-organization" in {index["IndexName"] for index in declared}
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
        "EXPIRY_NOTICE_DAYS": "7,1",
        "SESSION_IDLE_MINUTES": "30",
        "SESSION_MAX_HOURS": "12",
        "POWERTOOLS_SERVICE_NAME": "tokensmith",
        "POWERTOOLS_METRICS_NAMESPACE": "Tokensmith",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
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


# --- schedules -------------------------------------------------------------------------------------------------


def test_scheduled_functions_of_the_real_template(template: dict[str, Any]) -> None:
    schedules = scheduled_functions(template)
    sweep = next(schedule for schedule in schedules if schedule.function_id == "ExpireTokensFunction")
    assert (sweep.code_uri, sweep.handler) == ("functions/expire_tokens/", "app.handler")
    assert sweep.event_type == "ScheduleV2"
    assert sweep.expression == template["Parameters"]["SweepSchedule"]["Default"]  # the !Ref, resolved
    assert sweep.timeout_seconds == template["Resources"]["ExpireTokensFunction"]["Properties"]["Timeout"]
    assert schedule_interval_seconds(sweep.expression) > 0
    assert (ROOT / sweep.code_uri / "app.py").is_file()
    # A parameter override changes the expression
    (overridden,) = [
        schedule
        for schedule in scheduled_functions(template, {"SweepSchedule": "rate(5 minutes)"})
        if schedule.function_id == "ExpireTokensFunction"
    ]
    assert overridden.expression == "rate(5 minutes)"


def schedule_template() -> dict[str, Any]:
    """fake_template() plus a function with two ScheduleV2 events, one disabled and with its own Input."""
    template = fake_template(
        SweepFunction={
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "sweep/",
                "Timeout": {"Ref": "SweepTimeout"},
                "MemorySize": 1024,
                "Events": {
                    "Often": {
                        "Type": "ScheduleV2",
                        "Properties": {"ScheduleExpression": {"Ref": "Every"}, "RetryPolicy": {}},
                    },
                    "Nightly": {
                        "Type": "ScheduleV2",
                        "Properties": {
                            "ScheduleExpression": "cron(0 3 * * ? *)",
                            "Name": {"Fn::Sub": "${AWS::StackName}-nightly"},
                            "GroupName": "maintenance",
                            "Input": '{"mode": "full"}',
                            "State": "DISABLED",
                        },
                    },
                },
            },
        }
    )
    template["Parameters"].update(
        {
            "Every": {"Type": "String", "Default": "rate(2 minutes)"},
            "SweepTimeout": {"Type": "Number", "Default": 45},
        }
    )
    template["Globals"]["Function"]["Timeout"] = 20
    return template


def test_scheduled_functions_resolve_refs_globals_and_event_properties() -> None:
    schedules = scheduled_functions(schedule_template(), {"Every": "rate(3 hours)"})
    assert schedules == [
        # the classic EventBridge rule of fake_template(): Handler and Timeout from Globals
        ScheduledFunction(
            function_id="PrivateFunction",
            code_uri="private/",
            handler="app.handler",
            expression="rate(1 minute)",
            timeout_seconds=20.0,
            event_id="Timer",
            event_type="Schedule",
            schedule_name="tokensmith-local-PrivateFunctionTimer",
        ),
        ScheduledFunction(
            function_id="SweepFunction",
            code_uri="sweep/",
            handler="app.handler",
            expression="rate(3 hours)",  # the override of the !Ref
            timeout_seconds=45.0,  # its own Timeout, a !Ref to a Number parameter
            event_id="Often",
            event_type="ScheduleV2",
            schedule_name="tokensmith-local-SweepFunctionOften",
            memory_mb=1024,
        ),
        ScheduledFunction(
            function_id="SweepFunction",
            code_uri="sweep/",
            handler="app.handler",
            expression="cron(0 3 * * ? *)",
            timeout_seconds=45.0,
            event_id="Nightly",
            event_type="ScheduleV2",
            schedule_name="tokensmith-local-nightly",
            group_name="maintenance",
            input='{"mode": "full"}',
            enabled=False,
            memory_mb=1024,
        ),
    ]
    assert schedules[0].arn == ("arn:aws:events:us-east-1:123456789012:rule/tokensmith-local-PrivateFunctionTimer")
    assert schedules[2].arn == (
        "arn:aws:scheduler:us-east-1:123456789012:schedule/maintenance/tokensmith-local-nightly"
    )


def test_a_template_without_schedules_has_none() -> None:
    template = fake_template()
    del template["Resources"]["PrivateFunction"]["Properties"]["Events"]["Timer"]
    assert scheduled_functions(template) == []


@pytest.mark.parametrize(
    ("event_properties", "message"),
    [
        ({}, "SweepFunction.Events.Often has no ScheduleExpression"),
        ({"ScheduleExpression": {"Ref": "Undeclared"}}, "Undeclared"),
        ({"ScheduleExpression": "rate(1 minute)", "Input": "{not json"}, "Input is not JSON"),
    ],
)
def test_unusable_schedule_events_are_template_errors(event_properties: dict[str, Any], message: str) -> None:
    template = schedule_template()
    events = template["Resources"]["SweepFunction"]["Properties"]["Events"]
    events["Often"]["Properties"] = event_properties
    with pytest.raises(TemplateError, match=message):
        scheduled_functions(template)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(12 hours)", 43200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
        ("rate(1 second)", 1),  # not accepted by AWS; a local convenience
        ("rate(30 seconds)", 30),
        ("  rate( 2   minutes )  ", 120),
    ],
)
def test_schedule_interval_of_rate_expressions(expression: str, seconds: float) -> None:
    assert schedule_interval_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["cron(0 12 * * ? *)", "at(2026-12-01T09:00:00)"])
def test_cron_and_at_are_unsupported_with_a_clear_error(expression: str) -> None:
    with pytest.raises(UnsupportedScheduleError) as raised:
        schedule_interval_seconds(expression)
    assert repr(expression) in str(raised.value)
    assert "rate(...)" in str(raised.value) and "--schedule-interval" in str(raised.value)


@pytest.mark.parametrize(
    "expression",
    ["rate(0 minutes)", "rate(1 fortnight)", "rate(minute)", "rate(1.5 hours)", "every minute", ""],
)
def test_malformed_rate_expressions_are_errors_naming_them(expression: str) -> None:
    with pytest.raises(TemplateError) as raised:
        schedule_interval_seconds(expression)
    assert not isinstance(raised.value, UnsupportedScheduleError)
    assert repr(expression) in str(raised.value)
