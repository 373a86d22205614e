"""The infra definition is deployable, the local provisioner makes all of it, and the models match it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.config import get_settings, parse_keys
from chalicelib.models.base import all_models
from infra import definition
from infra.package import PackageError, build, merge
from infra.provision import Provisioner

CFN_LINT = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]


def cfn_lint(template: Path) -> subprocess.CompletedProcess:
    return subprocess.run(CFN_LINT + [str(template)], capture_output=True, text=True, timeout=300)


# --- the deployable template ---------------------------------------------------------------------
# The package is built once per session (tests/integration/conftest.py: `packaged`, `template`); this module and
# tests/integration/test_template_operations.py run on one worker, so it is built once in all.
pytestmark = pytest.mark.xdist_group("package")


def test_cfn_lint_finds_no_error_or_warning_in_the_packaged_template(packaged):
    result = cfn_lint(packaged / "template.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_holds_the_app_and_its_dependencies_built_for_lambda(packaged):
    code = zipfile.ZipFile(packaged / "deployment.zip").namelist()
    layer = zipfile.ZipFile(packaged / "layer-deployment.zip").namelist()
    assert "app.py" in code and "chalicelib/config.py" in code
    assert not any(name.startswith(("local/", "infra/", "tests/")) for name in code)
    site = "python/lib/python3.11/site-packages/"
    for package in ("pynamodb/", "aws_lambda_powertools/", "argon2/", "email_validator/", "pydantic/"):
        assert any(name.startswith(site + package) for name in layer), package
    assert any(name.endswith("x86_64-linux-gnu.so") and "pydantic_core" in name for name in layer)


def test_every_function_gets_the_settings_and_never_a_literal_secret(template):
    functions = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert "APIHandler" in functions
    for logical_id, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        for name, parameter in (("MAILROOM_STAGE", "Stage"), ("MAILROOM_PUBLIC_URL", "PublicUrl"),
                                ("MAILROOM_SENDER", "Sender")):
            assert variables[name] == {"Ref": parameter}, (logical_id, name)
            assert parameter in template["Parameters"]
        assert variables["MAILROOM_SECRET_NAME"] == {"Ref": "Secret"}   # its ARN: the keys are read at run time
        assert not any("secret" in str(value).lower() for name, value in variables.items()
                       if name != "MAILROOM_SECRET_NAME"), logical_id
        assert variables["MAILROOM_SES_CONFIGURATION_SET"] == {"Ref": "SesConfigurationSet"}
        assert "MAILROOM_AWS_ENDPOINT" not in variables
    assert "Default" not in template["Parameters"]["PublicUrl"]


def _statements(template: dict) -> list[dict]:
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    return [s for role in roles for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_iam_allows_only_this_stages_resources_and_only_the_actions_the_code_uses(template):
    statements = _statements(template)
    own_ids = set(template["Resources"])
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
        if set(statement["Action"]) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}:
            assert statement["Resource"] == ["*"]   # X-Ray's trace writes (active tracing) name no resource
            continue
        for resource in statement["Resource"]:
            assert isinstance(resource, dict), f"{statement['Sid']} names a literal resource {resource!r}"
            if "Fn::GetAtt" in resource:
                assert resource["Fn::GetAtt"][0] in own_ids
            elif "Ref" in resource:
                assert resource["Ref"] in own_ids
            else:
                sub = resource["Fn::Sub"]
                assert sub.startswith(("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:", "${")), sub
    actions = {action for s in statements for action in s["Action"]}
    assert {"ses:SendEmail", "ses:SendRawEmail", "sqs:SendMessage", "dynamodb:Query"} <= actions
    assert "sns:Publish" not in actions   # only SES publishes to the events topic
    table_arns = {r["Fn::GetAtt"][0] for s in statements for r in s["Resource"] if "Fn::GetAtt" in r}
    assert {definition.table_id(t) for t in definition.TABLES} <= table_arns
    assert {definition.queue_id(q) for q in definition.QUEUES} <= table_arns


def test_the_template_holds_every_defined_resource_and_stays_in_its_region(template):
    defined = definition.resources("dev", {"Ref": "SenderDomain"})
    for logical_id, resource in defined.items():
        assert template["Resources"][logical_id] == resource
    assertion = template["Rules"]["StageRegion"]["Assertions"][0]["Assert"]
    assert assertion == {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    log_groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert log_groups and all(g["Properties"]["RetentionInDays"] > 0 for g in log_groups)


def test_the_api_returns_the_open_pixel_as_binary_whatever_the_client_accepts(template):
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["x-amazon-apigateway-binary-media-types"] == ["*/*"]


def test_merge_refuses_a_region_outside_the_eu(template):
    with pytest.raises(PackageError):
        merge({"Resources": {}}, "dev", "us-east-1")


CONSUMER_APP = '''
from chalice import Chalice, Rate

app = Chalice(app_name="consumer")


@app.on_sqs_message(queue="mailroom-dev-send", batch_size=10)
def send(event):
    return {"batchItemFailures": []}


@app.schedule(Rate(1, unit=Rate.HOURS))
def hourly(event):
    return None
'''


def consumer_project(root: Path, timeout: int) -> Path:
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(CONSUMER_APP))
    (root / "requirements.txt").write_text("")
    (root / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "consumer",
        "stages": {"dev": {"lambda_timeout": timeout, "api_gateway_endpoint_type": "REGIONAL"}},
    }))
    return root


def test_sqs_consumers_read_the_stage_queue_and_report_partial_batch_failures(tmp_path):
    # Given an app with an SQS consumer on the stage's send queue
    project = consumer_project(tmp_path / "app", timeout=30)

    # When it is packaged
    path = build("dev", "eu-west-1", tmp_path / "out", project_dir=project)

    # Then its event source is the template's queue, with ReportBatchItemFailures, and cfn-lint agrees
    template = json.loads(path.read_text())
    event = template["Resources"]["Send"]["Properties"]["Events"]["SendSqsEventSource"]["Properties"]
    assert event["Queue"] == {"Fn::GetAtt": [definition.queue_id("send"), "Arn"]}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["ScalingConfig"] == {"MaximumConcurrency": 2}   # senders at once: SES's rate, R22's one chunk
    assert event["BatchSize"] == 10
    result = cfn_lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_consumer_slower_than_a_sixth_of_its_queue_visibility_timeout_is_refused(tmp_path):
    project = consumer_project(tmp_path / "app",
                               timeout=definition.QUEUES["send"] // definition.VISIBILITY_PER_TIMEOUT + 1)
    with pytest.raises(PackageError, match="visibility timeout"):
        build("dev", "eu-west-1", tmp_path / "out", project_dir=project)


# --- drift: the provisioner makes everything the template defines ---------------------------------
def _check_table(aws, props: dict, made: str) -> None:
    table = aws("dynamodb").describe_table(TableName=props["TableName"])["Table"]
    assert table["KeySchema"] == props["KeySchema"]
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]}
    made_indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"])
                    for i in table.get("GlobalSecondaryIndexes", [])}
    defined_indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"])
                       for i in props.get("GlobalSecondaryIndexes", [])}
    assert made_indexes == defined_indexes
    assert table["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
    assert table["SSEDescription"]["Status"] == "ENABLED"
    if props["SSESpecification"].get("SSEType") == "KMS":
        assert table["SSEDescription"]["SSEType"] == "KMS"
        assert table["SSEDescription"]["KMSMasterKeyArn"].endswith(props["SSESpecification"]["KMSMasterKeyId"])
    ttl = aws("dynamodb").describe_time_to_live(TableName=props["TableName"])["TimeToLiveDescription"]
    if "TimeToLiveSpecification" in props:
        assert ttl["TimeToLiveStatus"] == "ENABLED"
        assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
    else:
        assert ttl.get("TimeToLiveStatus") != "ENABLED"
    backups = aws("dynamodb").describe_continuous_backups(TableName=props["TableName"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def _check_queue(aws, props: dict, made: str) -> None:
    url = aws("sqs").get_queue_url(QueueName=props["QueueName"])["QueueUrl"]
    attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    for key, value in props.items():
        if key == "QueueName":
            continue
        if key == "RedrivePolicy":
            made = json.loads(attributes[key])
            assert made["deadLetterTargetArn"] == value["deadLetterTargetArn"]
            assert int(made["maxReceiveCount"]) == value["maxReceiveCount"]
        else:
            assert attributes[key] == (str(value).lower() if isinstance(value, bool) else str(value)), key


def _check_topic(aws, props: dict, made: str) -> None:
    arns = [t["TopicArn"] for t in aws("sns").list_topics()["Topics"]
            if t["TopicArn"].endswith(f":{props['TopicName']}")]
    assert arns
    attributes = aws("sns").get_topic_attributes(TopicArn=arns[0])["Attributes"]
    assert attributes.get("KmsMasterKeyId") == props.get("KmsMasterKeyId")


def _check_key(aws, props: dict, key_id: str) -> None:
    metadata = aws("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyManager"] == "CUSTOMER" and metadata["KeyState"] == "Enabled"
    assert aws("kms").get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is props["EnableKeyRotation"]
    assert json.loads(aws("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == props["KeyPolicy"]


def _check_alias(aws, props: dict, made: str) -> None:
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in aws("kms").list_aliases()["Aliases"]}
    assert aliases.get(props["AliasName"]) == props["TargetKeyId"]


def _check_topic_policy(aws, props: dict, made: str) -> None:
    for arn in props["Topics"]:
        policy = aws("sns").get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
        assert json.loads(policy) == props["PolicyDocument"]


def _check_subscription(aws, props: dict, made: str) -> None:
    subscriptions = aws("sns").list_subscriptions_by_topic(TopicArn=props["TopicArn"])["Subscriptions"]
    matching = [s for s in subscriptions if s["Protocol"] == props["Protocol"] and s["Endpoint"] == props["Endpoint"]]
    assert len(matching) == 1
    attributes = aws("sns").get_subscription_attributes(SubscriptionArn=matching[0]["SubscriptionArn"])["Attributes"]
    assert attributes["RawMessageDelivery"] == str(props["RawMessageDelivery"]).lower()


def _check_queue_policy(aws, props: dict, made: str) -> None:
    for url in props["Queues"]:
        policy = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
        assert json.loads(policy) == props["PolicyDocument"]


def _check_configuration_set(aws, props: dict, made: str) -> None:
    made = aws("sesv2").get_configuration_set(ConfigurationSetName=props["Name"])
    assert made["ConfigurationSetName"] == props["Name"]
    assert made.get("VdmOptions") == props.get("VdmOptions")


def _check_event_destination(aws, props: dict, made: str) -> None:
    described = aws("ses").describe_configuration_set(
        ConfigurationSetName=props["ConfigurationSetName"], ConfigurationSetAttributeNames=["eventDestinations"])
    destinations = {d["Name"]: d for d in described["EventDestinations"] if d}
    made = destinations[props["EventDestination"]["Name"]]
    assert made["Enabled"] is props["EventDestination"]["Enabled"]
    assert made["MatchingEventTypes"] == props["EventDestination"]["MatchingEventTypes"]
    assert made["SNSDestination"]["TopicARN"] == props["EventDestination"]["SnsDestination"]["TopicARN"]


def _check_identity(aws, props: dict, made: str) -> None:
    identity = aws("sesv2").get_email_identity(EmailIdentity=props["EmailIdentity"])
    assert identity["VerificationStatus"] == "SUCCESS"
    assert identity["ConfigurationSetName"] == props["ConfigurationSetAttributes"]["ConfigurationSetName"]


def _check_bucket(aws, props: dict, made: str) -> None:
    s3 = aws("s3")
    assert made == props["BucketName"]
    assert s3.get_public_access_block(Bucket=made)["PublicAccessBlockConfiguration"] == \
        props["PublicAccessBlockConfiguration"]
    [rule] = s3.get_bucket_encryption(Bucket=made)["ServerSideEncryptionConfiguration"]["Rules"]
    [defined] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ApplyServerSideEncryptionByDefault"] == defined["ServerSideEncryptionByDefault"]
    assert rule["BucketKeyEnabled"] is defined["BucketKeyEnabled"]
    assert s3.get_bucket_ownership_controls(Bucket=made)["OwnershipControls"] == props["OwnershipControls"]
    made_rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=made)["Rules"]}
    for defined_rule in props["LifecycleConfiguration"]["Rules"]:
        rule = made_rules[defined_rule["Id"]]
        assert rule["Status"] == defined_rule["Status"]
        assert rule["Expiration"]["Days"] == defined_rule["ExpirationInDays"]
        assert rule["AbortIncompleteMultipartUpload"] == defined_rule["AbortIncompleteMultipartUpload"]


def _check_secret(aws, props: dict, made: str) -> None:
    described = aws("secretsmanager").describe_secret(SecretId=props["Name"])
    assert described["ARN"] == made and described["KmsKeyId"] == props["KmsKeyId"]
    value = aws("secretsmanager").get_secret_value(SecretId=made)["SecretString"]
    generated = props["GenerateSecretString"]
    assert len(value) == generated["PasswordLength"] and value.isalnum() is generated["ExcludePunctuation"]
    keys = parse_keys(value, "the secret")   # a valid first value: one signing key, which is the hash key too
    assert keys.signing == (keys.hashing,)


DRIFT_CHECKS = {
    "AWS::S3::Bucket": _check_bucket,
    "AWS::KMS::Key": _check_key,
    "AWS::KMS::Alias": _check_alias,
    "AWS::DynamoDB::Table": _check_table,
    "AWS::SQS::Queue": _check_queue,
    "AWS::SNS::Topic": _check_topic,
    "AWS::SNS::TopicPolicy": _check_topic_policy,
    "AWS::SNS::Subscription": _check_subscription,
    "AWS::SQS::QueuePolicy": _check_queue_policy,
    "AWS::SES::ConfigurationSet": _check_configuration_set,
    "AWS::SES::ConfigurationSetEventDestination": _check_event_destination,
    "AWS::SES::EmailIdentity": _check_identity,
    "AWS::SecretsManager::Secret": _check_secret,
}


def test_provisioning_creates_every_resource_the_template_defines():
    # Given the definition for the test stage
    settings = get_settings()
    with mock_aws():
        session = boto3.session.Session(region_name=settings.region)
        provisioner = Provisioner(session, settings.stage, settings.sender_domain)

        # When the local provisioner runs (twice: starting the runtime again must work)
        provisioner.run()
        provisioner.run()

        # Then each resource is there, as the template describes it
        def aws(service: str):
            return session.client(service)

        for logical_id, resource in definition.resources(settings.stage, settings.sender_domain).items():
            assert resource["Type"] in DRIFT_CHECKS, f"no drift check for {resource['Type']} ({logical_id}); add one"
            assert logical_id in provisioner.made, f"{logical_id} was not provisioned"
            DRIFT_CHECKS[resource["Type"]](aws, provisioner.resolve(resource["Properties"]),
                                           provisioner.made[logical_id])


def test_provisioning_again_keeps_the_keys_a_stage_already_has():
    # Given a stage whose secret was made, and then rotated by its operator
    settings = get_settings()
    name = definition.SECRET_NAME.format(stage=settings.stage)
    with mock_aws():
        session = boto3.session.Session(region_name=settings.region)
        Provisioner(session, settings.stage, settings.sender_domain).run()
        secrets = session.client("secretsmanager")
        first = secrets.get_secret_value(SecretId=name)["SecretString"]
        rotated = json.dumps({"signing_keys": ["n" * 40, first], "hash_key": first})
        secrets.put_secret_value(SecretId=name, SecretString=rotated)

        # When the local runtime starts again (provisioning runs again)
        Provisioner(session, settings.stage, settings.sender_domain).run()

        # Then the keys are the operator's, not a new value: every stored hash still matches
        assert secrets.get_secret_value(SecretId=name)["SecretString"] == rotated


# --- drift: the PynamoDB models and the tables --------------------------------------------------
def model_shape(model) -> dict[str, Any]:
    """A model's keys, key types, indexes and TTL, as PynamoDB would create its table."""
    schema = model._get_schema()
    keys = {k["KeyType"]: k["AttributeName"] for k in schema["key_schema"]}
    indexes = {}
    for index in model._indexes.values():
        key_attributes = [a for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key]
        index_keys = {("HASH" if a.is_hash_key else "RANGE"): a.attr_name for a in key_attributes}
        kind = "global" if any(i["index_name"] == index.Meta.index_name
                               for i in schema["global_secondary_indexes"]) else "local"
        indexes[index.Meta.index_name] = (kind, index_keys.get("HASH"), index_keys.get("RANGE"),
                                          index.Meta.projection.projection_type)
    ttl = model._ttl_attribute()
    return {
        "hash": keys.get("HASH"),
        "range": keys.get("RANGE"),
        "types": {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]},
        "indexes": indexes,
        "ttl": ttl.attr_name if ttl else None,
    }


def table_shape(logical: str) -> dict[str, Any]:
    """The same description, read from the table the template defines."""
    props = definition.table_resource("test", logical)["Properties"]
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    indexes = {}
    for index in props.get("GlobalSecondaryIndexes", []):
        index_keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        indexes[index["IndexName"]] = ("global", index_keys.get("HASH"), index_keys.get("RANGE"),
                                       index["Projection"]["ProjectionType"])
    return {
        "hash": keys.get("HASH"),
        "range": keys.get("RANGE"),
        "types": {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]},
        "indexes": indexes,
        "ttl": props.get("TimeToLiveSpecification", {}).get("AttributeName"),
    }


def test_every_model_has_a_table_that_matches_it_and_every_table_a_model():
    models = {model.Meta.logical_name: model for model in all_models()}
    assert models, "no PynamoDB models found"
    assert sorted(set(definition.TABLES) - set(models)) == [], "tables in infra/definition.py without a model"
    assert sorted(set(models) - set(definition.TABLES)) == [], "models without a table in infra/definition.py"
    for logical, model in models.items():
        assert model_shape(model) == table_shape(logical), f"{model.__name__} and the {logical!r} table differ"


def test_api_gateway_answers_an_unknown_route_with_404_in_the_error_shape_and_never_echoes_the_token(template):
    # Given the packaged API: API Gateway itself answers a path no route matches ("Missing Authentication Token")
    responses = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"]

    # Then that answer is 404 not_found in the API's error shape, a fixed text with nothing from the request
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == 404
    assert json.loads(missing["responseTemplates"]["application/json"]) == {
        "error": {"code": "not_found", "message": "The route was not found."}}
    # And every other answer API Gateway makes by itself has the error shape and echoes nothing either
    for response in responses.values():
        body = json.loads(response["responseTemplates"]["application/json"])
        assert set(body["error"]) == {"code", "message"}
        assert "$" not in response["responseTemplates"]["application/json"]
        assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"
