"""Create the resources of infra/definition.py with boto3 (the local emulator, or a test's moto)."""
from __future__ import annotations

import json
from typing import Any, Callable

from infra import definition


class Provisioner:
    """Walks the definition and creates each resource it knows how to make, in dependency order."""

    def __init__(self, session: Any, stage: str, sender_domain: str, endpoint_url: str | None = None):
        self.stage = stage
        self.template = definition.resources(stage, sender_domain)
        self._client = lambda service: session.client(service, endpoint_url=endpoint_url)
        self.made: dict[str, str] = {}   # logical id -> what Ref answers (name, URL or ARN)
        self.arns: dict[str, str] = {}   # logical id -> what Fn::GetAtt Arn answers

    def run(self) -> dict[str, str]:
        handlers: dict[str, Callable[[str, dict], None]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::SES::ConfigurationSet": self._configuration_set,
            "AWS::SES::ConfigurationSetEventDestination": self._event_destination,
            "AWS::SES::EmailIdentity": self._identity,
        }
        pending = dict(self.template)
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                if not self._ready(resource):
                    continue
                handlers[resource["Type"]](logical_id, self._resolve(resource["Properties"]))
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise RuntimeError(f"Unresolvable references in {sorted(pending)}")
        return self.made

    # --- references -------------------------------------------------------------------------
    def _refs(self, value: Any) -> set[str]:
        if isinstance(value, dict):
            if "Ref" in value:
                return {value["Ref"]}
            if "Fn::GetAtt" in value:
                return {value["Fn::GetAtt"][0]}
            return set().union(*(self._refs(v) for v in value.values())) if value else set()
        if isinstance(value, list):
            return set().union(*(self._refs(v) for v in value)) if value else set()
        return set()

    def _ready(self, resource: dict) -> bool:
        return self._refs(resource.get("Properties", {})) <= set(self.made)

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "Ref" in value:
                return self.made[value["Ref"]]
            if "Fn::GetAtt" in value:
                logical_id, attribute = value["Fn::GetAtt"]
                assert attribute == "Arn", attribute
                return self.arns[logical_id]
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    # --- resource types ---------------------------------------------------------------------
    def _table(self, logical_id: str, props: dict) -> None:
        dynamodb = self._client("dynamodb")
        create = {k: props[k] for k in ("TableName", "BillingMode", "AttributeDefinitions", "KeySchema")}
        if "GlobalSecondaryIndexes" in props:
            create["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        create["SSESpecification"] = {"Enabled": True}
        try:
            arn = dynamodb.create_table(**create)["TableDescription"]["TableArn"]
        except dynamodb.exceptions.ResourceInUseException:
            arn = dynamodb.describe_table(TableName=props["TableName"])["Table"]["TableArn"]
        if "TimeToLiveSpecification" in props:
            spec = props["TimeToLiveSpecification"]
            dynamodb.update_time_to_live(
                TableName=props["TableName"],
                TimeToLiveSpecification={"AttributeName": spec["AttributeName"], "Enabled": spec["Enabled"]},
            )
        self.made[logical_id] = props["TableName"]
        self.arns[logical_id] = arn

    def _queue(self, logical_id: str, props: dict) -> None:
        sqs = self._client("sqs")
        attributes = {
            key: (json.dumps(value) if isinstance(value, dict) else str(value).lower() if isinstance(value, bool)
                  else str(value))
            for key, value in props.items() if key != "QueueName"
        }
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.made[logical_id] = url
        self.arns[logical_id] = arn

    def _topic(self, logical_id: str, props: dict) -> None:
        arn = self._client("sns").create_topic(Name=props["TopicName"])["TopicArn"]
        self.made[logical_id] = arn
        self.arns[logical_id] = arn

    def _subscription(self, logical_id: str, props: dict) -> None:
        response = self._client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes={"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()},
            ReturnSubscriptionArn=True,
        )
        self.made[logical_id] = response["SubscriptionArn"]

    def _queue_policy(self, logical_id: str, props: dict) -> None:
        sqs = self._client("sqs")
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        self.made[logical_id] = ",".join(props["Queues"])

    def _configuration_set(self, logical_id: str, props: dict) -> None:
        sesv2 = self._client("sesv2")
        try:
            sesv2.create_configuration_set(ConfigurationSetName=props["Name"])
        except sesv2.exceptions.AlreadyExistsException:
            pass
        self.made[logical_id] = props["Name"]

    def _event_destination(self, logical_id: str, props: dict) -> None:
        destination = props["EventDestination"]
        ses = self._client("ses")
        try:
            ses.create_configuration_set_event_destination(
                ConfigurationSetName=props["ConfigurationSetName"],
                EventDestination={
                    "Name": destination["Name"],
                    "Enabled": destination["Enabled"],
                    "MatchingEventTypes": destination["MatchingEventTypes"],
                    "SNSDestination": {"TopicARN": destination["SnsDestination"]["TopicARN"]},
                },
            )
        except ses.exceptions.EventDestinationAlreadyExistsException:
            pass
        self.made[logical_id] = destination["Name"]

    def _identity(self, logical_id: str, props: dict) -> None:
        sesv2 = self._client("sesv2")
        try:
            sesv2.create_email_identity(EmailIdentity=props["EmailIdentity"])
        except sesv2.exceptions.AlreadyExistsException:
            pass
        # The emulator verifies domains on request, as SES does once DKIM records are published.
        self._client("ses").verify_domain_identity(Domain=props["EmailIdentity"])
        self.made[logical_id] = props["EmailIdentity"]


def provision(settings: Any) -> dict[str, str]:
    """Create every resource for `settings` (stage, region, endpoint); safe to run again."""
    import boto3

    session = boto3.session.Session(region_name=settings.region)
    return Provisioner(session, settings.stage, settings.sender_domain, settings.aws_endpoint).run()
