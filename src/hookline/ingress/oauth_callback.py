"""GET /oauth/ghl/callback: where the Marketplace sends an installer back with `code` and `state`.

The state must be one of ours (sealed under HOOKLINE_SECRET_KEYS, younger than
HOOKLINE_GHL_INSTALL_STATE_SECONDS) and is spent here, once (Redis SET NX), before the code
is exchanged: a forged, old or replayed callback gets a 400 and stores nothing. The answer is a
small HTML page for the person who clicked through the Marketplace.
"""

from __future__ import annotations

from html import escape

import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hookline.config import ConfigError, get_settings
from hookline.integrations.errors import IntegrationError
from hookline.services import ghl_connect
from hookline.services.ghl_installs import InstallError

log = structlog.get_logger(__name__)
MAX_PARAM = 2048


def page(status: int, title: str, text: str) -> HTMLResponse:
    body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{escape(title)}</title></head>"
            f"<body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>")
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


class OAuthCallback:
    path = "/oauth/ghl/callback"

    def __init__(self, redis: aioredis.Redis | None) -> None:
        self.redis = redis

    async def handle(self, request: Request) -> HTMLResponse:
        code, raw_state = request.query_params.get("code", ""), request.query_params.get("state", "")
        if not code or not raw_state or len(code) > MAX_PARAM or len(raw_state) > MAX_PARAM:
            return page(400, "Not connected", "The link lacks its code or state; start the install again.")
        try:
            state = ghl_connect.open_state(raw_state)
            await self._spend(state.nonce)
            outcome = await run_in_threadpool(ghl_connect.complete, code, state)
        except InstallError as exc:
            log.warning("ghl.install.refused", reason=str(exc)[:200])
            return page(400, "Not connected", str(exc))
        except ConfigError as exc:
            log.error("ghl.install.not_configured", error=str(exc))
            return page(503, "Not connected", "Hookline's GoHighLevel app is not configured; nothing stored.")
        except IntegrationError as exc:  # GoHighLevel down, rate limited, or refusing: nothing was stored
            log.warning("ghl.install.provider_error", error=type(exc).__name__)
            return page(502, "Not connected", "GoHighLevel did not answer as expected; start the install again.")
        if isinstance(outcome, ghl_connect.Agency):
            from hookline.transport.publish import publish_system  # the Celery app reads the broker URL on import

            try:  # the listing runs on ghl_sync (tasks/ghl_sync.list_installed)
                publish_system("hookline.tasks.ghl_sync.list_installed", install_id=outcome.install_id)
            except Exception as exc:  # noqa: BLE001 - stored: beat's resume_installs starts the listing later
                log.warning("ghl.install.publish_failed", install_id=outcome.install_id, error=repr(exc)[:300])
            return page(200, "Agency connected", f"Agency {outcome.company_id} is connected. Its locations are "
                        "being connected now; `hookline ghl installs` shows the progress.")
        from hookline.tasks.reconciling import start_backfill

        await run_in_threadpool(start_backfill, outcome.tenant_id, "ghl")
        return page(200, "Location connected", f"Location {outcome.name} ({outcome.location_id}) is connected as "
                    f"tenant {outcome.slug}; its first sync has started.")

    async def _spend(self, nonce: str) -> None:
        """Each state once: the second callback with it (a replay) is refused."""
        if self.redis is None:
            raise ConfigError("the install callback needs Redis (HOOKLINE_REDIS_URL) to spend each state once")
        try:
            fresh = await self.redis.set(f"hookline:ghl:install-state:{nonce}", 1, nx=True,
                                         ex=get_settings().ghl_install_state_seconds)
        except (RedisError, OSError) as exc:
            raise ConfigError(f"Redis is unreachable: {exc!r}") from None
        if not fresh:
            raise InstallError("this install link was used already: open a new one; nothing stored")
