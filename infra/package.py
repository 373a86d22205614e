"""Build the deployable CloudFormation template: Chalice's package plus the resources of infra/definition.py.

    python -m infra.package build [--stage dev] [--region eu-west-1] [--out build]

`chalice package` writes the Lambda code (deployment.zip), the dependencies as a managed layer
(layer-deployment.zip) and a SAM template; `merge` then adds the tables, queues, topic and SES resources,
the settings each function reads, a least-privilege role per function (infra/permissions.py), the alarms,
dashboard and access log (infra/operations.py), log groups with a retention, and a rule that pins the
stack to the stage's EU region. `build` then replaces the layer with one installed from requirements.lock
(every file checked against its hash) and adds bytecode to both zips (infra/bundle.py).
"""
from __future__ import annotations

import argparse
import copy
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib.config import EU_REGIONS
from chalicelib.handlers.http import EDGE_HEADERS, UNKNOWN_ROUTE, error_body
from infra import bundle, definition, distribution, operations, permissions

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_NAME = "template.json"
LOCK_NAME = "requirements.lock"   # requirements.txt resolved, with hashes (make lock)
CHALICE_OUTPUTS = ("sam.json", "deployment.zip", "layer-deployment.zip")
# Chalice keeps a zip per app-code hash and per requirements.txt hash and never removes one.
KEEP_CACHED = {"appcode-*.zip": 3, "managed-layer-*.zip": 2, "locked-layer-*.zip": 2}
LOG_RETENTION_DAYS = 30

_QUEUE_ARN_SUB = re.compile(r"^arn:\$\{AWS::Partition\}:sqs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:(?P<name>[\w-]+)$")


# API Gateway's own answers (no Lambda runs), in the API's error shape with fixed text: its defaults would
# answer an unknown route 403 "Missing Authentication Token" and echo the Authorization header.
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (404, UNKNOWN_ROUTE),
    "RESOURCE_NOT_FOUND": (404, UNKNOWN_ROUTE),
    "THROTTLED": (429, error_body("rate_limited", "Too many requests; slow down and try again shortly.")),
    "QUOTA_EXCEEDED": (429, error_body("rate_limited", "Too many requests; slow down and try again shortly.")),
    "ACCESS_DENIED": (403, error_body("forbidden", "The request is not allowed.")),
    "UNAUTHORIZED": (401, error_body("unauthorized", "Sign in or send a valid API key.")),
    "REQUEST_TOO_LARGE": (413, error_body("too_large", "The request is too large.")),
    "UNSUPPORTED_MEDIA_TYPE": (415, error_body("malformed_request", "The request's content type is not supported.")),
    "BAD_REQUEST_BODY": (400, error_body("malformed_request", "The request body could not be read.")),
    "BAD_REQUEST_PARAMETERS": (400, error_body("malformed_request", "The request's parameters could not be read.")),
    "INTEGRATION_TIMEOUT": (504, error_body("upstream_unavailable", "The request took too long; try again shortly.")),
    "INTEGRATION_FAILURE": (502, error_body("upstream_unavailable", "Something went wrong on our side; try again "
                                                                    "shortly.")),
    "DEFAULT_4XX": (None, error_body("bad_request", "The request could not be handled.")),
    "DEFAULT_5XX": (None, error_body("internal_error", "Something went wrong on our side; try again shortly.")),
}


def gateway_responses() -> dict[str, Any]:
    """The RestAPI's x-amazon-apigateway-gateway-responses: each of GATEWAY_ERRORS with the API's headers."""
    headers = {f"gatewayresponse.header.{name}": f"'{value}'" for name, value in
               {"Content-Type": "application/json", **EDGE_HEADERS}.items()}
    responses: dict[str, Any] = {}
    for kind, (status, body) in GATEWAY_ERRORS.items():
        responses[kind] = {"responseParameters": headers, "responseTemplates": {"application/json": json.dumps(body)}}
        if status is not None:
            responses[kind]["statusCode"] = status
    return responses


class PackageError(RuntimeError):
    """The app and the infra definition cannot make a deployable template."""


def parameters(stage: str) -> dict[str, Any]:
    """The template's parameters: what differs between two deployments of one stage."""
    return {
        "Stage": {
            "Type": "String",
            "AllowedValues": [stage],
            "Default": stage,
            "Description": "MAILROOM_STAGE. The template was packaged for this stage; its resource names carry it.",
        },
        "PublicUrl": {
            "Type": "String",
            "AllowedPattern": r"^https://[^/\s]+$",
            "Description": "MAILROOM_PUBLIC_URL: the https origin public links point at: the link distribution "
                           "(the LinkUrl output), or a domain of yours it answers for (LinkCertificateArn).",
        },
        "Sender": {
            "Type": "String",
            "AllowedPattern": r"^[^@]*<?[^@<>\s]+@[^@<>\s]+>?$",
            "Description": "MAILROOM_SENDER: the From of service emails, e.g. 'mailroom <no-reply@mail.example.eu>'.",
        },
        "SenderDomain": {
            "Type": "String",
            "AllowedPattern": r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$",
            "Description": "The SES identity (domain) the Sender address belongs to; publish its DKIM records.",
        },
    }


def _lambda_roles(resources: dict[str, Any]) -> list[str]:
    roles = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        statements = resource["Properties"].get("AssumeRolePolicyDocument", {}).get("Statement", [])
        if any(s.get("Principal", {}).get("Service") == "lambda.amazonaws.com" for s in statements):
            roles.append(logical_id)
    return roles


def _functions(resources: dict[str, Any]) -> list[str]:
    return sorted(k for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function")


def function_name(stage: str, logical_id: str) -> str:
    """The physical name of a packaged function (its log group is /aws/lambda/<name>)."""
    return definition.name(stage, logical_id)[:64]


def _wire_sqs_events(stage: str, logical_id: str, function: dict[str, Any]) -> None:
    """Point SQS event sources at the stage's queues and let handlers report partial batch failures."""
    by_name = {definition.name(stage, logical): logical for logical in definition.QUEUES}
    timeout = function["Properties"].get("Timeout", 3)
    for event in function["Properties"].get("Events", {}).values():
        if event.get("Type") != "SQS":
            continue
        props = event["Properties"]
        queue = props.get("Queue")
        match = _QUEUE_ARN_SUB.match(queue.get("Fn::Sub", "")) if isinstance(queue, dict) else None
        if match and match.group("name") in by_name:
            logical = by_name[match.group("name")]
            props["Queue"] = {"Fn::GetAtt": [definition.queue_id(logical), "Arn"]}
            visibility = definition.QUEUES[logical]
            if timeout * definition.VISIBILITY_PER_TIMEOUT > visibility:
                raise PackageError(
                    f"{logical_id} runs up to {timeout} s but its queue's visibility timeout is {visibility} s, less "
                    f"than {definition.VISIBILITY_PER_TIMEOUT} times that (AWS's advice, so a retried batch is not "
                    "handed out twice). Raise the queue's timeout in infra/definition.py."
                )
            if logical in definition.MAX_CONCURRENCY:
                props["ScalingConfig"] = {"MaximumConcurrency": definition.MAX_CONCURRENCY[logical]}
        # Chalice cannot set this; without it one failed record would fail (and redeliver) the whole batch.
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]


def merge(chalice_template: dict[str, Any], stage: str, region: str) -> dict[str, Any]:
    """Chalice's SAM template with mailroom's resources, settings, IAM and region pin merged in."""
    if region not in EU_REGIONS:
        raise PackageError(f"{region} is not an EU/EEA region (R31); use one of {', '.join(sorted(EU_REGIONS))}.")
    template = copy.deepcopy(chalice_template)
    resources: dict[str, Any] = template["Resources"]
    ours = definition.resources(stage, {"Ref": "SenderDomain"})
    clash = sorted(set(ours) & set(resources))
    if clash:
        raise PackageError(f"Chalice already defines {', '.join(clash)}; rename them in infra/definition.py.")
    resources.update(ours)

    functions = _functions(resources)
    for logical_id in functions:
        function = resources[logical_id]
        props = function["Properties"]
        props["FunctionName"] = function_name(stage, logical_id)
        variables = props.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update({
            "MAILROOM_STAGE": {"Ref": "Stage"},
            "MAILROOM_PUBLIC_URL": {"Ref": "PublicUrl"},
            "MAILROOM_SENDER": {"Ref": "Sender"},
            "MAILROOM_SES_CONFIGURATION_SET": {"Ref": "SesConfigurationSet"},
            # The secret's ARN only: the functions read the keys at run time (chalicelib/config.py keys()).
            "MAILROOM_SECRET_NAME": {"Ref": definition.SECRET},
        })
        _wire_sqs_events(stage, logical_id, function)
        props["Tracing"] = "Active"   # X-Ray: Lambda's segments, the consumers' AWS calls (handlers/entry.py)
        resources[f"{logical_id}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{props['FunctionName']}",
                "RetentionInDays": LOG_RETENTION_DAYS,
            },
        }

    # API Gateway picks binary by the first Accept value only; mail clients fetch the open pixel with
    # "image/webp,…", "image/*" or no Accept at all. "*/*" lets the Lambda's isBase64Encoded decide.
    if "RestAPI" in resources:
        resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-binary-media-types"] = ["*/*"]
        resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"] = (
            gateway_responses())

    _one_role_per_function(resources, functions, stage)
    api = None
    if "RestAPI" in resources:
        api_props = resources["RestAPI"]["Properties"]
        api = (api_props["DefinitionBody"]["info"]["title"], api_props["StageName"])
        api_props.update(operations.api_stage_settings())
        api_props["TracingEnabled"] = True   # API Gateway's segment starts the trace the API function continues
    resources.update(operations.resources(stage, functions, api))
    if api is not None:   # the links in emails and the hosted pages, through CloudFront (R25's countries)
        resources.update(distribution.resources(stage, api[1]))
        resources["APIHandler"]["Properties"]["Environment"]["Variables"][distribution.TOKEN_VARIABLE] = {
            "Ref": distribution.TOKEN_SECRET}   # the secret's ARN: the API reads the token at run time
        template["Conditions"] = {**template.get("Conditions", {}), **distribution.conditions()}
        template["Parameters"] = {**template.get("Parameters", {}), **distribution.parameters()}
        template.setdefault("Outputs", {}).update(distribution.outputs())

    template["Description"] = f"mailroom, stage {stage}: API, functions and resources (deploy to {region} only)"
    template["Parameters"] = {**template.get("Parameters", {}), **parameters(stage), **operations.parameters()}
    template["Rules"] = {
        "StageRegion": {
            "Assertions": [{
                "Assert": {"Fn::Equals": [{"Ref": "AWS::Region"}, region]},
                "AssertDescription": f"mailroom-{stage} is deployed to {region} only: data stays in the EU (R31).",
            }],
        },
    }
    outputs = template.setdefault("Outputs", {})
    for number in (1, 2, 3):
        outputs[f"DkimRecord{number}"] = {
            "Description": "Publish as a CNAME record in the sender domain's DNS",
            "Value": {"Fn::Join": [" CNAME ", [
                {"Fn::GetAtt": ["SenderIdentity", f"DkimDNSTokenName{number}"]},
                {"Fn::GetAtt": ["SenderIdentity", f"DkimDNSTokenValue{number}"]},
            ]]},
        }
    return template


def _one_role_per_function(resources: dict[str, Any], functions: list[str], stage: str) -> None:
    """Replace Chalice's one shared role with a role per function holding only what it does (infra/permissions.py).
    A function with no entry there gets the least any function has: its log group, the tables (no Scan), the data key
    and the keys' secret."""
    shared = _lambda_roles(resources)
    if not shared:
        raise PackageError("Chalice's template has no Lambda execution role to replace.")
    trust = resources[shared[0]]["Properties"]["AssumeRolePolicyDocument"]
    for logical_id in shared:
        del resources[logical_id]
    for function in functions:
        role = f"{function}Role"
        resources[role] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust,
                "Policies": [{"PolicyName": f"mailroom-{stage}-{function}"[:128],
                              "PolicyDocument": permissions.policy(function)}],
            },
        }
        resources[function]["Properties"]["Role"] = {"Fn::GetAtt": [role, "Arn"]}


@contextmanager
def _cache_lock(project_dir: Path) -> Iterator[None]:
    """One packaging at a time per checkout: Chalice writes its cached zips in place."""
    cache = project_dir / ".chalice" / "deployments"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune_cache(cache: Path) -> None:
    for pattern, keep in KEEP_CACHED.items():
        stale = sorted(cache.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)[keep:]
        for path in stale:
            path.unlink(missing_ok=True)


def chalice_package(project_dir: Path, stage: str, region: str, out: Path) -> dict[str, Any]:
    """Run `chalice package` for `stage` into `out` and return its SAM template."""
    for name in CHALICE_OUTPUTS + (TEMPLATE_NAME,):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
               "--project-dir", str(project_dir), "package", "--stage", stage, str(out)]
    # Chalice wants a region to name ARNs; packaging calls no AWS API.
    environment = {**os.environ, "AWS_DEFAULT_REGION": region}
    with _cache_lock(project_dir):
        result = subprocess.run(command, cwd=project_dir, env=environment, capture_output=True, text=True)
        _prune_cache(project_dir / ".chalice" / "deployments")
    if result.returncode != 0:
        raise PackageError(f"chalice package failed:\n{result.stdout}{result.stderr}")
    sam = out / "sam.json"
    template = json.loads(sam.read_text())
    sam.unlink()
    return template


def _locked_layer(project_dir: Path, lock: Path, target: Path) -> None:
    """The layer installed from `lock`, built once per lock and recipe (kept beside Chalice's cached zips)."""
    cache = project_dir / ".chalice" / "deployments"
    recipe = hashlib.sha256(lock.read_bytes() + Path(bundle.__file__).read_bytes()).hexdigest()[:16]
    cached = cache / f"locked-layer-{recipe}.zip"
    with _cache_lock(project_dir):
        if not cached.exists():
            bundle.layer_from_lock(lock, cached)
        shutil.copyfile(cached, target)
        _prune_cache(cache)


def build(stage: str, region: str, out: Path, project_dir: Path = PROJECT_DIR) -> Path:
    """Package the app and write the merged template; return its path."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    if stage not in config.get("stages", {}):
        raise PackageError(f"Stage {stage!r} is not in .chalice/config.json.")
    lock = project_dir / LOCK_NAME
    if lock.exists() and (stale := bundle.stale_pins(project_dir / "requirements.txt", lock)):
        raise PackageError(f"{LOCK_NAME} does not hold {', '.join(stale)} of requirements.txt; run `make lock`.")
    template = merge(chalice_package(project_dir, stage, region, out), stage, region)
    try:
        if lock.exists() and (out / "layer-deployment.zip").exists():   # Chalice's own layer resolves unhashed
            _locked_layer(project_dir, lock, out / "layer-deployment.zip")
        bundle.with_bytecode(out / "deployment.zip")
    except bundle.BundleError as exc:
        raise PackageError(str(exc)) from exc
    path = out / TEMPLATE_NAME
    path.write_text(json.dumps(template, indent=2, sort_keys=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """The command line: `build`."""
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="package the app and write build/template.json")
    build_command.add_argument("--stage", default="dev")
    build_command.add_argument("--region", default="eu-west-1")
    build_command.add_argument("--out", type=Path, default=PROJECT_DIR / "build")
    build_command.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        path = build(args.stage, args.region, args.out.resolve(), args.project_dir.resolve())
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    print(f"package: wrote {path} and its zips in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
