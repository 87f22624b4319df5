"""The wheel, installed into a fresh virtual environment with no checkout beside it, migrates a new
database, serves the ingress, and stores a signed webhook; without the `embedded` extra, `hookline
dev` says what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic.script import ScriptDirectory

from hookline.migrate import alembic_config
from tests.conftest import ADMIN_URL, APP_ROLE, PG_HOST
from tests.support.ingress import ingress
from tests.support.webhooks import encode, ghl_headers, payload

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "loc-wheel-001"

pytestmark = pytest.mark.e2e


def _run(command: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a new virtual environment holding only the wheel built from this checkout (no extras)."""
    uv = shutil.which("uv")
    assert uv is not None, "uv must be on PATH to build and install the wheel"
    work = tmp_path_factory.mktemp("wheel")
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    _run([uv, "build", "--wheel", "--out-dir", work / "dist", ROOT], cwd=ROOT, env=env)
    [wheel] = (work / "dist").glob("hookline-*.whl")
    # The locked versions, as the Dockerfile installs them: the run is repeatable and uv's cache has them.
    constraints = work / "constraints.txt"
    _run([uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--quiet", "-o", constraints],
         cwd=ROOT, env=env)
    venv = work / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=work, env=env)
    _run([uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-c", constraints, wheel],
         cwd=work, env=env)
    return venv / "bin"


@pytest.fixture()
def outside(tmp_path) -> Path:
    """A working directory with no checkout, no .env and no var/ in it."""
    return tmp_path


@pytest.fixture()
def fresh_database() -> str:
    """A new, empty database (not the session's migrated one) owned by the app role."""
    name = f"hookline_wheel_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
    yield f"postgresql://{APP_ROLE}@{PG_HOST}/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _as_admin(database_url: str, query: str) -> list[tuple]:
    with psycopg.connect(ADMIN_URL, dbname=database_url.rsplit("/", 1)[1]) as admin:
        return admin.execute(query).fetchall()


def test_the_package_runs_from_the_wheel_not_the_checkout(installed, outside):
    done = _run([installed / "python", "-c", "import hookline; print(hookline.__file__)"], cwd=outside)

    package = Path(done.stdout.strip()).parent
    assert package.is_relative_to(installed.parent)
    # What the CLI reads at run time besides code: `hookline dev`'s Procfile, the email templates and
    # the samples of `hookline webhooks send`.
    assert (package / "Procfile").read_text() == (ROOT / "src/hookline/Procfile").read_text()
    for folder in ("templates/email", "samples"):
        assert sorted(path.name for path in (package / folder).iterdir() if path.name != "__pycache__") == \
            sorted(path.name for path in (ROOT / "src/hookline" / folder).iterdir() if path.name != "__pycache__")


def test_installed_wheel_migrates_a_new_database_and_stores_a_signed_webhook(installed, outside, fresh_database):
    env = {**os.environ, "HOOKLINE_DATABASE_URL": fresh_database}

    upgraded = _run([installed / "hookline", "db", "upgrade"], cwd=outside, env=env)
    _run([installed / "hookline", "tenants", "add", "Wheel Solar", "--ghl-location-id", LOCATION],
         cwd=outside, env=env)
    with ingress(outside / "ingress.log", bin_dir=installed, cwd=outside, HOOKLINE_DATABASE_URL=fresh_database) as url:
        body = encode(payload("ghl/ContactCreate.json", locationId=LOCATION))
        # Both of GoHighLevel's signatures: Ed25519 (`x-ghl-signature`) and the RSA one, whichever the default is.
        answer = httpx.post(f"{url}/webhooks/ghl", content=body, headers=ghl_headers(body, "both"), timeout=10)

    assert "database upgraded to head" in upgraded.stdout
    head = ScriptDirectory.from_config(alembic_config(fresh_database)).get_current_head()
    assert _as_admin(fresh_database, "SELECT version_num FROM alembic_version") == [(head,)]
    assert answer.status_code == 202, answer.text
    rows = _as_admin(fresh_database, "SELECT e.id, t.slug, e.provider, e.event_type FROM webhook_events e"
                                     " JOIN tenants t ON t.id = e.tenant_id")
    assert rows == [(answer.json()["event_id"], "wheel-solar", "ghl", "ContactCreate")]


def test_dev_without_the_embedded_extra_says_what_to_install(installed, outside):
    done = _run([installed / "hookline", "dev"], cwd=outside, check=False)

    assert done.returncode == 1
    assert "pip install 'hookline[embedded]'" in done.stderr


def test_admin_command_with_no_database_url_and_no_extra_says_what_to_install(installed, outside):
    env = {key: value for key, value in os.environ.items() if key != "HOOKLINE_DATABASE_URL"}

    done = _run([installed / "hookline", "tenants", "list"], cwd=outside, env=env, check=False)

    assert done.returncode == 1
    assert "HOOKLINE_DATABASE_URL" in done.stderr and "hookline[embedded]" in done.stderr
