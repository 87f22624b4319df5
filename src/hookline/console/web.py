"""What every console route shares: templates, the signed session, the signed-in user, CSRF, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from hookline.config import Settings
from hookline.console.users import User, parse_users
from hookline.redaction import redact

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def session_key(settings: Settings) -> str:
    """The cookie-signing key: derived from the first HOOKLINE_SECRET_KEYS key, never that key itself."""
    from hookline.secrets_box import dev_key

    keys = settings.secret_keys.get_secret_value() if settings.secret_keys else dev_key(settings.var_dir)
    first = keys.split(",")[0].strip().encode()
    return hmac.new(first, b"hookline console session v1", hashlib.sha256).hexdigest()


def users_of(settings: Settings) -> dict[str, User]:
    return parse_users(settings.console_users.get_secret_value()) if settings.console_users else {}


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use; every form posts it back."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


async def checked_form(request: Request) -> FormData:
    """The posted form, if its CSRF token is this session's; 403 otherwise."""
    form = await request.form()
    sent, expected = str(form.get("csrf") or ""), request.session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "The form's CSRF token is missing or stale: reload the page and try again.")
    return form


def user(request: Request) -> User | None:
    """The signed-in user, if still configured with the same role (removing a user ends their sessions)."""
    found = request.app.state.users.get(request.session.get("user", ""))
    return found if found and found.role == request.session.get("role") else None


def operator(request: Request) -> User:
    signed_in = user(request)
    if signed_in is None:
        raise HTTPException(401, "Sign in first.")
    if not signed_in.may_act:
        raise HTTPException(403, f"{signed_in.name} is a viewer: replaying, discarding and syncing need an operator.")
    return signed_in


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, template, {"user": user(request), "csrf": csrf_token(request),
                                                          **context}, status_code=status_code)


def age(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "-"
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def shown_json(value: Any) -> str:
    """A payload or task arguments as operators may see them (hookline.redaction), pretty-printed."""
    return json.dumps(redact(value), indent=2, ensure_ascii=False, default=str)


def shown_text(value: str | None) -> str:
    """An error or traceback with any token in it masked."""
    return "" if value is None else redact(value)


templates.env.filters.update(age=age, when=when, shown_json=shown_json, shown_text=shown_text)
