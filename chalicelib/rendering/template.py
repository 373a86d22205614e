"""Personalisation templates: a small, sandboxed Jinja language checked at save time, safe at send time.

Customers may write `{{ first_name | default("there") }}`, `{% if city == "Riga" %}…{% endif %}` and
`{% set %}`, with a fixed set of forgiving filters. Everything that could fail, loop, grow without
bound or reach Python internals (calls, attribute and item access, arithmetic, loops, macros,
includes) is refused when the campaign is saved, with the part and line. At send time a missing or
empty value renders empty (or its default), and a template that still fails for one recipient's
values is rendered as for a recipient without custom values, which the save-time check has proved.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib import errors

if TYPE_CHECKING:
    from jinja2 import Template

BUILTINS = ("email", "unsubscribe_url", "preferences_url", "list_name")
MAX_VALUE_CHARS = 2000          # a filter's result never grows past this
MAX_TEMPLATE_CHARS = 512 * 1024

ALLOWED_TESTS = ("defined", "undefined", "none", "number", "string", "boolean", "true", "false",
                 "eq", "ne", "lt", "le", "gt", "ge", "in", "equalto", "greaterthan", "lessthan",
                 "sameas", "lower", "upper")


def filters() -> dict[str, Callable[..., Any]]:
    """The filters a campaign may use, each forgiving: a wrong input gives a sensible value, never an error."""
    from jinja2 import filters as jf
    from markupsafe import escape

    def default(value, fallback="", boolean=False):
        if _missing(value) or (boolean and not value):
            return fallback
        return value

    def text(fn):
        def apply(value, *args, **kwargs):
            try:
                return _cap(str(fn(_as_text(value), *args, **kwargs)))
            except Exception:   # noqa: BLE001 - a filter never fails a send
                return _as_text(value)
        return apply

    def number(fn, fallback=0):
        def apply(value, *args, **kwargs):
            try:
                result = fn(value, *args, **kwargs)
                return fallback if isinstance(result, float) and not math.isfinite(result) else result
            except Exception:   # noqa: BLE001
                return fallback
        return apply

    def replace(value, old, new, count=None):
        old, new = str(old), str(new)
        if not old:
            return value
        return value.replace(old, new, -1 if count is None else int(count))

    def truncate(value, length=255, killwords=False, end="...", leeway=5):
        return jf.do_truncate(None, value, int(length), killwords, str(end), int(leeway))  # type: ignore[arg-type]

    table = {
        "default": default, "d": default,
        "lower": text(str.lower), "upper": text(str.upper), "title": text(str.title),
        "capitalize": text(str.capitalize), "trim": text(lambda v, chars=None: v.strip(chars)),
        "truncate": text(truncate), "replace": text(replace),
        "urlencode": text(jf.do_urlencode), "striptags": text(lambda v: escape(v).striptags()),
        "wordcount": number(lambda v: len(_as_text(v).split())),
        "length": number(lambda v: len(_as_text(v))), "count": number(lambda v: len(_as_text(v))),
        "string": _as_text, "e": escape, "escape": escape,
        "int": number(lambda v, default=0: int(float(_as_text(v).strip() or default)) if not isinstance(v, int) else v),
        "float": number(lambda v, default=0.0: float(_as_text(v).strip() or default), 0.0),
        "round": number(lambda v, precision=0, method="common": jf.do_round(float(v), int(precision), method)),
        "abs": number(lambda v: abs(v)),
        "first": text(lambda v: v[:1]), "last": text(lambda v: v[-1:]),
    }
    return table


def _missing(value: Any) -> bool:
    from jinja2 import Undefined

    return value is None or isinstance(value, Undefined) or (isinstance(value, str) and not value.strip())


def _as_text(value: Any) -> str:
    return "" if _missing(value) and not isinstance(value, str) else str(value)


def _cap(value: str) -> str:
    return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS]


@lru_cache(maxsize=2)
def environment(html: bool):
    """The sandboxed Jinja environment: HTML autoescaped, missing values empty, no globals."""
    from jinja2 import Undefined
    from jinja2 import tests as jt
    from jinja2.sandbox import SandboxedEnvironment

    class Missing(Undefined):
        """A missing value: empty, false, and never an error (comparisons are simply false)."""

        __slots__ = ()

        # Jinja's stubs type the comparisons as its failing method; a Missing compares false instead.
        def __lt__(self, other: Any) -> bool:  # type: ignore[override]
            return False

        __le__ = __gt__ = __ge__ = __lt__  # type: ignore[assignment]

    env = SandboxedEnvironment(autoescape=html, undefined=Missing, finalize=_finalize,
                               auto_reload=False, cache_size=0)
    env.globals.clear()
    env.filters = filters()
    env.tests = {name: jt.TESTS[name] for name in ALLOWED_TESTS if name in jt.TESTS}
    return env


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _allowed_nodes() -> frozenset[type]:
    from jinja2 import nodes

    return frozenset({
        nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter,
        nodes.Test, nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And, nodes.Or,
        nodes.Not, nodes.Concat, nodes.Assign, nodes.AssignBlock, nodes.Keyword, nodes.Tuple, nodes.List,
    })


def check(part: str, source: str, known: Iterable[str]) -> None:
    """Raise errors.Invalid (template_error, with part and line) unless `source` is a valid template."""
    from jinja2 import TemplateSyntaxError, meta, nodes

    if len(source) > MAX_TEMPLATE_CHARS:
        raise errors.Invalid(f"{part}: the template is longer than {MAX_TEMPLATE_CHARS // 1024} KB.",
                             code="too_large", details={"part": part})
    env = environment(part == "html")
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise _error(part, exc.lineno, exc.message or "syntax error") from exc
    allowed = _allowed_nodes()
    for node in tree.find_all(nodes.Node):
        line = getattr(node, "lineno", None) or 1
        if type(node) not in allowed:
            raise _error(part, line, f"{_describe(node)} is not allowed in a campaign template")
        if isinstance(node, nodes.Filter) and node.name not in env.filters:
            raise _error(part, line, f"unknown filter '{node.name}'; available: {', '.join(sorted(env.filters))}")
        if isinstance(node, nodes.Test) and node.name not in env.tests:
            raise _error(part, line, f"unknown test '{node.name}'")
        if isinstance(node, nodes.Name) and node.ctx == "store" and (
                node.name.startswith("_") or node.name in BUILTINS):
            raise _error(part, line, f"'{node.name}' cannot be assigned")
        if isinstance(node, (nodes.Filter, nodes.Test)) and (node.dyn_args or node.dyn_kwargs):
            raise _error(part, line, "*args and **kwargs are not allowed")
    known = set(known)
    unknown = meta.find_undeclared_variables(tree) - known
    if unknown:
        first = min((n for n in tree.find_all(nodes.Name) if n.name in unknown), key=lambda n: n.lineno)
        raise _error(part, first.lineno, f"unknown variable '{first.name}'; available: "
                     f"{', '.join(sorted(k for k in known if not k.startswith('_')))}")


def _describe(node: Any) -> str:
    from jinja2 import nodes

    names = {
        nodes.For: "{% for %}", nodes.Macro: "{% macro %}", nodes.CallBlock: "{% call %}",
        nodes.Include: "{% include %}", nodes.Import: "{% import %}", nodes.FromImport: "{% from %}",
        nodes.Extends: "{% extends %}", nodes.Block: "{% block %}", nodes.FilterBlock: "{% filter %}",
        nodes.With: "{% with %}", nodes.Call: "a function call", nodes.Getattr: "attribute access ('.')",
        nodes.Getitem: "item access ('[]')", nodes.ScopedEvalContextModifier: "{% autoescape %}",
        nodes.Scope: "{% autoescape %}", nodes.Slice: "slicing",
    }
    if isinstance(node, (nodes.BinExpr, nodes.UnaryExpr)):
        return f"the operator '{node.operator}'"
    return names.get(type(node), type(node).__name__)


def _error(part: str, line: int, problem: str) -> errors.Invalid:
    return errors.Invalid(f"{part}: line {line}: {problem}.", code="template_error",
                          details={"part": part, "line": line})


def build(source: str, html: bool) -> Template:
    """A compiled template from a checked (or generated) source."""
    from jinja2 import TemplateError

    try:
        return environment(html).from_string(source)
    except TemplateError as exc:
        raise errors.Invalid(f"The {'HTML' if html else 'text'} content cannot be prepared for sending: "
                             f"{exc}.", code="template_error") from exc


def render(template: Template, values: Mapping[str, Any], fallback: Mapping[str, Any],
           max_chars: int, on_fallback: Callable[[str], None] | None = None) -> str:
    """The template rendered with `values`; with `fallback` if that fails or grows past `max_chars`."""
    try:
        out = template.render(values)
        reason = "too_long" if len(out) > max_chars else None
    except Exception as exc:   # noqa: BLE001 - a recipient's odd value never stops a send
        reason = type(exc).__name__
    if reason is None:
        return out
    if on_fallback is not None:
        on_fallback(reason)
    return template.render(fallback)
