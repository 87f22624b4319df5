"""`hookline webhooks send|samples`: a documented sample, signed as its provider signs, posted to the local ingress.

Like `stripe trigger`, for `hookline dev` only: GoHighLevel samples are signed with the dev key
that `hookline dev` made and trusts (dev_webhook_key.py), the others with the secret of the
tenant's connection, read with the embedded default's own key. With a database URL set (a
deployment) it refuses: there is no dev key there, and the ingress trusts none.
"""

from __future__ import annotations

import click

from hookline.config import ENV_PREFIX
from hookline.samples import SAMPLES, Sample, delivery

PROVIDER_NAMES = {"ghl": "GoHighLevel", "zoom": "Zoom", "reonic": "Reonic", "payments": "payments"}
CONNECT = {"ghl": "hookline tenants add NAME --ghl-location-id ID (or: hookline connections add --tenant {slug} "
                  "--provider ghl --account-id ID)",
           "zoom": "hookline connections add --tenant {slug} --provider zoom --account-id ANY_ID",
           "reonic": "hookline connections add --tenant {slug} --provider reonic --account-id ANY_ID",
           "payments": "hookline connections add --tenant {slug} --provider payments"}


@click.group()
def webhooks() -> None:
    """Try the ingress with the providers' documented webhooks (the embedded default of `hookline dev` only)."""


@webhooks.command("samples")
def webhooks_samples() -> None:
    """The samples `hookline webhooks send` knows."""
    for sample in SAMPLES.values():
        click.echo(f"{sample.name:<26} {PROVIDER_NAMES[sample.provider]}")


@webhooks.command("send")
@click.argument("name", metavar="SAMPLE")
@click.option("--tenant", "slug", required=True, help="The tenant's slug (see `hookline tenants list`).")
@click.option("--url", help="The ingress's base URL (default: http://127.0.0.1:HOOKLINE_PORT).")
def webhooks_send(name: str, slug: str, url: str | None) -> None:
    """Post sample SAMPLE (see `hookline webhooks samples`) for tenant SLUG to the running ingress, signed as its
    provider signs; print the answer and where the event went."""
    import httpx

    from hookline.cli import _settings

    sample = SAMPLES.get(name)
    if sample is None:
        raise click.UsageError(f"no sample {name!r}; the samples are: {', '.join(SAMPLES)}")
    settings = _settings()
    if settings.database_url is not None:
        raise click.ClickException(
            f"{ENV_PREFIX}DATABASE_URL is set, so this is not the embedded default of `hookline dev`: there is no dev "
            "signing key here and the ingress trusts none. Sign a delivery yourself (README: how signatures work).")
    account_id, signing = _signing(sample, slug)
    made = delivery(sample, account_id, signing)
    base = (url or f"http://{_local(settings.host)}:{settings.port}").rstrip("/")
    click.echo(f"POST {base}{made.path}  ({PROVIDER_NAMES[sample.provider]} {sample.name} for {slug})")
    try:
        answer = httpx.post(base + made.path, content=made.body, headers=made.headers, timeout=30)
    except httpx.TransportError as exc:
        raise click.ClickException(f"no ingress answers at {base} ({exc.__class__.__name__}): start `hookline dev` "
                                   "(or give --url)") from None
    click.echo(f"{answer.status_code} {answer.text}")
    if not answer.is_success:
        raise click.ClickException(f"the ingress refused the sample ({answer.status_code})")
    click.echo(_where(sample, answer.json(), slug))


def _signing(sample: Sample, slug: str):  # noqa: ANN202 - (account id, secret text or Ed25519 private key)
    """The tenant's connection to the sample's provider, and what signs for it here."""
    from hookline import dev_webhook_key, embedded
    from hookline.cli import _settings
    from hookline.db import global_session
    from hookline.ingress.connections import WEBHOOK_SECRET
    from hookline.secrets_box import SecretBoxError
    from hookline.services.tenants import connection_secrets, get_by_slug, tenant_connection

    embedded.fill_in(_settings(), broker=False)
    settings = _settings()
    with global_session() as session:
        tenant = get_by_slug(session, slug)
        if tenant is None:
            raise click.ClickException(f"no tenant with slug {slug!r} (see `hookline tenants list`)")
        connection = tenant_connection(session, tenant.id, sample.provider)
        if connection is None or connection.status != "active":
            raise click.ClickException(f"{slug} has no active {PROVIDER_NAMES[sample.provider]} connection: "
                                       + CONNECT[sample.provider].format(slug=slug))
        account_id = connection.account_id
        try:
            secret = None if sample.provider == "ghl" else connection_secrets(connection).get(WEBHOOK_SECRET)
        except SecretBoxError:
            raise click.ClickException(f"the secrets of {slug}'s {sample.provider} connection cannot be opened with "
                                       f"{ENV_PREFIX}SECRET_KEYS") from None
    if sample.provider != "ghl":
        if not secret:
            raise click.ClickException(f"{slug}'s {sample.provider} connection has no webhook secret: "
                                       f"hookline connections set-secret --tenant {slug} --provider {sample.provider}")
        return account_id, secret
    path = settings.var_dir.resolve() / dev_webhook_key.KEY_FILE
    if not path.exists():
        raise click.ClickException(f"no dev signing key in {path.parent} yet: start `hookline dev` (it makes one)")
    key = dev_webhook_key.load(path)
    trusted = settings.ghl_webhook_ed25519_public_key
    if trusted is not None and trusted != dev_webhook_key.public_pem(key):
        raise click.ClickException(f"{ENV_PREFIX}GHL_WEBHOOK_ED25519_PUBLIC_KEY is set to a key of your own, so "
                                   "`hookline dev` trusts that key and not its dev key; unset it to send "
                                   "GoHighLevel samples")
    return account_id, key


def _where(sample: Sample, answer: dict, slug: str) -> str:
    """Where the stored event went: its id and status, and the task and queue that process it."""
    from hookline.workers.handlers import handler_for
    from hookline.workers.routing import queue_of

    handler = handler_for(sample.provider, sample.name)
    route = (f"task {handler.task} on queue {queue_of(handler.task)}" if handler is not None
             else "no task (stored as ignored)")
    seen = " (a duplicate: already stored)" if answer.get("duplicate") else ""
    return (f"event {answer.get('event_id')}: {answer.get('status')}{seen}, {route}\n"
            f"see it: hookline events show {answer.get('event_id')} --tenant {slug}")


def _local(host: str) -> str:
    """Where to reach an ingress listening on `host` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
