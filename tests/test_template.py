"""The template and the code agree: every HttpApi route has a function that serves exactly that
route, every function folder is in the template, and the layer ships what uv.lock pins."""

import json
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
    routes = module.app.all_routes
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
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == [
        "by-organization",
        "by-owner",
        "by-status",
        "by-owner-status",
        "by-expiry",
        "due",
    ]


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
        ("GET", "/", False),
        ("ANY", "$default", False),
    }


@pytest.mark.parametrize("path", ["/", "/console/"])
def test_the_root_and_console_slash_redirect_to_the_console(path):
    console = load_function("functions/console")
    route_key = "GET /" if path == "/" else "$default"
    answer = console.handler(
        {"rawPath": path, "routeKey": route_key, "requestContext": {"http": {"method": "GET"}}}, None
    )

    assert (answer["statusCode"], answer["headers"]["Location"]) == (302, "/console")


def test_any_other_unmatched_request_is_api_gateways_own_404():
    console = load_function("functions/console")
    event = {"rawPath": "/nowhere", "routeKey": "$default", "requestContext": {"http": {"method": "POST"}}}
    answer = console.handler(event, None)

    assert (answer["statusCode"], answer["body"]) == (404, '{"message":"Not Found"}')


def test_the_authorizer_reads_the_authorization_header_and_cannot_cache():
    # The Authorization header is the identity source (Bearer, or the console's "Session <csrf>"):
    # API Gateway answers 401 to a request without it. A cache keyed on it alone would let a
    # "Session <csrf>" through without its cookie, so a Rule keeps caching off.
    authorizer = TEMPLATE["Resources"]["TokensmithApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"]
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assertion = TEMPLATE["Rules"]["AuthorizerCacheStaysOff"]["Assertions"][0]["Assert"]
    assert assertion == {"Fn::Equals": [{"Ref": "AuthorizerCacheTtlSeconds"}, 0]}


def test_the_verify_cache_is_off_by_default_at_most_5_seconds_and_reaches_both_verifiers():
    parameter = TEMPLATE["Parameters"]["VerifyCacheSeconds"]
    assert parameter["Default"] == 0 and max(parameter["AllowedValues"]) == 5
    readers = {
        function_id
        for function_id, resource in TEMPLATE["Resources"].items()
        if "VERIFY_CACHE_SECONDS" in ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables", {})
    }
    assert readers == {"AuthorizerFunction", "VerifyTokenFunction"}


def test_only_the_current_session_route_is_open_to_the_cookie_alone():
    # A reloaded console page has its cookie but no CSRF token yet: that one route checks the cookie
    # itself; every other route without the authorizer takes no credentials at all.
    open_routes = {(r.method, r.path) for r in ROUTES if not r.authorized}
    assert ("GET", "/v1/sessions/current") in open_routes
    assert ("DELETE", "/v1/sessions/current") not in open_routes


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


# --- operations: alarms, logs, least privilege (README, "Operating Tokensmith") -------------------------------

ALARMS = {k: r for k, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
FUNCTIONS = [k for k, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
QUEUES = [k for k, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::SQS::Queue"]


def _target(value) -> str | None:
    """The logical id named by `!Ref X` / `!GetAtt X.Attr`, else None."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def alarm_metrics(alarm: dict) -> list[tuple[str, str, dict]]:
    """(namespace, metric name, {dimension: logical id or literal}) of every metric an alarm reads."""
    properties = alarm["Properties"]
    stats = [properties] if "MetricName" in properties else []
    stats += [m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m]
    found = []
    for stat in stats:
        namespace = stat["Namespace"]
        if isinstance(namespace, dict):  # !Sub "Tokensmith/${AWS::StackName}"
            namespace = namespace["Fn::Sub"]
        dimensions = {}
        for dimension in stat.get("Dimensions", []):
            value = dimension["Value"]
            dimensions[dimension["Name"]] = _target(value) or (
                value.get("Fn::Sub") if isinstance(value, dict) else value
            )
        found.append((namespace, stat["MetricName"], dimensions))
    return found


def alarms_reading(namespace: str, metric: str, **dimensions: str) -> list[str]:
    return [
        name
        for name, alarm in ALARMS.items()
        if any(
            (ns, m) == (namespace, metric) and all(dims.get(k) == v for k, v in dimensions.items())
            for ns, m, dims in alarm_metrics(alarm)
        )
    ]


# Every failure mode of issue 17 and the metric that shows it. Adding a failure mode = adding a line here.
FAILURE_MODES = {
    "the authorizer fails (fails closed)": ("AWS/Lambda", "Errors", {"FunctionName": "AuthorizerFunction"}),
    "the authorizer refuses because DynamoDB failed": ("Tokensmith/${AWS::StackName}", "AuthorizerFailures", {}),
    "the authorizer nears its timeout": ("AWS/Lambda", "Duration", {"FunctionName": "AuthorizerFunction"}),
    "HTTP API 5xx rate": ("AWS/ApiGateway", "5xx", {"ApiId": "TokensmithApi"}),
    "HTTP API 4xx spike": ("AWS/ApiGateway", "4xx", {"ApiId": "TokensmithApi"}),
    "DynamoDB throttles reads": ("AWS/DynamoDB", "ReadThrottleEvents", {"TableName": "TokensTable"}),
    "DynamoDB throttles writes": ("AWS/DynamoDB", "WriteThrottleEvents", {"TableName": "TokensTable"}),
    "DynamoDB system errors": ("AWS/DynamoDB", "SystemErrors", {"TableName": "TokensTable"}),
    "the publisher lags behind the stream": ("AWS/Lambda", "IteratorAge", {"FunctionName": "PublishEventsFunction"}),
    "publisher dead letters": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "PublisherDeadLetterQueue"},
    ),
    "webhook dead letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "WebhookDeadLetterQueue"}),
    "leak reports dead-lettered": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "LeakedTokensDeadLetterQueue"},
    ),
    "leak reports wait for revocation": (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": "LeakedTokensQueue"},
    ),
    "organization policy pages dead-lettered": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "OrganizationPolicyDeadLetterQueue"},
    ),
    "organization policy pages wait for their copy": (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": "OrganizationPolicyQueue"},
    ),
    "webhook delivery failure rate": ("Tokensmith", "webhook.retried", {"service": "tokensmith"}),
    "webhooks dead-lettered by the function": ("Tokensmith", "webhook.dead_lettered", {"service": "tokensmith"}),
    "the expiry sweep lags": ("Tokensmith", "ExpiryLag", {"service": "tokensmith"}),
    "the expiry sweep stopped running": ("Tokensmith", "TokensExpired", {"service": "tokensmith"}),
}


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_every_function_has_an_errors_and_throttles_alarm(function_id):
    errors = alarms_reading("AWS/Lambda", "Errors", FunctionName=function_id)
    throttles = alarms_reading("AWS/Lambda", "Throttles", FunctionName=function_id)
    assert set(errors) & set(throttles), f"{function_id} has no alarm on its Errors and Throttles"


@pytest.mark.parametrize("queue_id", QUEUES)
def test_every_queue_has_an_alarm(queue_id):
    assert any(
        ns == "AWS/SQS" and dims.get("QueueName") == queue_id
        for a in ALARMS.values()
        for ns, _, dims in alarm_metrics(a)
    ), f"{queue_id} has no alarm"


@pytest.mark.parametrize("queue_id", QUEUES)
def test_every_queue_is_on_the_dashboard(queue_id):
    dashboard = TEMPLATE["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert f"${{{queue_id}.QueueName}}" in dashboard, f"{queue_id} has no widget on the dashboard"


@pytest.mark.parametrize("queue_id", [q for q in QUEUES if "DeadLetter" in q])
def test_every_dead_letter_queue_alarms_on_its_depth(queue_id):
    assert alarms_reading("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName=queue_id), queue_id


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_every_failure_mode_has_an_alarm(mode):
    namespace, metric, dimensions = FAILURE_MODES[mode]
    assert alarms_reading(namespace, metric, **dimensions), f"no alarm for: {mode}"


def test_the_sweep_alarm_treats_missing_data_as_breaching():
    [name] = alarms_reading("Tokensmith", "TokensExpired")
    assert ALARMS[name]["Properties"]["TreatMissingData"] == "breaching"


@pytest.mark.parametrize("alarm_id", ALARMS)
def test_every_alarm_is_named_described_and_notifies_the_topic(alarm_id):
    properties = ALARMS[alarm_id]["Properties"]
    topic = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
    assert properties["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-")
    description = properties["AlarmDescription"]
    description = description.get("Fn::Sub", "") if isinstance(description, dict) else description
    assert "Runbook: README, Operating Tokensmith" in description
    assert properties["AlarmActions"] == [topic] and properties["OKActions"] == [topic]


def test_every_runbook_line_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for alarm in ALARMS.values():
        name = alarm["Properties"]["AlarmName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
        if name.endswith("Function-errors"):
            name = "<function>-errors"
        assert f"`{name}`" in readme, f"README, Operating Tokensmith: no runbook entry for {name}"


def test_the_alarms_and_the_dashboard_name_metrics_the_code_emits():
    code = "\n".join(
        p.read_text() for p in [*(ROOT / "layers/common/tokensmith").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    )
    dashboard = TEMPLATE["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    emf = {m for a in ALARMS.values() for ns, m, _ in alarm_metrics(a) if ns == "Tokensmith"}
    emf |= set(re.findall(r'"Tokensmith", "([\w.]+)"', dashboard))
    emf |= set(re.findall(r'\[\s*"\.",\s*"([\w.]+)"', dashboard)) & {
        "TokensExpired",
        "webhook.retried",
        "webhook.gone",
        "webhook.dead_lettered",
    }
    assert emf
    for metric in emf:
        assert f'"{metric}"' in code, f"{metric}: no code emits it"
    assert 'Metrics(namespace="Tokensmith", service="tokensmith")' in code


def test_every_function_logs_into_a_declared_log_group_with_retention():
    for function_id in FUNCTIONS:
        properties = TEMPLATE["Resources"][function_id]["Properties"]
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert TEMPLATE["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_the_api_access_log_has_the_fields_and_never_a_header():
    api = TEMPLATE["Resources"]["TokensmithApi"]["Properties"]["AccessLogSettings"]
    group = _target(api["DestinationArn"])
    assert TEMPLATE["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    fields = json.loads(api["Format"])
    for name in ("requestId", "requestTime", "routeKey", "status", "responseLatency", "sourceIp", "userAgent"):
        assert name in fields
    assert fields["authorizerError"] == "$context.authorizer.error"
    assert fields["integrationError"] == "$context.integration.error"
    assert "header" not in api["Format"].lower() and "cookie" not in api["Format"].lower()


# --- least privilege ----------------------------------------------------------------------------------------


def statements(function_id: str) -> list[dict]:
    properties = TEMPLATE["Resources"][function_id]["Properties"]
    return [s for policy in properties.get("Policies", []) for s in policy["Statement"]]


def test_no_function_gets_an_aws_managed_event_source_policy():
    # SAM attaches AWSLambdaDynamoDBExecutionRole / AWSLambdaSQSQueueExecutionRole (actions on "*") for
    # these events: the template writes AWS::Lambda::EventSourceMapping resources and scoped statements.
    for function_id in FUNCTIONS:
        events = TEMPLATE["Resources"][function_id]["Properties"].get("Events") or {}
        assert not {e["Type"] for e in events.values()} & {"DynamoDB", "SQS", "Kinesis", "MSK", "MQ"}, function_id
        for statement in statements(function_id):
            assert statement["Resource"] != "*", function_id
        assert "ManagedPolicyArns" not in TEMPLATE["Resources"][function_id]["Properties"]


PARTITIONS = {  # what each function may touch of the table (its key prefixes), from the code
    "AuthorizerFunction": {"TOKEN#*", "SESSION#*", "RATE#*", "CREDITS#*"},  # + usage counters
    "VerifyTokenFunction": {"TOKEN#*", "RATE#*", "CREDITS#*"},
    "CreateTokenFunction": {"TOKEN#*", "NAME#*", "CREDITS#*", "ORGPOLICY#*"},  # + credits, the org policy check
    "UpdateTokenFunction": {"TOKEN#*", "NAME#*", "CREDITS#*", "ORGPOLICY#*"},
    "ReplaceTokenFunction": {"TOKEN#*", "NAME#*", "CREDITS#*", "ORGPOLICY#*"},
    "AdminUpdateTokenFunction": {"TOKEN#*", "NAME#*", "CREDITS#*", "ORGPOLICY#*"},
    "GetOrganizationPolicyFunction": {"ORGPOLICY#*"},
    "GetTokenFunction": {"TOKEN#*", "CREDITS#*"},  # the credits left now
    "GetTokenUsageFunction": {"TOKEN#*", "CREDITS#*", "RATE#*"},  # the token and its counters
    "GetSelfFunction": {"TOKEN#*", "CREDITS#*"},
    "PutOrganizationPolicyFunction": {"ORGPOLICY#*"},  # the policy; its copy on each token is queued
    # the policy, its copy, its enforce (a revocation moves the credits counter's purge_at)
    "PropagateOrgPolicyFunction": {"ORGPOLICY#*", "TOKEN#*", "NAME#*", "CREDITS#*"},
    "RevokeTokenFunction": {"TOKEN#*", "NAME#*", "CREDITS#*"},  # the counter's purge_at moves with the token's
    "DeleteTokenFunction": {"TOKEN#*", "NAME#*", "CREDITS#*"},
    "CreateSessionFunction": {"TOKEN#*", "SESSION#*"},
    "GetSessionFunction": {"TOKEN#*", "SESSION#*"},
    "DeleteSessionFunction": {"TOKEN#*", "SESSION#*"},
    "RevokeLeakedWorkerFunction": {"TOKEN#*", "NAME#*", "CREDITS#*"},
    "ExpireTokensFunction": {"TOKEN#*", "NAME#*", "CREDITS#*"},  # an inactive token's credits counter
    "DeliverWebhooksFunction": {"WEBHOOK#*"},
    "CreateWebhookFunction": {"WEBHOOK#*", "ENDPOINTS#*"},
    "GetWebhookFunction": {"WEBHOOK#*"},
    "UpdateWebhookFunction": {"WEBHOOK#*", "ENDPOINTS#*"},
    "DeleteWebhookFunction": {"WEBHOOK#*", "ENDPOINTS#*"},
    "RotateWebhookSecretFunction": {"WEBHOOK#*"},
    "ListWebhookDeliveriesFunction": {"WEBHOOK#*"},
}


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_table_access_is_limited_to_the_partitions_a_function_uses(function_id):
    table = {"Fn::GetAtt": ["TokensTable", "Arn"]}
    allowed: set[str] = set()
    for statement in statements(function_id):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Effect"] != "Allow" or table not in resources:
            continue
        leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        allowed.update(leading)
        if function_id in PARTITIONS:
            assert set(leading) <= PARTITIONS[function_id], function_id
        else:  # the token routes: tokens (with their audit events) and name guards
            assert set(leading) <= {"TOKEN#*", "NAME#*"}, function_id
    if function_id in PARTITIONS:
        assert allowed == PARTITIONS[function_id], function_id


@pytest.mark.parametrize("function_id", ["RevokeLeakedWorkerFunction", "DeliverWebhooksFunction"])
def test_internet_facing_functions_cannot_create_tokens(function_id):
    for statement in statements(function_id):
        if statement["Effect"] != "Allow" or "dynamodb:PutItem" not in statement["Action"]:
            continue
        leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        if "TOKEN#*" in leading:  # it writes audit events beside tokens: then never a secret digest
            [deny] = [s for s in statements(function_id) if s["Effect"] == "Deny"]
            assert "dynamodb:PutItem" in deny["Action"] and "dynamodb:UpdateItem" in deny["Action"]
            assert "secret_digest" in deny["Condition"]["ForAnyValue:StringEquals"]["dynamodb:Attributes"]


def test_the_public_revoke_leaked_route_only_queues():
    # Given the unauthenticated route's role: no table at all (its answer cannot depend on which secrets
    # are real), only SendMessage to its own queue; the worker reads that queue and nothing else does.
    [statement] = statements("RevokeLeakedFunction")
    assert statement == {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": {"Fn::GetAtt": ["LeakedTokensQueue", "Arn"]},
    }
    assert_only_the_worker_reads(
        "LeakedTokensQueue", "LeakedTokensDeadLetterQueue", "RevokeLeakedWorkerQueue", "RevokeLeakedWorkerFunction"
    )


def assert_only_the_worker_reads(queue_id: str, dead_letters_id: str, mapping_id: str, worker_id: str) -> None:
    """The queue's one reader is its worker, through its mapping (failures per message), and it dead-letters
    after a visibility timeout of at least 6 times the worker's Timeout (AWS's advice for a mapping)."""
    readers = {
        function_id
        for function_id in FUNCTIONS
        for s in statements(function_id)
        if s["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]} and "sqs:ReceiveMessage" in s["Action"]
    }
    assert readers == {worker_id}
    mapping = TEMPLATE["Resources"][mapping_id]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert _target(mapping["EventSourceArn"]) == queue_id
    queue = TEMPLATE["Resources"][queue_id]["Properties"]
    assert _target(queue["RedrivePolicy"]["deadLetterTargetArn"]) == dead_letters_id
    assert queue["VisibilityTimeout"] >= 6 * TEMPLATE["Resources"][worker_id]["Properties"]["Timeout"]


def test_the_policy_route_only_queues_the_copy_and_the_worker_alone_reads_the_queue():
    # Given the PUT's role: the policy item and a SendMessage to its queue, no token and no index
    put = statements("PutOrganizationPolicyFunction")
    assert not any("dynamodb:Query" in s["Action"] for s in put)
    assert {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": {"Fn::GetAtt": ["OrganizationPolicyQueue", "Arn"]},
    } in put
    assert TEMPLATE["Resources"]["PropagateOrgPolicyQueue"]["Properties"]["BatchSize"] == 1  # a page a run
    assert_only_the_worker_reads(
        "OrganizationPolicyQueue",
        "OrganizationPolicyDeadLetterQueue",
        "PropagateOrgPolicyQueue",
        "PropagateOrgPolicyFunction",
    )


def test_the_key_policy_names_who_encrypts_and_who_decrypts():
    key = TEMPLATE["Resources"]["WebhookSecretsKey"]["Properties"]["KeyPolicy"]["Statement"]
    by_action: dict[str, set[str]] = {}
    for statement in key:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        principals = statement["Principal"]["AWS"]
        principals = principals if isinstance(principals, list) else [principals]
        for action in actions:
            by_action.setdefault(action, set()).update(_target(p) or "account" for p in principals)
    assert "kms:*" not in by_action
    assert by_action["kms:Decrypt"] == {"DeliverWebhooksFunctionRole"}
    assert by_action["kms:Encrypt"] == {"CreateWebhookFunctionRole", "RotateWebhookSecretFunctionRole"}
    assert not any(
        a.startswith(("kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt", "kms:GenerateDataKey"))
        for a in by_action
        if "account" in by_action[a]
    )


def test_a_deployment_refuses_loopback_webhooks():
    assertion = TEMPLATE["Rules"]["LoopbackWebhooksOnlyLocally"]["Assertions"][0]["Assert"]
    assert assertion == {"Fn::Equals": [{"Ref": "AllowLoopbackWebhooks"}, "false"]}


def test_the_sweep_schedule_name_is_the_stacks_own():
    event = TEMPLATE["Resources"]["ExpireTokensFunction"]["Properties"]["Events"]["Sweep"]["Properties"]
    assert event["Name"] == {"Fn::Sub": "${AWS::StackName}-expiry-sweep"}


@pytest.mark.parametrize("queue_id", QUEUES)
def test_queues_keep_their_messages(queue_id):
    queue = TEMPLATE["Resources"][queue_id]
    assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Retain"


def test_every_index_of_the_table_is_watched_by_the_throttle_alarm():
    # Given the table's indexes
    indexes = {i["IndexName"] for i in TEMPLATE["Resources"]["TokensTable"]["Properties"]["GlobalSecondaryIndexes"]}
    # When the throttle alarm's metrics are read
    metrics = TEMPLATE["Resources"]["DynamoDBThrottlesAlarm"]["Properties"]["Metrics"]
    watched = {
        d["Value"]
        for m in metrics
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "GlobalSecondaryIndexName"
    }
    used = {m["Id"] for m in metrics if "MetricStat" in m}
    expression = next(m["Expression"] for m in metrics if "Expression" in m)
    # Then each index is one of its metrics, each metric counts in the expression, and the alarm
    # stays within CloudWatch's ten metrics
    assert watched == indexes
    assert all(f"FILL({i}, 0)" in expression for i in used)
    assert len(used) <= 10
