"""The link distribution: CloudFront in front of the API for the links in emails and the hosted pages.

The API is a regional endpoint, so nothing tells it where a reader is. The open pixel, clicks, unsubscribe
(one-click POST too), the preference centre, the signup forms and the confirmation, privacy and password
pages are reached through this distribution instead, which adds the reader's country
(CloudFront-Viewer-Country, R25's breakdown) and address (CloudFront-Viewer-Address: API Gateway sees
CloudFront's). Nothing is cached: every answer is made for its request. The origin gets a header holding the
stage's distribution token, a secret CloudFormation generates, and the API trusts the two viewer headers only
beside it (chalicelib/handlers/viewer.py): a caller going straight to API Gateway cannot pick its country or
address. The public links (`MAILROOM_PUBLIC_URL`, the `PublicUrl` parameter) point at the distribution's
domain, or at a custom domain the distribution answers for (`LinkCertificateArn`). docs/operations.md says why
CloudFront rather than a GeoIP database.

Merged into the packaged template by infra/package.py (none of it exists in the local emulator).
"""
from __future__ import annotations

from typing import Any

from infra import definition

DISTRIBUTION = "LinkDistribution"
ORIGIN_REQUEST_POLICY = "LinkOriginRequestPolicy"
TOKEN_SECRET = "LinkDistributionToken"
TOKEN_HEADER = "X-Mailroom-Distribution"   # chalicelib/handlers/viewer.py reads it
TOKEN_VARIABLE = "MAILROOM_DISTRIBUTION_TOKEN_NAME"
CUSTOM_DOMAIN = "LinksOnCustomDomain"      # the condition: PublicUrl is a domain of the operator's
ORIGIN_ID = "api"
# AWS's managed cache policy "Managed-CachingDisabled": nothing is kept, nothing is in a cache key.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# What the API reads from a request besides its path, query and body. Not Host: API Gateway answers only to its
# own name. Not Authorization: the JSON API is called at its own URL (EndpointURL), not through here.
FORWARDED_HEADERS = ["Accept", "Content-Type", "User-Agent", "CloudFront-Viewer-Address", "CloudFront-Viewer-Country"]
ALLOWED_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
# Edges in Europe and North America (and Israel): the readers' requests are answered close to the EU region.
PRICE_CLASS = "PriceClass_100"


def token() -> dict[str, Any]:
    """The distribution token, as CloudFormation resolves it at deploy time (never in the template)."""
    return {"Fn::Sub": "{{resolve:secretsmanager:${%s}:SecretString}}" % TOKEN_SECRET}  # noqa: UP031 - CFN braces


def parameters() -> dict[str, Any]:
    return {
        "LinkCertificateArn": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": r"^(arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+)?$",
            "Description": "With a PublicUrl on a domain of yours: the ACM certificate for its host name, in "
                           "us-east-1 (CloudFront's). Leave empty while PublicUrl is the LinkUrl output.",
        },
    }


def conditions() -> dict[str, Any]:
    return {CUSTOM_DOMAIN: {"Fn::Not": [{"Fn::Equals": [{"Ref": "LinkCertificateArn"}, ""]}]}}


def outputs() -> dict[str, Any]:
    return {
        "LinkUrl": {
            "Description": "The link distribution: give it as PublicUrl (or a domain of yours aliased to it)",
            "Value": {"Fn::Sub": f"https://${{{DISTRIBUTION}.DomainName}}"},
        },
    }


def resources(stage: str, api_stage: str) -> dict[str, Any]:
    """The distribution in front of the RestAPI's stage `api_stage`, its origin request policy and token."""
    host = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "PublicUrl"}]}]}   # PublicUrl is https://<host>
    return {
        TOKEN_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": f"mailroom/{stage}/distribution-token",
                "Description": "Sent by the link distribution to the API with every request: its viewer headers "
                               "count only beside it.",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
        ORIGIN_REQUEST_POLICY: {
            "Type": "AWS::CloudFront::OriginRequestPolicy",
            "Properties": {
                "OriginRequestPolicyConfig": {
                    "Name": definition.name(stage, "links"),
                    "Comment": "The reader's country and address, and what the API reads; every query string",
                    "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": FORWARDED_HEADERS},
                    "CookiesConfig": {"CookieBehavior": "none"},
                    "QueryStringsConfig": {"QueryStringBehavior": "all"},
                },
            },
        },
        DISTRIBUTION: {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Comment": f"mailroom-{stage}: the links in emails and the hosted pages",
                    "Enabled": True,
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    "PriceClass": PRICE_CLASS,
                    "Aliases": {"Fn::If": [CUSTOM_DOMAIN, [host], {"Ref": "AWS::NoValue"}]},
                    "ViewerCertificate": {"Fn::If": [
                        CUSTOM_DOMAIN,
                        {"AcmCertificateArn": {"Ref": "LinkCertificateArn"}, "SslSupportMethod": "sni-only",
                         "MinimumProtocolVersion": "TLSv1.2_2021"},
                        {"CloudFrontDefaultCertificate": True},
                    ]},
                    "Origins": [{
                        "Id": ORIGIN_ID,
                        "DomainName": {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
                        "OriginPath": f"/{api_stage}",
                        "CustomOriginConfig": {"OriginProtocolPolicy": "https-only",
                                               "OriginSSLProtocols": ["TLSv1.2"]},
                        "OriginCustomHeaders": [{"HeaderName": TOKEN_HEADER, "HeaderValue": token()}],
                    }],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": ORIGIN_ID,
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "AllowedMethods": ALLOWED_METHODS,
                        "CachedMethods": ["GET", "HEAD"],
                        "CachePolicyId": CACHING_DISABLED,
                        "OriginRequestPolicyId": {"Ref": ORIGIN_REQUEST_POLICY},
                        "Compress": True,
                    },
                },
            },
        },
    }
