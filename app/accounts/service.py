"""Accounts: registration, login, access tokens, API keys, roles, and resolving the caller.

`AuthService.resolve_principal` resolves the app's callers (wired by the lifespan through
`app.platform.principal.scope_resolver`): the route dependencies call it, and the rate-limit
middleware calls it to key limits by user, so it must stay cheap. A bearer token is verified on
the CPU (verified tokens are cached), and its account is looked up on every request through a
per-worker cache of `AUTH_CACHE_TTL_S` seconds, so a user removed from the database is a 401
everywhere within that time (one indexed read per user and TTL). Every worker also keeps a
*change feed* of the accounts changed since the oldest live token could have been issued
(polled every `AUTH_CHANGES_POLL_S`, applied at once in the worker that made the change): a
newer state there (inactive → 401, new role) wins over the cached read, so deactivations and
role changes reach other workers faster than the cache TTL. API keys are looked up the same
way (docs/security.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Generic, Literal, TypeVar, cast

from app.accounts.repository import (
    ApiKeyRecord,
    ApiKeyRepository,
    OwnerMissingError,
    UserRecord,
    UserRepository,
)
from app.platform.config import ConfigurationError, Settings
from app.platform.errors import (
    ApiKeyLimitError,
    ApiKeyNotFoundError,
    AuthenticationError,
    InvalidCredentialsError,
    InvalidUsernameError,
    PermissionDeniedError,
    SelfModificationError,
    UsernameTakenError,
    UserNotFoundError,
    WeakPasswordError,
)
from app.platform.logging import get_logger
from app.platform.principal import Credentials, Principal, Role
from app.platform.security import (
    SERVICE_PRINCIPAL_PREFIX,
    IssuedToken,
    PasswordHasher,
    ServiceKeyring,
    TokenClaims,
    TokenCodec,
    generate_api_key,
    hash_api_key,
    invalid_credentials,
    is_well_formed_api_key,
    normalize_password,
)

_log = get_logger("app.auth")
# Re-read this much of the past on every poll: a change committed late, or stamped by a worker
# whose clock is a little behind, is still seen. Clocks must agree within this (NTP does).
FEED_OVERLAP: Final = timedelta(seconds=5)

USERNAME_RULES: Final = (
    "3 to 32 characters: ASCII letters, digits, '_', '.' or '-', starting with a letter or digit"
)
_USERNAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,31}")
PASSWORD_MIN_CHARS: Final = 10
PASSWORD_MAX_CHARS: Final = 128
PASSWORD_RULES: Final = (
    f"be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters long",
    "not contain the username",
    "not be a commonly used password",
    "have at least 4 different characters",
)
# The most common leaked passwords of 10+ characters; the length rule already stops the rest.
_COMMON_PASSWORDS: Final = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou12",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "0987654321",
        "1111111111",
        "abcdefghij",
        "abc1234567",
        "letmein123",
        "welcome123",
        "administrator",
        "changeme123",
        "football123",
        "baseball123",
        "sunshine123",
        "princess123",
        "trustno1234",
        "superman123",
        "asdfghjkl1",
        "zaq12wsxcde",
    }
)

T = TypeVar("T")


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and looked up in lower case."""
    return username.lower()


def validate_username(username: str) -> str:
    """The normalised username; InvalidUsernameError when it breaks the rules."""
    if not isinstance(username, str) or _USERNAME_RE.fullmatch(username) is None:
        raise InvalidUsernameError(
            f"A username has {USERNAME_RULES}.", details={"rules": USERNAME_RULES}
        )
    return normalize_username(username)


def password_problems(password: str, *, username: str) -> list[str]:
    """The password rules `password` breaks (empty when it is acceptable)."""
    text = normalize_password(password)
    failed = []
    if not PASSWORD_MIN_CHARS <= len(text) <= PASSWORD_MAX_CHARS:
        failed.append(PASSWORD_RULES[0])
    if username and username.lower() in text.lower():
        failed.append(PASSWORD_RULES[1])
    if text.lower() in _COMMON_PASSWORDS:
        failed.append(PASSWORD_RULES[2])
    if len(set(text)) < 4:
        failed.append(PASSWORD_RULES[3])
    return failed


def check_password_policy(password: str, *, username: str) -> None:
    """Raise WeakPasswordError naming every broken rule (the password itself is never echoed)."""
    failed = password_problems(password, username=username)
    if failed:
        raise WeakPasswordError(
            "The password is too weak: it must " + "; ".join(failed) + ".",
            details={"failed": failed, "rules": list(PASSWORD_RULES)},
        )


class _TtlCache(Generic[T]):
    """A bounded map whose entries live `ttl_s` seconds; `ttl_s` 0 turns it off."""

    def __init__(
        self, *, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float]
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._data: OrderedDict[str, tuple[T, float]] = OrderedDict()

    def get(self, key: str) -> T | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._data[key]
            return None
        return item[0]

    def put(self, key: str, value: T, *, ttl_s: float | None = None) -> None:
        ttl = self._ttl_s if ttl_s is None else min(self._ttl_s, ttl_s)
        if ttl <= 0:
            return
        self._data[key] = (value, self._clock() + ttl)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def pop(self, key: str) -> None:
        self._data.pop(key, None)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AuthService:
    """Every account rule; raises AppError subclasses and never builds an HTTP response."""

    def __init__(
        self,
        *,
        users: UserRepository,
        api_keys: ApiKeyRepository,
        passwords: PasswordHasher,
        tokens: TokenCodec,
        cache_ttl_s: float = 5.0,
        changes_poll_s: float = 1.0,
        api_keys_per_user_max: int = 25,
        service_keys: ServiceKeyring | None = None,
        now: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        self._api_keys = api_keys
        self._passwords = passwords
        self._tokens = tokens
        self._max_keys = api_keys_per_user_max
        # API_KEYS: None when there are none, so user keys pay nothing for the feature.
        self._service_keys = service_keys if service_keys else None
        self._now = now
        self._user_cache: _TtlCache[UserRecord] = _TtlCache(ttl_s=cache_ttl_s, clock=monotonic)
        self._key_cache: _TtlCache[ApiKeyRecord] = _TtlCache(ttl_s=cache_ttl_s, clock=monotonic)
        # Verified tokens by SHA-256: verifying with python-jose costs ~10x a cached key lookup.
        self._token_cache: _TtlCache[TokenClaims] = _TtlCache(ttl_s=cache_ttl_s, clock=monotonic)
        self._monotonic = monotonic
        # The change feed: accounts changed while some token issued before the change may live.
        self.changes_poll_s = changes_poll_s
        self._changed: dict[str, UserRecord] = {}
        self._feed_since: datetime | None = None
        self._feed_ok_at = -float("inf")
        # Past this age without a successful poll the feed is not trusted (lookups instead).
        self._feed_max_age_s = max(5.0, 5 * changes_poll_s)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, users: UserRepository, api_keys: ApiKeyRepository
    ) -> AuthService:
        """The service as configured by the accounts settings."""
        return cls(
            users=users,
            api_keys=api_keys,
            passwords=PasswordHasher(
                time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
            ),
            tokens=TokenCodec(
                secret_key=settings.secret_key,
                expire_minutes=settings.access_token_expire_minutes,
            ),
            cache_ttl_s=settings.auth_cache_ttl_s,
            changes_poll_s=settings.auth_changes_poll_s,
            api_keys_per_user_max=settings.api_keys_per_user_max,
            service_keys=ServiceKeyring(
                settings.api_keys.get_secret_value() if settings.api_keys else None
            ),
        )

    async def start(self, settings: Settings, *, schema_ready: bool) -> None:
        """Prepare the dummy hash, the admin (ADMIN_USERNAME/ADMIN_PASSWORD) and the feed."""
        await self._passwords.warm_up()
        if schema_ready and self.changes_poll_s > 0:
            await self.refresh_user_changes()
        if not settings.admin_username or settings.admin_password is None:
            return
        if not schema_ready:
            _log.warning("auth.admin_bootstrap_skipped", reason="database not migrated")
            return
        try:
            await self.ensure_admin(
                username=settings.admin_username,
                password=settings.admin_password.get_secret_value(),
            )
        except (InvalidUsernameError, WeakPasswordError) as exc:
            raise ConfigurationError(f"ADMIN_USERNAME/ADMIN_PASSWORD: {exc.detail}") from None

    # --- accounts --------------------------------------------------------------------------
    async def register(self, *, username: str, password: str) -> UserRecord:
        """Create a `user`-role account; 400 for a bad username or weak password, 409 if taken."""
        name = validate_username(username)
        check_password_policy(password, username=name)
        # Cheap check first so a taken name costs no argon2 hash; the unique index decides races.
        if await self._users.get_by_username(name) is not None:
            raise UsernameTakenError(f"The username '{name}' is already taken.")
        now = self._now()
        user = UserRecord(
            id=_new_id("usr_"),
            username=name,
            password_hash=await self._passwords.hash(password),
            role="user",
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        if not await self._users.create(user):
            raise UsernameTakenError(f"The username '{name}' is already taken.")
        _log.info("auth.registered", user_id=user.id)
        return user

    async def authenticate(self, *, username: str, password: str) -> UserRecord:
        """The user these credentials belong to; one argon2 verification on every path."""
        user = None
        if _USERNAME_RE.fullmatch(username) is not None:
            user = await self._users.get_by_username(normalize_username(username))
        if user is None:
            await self._passwords.verify_dummy(password)
            _log.info("auth.login_failed", reason="unknown_user")
            raise InvalidCredentialsError("The username or password is wrong.")
        if not await self._passwords.verify(password, user.password_hash) or not user.is_active:
            _log.info("auth.login_failed", reason="bad_password_or_inactive", user_id=user.id)
            raise InvalidCredentialsError("The username or password is wrong.")
        return user

    async def login(self, *, username: str, password: str) -> IssuedToken:
        """An access token for valid credentials; 401 INVALID_CREDENTIALS otherwise."""
        user = await self.authenticate(username=username, password=password)
        _log.info("auth.login", user_id=user.id)
        return self._tokens.issue(user_id=user.id, role=user.role, username=user.username)

    async def current_user(self, *, principal: Principal) -> UserRecord:
        """The caller's own account, read now; 401 when it was removed or disabled meanwhile."""
        user = await self._users.get(principal.user_id)
        if user is None or not user.is_active:
            self._user_cache.pop(principal.user_id)
            raise _gone()
        return user

    async def get_user_or_raise(self, *, user_id: str) -> UserRecord:
        """The user with this id; 404 USER_NOT_FOUND otherwise."""
        user = await self._users.get(user_id)
        if user is None:
            raise UserNotFoundError.missing(user_id, f"User '{user_id}' was not found.")
        return user

    async def list_users(self, *, limit: int, offset: int) -> list[UserRecord]:
        """A page of users, oldest first."""
        return await self._users.list(limit=limit, offset=offset)

    async def update_user(
        self,
        *,
        actor: Principal,
        user_id: str,
        role: Role | None = None,
        is_active: bool | None = None,
    ) -> UserRecord:
        """Change a user's role or active flag (admins only; never their own)."""
        if user_id == actor.user_id and (role is not None or is_active is not None):
            raise SelfModificationError("Ask another admin to change your own role or status.")
        user = await self._users.update(
            user_id, role=role, is_active=is_active, updated_at=self._now()
        )
        if user is None:
            raise UserNotFoundError.missing(user_id, f"User '{user_id}' was not found.")
        self._user_cache.pop(user_id)
        self._remember_change(user)
        _log.info("auth.user_updated", user_id=user_id, by=actor.user_id, role=user.role,
                  is_active=user.is_active)  # fmt: skip
        return user

    async def ensure_admin(
        self, *, username: str, password: str
    ) -> tuple[UserRecord, Literal["created", "updated", "unchanged"]]:
        """Make `username` an active admin with `password`; safe to run from many workers."""
        name = validate_username(username)
        check_password_policy(password, username=name)
        existing = await self._users.get_by_username(name)
        if (
            existing is not None
            and existing.role == "admin"
            and existing.is_active
            and await self._passwords.verify(password, existing.password_hash)
        ):
            return existing, "unchanged"
        now = self._now()
        candidate = UserRecord(
            id=_new_id("usr_"),
            username=name,
            password_hash=await self._passwords.hash(password),
            role="admin",
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        admin = await self._users.upsert_admin(candidate)
        self._user_cache.pop(admin.id)
        self._remember_change(admin)
        action: Literal["created", "updated"] = "created" if admin.id == candidate.id else "updated"
        _log.info("auth.admin_ensured", user_id=admin.id, action=action)
        return admin, action

    # --- API keys --------------------------------------------------------------------------
    @staticmethod
    def _require_token_login(principal: Principal) -> None:
        # A leaked key must not be able to mint itself successors.
        if principal.auth_method != "jwt":
            raise PermissionDeniedError("Manage API keys with a bearer token, not an API key.")

    async def create_api_key(self, *, principal: Principal, name: str) -> tuple[ApiKeyRecord, str]:
        """A new key for the caller: (record, key); the key is never retrievable again."""
        self._require_token_login(principal)
        await self.current_user(principal=principal)
        generated = generate_api_key()
        record = ApiKeyRecord(
            id=_new_id("key_"),
            user_id=principal.user_id,
            name=name,
            prefix=generated.prefix,
            key_hash=generated.key_hash,
            created_at=self._now(),
        )
        try:
            created = await self._api_keys.create(record, max_active=self._max_keys)
        except OwnerMissingError:
            raise _gone() from None
        if not created:
            raise ApiKeyLimitError(
                f"You already have {self._max_keys} active API keys; revoke one first."
            )
        _log.info("auth.api_key_created", user_id=principal.user_id, key_id=record.id)
        return record, generated.key

    async def list_api_keys(self, *, principal: Principal) -> list[ApiKeyRecord]:
        """The caller's active keys (prefix and metadata only)."""
        self._require_token_login(principal)
        return await self._api_keys.list_active(principal.user_id)

    async def revoke_api_key(self, *, principal: Principal, key_id: str) -> None:
        """Revoke one of the caller's keys at once; 404 for unknown, revoked or others' keys."""
        self._require_token_login(principal)
        revoked = await self._api_keys.revoke(
            key_id, user_id=principal.user_id, revoked_at=self._now()
        )
        if revoked is None:
            raise ApiKeyNotFoundError.missing(key_id, f"API key '{key_id}' was not found.")
        self._key_cache.pop(revoked.key_hash)
        _log.info("auth.api_key_revoked", user_id=principal.user_id, key_id=key_id)

    async def rotate_api_key(
        self, *, principal: Principal, key_id: str
    ) -> tuple[ApiKeyRecord, str]:
        """Give a key a new secret (same id and name); the old secret stops working at once."""
        self._require_token_login(principal)
        generated = generate_api_key()
        rotated = await self._api_keys.rotate(
            key_id,
            user_id=principal.user_id,
            prefix=generated.prefix,
            key_hash=generated.key_hash,
            rotated_at=self._now(),
        )
        if rotated is None:
            raise ApiKeyNotFoundError.missing(key_id, f"API key '{key_id}' was not found.")
        old, new = rotated
        self._key_cache.pop(old.key_hash)
        _log.info("auth.api_key_rotated", user_id=principal.user_id, key_id=key_id)
        return new, generated.key

    # --- resolving the caller ----------------------------------------------------------------
    async def resolve_principal(self, credentials: Credentials) -> Principal | None:
        """The caller behind a bearer token or an API key; None when neither was sent."""
        bearer, api_key = credentials.bearer, credentials.api_key
        if bearer is not None and api_key is not None:
            raise AuthenticationError(
                "Send either a bearer token or an X-API-Key header, not both.",
                details={"reason": "ambiguous"},
            )
        if bearer is not None:
            return await self.principal_from_token(bearer)
        if api_key is not None:
            if self._service_keys is not None:
                service = self._service_keys.match(api_key)
                if service is not None:
                    return service_principal(service)
            return await self.principal_from_api_key(api_key)
        return None

    async def principal_from_token(self, token: str) -> Principal:
        """The caller behind a bearer token; 401 when it is bad or its user is gone."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        claims = self._token_cache.get(digest)
        if claims is None:
            claims = self._tokens.verify(token)
            # Never past the token's own expiry.
            remaining_s = claims.expires_at - self._now().timestamp()
            self._token_cache.put(digest, claims, ttl_s=remaining_s)
        user = await self._cached_user(claims.user_id)
        if user is not None and self._monotonic() - self._feed_ok_at <= self._feed_max_age_s:
            # The feed may know a newer state (deactivated, promoted) than the cached read.
            changed = self._changed.get(claims.user_id)
            if changed is not None and changed.updated_at >= user.updated_at:
                user = changed
        return self._principal(user, "jwt")

    # --- the change feed ---------------------------------------------------------------------
    async def refresh_user_changes(self) -> int:
        """Pull the accounts changed since the last pull into the feed; how many came back."""
        started = self._now()
        # Changes older than the longest token life concern only expired tokens.
        horizon = started - timedelta(seconds=self._tokens.ttl_s) - FEED_OVERLAP
        since = horizon if self._feed_since is None else self._feed_since - FEED_OVERLAP
        changed = await self._users.changed_since(max(since, horizon))
        for user in changed:
            self._remember_change(user)
        if len(self._changed) > len(changed):
            self._changed = {k: u for k, u in self._changed.items() if u.updated_at >= horizon}
        self._feed_since = started
        self._feed_ok_at = self._monotonic()
        return len(changed)

    async def run_change_feed(self) -> None:
        """Poll the change feed forever (a lifespan task); a failed poll is retried next time."""
        failing = False
        while True:
            await asyncio.sleep(self.changes_poll_s)
            try:
                await self.refresh_user_changes()
            except Exception as exc:  # the database may be away; lookups cover meanwhile
                if not failing:
                    _log.warning("auth.change_feed_failed", error=type(exc).__name__)
                failing = True
            else:
                if failing:
                    _log.info("auth.change_feed_recovered")
                failing = False

    def _remember_change(self, user: UserRecord) -> None:
        known = self._changed.get(user.id)
        if known is None or user.updated_at >= known.updated_at:
            self._changed[user.id] = user

    async def principal_from_api_key(self, key: str) -> Principal:
        """The caller behind an API key; 401 when it is unknown, revoked or its user is gone."""
        if not is_well_formed_api_key(key):
            raise invalid_credentials("The API key is invalid or revoked.", reason="invalid")
        key_hash = hash_api_key(key)
        record = self._key_cache.get(key_hash)
        if record is None:
            record = await self._api_keys.get_by_hash(key_hash)
            if record is not None:
                self._key_cache.put(key_hash, record)
        if record is None or record.revoked_at is not None:
            raise invalid_credentials("The API key is invalid or revoked.", reason="invalid")
        user = await self._cached_user(record.user_id)
        return self._principal(user, "api_key")

    async def _cached_user(self, user_id: str) -> UserRecord | None:
        user = self._user_cache.get(user_id)
        if user is None:
            user = await self._users.get(user_id)
            if user is not None:
                self._user_cache.put(user_id, user)
        return user

    @staticmethod
    def _principal(user: UserRecord | None, method: Literal["jwt", "api_key"]) -> Principal:
        if user is None or not user.is_active:
            raise _gone()
        return Principal(
            user_id=user.id, username=user.username, role=cast(Role, user.role), auth_method=method
        )


def service_principal(name: str) -> Principal:
    """The caller behind the `API_KEYS` entry `name`: `service:<name>`, a user, never an admin
    (a static key cannot be revoked without a restart; admin work needs an account)."""
    identity = SERVICE_PRINCIPAL_PREFIX + name
    return Principal(user_id=identity, username=identity, role="user", auth_method="service_key")


def _gone() -> AuthenticationError:
    return invalid_credentials(
        "The account behind these credentials is disabled or gone.", reason="inactive"
    )


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)
