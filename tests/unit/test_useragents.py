"""User agents of opens and clicks (R25): readers' devices, and the machines that are not readers."""
from __future__ import annotations

import pytest

from chalicelib.services.feedback.useragents import (
    MachineKind,
    classify,
    counts_as_open,
    identify_machine,
    is_machine_open,
    is_scanner_click,
)

IPHONE_MAIL = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Mobile/15E148")
IPAD_MAIL = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
APPLE_MAIL_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
OUTLOOK_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; Microsoft Outlook "
                   "16.0.5422; ms-office; MSOffice 16)")
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.6367.82 Mobile Safari/537.36")
ANDROID_TABLET = ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/123.0.0.0 Safari/537.36")
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
KINDLE_SILK = ("Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.3.1 "
               "like Chrome/124.0.6367.82 Safari/537.36")
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
APPLE_MPP = "Mozilla/5.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BING_PREVIEW = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "BingPreview/1.0b")
OFFICE_LINK_CHECK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)"
OFFICE_DISCOVERY = "Microsoft Office Existence Discovery"
BARRACUDA = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
PROOFPOINT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Proofpoint URL Defense"
MIMECAST = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
CURL = "curl/8.5.0"
PYTHON = "python-requests/2.31.0"


@pytest.mark.parametrize("agent, device, browser, os", [
    (IPHONE_MAIL, "mobile", "Mobile Safari UI/WKWebView", "iOS"),
    (IPAD_MAIL, "tablet", "Mobile Safari UI/WKWebView", "iOS"),
    (APPLE_MAIL_MAC, "desktop", "Apple Mail", "Mac OS X"),
    (OUTLOOK_WINDOWS, "desktop", "Outlook", "Windows"),
    (ANDROID_CHROME, "mobile", "Chrome Mobile", "Android"),
    (ANDROID_TABLET, "tablet", "Chrome", "Android"),
    (EDGE_WINDOWS, "desktop", "Edge", "Windows"),
    (FIREFOX_LINUX, "desktop", "Firefox", "Linux"),
    (KINDLE_SILK, "tablet", "Amazon Silk", "Android"),
])
def test_given_a_readers_client_then_device_browser_and_os_are_named(agent, device, browser, os):
    assert classify(agent) == {"device": device, "browser": browser, "os": os}
    assert not is_machine_open(agent)
    assert counts_as_open(agent)


@pytest.mark.parametrize("agent, name", [
    (GMAIL_PROXY, "Gmail Image Proxy"),
    (YAHOO_PROXY, "Yahoo Mail Proxy"),
])
def test_given_an_image_proxy_then_it_counts_as_an_open_but_not_as_the_readers_device(agent, name):
    assert is_machine_open(agent)
    assert counts_as_open(agent)
    assert classify(agent) == {"device": "unknown", "browser": name, "os": "Other"}


def test_given_apple_mail_privacy_protection_then_the_fetch_is_not_an_open():
    assert identify_machine(APPLE_MPP).kind is MachineKind.PRIVACY_PREFETCH
    assert is_machine_open(APPLE_MPP) and not counts_as_open(APPLE_MPP)
    assert classify(APPLE_MPP)["device"] == "unknown"


def test_given_a_webkit_fetch_from_apples_network_then_it_is_privacy_protection():
    assert identify_machine(APPLE_MAIL_MAC, ip="17.58.100.1").kind is MachineKind.PRIVACY_PREFETCH
    assert identify_machine(APPLE_MAIL_MAC, ip="203.0.113.7") is None
    assert identify_machine(APPLE_MAIL_MAC, ip="not-an-ip") is None


@pytest.mark.parametrize("agent", [BING_PREVIEW, OFFICE_LINK_CHECK, OFFICE_DISCOVERY, BARRACUDA, PROOFPOINT,
                                   MIMECAST, GOOGLEBOT, CURL, PYTHON, "", None, APPLE_MPP])
def test_given_a_security_gateway_preview_or_script_then_its_click_is_a_scanner_click(agent):
    assert is_scanner_click(agent, seconds_since_delivery=3600)


def test_given_outlook_for_windows_then_its_image_fetch_is_an_open_but_its_link_check_is_not_a_click():
    assert counts_as_open(OUTLOOK_WINDOWS) and not is_machine_open(OUTLOOK_WINDOWS)
    assert is_scanner_click(OFFICE_LINK_CHECK, 3600)
    assert classify(OFFICE_LINK_CHECK, event="click")["device"] == "bot"


@pytest.mark.parametrize("agent", [IPHONE_MAIL, EDGE_WINDOWS, ANDROID_CHROME, GMAIL_PROXY])
def test_given_a_reader_clicking_minutes_after_delivery_then_it_is_a_real_click(agent):
    assert not is_scanner_click(agent, seconds_since_delivery=240)
    assert not is_scanner_click(agent)


def test_given_a_click_seconds_after_delivery_then_it_is_a_scanner_whatever_the_agent_says():
    assert is_scanner_click(EDGE_WINDOWS, seconds_since_delivery=1.5)
    assert not is_scanner_click(EDGE_WINDOWS, seconds_since_delivery=5)


def test_given_bots_then_they_are_bots_named_by_the_parser_when_it_knows_them():
    assert classify(GOOGLEBOT) == {"device": "bot", "browser": "Googlebot", "os": "Other"}
    assert classify(CURL)["device"] == "bot"
    assert classify("") == {"device": "bot", "browser": "No user agent", "os": "Other"}


def test_given_an_unrecognisable_agent_then_the_answer_is_unknown_not_an_error():
    assert classify("SomethingNew/1.0 (ToasterOS)") == {"device": "unknown", "browser": "Other", "os": "Other"}
    assert classify("x" * 100_000)["device"] in {"unknown", "bot"}
