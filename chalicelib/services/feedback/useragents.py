"""Who fetched a pixel or followed a link (R25): device, browser and OS, and machines that are not readers.

Browsers and operating systems come from ua-parser (the maintained uap-core rules). Mail-specific
machines come from the table below: image proxies that fetch the pixel on a reader's behalf (a
real open, but the user agent and IP are the proxy's), privacy prefetchers that fetch every image
on delivery (not an open at all), and link scanners that follow every link before anyone reads it.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

SCANNER_CLICK_SECONDS = 5   # a reader has to open, read and click; gateways follow links within seconds
MAX_USER_AGENT = 1024


class MachineKind(str, Enum):
    IMAGE_PROXY = "image_proxy"            # fetches on a reader's open: an open, but not the reader's device
    PRIVACY_PREFETCH = "privacy_prefetch"  # fetches on delivery: says nothing about a reader
    LINK_SCANNER = "link_scanner"          # a mail security gateway or link preview following links
    BOT = "bot"                            # scripts, crawlers, empty user agents


@dataclass(frozen=True)
class Machine:
    name: str
    kind: MachineKind


OPEN, CLICK = "open", "click"
BOTH = (OPEN, CLICK)

# (pattern searched case-insensitively in the User-Agent, name, kind, events it applies to);
# the first match wins. Outlook for Windows fetches images as "…ms-office; MSOffice 16": that is
# the reader's own client opening the email, but the same client's "Microsoft Office/16.0" and
# "…Discovery" requests on a link are checks made before the browser is opened.
MACHINES: tuple[tuple[str, str, MachineKind, tuple[str, ...]], ...] = (
    (r"GoogleImageProxy|via ggpht\.com", "Gmail Image Proxy", MachineKind.IMAGE_PROXY, BOTH),
    (r"YahooMailProxy", "Yahoo Mail Proxy", MachineKind.IMAGE_PROXY, BOTH),
    (r"^Mozilla/5\.0$", "Apple Mail Privacy Protection", MachineKind.PRIVACY_PREFETCH, BOTH),
    (r"BingPreview", "Microsoft BingPreview", MachineKind.LINK_SCANNER, BOTH),
    (r"^Microsoft Office/|Microsoft Office (?:Existence|Protocol) Discovery|ms-office|MSOffice",
     "Microsoft Office link check", MachineKind.LINK_SCANNER, (CLICK,)),
    (r"SafeLinks|Microsoft Defender|MSDefender", "Microsoft Safe Links", MachineKind.LINK_SCANNER, BOTH),
    (r"Barracuda", "Barracuda", MachineKind.LINK_SCANNER, BOTH),
    (r"Proofpoint|pfpt", "Proofpoint", MachineKind.LINK_SCANNER, BOTH),
    (r"Mimecast", "Mimecast", MachineKind.LINK_SCANNER, BOTH),
    (r"IronPort|Cisco.?Secure.?Email", "Cisco Secure Email", MachineKind.LINK_SCANNER, BOTH),
    (r"Symantec|MessageLabs|Broadcom", "Symantec", MachineKind.LINK_SCANNER, BOTH),
    (r"Trend ?Micro", "Trend Micro", MachineKind.LINK_SCANNER, BOTH),
    (r"Forti(?:Guard|Mail|net)", "Fortinet", MachineKind.LINK_SCANNER, BOTH),
    (r"Sophos", "Sophos", MachineKind.LINK_SCANNER, BOTH),
    (r"Zscaler", "Zscaler", MachineKind.LINK_SCANNER, BOTH),
    (r"Forcepoint|Websense", "Forcepoint", MachineKind.LINK_SCANNER, BOTH),
    (r"Check ?Point", "Check Point", MachineKind.LINK_SCANNER, BOTH),
    (r"SpamAssassin|Hornetsecurity|Libraesva|SpamTitan|Vade ?Secure", "Mail filter", MachineKind.LINK_SCANNER,
     BOTH),
    (r"Slackbot|Twitterbot|facebookexternalhit|LinkedInBot|WhatsApp|TelegramBot|Discordbot|SkypeUriPreview",
     "Link preview", MachineKind.LINK_SCANNER, BOTH),
    (r"HeadlessChrome|PhantomJS|Puppeteer|Playwright|Selenium", "Headless browser", MachineKind.BOT, BOTH),
    (r"python-requests|python-urllib|aiohttp|curl/|Wget|Go-http-client|okhttp|Java/|libwww-perl|"
     r"axios|node-fetch|Apache-HttpClient|HTTPie", "HTTP library", MachineKind.BOT, BOTH),
    (r"bot\b|crawler|spider|scanner|preview", "Bot", MachineKind.BOT, BOTH),
)

# Apple owns 17.0.0.0/8; Mail Privacy Protection's prefetches come from Apple's network.
APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)

MOBILE_OS = ("iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS", "Firefox OS",
             "Tizen", "HarmonyOS", "Sailfish")
DESKTOP_OS = ("Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "Fedora",
              "Debian", "FreeBSD", "OpenBSD", "NetBSD", "Red Hat", "SUSE", "Solaris", "Mint", "Arch Linux")
TABLET = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|Nexus (?:7|9|10)\b|SM-T\d|Tab\b|GT-P\d|Lenovo TB", re.I)


def identify_machine(user_agent: str | None, ip: str | None = None, event: str = OPEN) -> Machine | None:
    """The machine behind an open or click when it is not a reader's own mail client or browser."""
    agent = (user_agent or "").strip()[:MAX_USER_AGENT]
    if not agent:
        return Machine("No user agent", MachineKind.BOT)
    for pattern, name, kind, events in _machines():
        if event in events and pattern.search(agent):
            return Machine(name, kind)
    if ip and _in_networks(ip, APPLE_NETWORKS) and "Mozilla/5.0" in agent and "Safari" not in agent:
        return Machine("Apple Mail Privacy Protection", MachineKind.PRIVACY_PREFETCH)
    return None


def is_machine_open(user_agent: str | None, ip: str | None = None) -> bool:
    """True when a pixel fetch's user agent and IP are not the reader's (proxy, prefetch, scanner, bot).

    A Gmail or Yahoo proxy fetch still means the reader opened the email (see `counts_as_open`);
    its device, browser and location must not be recorded as the reader's (R25)."""
    return identify_machine(user_agent, ip) is not None


def counts_as_open(user_agent: str | None, ip: str | None = None) -> bool:
    """True when a pixel fetch means someone opened the email: a reader's client or an image proxy."""
    machine = identify_machine(user_agent, ip)
    return machine is None or machine.kind is MachineKind.IMAGE_PROXY


def is_link_checker(user_agent: str | None, ip: str | None = None) -> bool:
    """True when a link is being fetched by a known machine (security gateway, link preview, bot), not a person."""
    machine = identify_machine(user_agent, ip, CLICK)
    return machine is not None and machine.kind is not MachineKind.IMAGE_PROXY


def is_scanner_click(user_agent: str | None, seconds_since_delivery: float | None = None,
                     ip: str | None = None) -> bool:
    """True when a click was made by a machine (security gateway, link preview, bot) or came too soon."""
    if is_link_checker(user_agent, ip):
        return True
    return seconds_since_delivery is not None and 0 <= seconds_since_delivery < SCANNER_CLICK_SECONDS


def classify(user_agent: str | None, event: str = OPEN) -> dict[str, str]:
    """{"device": desktop|mobile|tablet|bot|unknown, "browser": family, "os": family} of a user agent."""
    agent = (user_agent or "").strip()[:MAX_USER_AGENT]
    machine = identify_machine(agent, event=event)
    if machine is None:
        return dict(_classify(agent))
    if machine.kind in (MachineKind.IMAGE_PROXY, MachineKind.PRIVACY_PREFETCH):
        return {"device": "unknown", "browser": machine.name, "os": "Other"}
    parsed = dict(_classify(agent)) if agent else {"browser": "Other"}
    name = parsed["browser"] if machine.kind is MachineKind.BOT and parsed["browser"] != "Other" else machine.name
    return {"device": "bot", "browser": name, "os": "Other"}


@lru_cache(maxsize=4096)
def _classify(agent: str) -> tuple[tuple[str, str], ...]:
    import ua_parser

    result = ua_parser.parse(agent)
    browser = result.user_agent.family if result.user_agent else "Other"
    os_family = result.os.family if result.os else "Other"
    device_family = result.device.family if result.device else "Other"
    if device_family == "Spider":
        device = "bot"
    elif TABLET.search(agent) or device_family == "iPad" or (os_family == "Android" and "Mobile" not in agent):
        device = "tablet"
    elif os_family in MOBILE_OS or "Mobile" in agent or "Mobi" in agent:
        device = "mobile"
    elif os_family in DESKTOP_OS or os_family.startswith(("Windows", "Mac OS", "Linux")):
        device = "desktop"
    else:
        device = "unknown"
    return (("device", device), ("browser", browser), ("os", os_family))


@lru_cache(maxsize=1)
def _machines() -> tuple[tuple[re.Pattern, str, MachineKind, tuple[str, ...]], ...]:
    return tuple((re.compile(pattern, re.IGNORECASE), name, kind, events)
                 for pattern, name, kind, events in MACHINES)


def _in_networks(ip: str, networks) -> bool:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return any(address in network for network in networks)
