"""The packaged template's link distribution (R25): the links in emails and the hosted pages reach the API through
CloudFront, which tells it each reader's country and address, caches nothing, passes every method, query and body,
and carries the token without which the API ignores those headers (chalicelib/handlers/viewer.py)."""
from __future__ import annotations

import re

import pytest

from app import app
from chalicelib.handlers import viewer

pytestmark = pytest.mark.xdist_group("package")   # the session's one package (conftest.py: `packaged`)

# Written out here on purpose, not read from infra/: AWS's managed "CachingDisabled" cache policy.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def the_distribution(template: dict) -> dict:
    found = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"]
    assert len(found) == 1, "one distribution for the public links"
    return found[0]["Properties"]["DistributionConfig"]


def origin_request_policy(template: dict, config: dict) -> dict:
    reference = config["DefaultCacheBehavior"]["OriginRequestPolicyId"]
    resource = template["Resources"][reference["Ref"]]
    assert resource["Type"] == "AWS::CloudFront::OriginRequestPolicy"
    return resource["Properties"]["OriginRequestPolicyConfig"]


def public_routes() -> dict[str, set[str]]:
    """The app's routes a link in an email or a hosted page leads to (everything outside the JSON API)."""
    return {path: set(methods) for path, methods in app.routes.items()
            if not path.startswith("/v1/") or path.startswith("/v1/verify-email/")}


def test_every_public_link_reaches_the_api_through_the_distribution_and_nothing_is_cached(template):
    # Given the packaged template's distribution
    config = the_distribution(template)
    behaviour = config["DefaultCacheBehavior"]

    # Then its one origin is the API's own stage, over https only
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert origin["OriginPath"] == "/" + template["Resources"]["RestAPI"]["Properties"]["StageName"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert behaviour["TargetOriginId"] == origin["Id"]
    # And every path takes the one behaviour, which caches nothing (each answer is made for its request)
    assert "CacheBehaviors" not in config
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    # And every method a public page answers passes: the forms and the one-click unsubscribe POST
    routes = public_routes()
    assert {"/o/{name}", "/c/{token}", "/unsubscribe/{token}", "/preferences/{token}", "/f/{token}",
            "/confirm/{token}"} <= set(routes)
    assert "POST" in routes["/unsubscribe/{token}"] and "POST" in routes["/f/{token}"]
    for path, methods in routes.items():
        assert methods <= set(behaviour["AllowedMethods"]), path
    assert config["Enabled"] is True


def test_the_api_hears_each_readers_country_address_agent_and_query_and_never_the_viewers_host(template):
    # Given what the distribution sends the API with each request
    policy = origin_request_policy(template, the_distribution(template))
    headers = {h.lower() for h in policy["HeadersConfig"]["Headers"]}

    # Then the reader's country and address (CloudFront's own headers), and what the pages read
    assert policy["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    assert {viewer.COUNTRY_HEADER, viewer.ADDRESS_HEADER, "user-agent", "content-type", "accept"} <= headers
    # And never Host (API Gateway answers only to its own name) nor cookies; every query string
    assert "host" not in headers and "authorization" not in headers
    assert policy["CookiesConfig"]["CookieBehavior"] == "none"
    assert policy["QueryStringsConfig"]["QueryStringBehavior"] == "all"


def test_only_the_distribution_carries_the_token_the_api_trusts_its_headers_by(template):
    # Given the header the distribution adds, and what the API function is told to expect
    (origin,) = the_distribution(template)["Origins"]
    sent = {h["HeaderName"].lower(): h["HeaderValue"] for h in origin["OriginCustomHeaders"]}
    expected = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    token = sent[viewer.TOKEN_HEADER]

    # Then they are one secret, CloudFormation generates it and resolves it into the distribution at deploy time
    # (never a literal), and the API function gets only its ARN, to read the value at run time
    match = re.fullmatch(r"\{\{resolve:secretsmanager:\$\{(\w+)\}:SecretString\}\}", token["Fn::Sub"])
    assert match, token
    assert expected["MAILROOM_DISTRIBUTION_TOKEN_NAME"] == {"Ref": match.group(1)}
    secret = template["Resources"][match.group(1)]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert "SecretString" not in secret["Properties"]


def test_the_public_links_point_at_the_distribution_or_a_domain_it_answers_for(template):
    # Given the link base every function gets, and the template's parameters and outputs
    parameters = template["Parameters"]
    pattern = re.compile(parameters["PublicUrl"]["AllowedPattern"])
    for function in (r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"):
        assert function["Properties"]["Environment"]["Variables"]["MAILROOM_PUBLIC_URL"] == {"Ref": "PublicUrl"}

    # Then the first deploy names the distribution's address, which PublicUrl takes, and the API's own does not fit
    link_url = template["Outputs"]["LinkUrl"]["Value"]
    distribution_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudFront::Distribution")
    assert link_url == {"Fn::Sub": f"https://${{{distribution_id}.DomainName}}"}
    assert pattern.fullmatch("https://d111111abcdef8.cloudfront.net")
    assert pattern.fullmatch("https://links.example.eu")
    assert not pattern.fullmatch("https://abc123.execute-api.eu-west-1.amazonaws.com/api")
    # And a domain of the operator's is answered by the distribution, with their certificate from us-east-1
    config = the_distribution(template)
    condition, aliases, no_alias = config["Aliases"]["Fn::If"]
    assert aliases == [{"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "PublicUrl"}]}]}]
    assert no_alias == {"Ref": "AWS::NoValue"}
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "LinkCertificateArn"}, ""]}]}
    certificate = config["ViewerCertificate"]["Fn::If"]
    assert certificate[0] == condition and certificate[1]["AcmCertificateArn"] == {"Ref": "LinkCertificateArn"}
    assert re.fullmatch(parameters["LinkCertificateArn"]["AllowedPattern"],
                        "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-123456789abc")
    assert not re.fullmatch(parameters["LinkCertificateArn"]["AllowedPattern"],
                            "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-123456789abc")
