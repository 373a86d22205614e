"""The packaged template, read as an operator would: SES leaves our mail alone, each function's role holds only its
list, the alarms and the dashboard watch what matters, the API logs and throttles, and the data survives mistakes."""
from __future__ import annotations

import json
import re
import zipfile
from typing import Any

import pytest

from chalicelib.services.feedback import ses_events
from infra import definition, operations
from infra.package import PROJECT_DIR

pytestmark = pytest.mark.xdist_group("package")   # the session's one package (conftest.py: `packaged`)


def resources_of(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def functions(template: dict) -> dict[str, dict]:
    return resources_of(template, "AWS::Serverless::Function")


# --- SES must not rewrite our mail ---------------------------------------------------------------
def test_ses_publishes_what_the_consumer_applies_and_never_opens_or_clicks(template):
    # Given the configuration set's event destination
    destination = template["Resources"]["SesEventsDestination"]["Properties"]["EventDestination"]
    published = {t.lower() for t in destination["MatchingEventTypes"]}

    # Then open and click are not subscribed (SES would add its pixel and rewrite every link, ours included)
    assert not published & {"open", "click"}
    # And every event the feedback consumer acts on is published, spelled as CloudFormation wants it
    applied = {t.value.replace(" ", "").lower() for t in ses_events.APPLIED}
    assert applied <= published
    assert published <= {"bounce", "complaint", "delivery", "reject", "renderingfailure"}
    # And SES's engagement tracking stays off even if the account turns on Virtual Deliverability Manager
    configuration_set = template["Resources"]["SesConfigurationSet"]["Properties"]
    assert configuration_set["VdmOptions"]["DashboardOptions"]["EngagementMetrics"] == "DISABLED"
    assert "TrackingOptions" not in configuration_set


# --- least privilege: each function's role, against its list -------------------------------------
SENDER_IDENTITY = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderDomain}"
CONFIGURATION_SET = ("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                     "configuration-set/${SesConfigurationSet}")
STAGE_IDENTITIES = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
TABLE_ACTIONS = {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                 "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                 "dynamodb:Query", "dynamodb:UpdateItem"}
SEND = {"sqs:GetQueueUrl", "sqs:SendMessage"}
CONSUME = {"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}
MAIL = {"ses:SendEmail", "ses:SendRawEmail"}
TTL_TABLES = ["credentials", "throttles", "events", "deliveries", "exports", "notices", "reputation"]


def grants(*, scans=(), sends_to=(), consumes=None, mails=False, as_customers=False, domains=None, buckets=None):
    """The (action, resource) pairs a function may hold, written out here on purpose: not read from infra/."""
    allowed: set[tuple[str, str]] = set()
    for logical in definition.TABLES:
        table = definition.table_id(logical)
        allowed |= {(a, table) for a in TABLE_ACTIONS} | {(a, f"{table}/index/*") for a in TABLE_ACTIONS}
    allowed |= {(a, definition.DATA_KEY) for a in ("kms:Decrypt", "kms:GenerateDataKey")}
    allowed |= {("secretsmanager:GetSecretValue", "Secret")}   # every function reads the keys when it starts
    allowed |= {(a, "*") for a in ("xray:PutTraceSegments", "xray:PutTelemetryRecords")}   # active tracing
    allowed |= {("dynamodb:Scan", definition.table_id(t)) for t in scans}
    allowed |= {(a, definition.queue_id(q)) for q in sends_to for a in SEND}
    if consumes:
        allowed |= {(a, definition.queue_id(consumes)) for a in CONSUME}
    if mails:
        allowed |= {(a, r) for a in MAIL for r in (SENDER_IDENTITY, CONFIGURATION_SET)}
    if as_customers:
        allowed |= {(a, r) for a in MAIL for r in ("tagged:" + STAGE_IDENTITIES, CONFIGURATION_SET)}
    if domains == "manage":
        allowed |= {(a, "tagged:" + STAGE_IDENTITIES) for a in
                    ("ses:CreateEmailIdentity", "ses:TagResource", "ses:GetEmailIdentity", "ses:DeleteEmailIdentity")}
    if domains == "remove":
        allowed |= {("ses:DeleteEmailIdentity", "tagged:" + STAGE_IDENTITIES)}
    for bucket, level in (buckets or {}).items():
        bucket_id = {"exports": definition.EXPORTS_BUCKET_ID, "uploads": definition.UPLOADS_BUCKET_ID}[bucket]
        objects = {"s3:DeleteObject"} | ({"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"}
                                         if level == "write" else set())
        allowed |= {(a, f"{bucket_id}/*") for a in objects} | {("s3:ListBucket", bucket_id)}
    return allowed


PURGE = {"domains": "remove", "buckets": {"exports": "delete"}}
ALLOWED = {
    "APIHandler": grants(scans=["accounts"], sends_to=["fanout", "exports", "imports", "password-resets"], mails=True,
                         as_customers=True, domains="manage", buckets={"exports": "write", "uploads": "write"})
                  | {("secretsmanager:GetSecretValue", "LinkDistributionToken")},   # whose reader headers to trust
    "StartDueCampaigns": grants(sends_to=["fanout"]),
    "FanoutCampaign": grants(consumes="fanout", sends_to=["fanout", "send"]),
    "SendChunk": grants(consumes="send", mails=True, as_customers=True),
    "ApplyFeedback": grants(consumes="feedback", mails=True),
    "ExportAccount": grants(consumes="exports", sends_to=["exports"], mails=True, buckets={"exports": "write"}),
    "ImportList": grants(consumes="imports", sends_to=["imports"], buckets={"uploads": "write"}),
    "PublishReputation": grants(mails=True),
    "SendResetLinks": grants(consumes="password-resets", mails=True),
    "SendNoticeDigests": grants(mails=True),
    "PurgeClosedAccounts": grants(**PURGE),
    "PurgeInactiveAccounts": grants(scans=["accounts"], mails=True, **PURGE),
    "ExpireCredits": grants(scans=["accounts"]),
    "ExpireTrials": grants(scans=["accounts"]),
    "PurgeUnconfirmedSubscribers": grants(scans=["lists"]),
    "PurgeExpiredItems": grants(scans=TTL_TABLES),
    "ResumeRetention": grants(scans=["jobs", "accounts", "lists", *TTL_TABLES], mails=True, **PURGE),
}
BASELINE = grants()   # a function nobody listed: its tables, the data key and the keys' secret, nothing else


def resource_name(resource: Any) -> str:
    if resource == "*":   # X-Ray's trace writes name no resource
        return resource
    if "Fn::GetAtt" in resource:
        return resource["Fn::GetAtt"][0]
    if "Ref" in resource:
        return resource["Ref"]
    sub = resource["Fn::Sub"]
    match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/.*)", sub)
    return match.group(1) + match.group(2) if match else sub


def held(template: dict, function: str) -> set[tuple[str, str]]:
    """What `function`'s role allows, as (action, resource); identities reached through the stage tag only are
    "tagged:<arn>", and any other condition fails the test (it would have to be read)."""
    role = functions(template)[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    pairs = set()
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            condition = statement.get("Condition")
            prefix = ""
            if condition is not None:
                [(key, value)] = condition["StringEquals"].items()
                assert key in ("aws:ResourceTag/mailroom:stage", "aws:RequestTag/mailroom:stage")
                assert value == {"Ref": "Stage"} and len(condition) == 1
                prefix = "tagged:"
            pairs |= {(action, prefix + resource_name(r)) for action in statement["Action"]
                      for r in statement["Resource"]}
            if prefix == "" and any(resource_name(r).endswith("identity/*") for r in statement["Resource"]):
                raise AssertionError(f"{function} reaches every SES identity, not only the stage's")
    return pairs


def test_every_function_has_its_own_role_holding_nothing_beyond_its_list(template):
    # Given the packaged functions
    by_function = functions(template)
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in by_function.values()]

    # Then no two functions share a role
    assert len(set(roles)) == len(roles)
    assert set(ALLOWED) <= set(by_function)
    for function in by_function:
        # And each role holds its own log group and nothing beyond its list
        pairs = held(template, function)
        logs = {(a, f"{function}LogGroup") for a in ("logs:CreateLogStream", "logs:PutLogEvents")}
        assert logs <= pairs, function
        beyond = pairs - logs - ALLOWED.get(function, BASELINE)
        assert not beyond, f"{function}'s role grew beyond its list: {sorted(beyond)}"


def test_the_roles_hold_the_lines_r32_draws(template):
    every = {function: held(template, function) for function in functions(template)}
    api = every["APIHandler"]
    # The API never publishes to the events topic nor feeds the feedback queue
    assert not any(action.startswith("sns:") for action, _ in api)
    assert not any(resource == definition.queue_id("feedback") and action == "sqs:SendMessage"
                   for action, resource in api)
    # Only SES publishes to the events topic: no role may
    assert not any(action == "sns:Publish" for pairs in every.values() for action, _ in pairs)
    # Customers' domains are mailed from by the sender and the API's test copies only, and only if the stage's
    mailing = {f for f, pairs in every.items() if ("ses:SendEmail", "tagged:" + STAGE_IDENTITIES) in pairs}
    assert mailing == {"SendChunk", "APIHandler"}
    # Only the functions that scan may Scan, and only the tables they sweep
    scanners = {f for f, pairs in every.items() if any(a == "dynamodb:Scan" for a, _ in pairs)}
    assert scanners == {"APIHandler", "PurgeInactiveAccounts", "ExpireCredits", "ExpireTrials",
                        "PurgeUnconfirmedSubscribers", "PurgeExpiredItems", "ResumeRetention"}
    assert {r for a, r in api if a == "dynamodb:Scan"} == {definition.table_id("accounts")}
    # Each consumer consumes its own queue and no other
    for function, queue in (("SendChunk", "send"), ("ApplyFeedback", "feedback"), ("ImportList", "imports")):
        consumed = {r for a, r in every[function] if a == "sqs:ReceiveMessage"}
        assert consumed == {definition.queue_id(queue)}


def test_every_function_and_the_api_stage_are_traced_and_only_traces_reach_every_resource(template):
    # Given the packaged functions and the API
    by_function = functions(template)

    # Then Lambda traces every function actively, and API Gateway starts the API's traces
    assert {name: f["Properties"].get("Tracing") for name, f in by_function.items()} == dict.fromkeys(
        by_function, "Active")
    assert template["Resources"]["RestAPI"]["Properties"]["TracingEnabled"] is True
    # And every role may write traces, the one grant without a resource, and nothing else is granted so
    for function in by_function:
        unscoped = {action for action, resource in held(template, function) if resource == "*"}
        assert unscoped == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, function


# --- alarms and the dashboard ---------------------------------------------------------------------
def alarms(template: dict) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in resources_of(template, "AWS::CloudWatch::Alarm").items()}


def watched(template: dict, namespace: str, metric: str) -> list[dict]:
    return [a for a in alarms(template).values() if a["Namespace"] == namespace and a["MetricName"] == metric]


def test_every_alarm_tells_the_operator_by_email(template):
    assert template["Resources"]["OperationsEmailSubscription"]["Properties"]["Endpoint"] == {"Ref": "OperationsEmail"}
    assert "Default" not in template["Parameters"]["OperationsEmail"]
    assert alarms(template)
    for alarm in alarms(template).values():
        assert alarm["AlarmActions"] == [{"Ref": operations.OPERATIONS_TOPIC}]
        assert "docs/operations.md" in alarm["AlarmDescription"]


def test_a_message_in_any_dead_letter_queue_raises_an_alarm(template):
    dead_letters = watched(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched_queues = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in dead_letters if a["Threshold"] <= 1}
    assert watched_queues == {definition.dead_letter_queue_id(q) for q in definition.QUEUES}


def test_each_function_has_an_errors_and_a_throttles_alarm(template):
    for metric in ("Errors", "Throttles"):
        alarmed = {a["Dimensions"][0]["Value"]["Ref"] for a in watched(template, "AWS/Lambda", metric)}
        assert alarmed == set(functions(template)), metric


def test_the_api_5xx_and_the_send_and_feedback_queues_age_raise_alarms(template):
    [api] = watched(template, "AWS/ApiGateway", "5XXError")
    assert {d["Name"]: d["Value"] for d in api["Dimensions"]} == {"ApiName": "mailroom", "Stage": "api"}
    aged = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: a["Threshold"]
            for a in watched(template, "AWS/SQS", "ApproximateAgeOfOldestMessage")}
    assert set(aged) == {definition.queue_id("send"), definition.queue_id("feedback")}
    assert all(0 < seconds <= 3600 for seconds in aged.values())


def test_reputation_alarms_ring_before_ses_reviews_the_account(template):
    # SES reviews an account at a 5% bounce and a 0.1% complaint rate (fractions in AWS/SES)
    [bounces] = watched(template, "AWS/SES", "Reputation.BounceRate")
    [complaints] = watched(template, "AWS/SES", "Reputation.ComplaintRate")
    assert 0 < bounces["Threshold"] < 0.05 and 0 < complaints["Threshold"] < 0.001
    # The reputation guard's service-wide daily rates (percent), published with service=reputation
    for metric, review_line in (("ServiceHardBounceRate", 5), ("ServiceComplaintRate", 0.1)):
        [alarm] = watched(template, "mailroom", metric)
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "reputation"}]
        assert 0 < alarm["Threshold"] < review_line


def test_the_dashboard_shows_sends_throttles_queues_feedback_errors_and_cold_starts(template):
    # Given the dashboard's body, as CloudFormation would substitute it
    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    shown = {(m[0], m[1]) for w in widgets for m in w["properties"]["metrics"]}

    # Then it shows what an operator looks at first
    assert {("mailroom", "EmailsSent"), ("mailroom", "SesThrottles"), ("mailroom", "ColdStarts"),
            ("mailroom", "FeedbackLagged"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
            ("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("AWS/Lambda", "Errors"),
            ("mailroom", "Delivery_applied")} <= shown
    # And each of its own metrics is published: by a metric filter on the logs, or by publish_counts
    filtered = {t["MetricName"] for f in resources_of(template, "AWS::Logs::MetricFilter").values()
                for t in f["Properties"]["MetricTransformations"]}
    published_by_code = {"Delivery_applied", "Bounce_applied", "Complaint_applied", "Reject_applied",
                         "campaigns_stopped", "ServiceHardBounceRate", "ServiceComplaintRate"}
    assert {metric for namespace, metric in shown if namespace == "mailroom"} <= filtered | published_by_code
    # And every function's cold starts are counted
    cold = {f["Properties"]["LogGroupName"]["Ref"] for f in resources_of(template, "AWS::Logs::MetricFilter").values()
            if f["Properties"]["MetricTransformations"][0]["MetricName"] == "ColdStarts"}
    assert cold == {f"{function}LogGroup" for function in functions(template)}


def test_the_log_lines_the_metric_filters_read_are_the_ones_the_sender_writes():
    # Given the sender's source: the metric filters read its "chunk sent" and "feedback lags" lines and their fields
    source = (PROJECT_DIR / "chalicelib/services/campaigns/sender.py").read_text()
    for pattern, _metric, value, _function in operations.LOG_METRICS.values():
        message = re.search(r'\$\.message = "([^"]+)"', pattern).group(1)
        # Then the sender still writes that line, with the field the metric takes its value from
        assert f'logger.info("{message}"' in source, message
        if value.startswith("$."):
            assert f'"{value[2:]}":' in source, value


# --- the API ---------------------------------------------------------------------------------------
def test_the_api_logs_each_request_without_personal_data_and_throttles(template):
    api = template["Resources"]["RestAPI"]["Properties"]
    log_group = template["Resources"][api["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]]
    assert log_group["Type"] == "AWS::Logs::LogGroup" and 0 < log_group["Properties"]["RetentionInDays"] <= 90
    fields = json.loads(api["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "route"} <= set(fields)
    # Signed tokens travel in paths (/c/…, /u/…): the route's template is logged, never the path or the caller's IP
    assert fields["route"] == "$context.resourcePath"
    assert not any(v in ("$context.path", "$context.identity.sourceIp") for v in fields.values())
    [settings] = api["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert 0 < settings["ThrottlingRateLimit"] <= settings["ThrottlingBurstLimit"]


def test_api_gateways_own_refusals_answer_in_the_error_shape_with_their_status(template):
    responses = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"]
    expected = {"THROTTLED": (429, "rate_limited"), "QUOTA_EXCEEDED": (429, "rate_limited"),
                "ACCESS_DENIED": (403, "forbidden"), "UNAUTHORIZED": (401, "unauthorized"),
                "REQUEST_TOO_LARGE": (413, "too_large"), "BAD_REQUEST_BODY": (400, "malformed_request"),
                "INTEGRATION_TIMEOUT": (504, "upstream_unavailable"),
                "MISSING_AUTHENTICATION_TOKEN": (404, "not_found")}
    for kind, (status, code) in expected.items():
        body = json.loads(responses[kind]["responseTemplates"]["application/json"])
        assert (responses[kind]["statusCode"], body["error"]["code"]) == (status, code), kind
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)


# --- the data survives mistakes ----------------------------------------------------------------------
def test_each_queue_hides_a_message_for_six_times_its_consumers_timeout(template):
    for function in functions(template).values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            queue = template["Resources"][event["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
            assert queue["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"], queue["QueueName"]


def test_queues_buckets_and_tables_outlive_a_deleted_stack_and_tables_refuse_deletion(template):
    kept = {**resources_of(template, "AWS::SQS::Queue"), **resources_of(template, "AWS::S3::Bucket"),
            **resources_of(template, "AWS::DynamoDB::Table")}
    assert len(kept) == 2 * len(definition.QUEUES) + 2 + len(definition.TABLES)
    for logical_id, resource in kept.items():
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", logical_id
    for logical_id, table in resources_of(template, "AWS::DynamoDB::Table").items():
        assert table["Properties"]["DeletionProtectionEnabled"] is True, logical_id
        recovery = table["Properties"]["PointInTimeRecoverySpecification"]
        assert recovery["PointInTimeRecoveryEnabled"] is True and 1 <= recovery["RecoveryPeriodInDays"] <= 35



# --- the zips -------------------------------------------------------------------------------------
def test_the_zips_ship_bytecode_lambda_uses_unchecked_and_the_locked_dependencies(packaged):  # noqa: F811
    from importlib.util import MAGIC_NUMBER

    from infra.bundle import pins

    for name in ("deployment.zip", "layer-deployment.zip"):
        with zipfile.ZipFile(packaged / name) as bundle:
            names = set(bundle.namelist())
            modules = [n for n in names if n.endswith(".py")]
            # Then every module has its bytecode for Python 3.11 beside it (Lambda cannot write any)...
            missing = [m for m in modules if
                       f"{m.rsplit('/', 1)[0] + '/' if '/' in m else ''}__pycache__/"
                       f"{m.rsplit('/', 1)[-1][:-3]}.cpython-311.pyc" not in names]
            assert modules and not missing, (name, missing[:5])
            # ...hash-based and unchecked: used as it is, whatever times the unzipped sources carry
            header = bundle.read("__pycache__/app.cpython-311.pyc" if name == "deployment.zip" else
                                 next(n for n in names if n.endswith("boto3/__pycache__/__init__.cpython-311.pyc")))
            assert header[:4] == MAGIC_NUMBER and int.from_bytes(header[4:8], "little") == 0b01
    # And the layer holds each package at the version requirements.lock holds
    with zipfile.ZipFile(packaged / "layer-deployment.zip") as layer:
        installed = {m.group(1).lower().replace("_", "-"): m.group(2) for m in
                     (re.match(r".*/([^/]+)-([^-/]+)\.dist-info/METADATA$", n) for n in layer.namelist()) if m}
    assert installed == pins((PROJECT_DIR / "requirements.lock").read_text())
