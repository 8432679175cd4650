"""Typed settings: every knob comes from the environment (or `.env`), documented in `.env.example`."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://", *_CLUSTER_SCHEMES)
DEFAULT_SECRET_KEY = "change-me-in-production"  # noqa: S105 - a sentinel, refused outside development

# Plain SQLAlchemy URLs (as the seeds write them) → the async drivers the service uses.
_PLAIN_DATABASE_SCHEMES = (
    ("sqlite:///", "sqlite+aiosqlite:///"),
    ("postgresql://", "postgresql+asyncpg://"),
    ("postgres://", "postgresql+asyncpg://"),
)

Environment = Literal["development", "test", "staging", "production"]


def _split_list(value: Any) -> Any:
    """Accept a JSON list or a comma-separated string for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """All configuration of the service; read once at startup."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    # --- service -----------------------------------------------------------
    app_name: str = "RAiDesk server"
    environment: Environment = "development"
    secret_key: str = DEFAULT_SECRET_KEY
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # --- storage -----------------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///./raidesk.db"
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_echo: bool = False
    # PostgreSQL: a pooled connection idle at least this long is pinged before use (a dead one
    # is replaced); busy ones are not, so a hot write path pays no extra round trip per
    # transaction. 0 = ping before every use.
    database_ping_idle_s: float = Field(default=10.0, ge=0, le=3600)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # PostgreSQL time limits, each well under the frontend's 30 s request timeout; past them a
    # request answers 503 DATABASE_UNAVAILABLE instead of hanging with the database:
    # opening a connection, one statement (the server's statement_timeout; the client gives up
    # a second later, for a server that does not answer at all; 0 = no limit, e.g. for
    # migrations) and waiting for a free pooled connection.
    database_connect_timeout_s: float = Field(default=3.0, gt=0, le=25)
    database_statement_timeout_s: float = Field(default=5.0, ge=0, le=25)
    database_pool_timeout_s: float = Field(default=3.0, gt=0, le=25)
    run_migrations_on_startup: bool = True
    redis_url: str = ""
    # REDIS_URL names one node of a Redis Cluster (also implied by a redis+cluster:// or
    # rediss+cluster:// URL): the client discovers the others and follows slot moves.
    redis_cluster: bool = False
    redis_max_connections: int = Field(default=100, ge=1, le=100_000)
    # Redis: the longest wait for a reply (and for a free pooled connection), and for a new
    # connection. Past them: 503 REDIS_UNAVAILABLE (or the documented degraded answer).
    redis_socket_timeout_s: float = Field(default=2.0, gt=0, le=25)
    redis_connect_timeout_s: float = Field(default=1.0, gt=0, le=25)
    redis_health_check_interval_s: int = Field(default=30, ge=0)
    session_storage: Literal["sql", "redis"] | None = None
    session_ttl_s: int = Field(default=86_400, ge=1, alias="SESSION_TTL")
    # Seconds between sweeps of expired SQL sessions (one instance at a time); 0 = never.
    session_purge_interval_s: float = Field(default=3_600.0, ge=0)

    # --- HTTP ---------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:3000",
        "http://localhost:3001",
    ]
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Seconds a request body may take to arrive in full (from the first read); past it: 408 and
    # the connection is closed, so a client trickling its body cannot hold a worker slot.
    body_read_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # `python -m app serve`: a request's headers must arrive in full within this many seconds of
    # the connection opening or of the request's first byte; past it: 408 and the connection is
    # closed (a client trickling headers, or connecting and sending nothing, holds no slot).
    header_read_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # `python -m app serve` (uvicorn): idle keep-alive connections are closed after this many
    # seconds.
    keep_alive_timeout_s: int = Field(default=5, ge=1, le=300)
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Host names this server answers ("api.example.com", "*.example.com"); "*" = any (the
    # development default). Others get 400 INVALID_HOST; /health* is answered for any Host.
    allowed_hosts: Annotated[list[str], NoDecode] = ["*"]
    request_id_header: str = "X-Request-ID"

    # --- accounts -----------------------------------------------------------
    # When true, the regulatory endpoints need a user too (the existing frontend sends none).
    auth_required: bool = False
    # Lifetime of an access token (JWT, HS256 signed with SECRET_KEY; the algorithm is fixed).
    access_token_expire_minutes: int = Field(default=60, ge=1, le=10_080)
    jwt_algorithm: Literal["HS256"] = "HS256"
    # Both set: this admin is created (or promoted, password reset) at every startup.
    admin_username: str = ""
    admin_password: SecretStr | None = None
    # argon2id cost; below OWASP's minimum (t=2, m=19 MiB) is refused outside development/test.
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_cost: int = Field(default=65_536, ge=64, le=4_194_304)  # KiB
    # Seconds a worker may reuse a looked-up user / API key; bounds how late a revocation made
    # in ANOTHER worker takes effect here (this worker's own revocations are immediate).
    auth_cache_ttl_s: float = Field(default=5.0, ge=0, le=300)
    # How often each worker pulls the accounts changed since its last pull (the auth change
    # feed): deactivations and role changes made in another worker apply within about this,
    # sooner than the cache TTL above. 0 turns the feed off (the cached account read alone).
    auth_changes_poll_s: float = Field(default=1.0, ge=0, le=60)
    api_keys_per_user_max: int = Field(default=25, ge=1, le=1000)
    # Static service-to-service keys (docs/security.md "Service API keys"): comma-separated,
    # each `name:key` or a bare key (named by its position, 1, 2, ...). A request with
    # `X-API-Key: <key>` is the principal `service:<name>` with the user role. Only SHA-256
    # digests are kept in memory; the keys are never logged. VALID_API_KEYS (the seeds' name)
    # is read too.
    api_keys: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("API_KEYS", "VALID_API_KEYS", "api_keys")
    )

    # --- regulatory: AI providers, cache, streaming ------------------------
    # rules = the offline rules engine; ollama / openai = a model server over HTTP.
    ai_provider: Literal["rules", "ollama", "openai"] = "rules"
    ollama_base_url: str = "http://localhost:11434"
    ollama_model: str = "qwen2.5:7b-instruct"
    # Any OpenAI-compatible server (vLLM, llama.cpp, LM Studio); the URL includes /v1.
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: SecretStr = SecretStr("")
    openai_model: str = "gpt-4o-mini"
    # Per model call: connect, and the longest wait for the next byte (per chunk when streaming).
    # Under the frontend's 30 s request timeout: past it the route answers 503 AI_UNAVAILABLE.
    ai_timeout_s: float = Field(default=20.0, gt=0, le=600)
    # none = 503 AI_UNAVAILABLE when the model server fails; rules = answer from the rules engine.
    ai_fallback: Literal["none", "rules"] = "none"
    # AI-result cache: seconds an answer is reused (0 = no cache); entry bound of the memory cache.
    cache_ttl_s: int = Field(default=3600, ge=0)
    cache_max_entries: int = Field(default=10_000, ge=1)
    # Seconds between SSE keep-alive comments while a stream waits for the model.
    sse_keepalive_s: float = Field(default=15.0, gt=0, le=300)

    # --- commerce -----------------------------------------------------------
    # lua (Redis script) | lock (pessimistic, for comparison) | sql (conditional UPDATE).
    # Empty = lua when REDIS_URL is set, else sql.
    purchase_strategy: Literal["lua", "lock", "sql"] | None = None
    # How long a Redis reservation may wait for its SQL row before the reconciler returns it.
    reservation_ttl_s: int = Field(default=30, ge=5, le=3600)
    # Seconds between reconciler runs (one instance at a time); 0 = only on demand.
    reconcile_interval_s: float = Field(default=60.0, ge=0)
    # How long a successful purchase's Idempotency-Key is remembered.
    idempotency_ttl_s: int = Field(default=86_400, ge=60)
    # Group commit: most purchase rows per transaction, and how long to wait for more.
    purchase_batch_max: int = Field(default=128, ge=1, le=10_000)
    purchase_batch_window_ms: float = Field(default=0.0, ge=0, le=1000)
    # Largest quantity one purchase may ask for.
    purchase_max_quantity: int = Field(default=100, ge=1, le=1_000_000)
    # PURCHASE_STRATEGY=lock: lease TTL and how long a buyer waits for the product's lock.
    purchase_lock_ttl_ms: int = Field(default=5000, ge=100)
    purchase_lock_wait_ms: int = Field(default=2000, ge=0)

    # --- batch jobs (docs/batch.md) ------------------------------------------
    # Jobs each process runs at the same time (0 = this process runs none, e.g. an API-only node).
    batch_workers: int = Field(default=1, ge=0, le=64)
    # Items of one job worked on at the same time (they mostly wait for the AI model, if any).
    batch_item_concurrency: int = Field(default=4, ge=1, le=256)
    # Most items in one job, and most unfinished (queued, running, paused) jobs per user.
    batch_max_items: int = Field(default=1000, ge=1, le=10_000)
    batch_max_active_jobs: int = Field(default=5, ge=1, le=10_000)
    # Items whose outcomes are written (and counted in the progress) in one transaction.
    batch_chunk_size: int = Field(default=20, ge=1, le=1000)
    # A worker holds a job under a lease it renews every BATCH_HEARTBEAT_S; a job whose worker
    # died is taken over when the lease runs out. The heartbeat is also how a worker in another
    # process learns of a pause or cancel, and how often progress streams look for news.
    batch_lease_s: float = Field(default=30.0, ge=1, le=3600)
    batch_heartbeat_s: float = Field(default=1.0, gt=0, le=600)
    # How often an idle worker looks for jobs queued by other processes.
    batch_poll_s: float = Field(default=1.0, gt=0, le=60)
    # Time limit for one item, and attempts for an item whose failure may pass (AI unavailable).
    batch_item_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    batch_item_attempts: int = Field(default=2, ge=1, le=10)
    # Finished jobs are deleted this many days after they finished; 0 = kept until deleted.
    batch_retention_days: float = Field(default=30.0, ge=0, le=36_500)
    # Per job from an upload (POST /api/batch/jobs/upload), and the upload's size in bytes (the
    # one route exempt from MAX_BODY_BYTES). A JSON body stays under BATCH_MAX_ITEMS.
    batch_upload_max_items: int = Field(default=100_000, ge=1, le=1_000_000)
    batch_upload_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024**3)
    # Global: items waiting (no outcome yet) across every unfinished job of every user; a job
    # that would go past it is refused with 429 BATCH_BACKLOG_FULL.
    batch_max_backlog: int = Field(default=1_000_000, ge=1, le=100_000_000)
    # Items read from storage per query while a results download streams.
    batch_export_page: int = Field(default=1000, ge=1, le=10_000)

    # --- rate limiting (docs/rate-limits.md) -------------------------------
    # false = no limit anywhere (local load tests, benchmarks); the admin allowlist still applies.
    rate_limit_enabled: bool = True
    # Limits are "N/unit" (second, minute, hour, day; "100/2 hours"), several joined by ";".
    # Anonymous callers, per client IP.
    rate_limit_default: str = "60/minute;1000/hour;10000/day"
    # Authenticated callers, per user (replaces the per-IP tier); admins get their own tier.
    rate_limit_authenticated: str = "5000/hour"
    rate_limit_admin: str = "20000/hour"
    # Per route family, per user (else per IP); an empty value turns the family's limit off.
    rate_limit_classify: str = "10/minute;100/hour"
    rate_limit_purpose: str = "15/minute;100/hour"
    rate_limit_standards: str = "5/minute;100/hour"
    rate_limit_refine: str = "20/minute;100/hour"
    rate_limit_purchase: str = "10/minute"
    rate_limit_inventory: str = "100/minute"
    # Creating batch jobs (each may hold up to BATCH_MAX_ITEMS items of AI work).
    rate_limit_batch: str = "10/minute;100/hour"
    # Login: counted per (client IP, username); a 429 here never reaches the same name from
    # another address. RATE_LIMIT_LOGIN_ADDRESS counts every username from one address.
    rate_limit_login: str = "5/minute"
    rate_limit_login_address: str = "20/minute;200/hour"
    # Per username (from every address): past this, each further attempt waits
    # LOGIN_SLOWDOWN_S before it is answered, never a 429 (no lockout of the owner).
    rate_limit_login_username: str = "10/minute"
    login_slowdown_s: float = Field(default=1.0, ge=0, le=10)
    # More routes: JSON {"METHOD /path/{param}*": "limits"}; replaces @limit on the same route.
    rate_limit_routes: dict[str, str] = {}
    # Never limited (patterns: "[METHOD ]/path", {param} = one segment, * = anything).
    rate_limit_exempt_paths: Annotated[list[str], NoDecode] = [
        "/health*",
        "/metrics",
        "/api/monitoring*",
        "/docs*",
        "/redoc*",
        "/openapi.json",
        "/favicon.ico",
    ]
    # When the limiter's store (Redis) fails: true = let the request through (counted, logged).
    # Reads are GET/HEAD/OPTIONS; writes (AI calls, purchases, logins) fail closed (503) by default.
    rate_limit_fail_open: bool = True
    rate_limit_fail_open_writes: bool = False
    # After a store failure, seconds to apply the fail policy without trying the store again.
    rate_limit_store_retry_s: float = Field(default=1.0, ge=0, le=60)
    # Seconds of random extra added to Retry-After (at most), so rejected clients spread out.
    rate_limit_retry_jitter_s: float = Field(default=1.0, ge=0, le=60)
    # Automatic blocks (docs/rate-limits.md "Blocks"): a client (user, else IP) refused this many
    # times within RATE_LIMIT_BLOCK_WINDOW_S is refused outright (429 CLIENT_BLOCKED) for
    # RATE_LIMIT_BLOCK_SECONDS, doubled for each repeat up to RATE_LIMIT_BLOCK_MAX_SECONDS.
    # 0 = no blocks (and no extra work per request).
    rate_limit_block_after: int = Field(default=0, ge=0, le=1_000_000)
    rate_limit_block_window_s: int = Field(default=60, ge=1, le=86_400)
    rate_limit_block_seconds: int = Field(default=300, ge=1, le=7 * 86_400)
    rate_limit_block_max_seconds: int = Field(default=3600, ge=1, le=30 * 86_400)
    # Per-user quotas (set by admins) are read again at most this often per worker: a change
    # takes effect on every worker within it.
    rate_limit_quota_cache_s: float = Field(default=0.5, gt=0, le=1.0)
    # When set, admin paths answer 403 to every other client IP (CIDRs or addresses).
    admin_ip_allowlist: Annotated[list[str], NoDecode] = []
    admin_paths: Annotated[list[str], NoDecode] = [
        "/api/admin*",
        "POST /api/inventory/reconcile",
        "DELETE /api/cache*",
    ]

    # --- logging ------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    # Also write every line to this file, rotated by size ("" = stdout only). `{pid}` in the
    # name becomes the process id: one file per worker, since a file rotated by one process
    # while others append to it loses their lines (docs/operations.md "Log files").
    log_file: str = ""
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=0)  # 0 = never rotate
    log_backup_count: int = Field(default=5, ge=0)  # rotated files kept: <file>.1 … <file>.N

    # --- seed compatibility -------------------------------------------------
    # Serve the seed documents' paths (/register, /login, /purchase/{id}, /api/health) as
    # aliases of the project's routes (app/compat.py, docs/seed-compatibility.md). Off: only
    # the documented API; the aliases answer 404.
    seed_aliases: bool = True

    # --- metrics ------------------------------------------------------------
    metrics_enabled: bool = True
    # Who may read /metrics, /health/detailed and /api/monitoring/events (docs/security.md
    # "Monitoring endpoints"): anyone when open (default: open in development and test only),
    # else callers from MONITORING_ALLOWED_IPS, with `Authorization: Bearer <MONITORING_TOKEN>`,
    # or admins.
    monitoring_open: bool | None = None
    monitoring_allowed_ips: Annotated[list[str], NoDecode] = []
    monitoring_token: SecretStr | None = None
    # The monitoring event log (GET /api/monitoring/events, docs/operations.md "Monitoring
    # events"): problem answers, rate-limit rejections, failed logins and blocks. Kept in a Redis
    # stream trimmed to about this many entries when REDIS_URL is set (every worker sees every
    # event), else in a ring of this many in this process. false = nothing is recorded.
    monitoring_events_enabled: bool = True
    monitoring_events_max: int = Field(default=10_000, ge=100, le=1_000_000)
    # `active_users_total`: distinct users with an authenticated request in the last this many
    # minutes (across workers with REDIS_URL, else this process's users).
    active_users_window_minutes: int = Field(default=15, ge=1, le=1440)

    # --- tracing (docs/operations.md "Tracing") -------------------------------
    # OpenTelemetry spans, exported over OTLP/HTTP to the standard OTEL_EXPORTER_OTLP_* endpoint.
    # Needs the `otel` extra; off, the app imports none of its packages and adds no middleware.
    otel_enabled: bool = False

    @field_validator("cors_origins", "trusted_proxies", "allowed_hosts", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator(
        "rate_limit_exempt_paths",
        "admin_ip_allowlist",
        "admin_paths",
        "monitoring_allowed_ips",
        mode="before",
    )
    @classmethod
    def _parse_rate_limit_lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator(
        "rate_limit_default",
        "rate_limit_authenticated",
        "rate_limit_admin",
        "rate_limit_classify",
        "rate_limit_purpose",
        "rate_limit_standards",
        "rate_limit_refine",
        "rate_limit_purchase",
        "rate_limit_inventory",
        "rate_limit_batch",
        "rate_limit_login",
        "rate_limit_login_address",
        "rate_limit_login_username",
    )
    @classmethod
    def _valid_limits(cls, value: str) -> str:
        from app.platform.ratelimit.items import parse_limits

        parse_limits(value)
        return value

    @field_validator("rate_limit_routes")
    @classmethod
    def _valid_route_limits(cls, value: dict[str, str]) -> dict[str, str]:
        from app.platform.ratelimit.items import parse_limits
        from app.platform.ratelimit.patterns import compile_pattern

        for pattern, limits in value.items():
            compile_pattern(pattern)
            parse_limits(limits)
        return value

    @field_validator("rate_limit_exempt_paths", "admin_paths")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:
        from app.platform.ratelimit.patterns import compile_pattern

        for item in value:
            compile_pattern(item)
        return value

    @field_validator("admin_ip_allowlist", "monitoring_allowed_ips")
    @classmethod
    def _valid_allowlist(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @field_validator("api_keys")
    @classmethod
    def _valid_service_keys(cls, value: SecretStr | None) -> SecretStr | None:
        from app.platform.security import ServiceKeyring

        if value is not None:
            ServiceKeyring(value.get_secret_value())  # refuses short keys and repeated names
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    # The seeds' `.env` says DATABASE_URL=sqlite:///./raidesk.db and SESSION_STORAGE=sqlite:
    # both name a backend the service has, so they are read as the async driver / `sql`.
    @field_validator("database_url", mode="before")
    @classmethod
    def _async_driver(cls, value: Any) -> Any:
        if isinstance(value, str):
            for plain, driver in _PLAIN_DATABASE_SCHEMES:
                if value.startswith(plain):
                    return driver + value[len(plain) :]
        return value

    @field_validator("session_storage", mode="before")
    @classmethod
    def _storage_alias(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("sqlite", "postgresql", "database"):
            return "sql"
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _valid_redis_url(cls, value: str) -> str:
        if value and not value.startswith(_REDIS_SCHEMES):
            raise ValueError("must be empty or start with " + ", ".join(_REDIS_SCHEMES))
        return value

    @property
    def redis_is_cluster(self) -> bool:
        """True when REDIS_URL names a Redis Cluster (REDIS_CLUSTER or a +cluster scheme)."""
        return bool(self.redis_url) and (
            self.redis_cluster or self.redis_url.startswith(_CLUSTER_SCHEMES)
        )

    @property
    def redis_node_url(self) -> str:
        """REDIS_URL without the `+cluster` marker: the URL redis-py parses."""
        for scheme in _CLUSTER_SCHEMES:
            if self.redis_url.startswith(scheme):
                return scheme.replace("+cluster", "") + self.redis_url[len(scheme) :]
        return self.redis_url

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.environment not in ("development", "test") and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters "
                f"when ENVIRONMENT={self.environment}"
            )
        if self.session_storage == "redis" and not self.redis_url:
            raise ValueError("SESSION_STORAGE=redis needs REDIS_URL")
        if self.redis_is_cluster and self.redis_url.startswith("unix://"):
            raise ValueError("a Redis Cluster is reached over TCP: REDIS_URL=redis://host:port")
        if self.redis_is_cluster and urlsplit(self.redis_node_url).path.strip("/") not in ("", "0"):
            raise ValueError("a Redis Cluster has only database 0: drop the /<db> from REDIS_URL")
        return self

    @model_validator(mode="after")
    def _check_accounts(self) -> Settings:
        has_password = self.admin_password is not None and self.admin_password.get_secret_value()
        if bool(self.admin_username) != bool(has_password):
            raise ValueError("set both ADMIN_USERNAME and ADMIN_PASSWORD, or neither")
        if self.environment not in ("development", "test") and (
            self.argon2_time_cost < 2 or self.argon2_memory_cost < 19_456
        ):
            raise ValueError(
                "ARGON2_TIME_COST >= 2 and ARGON2_MEMORY_COST >= 19456 are needed "
                f"when ENVIRONMENT={self.environment}"
            )
        return self

    # `.env.example` shows optional settings as `NAME=`: an empty value means "not set".
    @field_validator(
        "purchase_strategy",
        "session_storage",
        "admin_password",
        "monitoring_open",
        "monitoring_token",
        "api_keys",
        mode="before",
    )
    @classmethod
    def _empty_means_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_commerce(self) -> Settings:
        if self.purchase_strategy in ("lua", "lock") and not self.redis_url:
            raise ValueError(f"PURCHASE_STRATEGY={self.purchase_strategy} needs REDIS_URL")
        return self

    @model_validator(mode="after")
    def _check_batch(self) -> Settings:
        if self.batch_heartbeat_s * 2 > self.batch_lease_s:
            # One late heartbeat must not lose a live worker its job.
            raise ValueError("BATCH_HEARTBEAT_S must be at most half of BATCH_LEASE_S")
        return self

    @property
    def effective_purchase_strategy(self) -> Literal["lua", "lock", "sql"]:
        """Stock lives in Redis (Lua script) when it is configured, else in SQL."""
        if self.purchase_strategy is not None:
            return self.purchase_strategy
        return "lua" if self.redis_url else "sql"

    @property
    def is_sqlite(self) -> bool:
        """Whether the SQL store is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def effective_session_storage(self) -> Literal["sql", "redis"]:
        """Sessions live in Redis when it is configured, unless told otherwise."""
        if self.session_storage is not None:
            return self.session_storage
        return "redis" if self.redis_url else "sql"


class ConfigurationError(RuntimeError):
    """Raised at startup when the environment holds an invalid setting."""


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic errors into one message that names each variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper() or "SETTINGS"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigurationError("Invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings from the environment."""
    return load_settings()
