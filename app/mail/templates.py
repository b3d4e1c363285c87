"""Mail templates: `<kind>.txt` (first line `Subject: …`) and `<kind>.html` in templates/.

Values are substituted with `string.Template` (`$name`); in the HTML part
they are escaped first, except `Html` values (markup the caller built and escaped
itself). Links stand in the text part as they are.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).parent / "templates"


class Html(str):
    """Markup that is already safe: put into the HTML part as is."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def _load(kind: str) -> tuple[Template, Template, Template]:
    text = (TEMPLATE_DIR / f"{kind}.txt").read_text()
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"{kind}.txt must start with a Subject: line")
    page = (TEMPLATE_DIR / f"{kind}.html").read_text()
    return Template(first.removeprefix("Subject: ")), Template(body.lstrip("\n")), Template(page)


def render(kind: str, values: dict[str, object]) -> RenderedMail:
    subject, text, page = _load(kind)
    plain = {k: "" if v is None else str(v) for k, v in values.items()}
    escaped = {k: v if isinstance(values[k], Html) else html.escape(v) for k, v in plain.items()}
    return RenderedMail(
        subject=subject.substitute(plain).replace("\n", " ")[:255],
        text=text.substitute(plain),
        html=page.substitute(escaped),
    )
