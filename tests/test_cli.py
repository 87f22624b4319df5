"""The `hookline` command, run as a real process against the test database."""

import pytest

from tests.support.cli import hookline


def test_tenants_add_then_list(clean_tables):
    added = hookline("tenants", "add", "Nordlicht Solar GmbH", "--ghl-location-id", "loc-nord-1", "--timezone", "Europe/Berlin")
    listed = hookline("tenants", "list")

    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "tenant 1 nordlicht-solar-gmbh added (ghl location loc-nord-1)"
    assert listed.returncode == 0, listed.stderr
    assert "nordlicht-solar-gmbh" in listed.stdout
    assert "Europe/Berlin" in listed.stdout
    assert "ghl:loc-nord-1" in listed.stdout


def test_a_location_already_connected_is_a_clear_error(tenant):
    result = hookline("tenants", "add", "Intruder", "--ghl-location-id", "loc-sunny-001")

    assert result.returncode == 1
    assert "ghl account 'loc-sunny-001' is already connected to a tenant" in result.stderr
    assert "Intruder".lower() not in hookline("tenants", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tenants", "add", "Sunny Solar"), "a tenant with slug 'sunny-solar' already exists"),
        (("tenants", "add", "!!!"), "has no letters or digits"),
        (("tenants", "add", "Zoned", "--timezone", "Mars/Olympus"), "unknown time zone"),
    ],
)
def test_bad_tenant_input_is_refused(tenant, args, message):
    result = hookline(*args)

    assert result.returncode != 0
    assert message in result.stderr


def test_tenants_list_when_empty_says_how_to_add_one(clean_tables):
    assert "no tenants yet" in hookline("tenants", "list").stdout


def test_db_upgrade_is_idempotent(database):
    result = hookline("db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert "database upgraded to head" in result.stdout


def test_a_bad_setting_stops_the_command_naming_the_variable():
    result = hookline("tenants", "list", env={"HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY": "/missing.pem"})

    assert result.returncode == 1
    assert "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY: Value error, neither PEM text nor a readable file" in result.stderr


def test_web_refuses_to_start_without_a_broker():
    result = hookline("web", env={"HOOKLINE_BROKER_URL": ""})

    assert result.returncode == 1
    assert "HOOKLINE_BROKER_URL" in result.stderr


def test_contacts_list_shows_only_that_tenants_contacts(tenant, other_tenant):
    from hookline.db import tenant_session
    from hookline.services import contacts
    from tests.support.webhooks import payload

    with tenant_session(tenant.id) as session:
        contacts.upsert(session, tenant.id, contacts.ContactData.from_ghl(payload("ghl/ContactCreate.json")))

    mine = hookline("contacts", "list", "--tenant", "sunny-solar")
    theirs = hookline("contacts", "list", "--tenant", "call-centre-two")
    nobody = hookline("contacts", "list", "--tenant", "nobody")

    assert "ghl:ct-ana-lindqvist-01  Ana Lindqvist  ana.lindqvist@example.com" in mine.stdout
    assert theirs.stdout.strip() == "no contacts for call-centre-two yet"
    assert nobody.returncode == 1 and "no tenant with slug 'nobody'" in nobody.stderr
