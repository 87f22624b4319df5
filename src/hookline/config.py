"""One Settings class, read from HOOKLINE_* environment variables and an optional .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hookline.integrations.ghl.keys import GHL_RSA_PUBLIC_KEY_PEM, ed25519_public_key, file_text, pem, pem_public_key

ENV_PREFIX = "HOOKLINE_"


def libpq_url(database_url: str) -> str:
    """The URL as libpq (psycopg itself) reads it: `postgresql://…`."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return url.replace("postgres://", "postgresql://", 1)


def sqlalchemy_url(database_url: str) -> str:
    """A postgres:// or postgresql:// URL, spelled for SQLAlchemy's psycopg 3 driver."""
    return libpq_url(database_url).replace("postgresql://", "postgresql+psycopg://", 1)


class ConfigError(Exception):
    """A setting has a bad value; the message names the environment variable."""


def read_pem(value: str, expected: type) -> str:
    """Accept PEM text or a path to a PEM file; return the PEM text once it loads as `expected`."""
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        text = file_text(text) or ""
        if not text:
            raise ValueError(f"neither PEM text nor a readable file: {value.strip()[:80]!r}")
    pem_public_key(text, expected)
    return text


def email_address(value: str) -> str:
    """A bare address (local@domain), or ValueError: no display name, no spaces, no header breaks."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c.isspace() or c in "<>,;\"" for c in value):
        raise ValueError(f"not an email address: {value[:80]!r}")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    # PostgreSQL (postgresql://…) and the broker (redis://…, amqp://…). None means "not set":
    # `hookline dev` then starts the embedded servers under ./var.
    database_url: str | None = None
    broker_url: str | None = None
    # Where the ingress listens (0.0.0.0 to accept from outside).
    host: str = "127.0.0.1"
    port: int = 8000
    # The embedded servers' data and Flower's state (dev); the local storage and mail directories.
    var_dir: Path = Path("var")
    # A webhook body larger than this is refused with 413.
    max_webhook_bytes: int = 1_048_576
    # GoHighLevel webhook signatures: the Marketplace app's Ed25519 key (any form keys.py reads, kept as PEM);
    # the legacy RSA key checks `x-wh-signature` only when accepting it is turned on (replays of old captures).
    ghl_webhook_ed25519_public_key: str | None = None
    ghl_accept_rsa_signatures: bool = False
    ghl_webhook_public_key: str = GHL_RSA_PUBLIC_KEY_PEM
    # A signed timestamp older (or newer) than this is a replay: 401.
    replay_window_seconds: int = Field(default=300, ge=1)
    # GoHighLevel retries a delivery we answered 429 (inbox down) up to ~70 minutes later, and
    # its signed `timestamp` may be the first attempt's: such a retry is let through this long.
    ghl_retry_grace_seconds: int = Field(default=5400, ge=0)
    # Requests per tenant per window, across every ingress process (Redis); 0 turns it off.
    tenant_rate_limit: int = Field(default=3000, ge=0)
    tenant_rate_window_seconds: int = Field(default=60, ge=1)
    # Fairness (docs/architecture.md): a tenant publishing more than `burst` events in one window
    # of its tenant-event queues has its events sent to the `<queue>.bulk` lane until it has been
    # under that for `cooldown` seconds. 0 turns it off (every event on the main lane).
    fairness_burst: int = Field(default=200, ge=0)
    fairness_window_seconds: int = Field(default=5, ge=1)
    fairness_cooldown_seconds: int = Field(default=30, ge=1)
    # Inbox events of one tenant and one handler per task message, at most (transport/batches.py):
    # the worker applies them in one transaction. 1: a message per event. Above the publisher's
    # batch (200) it makes no difference.
    batch_size: int = Field(default=100, ge=1)
    # The same for a flooding tenant's events on a bulk lane (transport/lanes.py). Workers take the
    # main lanes first and only when a process is free (workers/lane_order.py), so a long bulk
    # message holds a quiet tenant up for at most its own run (bench/fairness.py, docs/decisions.md).
    bulk_batch_size: int = Field(default=100, ge=1)
    # How long the ingress's publisher lets events gather before it publishes (and groups) them.
    batch_wait_ms: int = Field(default=20, ge=0, le=1000)
    # How long, at most, it holds back a flooding tenant's events (those bound for a bulk lane) to
    # fill a message of `bulk_batch_size` (transport/batches.Held). 0: they go with the others.
    bulk_batch_wait_ms: int = Field(default=100, ge=0, le=5000)
    # The ingress's own async connections for inbox inserts, per process.
    ingress_db_pool_size: int = Field(default=10, ge=1)
    # Inbox insert statements in flight at once per ingress process (each stores whatever arrived
    # while the others ran, as one statement): 1 measured best with PostgreSQL on the same machine;
    # more where it is a network hop away. At most the pool size − 1 (the publisher stamps too).
    ingress_inbox_writes: int = Field(default=1, ge=1)
    # How long an ingress process remembers a connection it looked up (a changed secret or a
    # disabled connection applies this much later); 0 looks it up for every webhook.
    connection_cache_seconds: float = Field(default=5.0, ge=0)
    # Flower: where it listens, and "user:password[,user:password]" for its basic auth (required).
    flower_address: str = "127.0.0.1"
    flower_port: int = 5555
    flower_basic_auth: SecretStr | None = None
    # task_runs rows older than this are deleted by maintenance.prune_task_runs (beat, hourly).
    # 30 days: the console's event search and timelines cover a month (issue 23).
    task_runs_retention_days: float = Field(default=30, gt=0)
    # `hookline metrics-exporter`: where it serves the workers' /metrics.
    metrics_address: str = "127.0.0.1"
    metrics_port: int = 9808
    # The sweeper publishes again an inbox event still pending this long after it was published.
    sweep_after_seconds: float = Field(default=600, ge=1)
    # Beat's leader lock lives this long unless its holder renews it (every third of it); a standby
    # takes over at most this (plus a third) after the leader died.
    beat_lock_ttl_seconds: float = Field(default=30.0, ge=1)
    # Redis for the rate limiter, retry grace and beat's leader lock; None: the broker, when it is Redis.
    redis_url: str | None = None
    # Redis Sentinel (docs/operations.md): the master's name for sentinel:// broker and Redis URLs.
    redis_sentinel_master: str = Field(default="mymaster", min_length=1)
    # Fernet keys for credentials at rest, comma-separated, newest first. Required by every process
    # that seals or opens credentials; only the embedded default (`hookline dev`) makes its own.
    secret_keys: SecretStr | None = None
    # GoHighLevel Marketplace app (OAuth) and API; Reonic API v3.
    ghl_client_id: str | None = None
    ghl_client_secret: SecretStr | None = None
    ghl_api_url: str = "https://services.leadconnectorhq.com"
    ghl_burst_limit: int = Field(default=100, ge=1)
    ghl_burst_window_seconds: float = Field(default=10.0, gt=0)
    ghl_daily_limit: int = Field(default=200_000, ge=1)
    # GoHighLevel Marketplace install: the callback URL registered as the app's redirect
    # URL, the chooselocation page, the scopes asked for, how long an install link's `state` lives,
    # locations per /oauth/installedLocations page, and when a stalled install step is started again.
    ghl_redirect_url: str | None = None
    ghl_marketplace_url: str = "https://marketplace.gohighlevel.com"
    ghl_scopes: str = ("contacts.readonly contacts.write opportunities.readonly opportunities.write calendars.readonly "
                       "calendars/events.readonly conversations/message.readonly locations.readonly oauth.readonly "
                       "oauth.write")
    ghl_install_state_seconds: int = Field(default=900, ge=60)
    ghl_install_page_limit: int = Field(default=100, ge=1, le=100)
    ghl_install_stale_seconds: float = Field(default=300.0, gt=0)
    reonic_api_url: str = "https://api.reonic.de/rest/v3"
    reonic_cached_limit: int = Field(default=500, ge=1)
    reonic_uncached_limit: int = Field(default=30, ge=1)
    # Added to sliding windows, a margin for clocks' rounding: a request counts from its answer
    # (integrations/ratelimit.py), which is later than the provider's count on its arrival.
    api_rate_slack_seconds: float = Field(default=0.1, ge=0)
    # A worker waits this long at most for a rate-limit slot; beyond it the task retries with a countdown.
    api_max_wait_seconds: float = Field(default=5.0, ge=0)
    # Reconciliation (docs/operations.md): rows per API page, pages per task before it re-enqueues
    # itself, and how long a `running` sync may go without a committed page before beat restarts it.
    sync_page_limit: int = Field(default=100, ge=1, le=100)
    sync_pages_per_task: int = Field(default=20, ge=1)  # ~2 s of work at the limit (bench/README.md)
    sync_stale_seconds: float = Field(default=900.0, gt=0)

    # Email (docs/operations.md): which transport sends, and the From address every tenant shares
    # (each tenant has its own display name and Reply-To: `hookline tenants set-sender`).
    email_transport: Literal["file", "smtp", "postmark"] = "file"
    email_from_address: str = "hookline@localhost"
    # SMTP: port 587 with STARTTLS is the submission default; smtp_ssl is implicit TLS (port 465).
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_ca_file: Path | None = None  # a private CA to trust for the server's certificate
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # Postmark (https://postmarkapp.com/developer): the server token and its message stream.
    postmark_server_token: SecretStr | None = None
    postmark_message_stream: str = "outbound"
    postmark_api_url: str = "https://api.postmarkapp.com"
    postmark_timeout_seconds: float = Field(default=20.0, gt=0)
    # Sends per window, shared by every worker through Redis; 0 turns a limit off.
    email_tenant_rate_limit: int = Field(default=60, ge=0)
    email_provider_rate_limit: int = Field(default=600, ge=0)
    email_rate_window_seconds: int = Field(default=60, ge=1)
    # Attempts (sends tried) before a transient failure becomes `failed`.
    email_max_attempts: int = Field(default=8, ge=1)
    # The sweeper: a `queued` message due this long ago is published again; a `sending` one this
    # long (well past the send task's hard time limit) is resolved as failed, outcome unknown.
    email_requeue_after_seconds: int = Field(default=300, ge=1)
    email_stuck_sending_seconds: int = Field(default=900, ge=60)
    # Where recordings go: "local" (a directory, the embedded default) or "s3" (any S3-compatible store).
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None  # local backend; None: <var_dir>/storage
    s3_endpoint_url: str | None = None  # None: AWS S3; R2, MinIO, GCS (storage.googleapis.com) name theirs
    s3_bucket: str | None = None
    s3_region: str | None = None  # R2 wants "auto"
    s3_access_key_id: SecretStr | None = None  # None: boto3's own chain (environment, instance role)
    s3_secret_access_key: SecretStr | None = None
    # Multipart part size: the most one upload holds in memory at once. S3's minimum is 5 MiB.
    s3_part_size_mb: int = Field(default=8, ge=5, le=512)
    # First wait before retrying a download that failed for a passing reason (5xx, timeout); doubles each time.
    audio_retry_backoff_seconds: float = Field(default=30.0, ge=0)
    # The recordings sweep publishes again an upload pending (or uploading, past the upload's hard
    # time limit) with nothing happening this long. Keep it above the longest retry backoff (1800 s).
    recordings_sweep_after_seconds: int = Field(default=2400, ge=60)

    # The console (`hookline console`, console/): where it listens, its users as
    # "name:role:argon2-hash[,name:role:hash]" (role viewer or operator; `hookline console hash-password`).
    console_address: str = "127.0.0.1"
    console_port: int = Field(default=8010, ge=1, le=65535)
    console_users: SecretStr | None = None
    # Inbox retention (console): processed and ignored events older than this are deleted by
    # maintenance.prune_inbox (beat, hourly, in batches); pending and failed ones are kept.
    inbox_retention_days: float = Field(default=30, gt=0)

    # Traces and errors (telemetry/, docs/operations.md): both off unless set. Traces go over OTLP/HTTP
    # to <endpoint>/v1/traces; unset, the standard OTEL_EXPORTER_OTLP_ENDPOINT is used if that is set.
    otel_exporter_otlp_endpoint: str | None = None
    # Sentry: errors from every process (tenant tagged, secrets scrubbed). SENTRY_DSN is not read.
    sentry_dsn: SecretStr | None = None
    sentry_environment: str | None = None

    # CRM pushes (GoHighLevel notes for stored recordings): the link a note gives is this base URL
    # plus the object key (a viewer or CDN the sales team can open); None: the store's own address
    # (s3://bucket/key, or a file:// path for the local backend).
    recording_link_base: str | None = None
    # The pushes sweep publishes again a push still pending this long after its task was published
    # (a publish lost after its commit, a worker gone); above a push's rate-limit retries.
    pushes_sweep_after_seconds: int = Field(default=1800, ge=60)

    # Behind PgBouncer (docs/operations.md): false turns psycopg's prepared statements off on every
    # connection, for a transaction-mode pooler that does not track them (PgBouncer before 1.21).
    database_prepared_statements: bool = True

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("sentinel://"):
            return _sentinel_url(value)
        if value is not None and not value.startswith(("redis://", "rediss://", "redis+socket://", "amqp://", "amqps://")):
            raise ValueError("must be a redis://, redis+socket://, sentinel:// or amqp:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("sentinel://"):
            return _sentinel_url(value)
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss://, unix:// or sentinel:// URL")
        return value

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _http_endpoint(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP over HTTP)")
        return value or None

    @field_validator("email_from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        return email_address(value)
    @field_validator("secret_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from hookline.secrets_box import parse_keys

            parse_keys(value.get_secret_value())
        return value

    @field_validator("flower_basic_auth")
    @classmethod
    def _user_password_pairs(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for pair in value.get_secret_value().split(","):
                user, _, password = pair.partition(":")
                if not user.strip() or not password:
                    raise ValueError("must be user:password (several separated by commas)")
        return value

    @field_validator("console_users")
    @classmethod
    def _console_users(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None  # set but empty: unset
        if value is not None:
            from hookline.console.users import parse_users

            parse_users(value.get_secret_value())
        return value

    @field_validator("ghl_webhook_public_key")
    @classmethod
    def _rsa_key(cls, value: str) -> str:
        return read_pem(value, rsa.RSAPublicKey)

    @field_validator("ghl_webhook_ed25519_public_key")
    @classmethod
    def _ed25519_key(cls, value: str | None) -> str | None:
        return None if not value or not value.strip() else pem(ed25519_public_key(value))

    @model_validator(mode="after")
    def _postmark_token(self) -> Settings:
        if self.email_transport == "postmark" and self.postmark_server_token is None:
            raise ValueError(f"{ENV_PREFIX}EMAIL_TRANSPORT=postmark needs {ENV_PREFIX}POSTMARK_SERVER_TOKEN")
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError(f"{ENV_PREFIX}STORAGE_BACKEND=s3 needs {ENV_PREFIX}S3_BUCKET")
        return self

    @property
    def storage_root(self) -> Path:
        return self.storage_dir or self.var_dir / "storage"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is None:
            raise ConfigError(f"{ENV_PREFIX}DATABASE_URL is not set (run `hookline dev` for the embedded default)")
        return sqlalchemy_url(self.database_url)

    def psycopg_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for every psycopg connection Hookline opens (engine, pools, raw connections)."""
        return {} if self.database_prepared_statements else {"prepare_threshold": None}

    @property
    def broker(self) -> str:
        if self.broker_url is None:
            raise ConfigError(f"{ENV_PREFIX}BROKER_URL is not set (run `hookline dev` for the embedded default)")
        return self.broker_url


def _sentinel_url(value: str) -> str:
    from hookline.redis_clients import parse_sentinel_url

    parse_sentinel_url(value)  # its ValueError names what is wrong
    return value


def broker_redis_url(broker: str) -> str | None:
    """A Redis broker's URL as hookline.redis_clients reads it (None for any other broker): the
    same server (or Sentinels) and db."""
    if broker.startswith(("redis://", "rediss://", "sentinel://")):
        return broker
    if broker.startswith("redis+socket://"):  # kombu's spelling of a unix socket (the embedded Redis)
        path, _, query = broker.removeprefix("redis+socket://").partition("?")
        # kombu names the db `virtual_host`; redis-py calls it `db`.
        params = [("db" if key == "virtual_host" else key, value) for key, value in parse_qsl(query)]
        return f"unix://{path}" + (f"?{urlencode(params)}" if params else "")
    return None


def redis_client_url(settings: Settings) -> str | None:
    """The Redis the ingress uses for shared counters, spelled for redis-py; None when there is none."""
    return settings.redis_url or broker_redis_url(settings.broker_url or "")


def load_settings() -> Settings:
    """Build Settings, turning pydantic's error into one line per bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        # A check across settings (model_validator) has no location; its message names the variables.
        lines = [f"{ENV_PREFIX}{'_'.join(map(str, err['loc'])).upper()}: {err['msg']}" if err["loc"] else err["msg"]
                 for err in exc.errors()]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
