"""Who followed a public link: the reader's address and country, as the link distribution saw them.

In AWS the links in emails and the hosted pages are served through a CloudFront distribution
(infra/distribution.py): API Gateway then sees CloudFront's address, and CloudFront adds the reader's in
CloudFront-Viewer-Address and their country in CloudFront-Viewer-Country (R25), with a header holding the
stage's distribution token. Anyone may call API Gateway directly and write those two headers, so they count
only on a request that carries the token. With no token configured (the local runtime, where nothing stands
in front of the API) they are read as they come.
"""
from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from chalicelib.config import distribution_token

TOKEN_HEADER = "x-mailroom-distribution"
ADDRESS_HEADER = "cloudfront-viewer-address"
COUNTRY_HEADER = "cloudfront-viewer-country"


def _through_distribution(request: Any) -> bool:
    token = distribution_token()
    if token is None:
        return True
    sent = request.headers.get(TOKEN_HEADER) or ""
    return hmac.compare_digest(sent.encode(), token.encode())


def address(request: Any) -> str | None:
    """The reader's IP address: the distribution's word for it, else the connection's."""
    connection = ((request.context or {}).get("identity") or {}).get("sourceIp")
    reported = request.headers.get(ADDRESS_HEADER)
    if not reported or not _through_distribution(request):
        return connection
    host = reported.rsplit(":", 1)[0]   # "<ip>:<port>"; an IPv6 address keeps its own colons
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return connection


def country(request: Any) -> str | None:
    """The reader's country as the distribution sent it (checked later against ISO 3166-1), or None."""
    return request.headers.get(COUNTRY_HEADER) if _through_distribution(request) else None
