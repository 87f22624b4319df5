"""Connection secrets sealed at rest: what the raw column holds, rotation, and the 0015 data migration."""

from __future__ import annotations

import asyncio
import json
import os

import psycopg
import pytest
from cryptography.fernet import Fernet, MultiFernet

from hookline.db import get_engine, global_session
from hookline.ingress.connections import ConnectionDirectory
from hookline.ingress.errors import WebhookRejected
from hookline.secrets_box import SEALED, unseal
from hookline.services.tenants import add_connection, provider_secrets, seal_plaintext_secrets
from tests.conftest import ADMIN_URL, DATABASE
from tests.support.cli import hookline


def raw_secrets() -> dict[tuple[str, str], dict]:
    """connections.secrets as stored, read as the admin (past the application's code)."""
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as conn:
        rows = conn.execute("SELECT provider, account_id, secrets FROM connections").fetchall()
    return {(provider, account): secrets for provider, account, secrets in rows}


def admin(sql: str, *params) -> None:
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as conn:
        conn.execute(sql, params)


def test_the_cli_and_the_services_store_only_ciphertext(tenant):
    added = hookline("connections", "add", "--tenant", "sunny-solar", "--provider", "reonic",
                     "--account-id", "reonic-client-9", "--secret-stdin", input="rnc-signing-7f3a\n")
    with global_session() as session:
        add_connection(session, tenant.id, "zoom", "zoom-acct-9", secrets={"webhook_secret": "zoom-signing-91c2"})
    key = hookline("forms", "new-key", "--tenant", "sunny-solar").stdout.splitlines()[-1]

    assert added.returncode == 0, added.stderr
    stored = raw_secrets()
    text = json.dumps(list(stored.values()))
    assert "rnc-signing-7f3a" not in text and "zoom-signing-91c2" not in text and key not in text
    reonic = stored[("reonic", "reonic-client-9")]["webhook_secret"]
    assert set(reonic) == {SEALED} and unseal(reonic[SEALED]) == "rnc-signing-7f3a"
    assert set(stored[("forms", "sunny-solar")]["api_key_sha256"]) == {SEALED}  # the key's hash, sealed too
    with global_session() as session:
        assert provider_secrets(session, "zoom", "webhook_secret") == ["zoom-signing-91c2"]


def test_reencrypt_moves_connection_secrets_to_the_new_key(tenant):
    old, new = os.environ["HOOKLINE_SECRET_KEYS"], Fernet.generate_key().decode()
    hookline("connections", "add", "--tenant", "sunny-solar", "--provider", "payments", "--secret-stdin",
             input="pay-signing-55aa\n")

    done = hookline("credentials", "reencrypt", env={"HOOKLINE_SECRET_KEYS": f"{new},{old}"})

    assert done.returncode == 0, done.stderr
    assert "the secrets of 1 connection(s)" in done.stdout and "pay-signing" not in done.stdout
    [sealed] = [secrets["webhook_secret"][SEALED] for (provider, _), secrets in raw_secrets().items()
                if provider == "payments"]
    assert MultiFernet([Fernet(new)]).decrypt(sealed.encode()) == b"pay-signing-55aa"  # the old key is not needed


def test_the_data_migration_seals_plaintext_rows_and_leaves_sealed_ones_alone(tenant):
    with global_session() as session:
        add_connection(session, tenant.id, "reonic", "already-sealed", secrets={"webhook_secret": "new-style"})
    admin("INSERT INTO connections (tenant_id, provider, account_id, status, secrets)"
          " VALUES (%s, 'zoom', 'legacy-acct', 'active', %s::jsonb)",
          tenant.id, json.dumps({"webhook_secret": "legacy-plaintext-42"}))
    before = raw_secrets()[("reonic", "already-sealed")]

    with get_engine().begin() as bind:
        assert seal_plaintext_secrets(bind) == 1
    with get_engine().begin() as bind:
        assert seal_plaintext_secrets(bind) == 0  # a second run changes nothing

    after = raw_secrets()
    assert after[("reonic", "already-sealed")] == before
    legacy = after[("zoom", "legacy-acct")]["webhook_secret"]
    assert "legacy-plaintext-42" not in json.dumps(list(after.values())) and unseal(legacy[SEALED]) == "legacy-plaintext-42"


def test_a_secret_no_configured_key_opens_is_a_503_not_a_crash(tenant):
    foreign = Fernet(Fernet.generate_key()).encrypt(b"sealed-elsewhere").decode()
    admin("INSERT INTO connections (tenant_id, provider, account_id, status, secrets)"
          " VALUES (%s, 'reonic', 'foreign-key', 'active', %s::jsonb)",
          tenant.id, json.dumps({"webhook_secret": {SEALED: foreign}}))

    with pytest.raises(WebhookRejected) as refused:
        asyncio.run(ConnectionDirectory(0).resolve("reonic", "foreign-key", what="Reonic client id"))

    assert (refused.value.status, refused.value.code) == (503, "secret_unreadable")
    assert "sealed-elsewhere" not in refused.value.message


def test_set_secret_replaces_a_signing_secret_sealed(tenant):
    hookline("connections", "add", "--tenant", "sunny-solar", "--provider", "reonic", "--account-id", "rc-1",
             "--secret-stdin", input="first-secret\n")

    done = hookline("connections", "set-secret", "--tenant", "sunny-solar", "--provider", "reonic",
                    "--secret-stdin", input="second-secret\n")
    empty = hookline("connections", "set-secret", "--tenant", "sunny-solar", "--provider", "reonic",
                     "--secret-stdin", input="\n")
    unknown = hookline("connections", "set-secret", "--tenant", "sunny-solar", "--provider", "zoom",
                       "--secret-stdin", input="x\n")

    assert done.returncode == 0, done.stderr
    assert "second-secret" not in done.stdout + done.stderr
    assert empty.returncode == 2 and "empty" in empty.stderr
    assert unknown.returncode == 1 and "no such zoom connection" in unknown.stderr
    sealed = raw_secrets()[("reonic", "rc-1")]["webhook_secret"]
    assert "second-secret" not in json.dumps(sealed) and unseal(sealed[SEALED]) == "second-secret"
