"""`hookline webhooks send`: each sample, signed as its provider signs, reaches a real `hookline dev` ingress on the
embedded default and is stored; with a real database URL nothing is signed and the ingress trusts no dev key."""

from __future__ import annotations

import re
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from hookline import dev_webhook_key
from hookline.samples import SAMPLES, delivery
from tests.conftest import REDIS_URL
from tests.support.cli import HOOKLINE, environment, hookline
from tests.support.ingress import _healthy as healthy
from tests.support.processes import free_port, running, wait_for

# The embedded default: no database URL, no keys of the tests'; the broker stays the tests' Redis.
EMBEDDED_ONLY = ["HOOKLINE_DATABASE_URL", "HOOKLINE_SECRET_KEYS", "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY"]
CONNECTIONS = {"zoom": ("--account-id", "zoom-acct-1"), "reonic": ("--account-id", "reonic-client-1"),
               "payments": ()}


@contextmanager
def dev_ingress(cwd: Path, env: dict[str, str], without: list[str]) -> Iterator[str]:
    """`hookline dev --only web` in `cwd`; yields the ingress's URL once /healthz answers."""
    port, log = free_port(), cwd / "dev.log"
    unset = [arg for name in without for arg in ("-u", name)]  # `running` adds its own environment to `env`
    with running(["env", *unset, HOOKLINE, "dev", "--only", "web"], log=log, cwd=cwd,
                 env={"HOOKLINE_PORT": str(port), **env}) as process:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: healthy(url) or process.poll() is not None, timeout=240, what="hookline dev's ingress")
        assert process.poll() is None, log.read_text()
        yield url


class Stack:
    def __init__(self, cwd: Path, url: str) -> None:
        self.cwd, self.url = cwd, url

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([HOOKLINE, *args], capture_output=True, text=True, timeout=120, input=stdin, cwd=self.cwd,
                              env=environment({"HOOKLINE_BROKER_URL": REDIS_URL}, without=EMBEDDED_ONLY))


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    cwd = tmp_path_factory.mktemp("project")
    with dev_ingress(cwd, {"HOOKLINE_BROKER_URL": REDIS_URL}, EMBEDDED_ONLY) as url:
        stack = Stack(cwd, url)
        steps = [stack.run("tenants", "add", "Sunny Solar", "--ghl-location-id", "loc-sunny-1"),
                 stack.run("tenants", "add", "Quiet Co")]
        steps += [stack.run("connections", "add", "--tenant", "sunny-solar", "--provider", provider, *account,
                            "--secret-stdin", stdin=f"{provider}-signing-secret\n")
                  for provider, account in CONNECTIONS.items()]
        assert [step.returncode for step in steps] == [0] * len(steps), [step.stderr for step in steps]
        yield stack


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_sample_is_accepted_and_stored_for_the_tenant(stack, name):
    sample = SAMPLES[name]

    sent = stack.run("webhooks", "send", name, "--tenant", "sunny-solar", "--url", stack.url)

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "\n202 " in sent.stdout
    event_id = re.search(r"^event (\d+): ", sent.stdout, re.MULTILINE)[1]
    shown = stack.run("events", "show", event_id, "--tenant", "sunny-solar")
    assert shown.returncode == 0, shown.stderr
    assert re.search(rf"^provider:\s+{sample.provider}$", shown.stdout, re.MULTILINE), shown.stdout
    assert re.search(rf"^event_type:\s+{re.escape(name)}$", shown.stdout, re.MULTILINE), shown.stdout


def test_the_answer_says_which_task_and_queue_take_the_event(stack):
    sent = stack.run("webhooks", "send", "ContactCreate", "--tenant", "sunny-solar", "--url", stack.url)

    assert "task hookline.tasks.ghl_sync.apply_event on queue ghl_sync" in sent.stdout, sent.stdout


def test_the_dev_key_is_made_under_var_for_the_owner_only(stack):
    path = stack.cwd / "var" / dev_webhook_key.KEY_FILE

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in path.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Nope", "--tenant", "sunny-solar"), "no sample 'Nope'; the samples are: ContactCreate"),
        (("ContactCreate", "--tenant", "nobody"), "no tenant with slug 'nobody'"),
        (("recording.completed", "--tenant", "quiet-co"),
         "quiet-co has no active Zoom connection: hookline connections add --tenant quiet-co --provider zoom"),
    ],
    ids=["unknown-sample", "unknown-tenant", "not-connected"],
)
def test_clear_errors_and_nothing_sent(stack, args, message):
    result = stack.run("webhooks", "send", *args, "--url", stack.url)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "POST " not in result.stdout


def test_an_ingress_that_is_not_running_is_named(stack):
    nowhere = f"http://127.0.0.1:{free_port()}"

    result = stack.run("webhooks", "send", "invoice.paid", "--tenant", "sunny-solar", "--url", nowhere)

    assert result.returncode == 1
    assert f"no ingress answers at {nowhere}" in result.stderr and "start `hookline dev`" in result.stderr
    assert "Traceback" not in result.stderr


def test_with_a_database_url_send_refuses_and_dev_trusts_no_dev_key(stack, database, tmp_path):
    refused = hookline("webhooks", "send", "ContactCreate", "--tenant", "sunny-solar", "--url", stack.url)
    assert refused.returncode == 1
    assert "HOOKLINE_DATABASE_URL is set" in refused.stderr and "POST " not in refused.stdout

    added = hookline("tenants", "add", "Deployed Co", "--ghl-location-id", "loc-deployed-1")
    assert added.returncode == 0, added.stderr
    # A deployment's `hookline dev` (a database URL set, no GoHighLevel key of its own) in a var dir that
    # even holds a dev key from an earlier embedded run.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / dev_webhook_key.KEY_FILE).write_bytes((stack.cwd / "var" / dev_webhook_key.KEY_FILE).read_bytes())
    with dev_ingress(tmp_path, {}, ["HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY"]) as url:
        key = dev_webhook_key.load(tmp_path / "var" / dev_webhook_key.KEY_FILE)
        signed = delivery(SAMPLES["ContactCreate"], "loc-deployed-1", key)

        answer = httpx.post(url + signed.path, content=signed.body, headers=signed.headers, timeout=30)

    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "key_not_configured"), answer.text
    listed = hookline("events", "list", "--tenant", "deployed-co")
    assert listed.returncode == 0 and "ContactCreate" not in listed.stdout, listed.stdout


def test_env_on_the_embedded_default_names_the_key_by_its_file_and_evaluates_elsewhere(stack, tmp_path):
    printed = stack.run("env")
    key_file = stack.cwd / "var" / "secret-key"
    # Evaluated in another directory: the commands there reach dev's database and open its secrets.
    script = f'eval "$(cd {stack.cwd} && {HOOKLINE} env)" && {HOOKLINE} connections set-secret --tenant sunny-solar ' \
             f'--provider zoom --secret-stdin <<< zoom-signing-secret && {HOOKLINE} tenants list'
    evaluated = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                               env=environment({"HOOKLINE_BROKER_URL": REDIS_URL}, without=EMBEDDED_ONLY))

    assert printed.returncode == 0, printed.stderr
    assert f'export HOOKLINE_SECRET_KEYS="$(cat {key_file})"' in printed.stdout.splitlines()
    assert key_file.read_text().strip() not in printed.stdout
    assert evaluated.returncode == 0, evaluated.stderr
    assert "sunny-solar" in evaluated.stdout and "zoom:zoom-acct-1" in evaluated.stdout
    assert not (tmp_path / "var").exists()  # nothing of its own started there
