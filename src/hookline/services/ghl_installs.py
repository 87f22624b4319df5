"""GoHighLevel Marketplace installs: a location's tokens, or an agency's Company token, in; connected tenants out.

A location install (the OAuth callback) connects one location at once. An agency's bulk install
stores the Company token, then tasks on ghl_sync list `/oauth/installedLocations` page by page
and mint each location's token (`/oauth/locationToken`); every step's state is a row here, so a
crashed worker's steps are started again by `stalled()` (beat, tasks/ghl_sync.resume_installs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.db import global_session, scope_to_tenant
from hookline.integrations.auth import TokenSet
from hookline.integrations.errors import AuthExpired
from hookline.integrations.ghl import resources as r
from hookline.models import Connection, ConnectionToken, GhlInstall, GhlInstallLocation, SyncRun, Tenant
from hookline.secrets_box import seal, unseal
from hookline.services import tenants, tokens

log = structlog.get_logger(__name__)

# ghl_installs.status and ghl_install_locations.state
LISTING, LISTED, PENDING, CONNECTED, FAILED = "listing", "listed", "pending", "connected", "failed"
UNINSTALLED = tenants.UNINSTALLED


class InstallError(ValueError):
    """An install that cannot be honoured; the message is safe to show (no token in it)."""


@dataclass(frozen=True)
class Connected:
    tenant_id: int
    slug: str
    name: str
    location_id: str
    new_tenant: bool


# -- the agency's Company token --


class CompanyTokenStore:
    """The TokenStore of an agency install's Company token (sealed on its ghl_installs row)."""

    def __init__(self, install_id: int) -> None:
        self.install_id = install_id

    def load(self) -> TokenSet:
        with global_session() as session:
            row = session.get(GhlInstall, self.install_id)
            if row is None or row.access_token is None or row.token_status != "active":
                raise AuthExpired(f"agency install {self.install_id} has no usable Company token; "
                                  "install the app again")
            return TokenSet(unseal(row.access_token), unseal(row.refresh_token) if row.refresh_token else None,
                            row.expires_at.timestamp() if row.expires_at else None, row.scope)

    def save(self, fresh: TokenSet) -> None:
        with global_session() as session:
            session.execute(update(GhlInstall).where(GhlInstall.id == self.install_id).values(**_sealed(fresh)))

    def mark_needs_reauth(self, reason: str) -> None:
        with global_session() as session:
            session.execute(update(GhlInstall).where(GhlInstall.id == self.install_id)
                            .values(token_status="needs_reauth", last_error=reason[:200]))


def _sealed(fresh: TokenSet) -> dict:
    return {"access_token": seal(fresh.access_token), "scope": fresh.scope, "token_status": "active",
            "refresh_token": seal(fresh.refresh_token) if fresh.refresh_token else None,
            "expires_at": datetime.fromtimestamp(fresh.expires_at, UTC) if fresh.expires_at else None}


def record_company(session: Session, company_id: str, fresh: TokenSet) -> int:
    """Store (or replace, on a reinstall) an agency's Company token and start its listing from the top."""
    values = {**_sealed(fresh), "status": LISTING, "skip": 0, "last_error": None, "updated_at": func.now()}
    statement = insert(GhlInstall).values(company_id=company_id, **values)
    statement = statement.on_conflict_do_update(index_elements=[GhlInstall.company_id], set_=values)
    return session.scalars(statement.returning(GhlInstall.id)).one()


def company_of(session: Session, install_id: int) -> str:
    company = session.scalar(select(GhlInstall.company_id).where(GhlInstall.id == install_id))
    if company is None:
        raise AuthExpired(f"no agency install {install_id}")
    return company


def install_of(session: Session, location_id: str) -> int:
    """The agency install a location's token is minted from."""
    install_id = session.scalar(select(GhlInstallLocation.install_id)
                                .where(GhlInstallLocation.location_id == location_id))
    if install_id is None:
        raise AuthExpired(f"location {location_id} belongs to no agency install; reconnect it")
    return install_id


# -- listing an agency's locations --


def claim_listing(session: Session, install_id: int) -> GhlInstall | None:
    """The install row, locked, if it is still listing and no other task holds it."""
    return session.scalars(select(GhlInstall).where(GhlInstall.id == install_id, GhlInstall.status == LISTING)
                           .with_for_update(skip_locked=True)).one_or_none()


def record_page(session: Session, row: GhlInstall, page: r.InstalledLocationPage, page_limit: int) -> list[str]:
    """A page of installed locations: each becomes `pending` (a failed or uninstalled one again too).
    Advances the cursor; `listed` after a short page. Returns the location ids now pending."""
    pending: list[str] = []
    for location in page.locations:
        statement = insert(GhlInstallLocation).values(install_id=row.id, location_id=location.id, name=location.name)
        statement = statement.on_conflict_do_update(
            index_elements=[GhlInstallLocation.location_id],
            set_={"install_id": row.id, "state": PENDING, "last_error": None, "updated_at": func.now()},
            where=GhlInstallLocation.state != CONNECTED)
        if session.scalars(statement.returning(GhlInstallLocation.location_id)).one_or_none():
            pending.append(location.id)
    row.skip += len(page.locations)
    row.updated_at = func.now()
    if len(page.locations) < page_limit:
        row.status = LISTED
    return pending


def add_pending(session: Session, install_id: int, location_id: str) -> bool:
    """An agency location to connect (an INSTALL webhook); False when it is connected already."""
    statement = insert(GhlInstallLocation).values(install_id=install_id, location_id=location_id)
    statement = statement.on_conflict_do_update(
        index_elements=[GhlInstallLocation.location_id],
        set_={"install_id": install_id, "state": PENDING, "last_error": None, "updated_at": func.now()},
        where=GhlInstallLocation.state != CONNECTED)
    return session.scalars(statement.returning(GhlInstallLocation.id)).one_or_none() is not None


def agency_install(session: Session, company_id: str) -> int | None:
    """The id of a company's live agency install (its Company token stored), if there is one."""
    return session.scalar(select(GhlInstall.id).where(GhlInstall.company_id == company_id,
                                                      GhlInstall.status != UNINSTALLED,
                                                      GhlInstall.access_token.is_not(None)))


def location_state(session: Session, location_id: str) -> str | None:
    return session.scalar(select(GhlInstallLocation.state).where(GhlInstallLocation.location_id == location_id))


def fail_listing(install_id: int, error: str) -> None:
    with global_session() as session:
        session.execute(update(GhlInstall).where(GhlInstall.id == install_id)
                        .values(status=FAILED, last_error=error[:2000], updated_at=func.now()))


def mark_location_failed(location_id: str, error: str) -> None:
    with global_session() as session:
        session.execute(update(GhlInstallLocation).where(GhlInstallLocation.location_id == location_id)
                        .values(state=FAILED, last_error=error[:2000], updated_at=func.now()))


# -- a location becomes a connected tenant --


def attach(location: r.Location, fresh: TokenSet, kind: str, *, tenant_id: int | None = None) -> Connected:
    """Connect a location with its tokens, in one transaction: a new tenant named after it, or the
    tenant given (`tenant_id`), or the tenant it was connected to before (a reinstall)."""
    with global_session() as session:
        connection = session.scalars(select(Connection).where(Connection.provider == "ghl",
                                                              Connection.account_id == location.id)).one_or_none()
        new_tenant = False
        if connection is not None:
            if tenant_id is not None and connection.tenant_id != tenant_id:
                raise InstallError(f"location {location.id} is already connected to another tenant; nothing stored")
            connection.status = tenants.ACTIVE
            tenant = session.get(Tenant, connection.tenant_id)
        elif tenant_id is not None:
            tenant = session.get(Tenant, tenant_id)
            if tenant is None:
                raise InstallError("the tenant this install link was made for no longer exists; nothing stored")
            other = tenants.tenant_connection(session, tenant.id, "ghl")
            if other is not None and other.status == tenants.ACTIVE:
                raise InstallError(f"tenant {tenant.slug} is connected to location {other.account_id} already; "
                                   "nothing stored")
            connection = tenants.add_connection(session, tenant.id, "ghl", location.id)
        else:
            name = (location.name or "").strip() or f"GoHighLevel {location.id}"
            tenant = Tenant(name=name[:200], slug=tenants.free_slug(session, name, location.id), timezone="UTC")
            tenants.follow(tenant, name=None, timezone=location.timezone)
            session.add(tenant)
            session.flush()
            connection = tenants.add_connection(session, tenant.id, "ghl", location.id)
            new_tenant = True
        assert tenant is not None
        session.execute(update(GhlInstallLocation).where(GhlInstallLocation.location_id == location.id)
                        .values(state=CONNECTED, connection_id=connection.id, last_error=None, updated_at=func.now()))
        scope_to_tenant(session, tenant.id)  # its credentials commit with the connection, or neither does
        tokens.store(session, tenant.id, connection.id, kind, fresh)
        connected = Connected(tenant.id, tenant.slug, tenant.name, location.id, new_tenant)
    log.info("ghl.install.connected", tenant_id=connected.tenant_id, new_tenant=new_tenant, kind=kind)
    return connected


# -- uninstalls --


def uninstall_location(location_id: str) -> int | None:
    """The location's connection becomes `uninstalled` and its tokens are deleted; its data stays.
    Running reconciliations stop. Returns the tenant id (None: no tenant had it)."""
    with global_session() as session:
        session.execute(update(GhlInstallLocation).where(GhlInstallLocation.location_id == location_id)
                        .values(state=UNINSTALLED, updated_at=func.now()))
        connection = session.scalars(select(Connection).where(Connection.provider == "ghl",
                                                              Connection.account_id == location_id)).one_or_none()
        if connection is None:
            return None
        connection.status = UNINSTALLED
        tenant_id = connection.tenant_id
        scope_to_tenant(session, tenant_id)
        session.execute(delete(ConnectionToken).where(ConnectionToken.tenant_id == tenant_id,
                                                      ConnectionToken.connection_id == connection.id))
        session.execute(update(SyncRun).where(SyncRun.tenant_id == tenant_id, SyncRun.provider == "ghl",
                                              SyncRun.state == "running")
                        .values(state="failed", finished_at=func.now(), last_error="the app was uninstalled"))
    log.info("ghl.install.uninstalled", tenant_id=tenant_id)
    return tenant_id


def uninstall_company(company_id: str) -> bool:
    """The agency removed the app: its Company token is deleted (its locations' own UNINSTALLs follow)."""
    with global_session() as session:
        done = session.execute(update(GhlInstall).where(GhlInstall.company_id == company_id).values(
            status=UNINSTALLED, access_token=None, refresh_token=None, expires_at=None, updated_at=func.now()))
        return bool(done.rowcount)  # type: ignore[attr-defined]  # a DML statement's Result is a CursorResult


# -- resuming after a crash, and progress --


def stalled(session: Session, stale_after: float) -> tuple[list[int], list[tuple[int, str]]]:
    """Listings and pending locations with no step for `stale_after` seconds (their task was lost),
    touched so that the next look waits again: (install ids, (install id, location id) pairs)."""
    before = datetime.now(UTC) - timedelta(seconds=stale_after)
    listings = session.scalars(update(GhlInstall).where(GhlInstall.status == LISTING, GhlInstall.updated_at < before)
                               .values(updated_at=func.now()).returning(GhlInstall.id)).all()
    locations = session.execute(update(GhlInstallLocation).where(GhlInstallLocation.state == PENDING,
                                                                  GhlInstallLocation.updated_at < before)
                                .values(updated_at=func.now())
                                .returning(GhlInstallLocation.install_id, GhlInstallLocation.location_id)).all()
    return list(listings), [(install_id, location_id) for install_id, location_id in locations]


def progress(session: Session) -> list[tuple[GhlInstall, dict[str, int]]]:
    """Every agency install with its locations counted by state."""
    counts: dict[int, dict[str, int]] = {}
    for install_id, state, count in session.execute(
            select(GhlInstallLocation.install_id, GhlInstallLocation.state, func.count())
            .group_by(GhlInstallLocation.install_id, GhlInstallLocation.state)):
        counts.setdefault(install_id, {})[state] = count
    installs = session.scalars(select(GhlInstall).order_by(GhlInstall.id)).all()
    return [(install, counts.get(install.id, {})) for install in installs]
