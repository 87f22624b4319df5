"""The console in real Chromium (Debian's, driven by Playwright), served by `hookline console` as a real process.

Screenshots of each page go to tests/console/screenshots/ (git-ignored) for a reviewer to look at.
"""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support.cli import HOOKLINE
from tests.support.console import PASSWORDS, USERS, dead_letter, failed_event, status_of
from tests.support.processes import free_port, running, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture()
def console_url(clean_tables, tmp_path, redis_client):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([HOOKLINE, "console"], log=tmp_path / "console.log",
                 env={"HOOKLINE_CONSOLE_PORT": str(port), "HOOKLINE_CONSOLE_USERS": USERS}) as process:
        wait_for(lambda: process.poll() is not None or _up(url), timeout=60, what="the console")
        assert process.poll() is None, (tmp_path / "console.log").read_text()
        yield url
    redis_client.delete("ghl_sync", "ghl_sync.bulk")


def _up(url):
    try:
        return httpx.get(f"{url}/login", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture()
def browser():
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, url, name, password=None):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password or PASSWORDS[name])
    with page.expect_navigation(timeout=30_000):  # argon2 takes its time on a busy machine
        page.click("form[action='/login'] button")
    return page


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_viewer_finds_a_failed_event_by_its_provider_event_id_and_sees_its_timeline_but_cannot_replay(
        console_url, browser, tenant, other_tenant):
    event_id = failed_event(tenant, "3f6a1c2e-viewer")
    failed_event(other_tenant, "other-event")
    dead_letter(tenant, "task-dead", event_id)

    page = sign_in(browser, console_url, "alice")
    expect(page.locator("#tenants")).to_contain_text("sunny-solar")
    shot(page, "tenants")
    page.click("text=Events")
    page.fill("input[name=provider_event_id]", "3f6a1c2e-viewer")
    page.click("#search button")
    expect(page.locator("#found")).to_have_text("1 event, times in UTC.")
    expect(page.locator("#bulk-replay")).to_have_count(0)
    shot(page, "events")
    page.click(f"#events a[href='/events/sunny-solar/{event_id}']")

    expect(page.locator("#status")).to_have_text("failed")
    expect(page.locator("#timeline .state")).to_have_text(["retried", "failed"])
    expect(page.locator("#payload")).not_to_contain_text("ana.lindqvist@example.com")
    expect(page.locator("#replay")).to_have_count(0)
    expect(page.locator("#no-replay")).to_be_visible()
    shot(page, "event")
    for name in ("dead-letters", "syncs", "queues", "replays", "audit"):
        page.goto(f"{console_url}/{name}")
        expect(page.locator("h1")).to_be_visible()
        shot(page, name)
    assert status_of(tenant, event_id) == "failed"


def test_an_operator_replays_every_failed_event_of_one_tenant_and_watches_the_progress_finish(
        console_url, browser, tenant, other_tenant):
    ours = [failed_event(tenant, f"wh-{n}") for n in range(4)]
    theirs = failed_event(other_tenant, "wh-theirs")

    page = sign_in(browser, console_url, "bob")
    page.goto(f"{console_url}/events?tenant=sunny-solar&status=failed")
    expect(page.locator("#found")).to_have_text("4 events, times in UTC.")
    page.click("#bulk-replay button")

    expect(page.locator("#state")).to_have_text("finished", timeout=30_000)
    expect(page.locator("#progress")).to_have_text("4/4")
    shot(page, "replay-job")
    assert [status_of(tenant, event_id) for event_id in ours] == ["pending"] * 4
    assert status_of(other_tenant, theirs) == "failed"
    page.goto(f"{console_url}/audit")
    expect(page.locator("#audit")).to_contain_text("events.bulk_replay")


def test_a_wrong_password_and_a_missing_csrf_token_are_refused(console_url, browser, tenant):
    event_id = failed_event(tenant, "wh-csrf")

    page = sign_in(browser, console_url, "bob", password="not-bobs-password")
    expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    shot(page, "login-refused")

    page = sign_in(browser, console_url, "bob")
    page.goto(f"{console_url}/events/sunny-solar/{event_id}")
    page.evaluate("document.querySelector('#replay input[name=csrf]').remove()")
    page.click("#replay button")
    expect(page.locator("#error")).to_contain_text("CSRF")
    shot(page, "csrf-refused")
    assert status_of(tenant, event_id) == "failed"
