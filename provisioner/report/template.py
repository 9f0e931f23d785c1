"""Jinja2, the only module importing it: the report's templates for HTML and Typst.

Both templates render the same `Report` with the same `Text` formats, so the HTML
and the PDF show the same figures the same way. In the Typst template every `{{ }}`
becomes a Typst string literal (see `typst_literal`), so a school named
`St. #1 [Nord]` cannot turn into markup.
"""

from __future__ import annotations

import json
from typing import Any

import jinja2

_LOADER = jinja2.PackageLoader("provisioner.report", "templates")
_HTML = jinja2.Environment(loader=_LOADER, autoescape=True, undefined=jinja2.StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True)


def typst_literal(value: object) -> str:
    """Any value as a Typst string literal: quoted, backslashes and quotes escaped."""
    if isinstance(value, TypstCode):
        return str(value)
    text = "".join(ch for ch in str(value) if ch >= " " or ch == "\n")
    return json.dumps(text, ensure_ascii=False)


class TypstCode(str):
    """Typst source that a template inserts as it is (numbers, built markup)."""


_TYPST = jinja2.Environment(loader=_LOADER, autoescape=False, undefined=jinja2.StrictUndefined,
                            trim_blocks=True, lstrip_blocks=True, finalize=typst_literal)


def render_html(name: str, **context: Any) -> str:
    """Render an HTML template (autoescaped)."""
    return _HTML.get_template(name).render(**context)


def render_typst(name: str, **context: Any) -> str:
    """Render a Typst template; every expression becomes a Typst string literal."""
    return _TYPST.get_template(name).render(**context)
