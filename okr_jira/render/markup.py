"""Markup built by construction: text is escaped unless it is already `Safe`.

Every value from Jira or the OKR file enters a page through `el()` or `esc()`, so a summary like
``<ac:structured-macro ...>`` or ``]]>`` shows as text and cannot add markup. Characters XML 1.0
forbids (most control characters) are dropped, since Confluence refuses a body containing them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class Safe(str):
    """A string of well-formed markup: passed through `el()` without escaping."""

    __slots__ = ()


def _clean(value: object) -> str:
    return _XML_INVALID.sub("", str(value))


def esc(value: object) -> Safe:
    """Text as markup: `&`, `<`, `>` escaped, invalid characters dropped."""
    if isinstance(value, Safe):
        return value
    text = _clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A parser turns a raw CR into LF; as a reference it survives.
    return Safe(text.replace("\r", "&#13;"))


def attr(value: object) -> str:
    """An attribute value: quotes and whitespace escaped too, so newlines survive parsing."""
    text = _clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace('"', "&quot;").replace("'", "&#39;")
    return text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


Child = str | Safe | None


def join(children: Iterable[Child]) -> Safe:
    return Safe("".join(esc(child) for child in children if child is not None))


def el(tag: str, attrs: Mapping[str, object | None] | None = None, *children: Child) -> Safe:
    """`<tag attrs>children</tag>`; attributes whose value is None are left out."""
    rendered = "".join(
        f' {name}="{attr(value)}"' for name, value in (attrs or {}).items() if value is not None
    )
    inner = join(children)
    if not inner and tag in _VOID:
        return Safe(f"<{tag}{rendered}/>")
    return Safe(f"<{tag}{rendered}>{inner}</{tag}>")


# Elements written self-closed when empty (XHTML void elements and Confluence resource ids).
_VOID = frozenset(
    {
        "br",
        "hr",
        "img",
        "col",
        "ri:page",
        "ri:attachment",
        "ri:url",
        "ri:user",
        "line",
        "circle",
        "polyline",
        "rect",
    }
)
