"""The console's routes: sign-in, the read pages (any user) and the actions (operators, POST + CSRF, audited)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hookline.config import Settings, get_settings
from hookline.console import actions, jobs, pages
from hookline.console.users import authenticate
from hookline.console.web import checked_form, render, session_key, user, users_of

SESSION_HOURS = 8
PUBLIC = ("/login",)


async def login_page(request: Request) -> Response:
    return render(request, "login.html", error=None, name="")


async def login(request: Request) -> Response:
    form = await checked_form(request)
    name, password = str(form.get("name") or "")[:100], str(form.get("password") or "")[:1024]
    found = await run_in_threadpool(authenticate, request.app.state.users, name, password)
    if found is None:
        return render(request, "login.html", status_code=401, error="Wrong name or password.", name=name)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update(user=found.name, role=found.role)
    return RedirectResponse("/tenants", status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    return RedirectResponse("/tenants", status_code=303)


async def require_login(request: Request, call_next):  # noqa: ANN001, ANN201
    if request.url.path not in PUBLIC and user(request) is None:
        if request.method != "GET":
            return Response("Sign in first.", status_code=401)
        return RedirectResponse("/login", status_code=303)
    return await call_next(request)


async def http_error(request: Request, exc: HTTPException) -> Response:
    return render(request, "error.html", status_code=exc.status_code, message=exc.detail)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette):  # noqa: ANN202
        await run_in_threadpool(jobs.resume)
        yield

    app = Starlette(
        routes=[
            Route("/", home), Route("/login", login_page, methods=["GET"]), Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]), *pages.routes, *actions.routes,
        ],
        middleware=[
            # SameSite=Lax and a CSRF token on every form; the cookie is signed, not readable by scripts.
            Middleware(SessionMiddleware, secret_key=session_key(settings), session_cookie="hookline_console",
                       max_age=int(timedelta(hours=SESSION_HOURS).total_seconds()), same_site="lax"),
            Middleware(BaseHTTPMiddleware, dispatch=require_login),
        ],
        # Starlette types every handler as taking any Exception; this one is registered for HTTPException only.
        exception_handlers={HTTPException: http_error},  # type: ignore[dict-item]
        lifespan=lifespan,
    )
    app.state.users = users_of(settings)
    app.state.settings = settings
    return app

