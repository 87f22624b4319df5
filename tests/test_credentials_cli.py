"""`hookline credentials`: tokens stored encrypted, never echoed; reconnecting; key rotation; the OAuth code exchange."""

from __future__ import annotations

import os

import psycopg
import pytest
from cryptography.fernet import Fernet, MultiFernet

from tests.conftest import ADMIN_URL, DATABASE
from tests.support.cli import hookline
from tests.support.fake_ghl import FakeGHL, serve


def raw_tokens() -> list[tuple]:
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as conn:
        return conn.execute("SELECT kind, access_token, refresh_token, status FROM connection_tokens").fetchall()


def test_a_private_token_is_stored_encrypted_and_never_printed(tenant):
    done = hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "ghl", "--stdin",
                    input="pit-7f3a9c-very-secret\n")

    assert done.returncode == 0, done.stderr
    assert "pit-7f3a9c" not in done.stdout + done.stderr
    [(kind, access, refresh, status)] = raw_tokens()
    assert (kind, refresh, status) == ("private", None, "active")
    assert "pit-7f3a9c" not in access
    status_out = hookline("credentials", "status", "--tenant", "sunny-solar").stdout
    assert "ghl loc-sunny-001  private  active  no expiry" in status_out
    assert "pit-7f3a9c" not in status_out


def test_storing_again_reconnects_a_needs_reauth_connection(tenant):
    hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "ghl", "--stdin", input="old\n")
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as conn:
        conn.execute("UPDATE connection_tokens SET status = 'needs_reauth', status_reason = 'refused'")

    hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "ghl", "--stdin", input="new\n")

    assert [row[3] for row in raw_tokens()] == ["active"]


def test_bad_input_is_a_clear_error_and_stores_nothing(tenant):
    empty = hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "ghl", "--stdin", input="\n")
    unknown = hookline("credentials", "set", "--tenant", "nobody", "--provider", "ghl", "--stdin", input="x\n")
    no_connection = hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "reonic", "--stdin",
                             input="rnc_v3_x\n")

    assert empty.returncode == 2 and "empty" in empty.stderr
    assert unknown.returncode == 1 and "no tenant" in unknown.stderr
    assert no_connection.returncode == 1 and "no reonic connection" in no_connection.stderr
    assert raw_tokens() == []


def test_reencrypt_moves_every_token_to_the_new_key(tenant):
    old = os.environ["HOOKLINE_SECRET_KEYS"]
    new = Fernet.generate_key().decode()
    hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "ghl", "--stdin", input="pit-rotate\n")

    done = hookline("credentials", "reencrypt", env={"HOOKLINE_SECRET_KEYS": f"{new},{old}"})

    assert done.returncode == 0, done.stderr
    assert "re-encrypted 1" in done.stdout
    [(_, access, _, _)] = raw_tokens()
    assert MultiFernet([Fernet(new)]).decrypt(access.encode()) == b"pit-rotate"  # the old key is no longer needed


def test_a_wrong_key_refuses_to_reencrypt(tenant):
    hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "ghl", "--stdin", input="pit-x\n")

    done = hookline("credentials", "reencrypt", env={"HOOKLINE_SECRET_KEYS": Fernet.generate_key().decode()})

    assert done.returncode == 1
    assert "does not decrypt" in done.stderr


@pytest.fixture()
def fake_app():
    fake = FakeGHL()
    with serve(fake.app()) as url:
        yield fake, {"HOOKLINE_GHL_API_URL": url, "HOOKLINE_GHL_CLIENT_ID": fake.client_id,
                     "HOOKLINE_GHL_CLIENT_SECRET": fake.client_secret}


def test_an_authorization_code_becomes_stored_oauth_tokens(tenant, fake_app):
    fake, env = fake_app
    fake.codes["code-1"] = "loc-sunny-001"

    done = hookline("credentials", "ghl-oauth", "--tenant", "sunny-solar", "--stdin", input="code-1\n", env=env)

    assert done.returncode == 0, done.stderr
    [(kind, access, refresh, status)] = raw_tokens()
    assert (kind, status) == ("oauth", "active") and refresh is not None
    assert not any(token in access or token in refresh for token in fake.refresh)


def test_a_code_for_another_location_stores_nothing(tenant, fake_app):
    fake, env = fake_app
    fake.codes["code-2"] = "loc-somebody-else"

    done = hookline("credentials", "ghl-oauth", "--tenant", "sunny-solar", "--stdin", input="code-2\n", env=env)

    assert done.returncode == 1
    assert "not 'loc-sunny-001'" in done.stderr
    assert raw_tokens() == []
