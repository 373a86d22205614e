"""Content screen (R21): prohibited industries and content, link shorteners and the service's own domains.

The terms follow the "Prohibited Content & Industries" list of the terms of use (seeds/002). They
are phrases chosen to name the prohibited business, not words that merely occur near it: "escort
service" but not "a police escort", "online slots" but not "delivery slots", "mortgage rates" but
not "families behind on their mortgage", "cryptocurrency" but not "the crypto library". A match
does not reject a campaign; it holds it for staff review, so a term is kept when a careful
reviewer would want to look, and dropped when ordinary newsletters use it. Matching is on whole
words, case-insensitive, on the visible text (HTML tags stripped), with an optional plural "s" and
any run of spaces or hyphens between the words of a phrase.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import urlsplit

TERMS: dict[str, tuple[str, ...]] = {
    "adult": (
        "porn", "porno", "pornography", "pornographic", "xxx", "sex toy", "sex shop", "sex cam",
        "sex chat", "escort service", "escort agency", "escort girl", "call girl", "camgirl", "cam girl",
        "nude photo", "nude pic", "nudes", "erotic massage", "adult dating", "hookup site",
        "onlyfans", "milf", "fetish",
    ),
    "child_exploitation": (
        "child porn", "child pornography", "jailbait", "csam", "underage nude", "underage sex",
        "lolita sex",
    ),
    "illegal_drugs": (
        "cocaine", "heroin", "methamphetamine", "crystal meth", "fentanyl", "mdma", "lsd",
        "magic mushrooms", "psilocybin", "ketamine", "buy weed", "marijuana", "cannabis oil",
        "drug contraband", "research chemicals",
    ),
    "pharmacy": (
        "online pharmacy", "online pharmacies", "canadian pharmacy", "internet pharmacy",
        "pharmacy online", "prescription drugs", "without a prescription", "without prescription",
        "no prescription needed", "no prescription required", "viagra", "cialis", "levitra",
        "sildenafil", "tadalafil", "xanax", "valium", "tramadol", "oxycodone", "oxycontin",
        "adderall", "vicodin", "ambien", "phentermine", "pharmaceutical products",
    ),
    "supplements_weight_loss": (
        "weight loss", "lose weight", "diet pill", "slimming pill", "fat burner", "fat burning pill",
        "appetite suppressant", "nutritional supplement", "dietary supplement", "herbal supplement",
        "vitamin supplement", "garcinia cambogia", "keto pill", "detox tea",
    ),
    "horoscopes_numerology": (
        "horoscope", "numerology", "astrology reading", "psychic reading", "tarot reading",
    ),
    "work_at_home": (
        "work from home opportunity", "work at home", "work at home opportunity", "earn money from home",
        "make money from home", "make money online", "make money fast", "get rich quick",
        "be your own boss", "financial freedom", "passive income", "cash gifting",
        "double your income", "no experience needed earn",
    ),
    "mlm": (
        "multi-level marketing", "mlm", "pyramid scheme", "network marketing", "downline",
        "matrix scheme", "ponzi",
    ),
    "affiliate_marketing": (
        "affiliate marketing", "affiliate program", "affiliate commission", "affiliate offer",
        "cpa offer",
    ),
    "credit_debt_mortgage": (
        "debt relief", "debt consolidation", "debt settlement", "debt collection", "debt collector",
        "collection agency", "credit repair", "fix your credit", "bad credit", "credit score repair",
        "payday loan", "payday lender", "cash advance", "instant loan", "guaranteed loan",
        "loan approval", "mortgage offer", "mortgage rate", "mortgage approval", "mortgage lender",
        "refinance", "remortgage", "low interest loan",
    ),
    "trading_investment": (
        "day trading", "penny stock", "stock tip", "stock pick", "hot stock", "trading signal",
        "forex", "binary option", "guaranteed return", "guaranteed profit", "investment opportunity",
        "double your money", "risk-free investment", "high yield investment",
    ),
    "crypto_schemes": (
        "cryptocurrency", "bitcoin", "btc giveaway", "crypto giveaway", "crypto investment",
        "crypto trading", "crypto signal", "initial coin offering", "token presale", "token sale",
        "crypto airdrop", "token airdrop", "nft drop", "double your bitcoin", "crypto mining pool",
    ),
    "gambling": (
        "casino", "online casino", "gambling", "sports betting", "online betting", "bet now",
        "betting odds", "bookmaker", "poker", "roulette", "blackjack", "slot machine", "online slots",
        "free spins", "lottery",
    ),
    "mailing_lists": (
        "email list for sale", "buy email list", "buy email lists", "mailing list for sale",
        "email database for sale", "targeted email list", "email leads for sale", "purchased email list",
    ),
    "weapons": (
        "firearms", "guns for sale", "buy guns", "ammunition", "ammo for sale", "assault rifle",
        "ghost gun", "gun silencer", "bomb making", "make a bomb", "build a bomb", "pipe bomb",
        "grenade", "explosives",
    ),
    "illegal_goods": (
        "pirated software", "cracked software", "keygen", "warez", "serial key generator",
        "license key generator", "counterfeit", "replica watches", "replica handbags", "fake id",
        "fake passport", "fake diploma", "stolen credit card", "cvv dump", "credit card dump",
    ),
    "malware": (
        "ddos for hire", "booter service", "stresser service", "ransomware as a service",
        "buy ransomware", "keylogger download", "crypter", "remote access trojan", "botnet for rent",
    ),
}

# Link shorteners hide where a link leads, which is how spam dodges domain blocklists.
SHORTENERS: tuple[str, ...] = (
    "bit.ly", "bitly.com", "j.mp", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "v.gd",
    "buff.ly", "rebrand.ly", "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "s.id",
    "bl.ink", "lnkd.in", "trib.al", "soo.gd", "clck.ru", "qr.ae", "adf.ly", "shorte.st", "ouo.io",
    "x.co", "po.st", "snip.ly", "t2m.io", "urlz.fr", "shorturl.com", "tinyurl.is", "short.gy",
    "linktr.ee", "bit.do", "mcaf.ee", "db.tt", "1url.com", "u.to",
)


WORD_GAP = r"[\s-]+"
URL_IN_TEXT = re.compile(r"(?:https?:)?//[^\s<>\"')]+", re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    term: str       # the prohibited term or domain found
    category: str   # a key of TERMS, or "url_shortener", "service_domain", "ip_address_link"
    where: str      # "subject", "html", "text", "links" or "from"


def screen(subject: str, html: str, text: str | None, links: Iterable[str],
           service_domains: Iterable[str], from_email: str | None = None) -> list[Match]:
    """Everything in a campaign that R21 holds for staff review; an empty list when it is clean."""
    found: list[Match] = []
    reader = _read(html)
    for where, content in (("subject", subject), ("html", " ".join(reader.parts)), ("text", text or "")):
        found.extend(Match(term, category, where) for term, category in _terms_in(content))
    own = [d.lower().strip(".") for d in service_domains if d]
    # The stored link table leaves out personalised links; the raw hrefs and the text's URLs do not.
    urls = dict.fromkeys([*links, *reader.urls, *URL_IN_TEXT.findall(text or "")])
    for url in urls:
        host = _host(url)
        if host is None:
            continue
        if re.fullmatch(r"[\d.]+|\[[0-9a-f:.]+\]", host):
            found.append(Match(host, "ip_address_link", "links"))
        shortener = _domain_match(host, SHORTENERS)
        if shortener:
            found.append(Match(shortener, "url_shortener", "links"))
        service = _domain_match(host, own)
        if service:
            found.append(Match(service, "service_domain", "links"))
    if from_email and "@" in from_email:
        service = _domain_match(from_email.rsplit("@", 1)[1].strip().lower().rstrip(">"), own)
        if service:
            found.append(Match(service, "service_domain", "from"))
    return list(dict.fromkeys(found))


def visible_text(html: str) -> str:
    """The text a reader sees (and image alt text), without tags, styles or scripts."""
    return " ".join(_read(html).parts)


def _read(html: str) -> _TextReader:
    reader = _TextReader()
    reader.feed(html)
    reader.close()
    return reader


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.urls: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        for name, value in attrs:
            if name in ("alt", "title") and value:
                self.parts.append(value)
            elif name in ("href", "src", "action") and value and value.strip().lower().startswith(("http", "//")):
                self.urls.append(value.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _terms_in(content: str) -> list[tuple[str, str]]:
    if not content:
        return []
    normalised = unicodedata.normalize("NFKC", content).casefold()
    hits = []
    for match in _pattern().finditer(normalised):
        name = match.lastgroup or ""
        hits.append((_canonical()[name], _category_of(name)))
    return list(dict.fromkeys(hits))


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    groups = []
    for category, terms in TERMS.items():
        # longest first, so "online casino" is reported rather than "casino"
        for index, term in enumerate(sorted(terms, key=len, reverse=True)):
            phrase = WORD_GAP.join(re.escape(word) for word in re.split(r"[\s-]+", term.casefold()))
            groups.append(f"(?P<{category}__{index}>{phrase}(?:e?s)?)")
    return re.compile(r"(?<![\w-])(?:" + "|".join(groups) + r")(?![\w-])")


@lru_cache(maxsize=1)
def _canonical() -> dict[str, str]:
    return {f"{category}__{index}": term
            for category, terms in TERMS.items()
            for index, term in enumerate(sorted(terms, key=len, reverse=True))}


def _category_of(group: str) -> str:
    return group.rsplit("__", 1)[0]


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def _domain_match(host: str, domains: Iterable[str]) -> str | None:
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return domain
    return None
