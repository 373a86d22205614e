"""How the deployed stack is watched: the operations topic, its alarms, the metrics read from the logs, the dashboard,
and the API's access log. docs/operations.md says what each alarm means and what to do.

Merged into the packaged template by infra/package.py (none of it exists in the local emulator).
"""
from __future__ import annotations

import json
from typing import Any

from infra import definition

OPERATIONS_TOPIC = "OperationsTopic"
NAMESPACE = "mailroom"
ACCESS_LOG_GROUP = "ApiAccessLogGroup"

# SES puts an account under review at a 5% bounce rate and a 0.1% complaint rate; we want to hear well before.
SES_BOUNCE_RATE = 0.04        # AWS/SES Reputation.* are fractions
SES_COMPLAINT_RATE = 0.0008
# The reputation guard publishes the service-wide rates of the current UTC day in percent, every 5 minutes.
SERVICE_RATE_DIMENSIONS = [{"Name": "service", "Value": "reputation"}]
SERVICE_HARD_BOUNCE_PERCENT = 4.0
SERVICE_COMPLAINT_PERCENT = 0.08
# The sender waits for feedback before each chunk (R22): a feedback queue this far behind holds campaigns back; a
# send queue this far behind means campaigns are not leaving.
OLDEST_MESSAGE_S = {"send": 900, "feedback": 600}
API_5XX_PER_5_MINUTES = 1

# The API's own throttle, below the account's regional limit so one stage cannot starve the others.
API_RATE_PER_S = 200
API_BURST = 400
ACCESS_LOG_RETENTION_DAYS = 30
# No IP address, no path (its tokens are signed links), no query: the route's template and the outcome.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "time": "$context.requestTimeEpoch", "method": "$context.httpMethod",
    "route": "$context.resourcePath", "status": "$context.status", "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus", "responseType": "$context.error.responseType",
}, separators=(",", ":"))

# Metrics read from the functions' JSON logs (chalicelib/log.py): logical id -> (log line, metric, value, function).
LOG_METRICS: dict[str, tuple[str, str, str, str]] = {
    "SentMetric": ('{ $.message = "chunk sent" }', "EmailsSent", "$.sent", "SendChunk"),
    "ThrottledMetric": ('{ $.message = "chunk sent" }', "SesThrottles", "$.throttled", "SendChunk"),
    "FeedbackLagMetric": ('{ $.message = "feedback lags; sending on" }', "FeedbackLagged", "1", "SendChunk"),
}
# Lambda's REPORT line carries "Init Duration" only after a cold start.
COLD_START_PATTERN = '"Init Duration"'


def parameters() -> dict[str, Any]:
    return {
        "OperationsEmail": {
            "Type": "String",
            "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            "Description": "Where the alarms go: the operator's email, subscribed to the operations topic (confirm "
                           "the subscription from the email AWS sends after the first deploy).",
        },
    }


def _alarm(description: str, namespace: str, metric: str, dimensions: list[dict[str, Any]], statistic: str,
           threshold: float, period: int = 300, evaluations: int = 1) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": evaluations,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": OPERATIONS_TOPIC}],
            "OKActions": [{"Ref": OPERATIONS_TOPIC}],
        },
    }


def _queue_dimension(logical_id: str) -> list[dict[str, Any]]:
    return [{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical_id, "QueueName"]}}]


def _function_dimension(function: str) -> list[dict[str, Any]]:
    return [{"Name": "FunctionName", "Value": {"Ref": function}}]


def alarms(functions: list[str], api: tuple[str, str] | None) -> dict[str, dict[str, Any]]:
    """Every alarm, by logical id (docs/operations.md has a section per kind)."""
    out: dict[str, dict[str, Any]] = {}
    for logical in definition.QUEUES:
        dlq = definition.dead_letter_queue_id(logical)
        out[f"{dlq}NotEmptyAlarm"] = _alarm(
            f"Messages of the {logical} queue failed {definition.MAX_RECEIVES} times and wait in its dead-letter "
            "queue. docs/operations.md: 'A dead-letter queue is not empty'.",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", _queue_dimension(dlq), "Maximum", 1)
    for logical, seconds in OLDEST_MESSAGE_S.items():
        queue = definition.queue_id(logical)
        out[f"{queue}AgeAlarm"] = _alarm(
            f"The oldest message of the {logical} queue has waited {seconds // 60} minutes or more. "
            "docs/operations.md: 'A queue falls behind'.",
            "AWS/SQS", "ApproximateAgeOfOldestMessage", _queue_dimension(queue), "Maximum", seconds,
            evaluations=2)
    for function in functions:
        out[f"{function}ErrorsAlarm"] = _alarm(
            f"{function} failed (an unhandled error or a timeout). docs/operations.md: 'A function fails'.",
            "AWS/Lambda", "Errors", _function_dimension(function), "Sum", 1)
        out[f"{function}ThrottlesAlarm"] = _alarm(
            f"Lambda throttled {function}. docs/operations.md: 'A function is throttled'.",
            "AWS/Lambda", "Throttles", _function_dimension(function), "Sum", 1)
    if api is not None:
        out["Api5xxAlarm"] = _alarm(
            "The API answered 5XX. docs/operations.md: 'The API answers 5XX'.", "AWS/ApiGateway", "5XXError",
            [{"Name": "ApiName", "Value": api[0]}, {"Name": "Stage", "Value": api[1]}], "Sum", API_5XX_PER_5_MINUTES)
    out["SesBounceRateAlarm"] = _alarm(
        f"SES's bounce rate for the account reached {SES_BOUNCE_RATE:.0%} (SES reviews at 5%). "
        "docs/operations.md: 'Reputation'.",
        "AWS/SES", "Reputation.BounceRate", [], "Maximum", SES_BOUNCE_RATE, period=3600)
    out["SesComplaintRateAlarm"] = _alarm(
        f"SES's complaint rate for the account reached {SES_COMPLAINT_RATE:.2%} (SES reviews at 0.1%). "
        "docs/operations.md: 'Reputation'.",
        "AWS/SES", "Reputation.ComplaintRate", [], "Maximum", SES_COMPLAINT_RATE, period=3600)
    out["ServiceHardBounceRateAlarm"] = _alarm(
        f"Today's service-wide hard-bounce rate reached {SERVICE_HARD_BOUNCE_PERCENT}%. "
        "docs/operations.md: 'Reputation'.",
        NAMESPACE, "ServiceHardBounceRate", SERVICE_RATE_DIMENSIONS, "Maximum", SERVICE_HARD_BOUNCE_PERCENT)
    out["ServiceComplaintRateAlarm"] = _alarm(
        f"Today's service-wide complaint rate reached {SERVICE_COMPLAINT_PERCENT}%. docs/operations.md: 'Reputation'.",
        NAMESPACE, "ServiceComplaintRate", SERVICE_RATE_DIMENSIONS, "Maximum", SERVICE_COMPLAINT_PERCENT)
    return out


def log_metrics(functions: list[str]) -> dict[str, dict[str, Any]]:
    """Metric filters: emails sent and SES throttles from the sender's "chunk sent" lines, the sender's feedback
    waits cut short, and every function's cold starts."""
    def metric_filter(function: str, pattern: str, metric: str, value: str) -> dict[str, Any]:
        return {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": f"{function}LogGroup"},
                "FilterPattern": pattern,
                "MetricTransformations": [{"MetricNamespace": NAMESPACE, "MetricName": metric, "MetricValue": value,
                                           "Unit": "Count"}],
            },
        }

    out = {logical_id: metric_filter(function, pattern, metric, value)
           for logical_id, (pattern, metric, value, function) in LOG_METRICS.items() if function in functions}
    for function in functions:
        out[f"{function}ColdStartMetric"] = metric_filter(function, COLD_START_PATTERN, "ColdStarts", "1")
    return out


def _widget(title: str, metrics: list[list[Any]], stat: str, period: int, x: int, y: int) -> dict[str, Any]:
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "metrics": metrics, "stat": stat, "period": period,
                           "region": "${AWS::Region}", "view": "timeSeries"}}


def dashboard(stage: str, functions: list[str], api: tuple[str, str] | None) -> dict[str, Any]:
    """One dashboard: sends, throttles, queues, feedback, errors, cold starts and reputation."""
    queue_names = {logical: definition.name(stage, logical) for logical in definition.QUEUES}
    depths = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name] for name in queue_names.values()]
    dead = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"{name}-dlq"]
            for name in queue_names.values()]
    ages = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", name] for name in queue_names.values()]
    function_names = {function: "${" + function + "}" for function in functions}
    errors = [["AWS/Lambda", "Errors", "FunctionName", name] for name in function_names.values()]
    throttles = [["AWS/Lambda", "Throttles", "FunctionName", name] for name in function_names.values()]
    feedback = [[NAMESPACE, f"{kind}_applied", "service", "feedback"]
                for kind in ("Delivery", "Bounce", "Complaint", "Reject")]
    widgets = [
        _widget("Emails sent per minute", [[NAMESPACE, "EmailsSent"], ["AWS/SES", "Send"]], "Sum", 60, 0, 0),
        _widget("SES throttles per minute", [[NAMESPACE, "SesThrottles"]], "Sum", 60, 12, 0),
        _widget("Queue depths", depths, "Maximum", 60, 0, 6),
        _widget("Oldest message per queue (s)", ages, "Maximum", 60, 12, 6),
        _widget("Feedback lag: the feedback queue's oldest message (s), sender waits cut short",
                [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue_names["feedback"]],
                 [NAMESPACE, "FeedbackLagged", {"yAxis": "right"}]], "Maximum", 60, 0, 12),
        _widget("Feedback applied", feedback + [[NAMESPACE, "campaigns_stopped", "service", "feedback"]],
                "Sum", 300, 12, 12),
        _widget("Function errors", errors, "Sum", 300, 0, 18),
        _widget("Function throttles", throttles, "Sum", 300, 12, 18),
        _widget("API answers", [["AWS/ApiGateway", kind, "ApiName", api[0], "Stage", api[1]]
                                for kind in ("5XXError", "4XXError")] if api else [], "Sum", 300, 0, 24),
        _widget("Cold starts", [[NAMESPACE, "ColdStarts"]], "Sum", 300, 12, 24),
        _widget("Dead-letter queues", dead, "Maximum", 300, 0, 30),
        _widget("Reputation: SES (fraction) and service-wide today (%)",
                [["AWS/SES", "Reputation.BounceRate"], ["AWS/SES", "Reputation.ComplaintRate"],
                 [NAMESPACE, "ServiceHardBounceRate", "service", "reputation", {"yAxis": "right"}],
                 [NAMESPACE, "ServiceComplaintRate", "service", "reputation", {"yAxis": "right"}]],
                "Maximum", 3600, 12, 30),
    ]
    widgets = [widget for widget in widgets if widget["properties"]["metrics"]]
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": definition.name(stage, "operations"),
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets})},
        },
    }


def resources(stage: str, functions: list[str], api: tuple[str, str] | None) -> dict[str, dict[str, Any]]:
    """The operations topic and its subscription, the alarms, the log metrics, the dashboard and, with an API
    (`api`: its name and stage name), its access log."""
    out: dict[str, dict[str, Any]] = {
        # Alarms carry names and numbers, never customer data; CloudWatch cannot publish to a topic encrypted with
        # the AWS-managed key, and giving it the data key would let it use the key on everything else.
        OPERATIONS_TOPIC: {"Type": "AWS::SNS::Topic",
                           "Properties": {"TopicName": definition.name(stage, "operations")}},
        "OperationsEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": {"Ref": OPERATIONS_TOPIC}, "Protocol": "email",
                           "Endpoint": {"Ref": "OperationsEmail"}},
        },
        "OperationsDashboard": dashboard(stage, functions, api),
    }
    out.update(log_metrics(functions))
    out.update(alarms(functions, api))
    if api is not None:
        out[ACCESS_LOG_GROUP] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": f"/aws/apigateway/{definition.name(stage, 'api-access')}",
                           "RetentionInDays": ACCESS_LOG_RETENTION_DAYS},
        }
    return out


def api_stage_settings() -> dict[str, Any]:
    """The RestAPI's access log and throttle (properties of AWS::Serverless::Api)."""
    return {
        "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": [ACCESS_LOG_GROUP, "Arn"]}, "Format": ACCESS_LOG_FORMAT},
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                            "ThrottlingRateLimit": API_RATE_PER_S, "ThrottlingBurstLimit": API_BURST}],
    }
