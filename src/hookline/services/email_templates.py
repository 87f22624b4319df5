"""The email templates (Jinja2, packaged in hookline/templates/email): subject, text and HTML per use.

HTML is autoescaped; text and subject are not (they are not HTML). A variable the template needs
and the context lacks raises TemplateProblem naming it (StrictUndefined), a permanent failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

TEMPLATES = ("welcome", "appointment_confirmation", "dunning_reminder", "dunning_suspended", "report_ready")


class TemplateProblem(ValueError):
    """The message cannot be rendered: unknown template, missing variable, bad template."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("hookline", "templates/email"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def check_template(template: str) -> None:
    if template not in TEMPLATES:
        raise TemplateProblem(f"unknown email template {template!r} (known: {', '.join(TEMPLATES)})")


def render(template: str, context: dict[str, Any], *, sender_name: str, recipient: str) -> Rendered:
    """Subject (one line), text and HTML of `template` for `context`; raises TemplateProblem."""
    check_template(template)
    values = {**context, "sender_name": sender_name, "recipient": recipient}
    env = environment()
    try:
        subject = " ".join(env.get_template(f"{template}.subject.txt").render(values).split())
        text = env.get_template(f"{template}.txt").render(values)
        html = env.get_template(f"{template}.html").render({**values, "subject": subject})
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(f"template {template!r}: {exc.message} (add it to the message's context)") from None
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"template {template!r}: {exc!r}") from None
    return Rendered(subject=subject, text=text, html=html)
