"""Credential primitives: argon2 password hashing, HS256 access tokens, API-key generation.

Nothing here touches storage or HTTP; `app.accounts.service` combines these with the repositories.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTError
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.platform.errors import AuthenticationError

JWT_ALGORITHM: Final = "HS256"
TOKEN_ISSUER: Final = "raidesk"  # noqa: S105 - claim values, not secrets
TOKEN_TYPE: Final = "access"  # noqa: S105
# Far longer than any token we issue; refusing bigger input early bounds the work per request.
MAX_TOKEN_CHARS: Final = 4096

API_KEY_PREFIX: Final = "rdk_"
_API_KEY_RE: Final = re.compile(r"rdk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
_INVALID_TOKEN_HEADER: Final = 'Bearer realm="raidesk", error="invalid_token"'  # noqa: S105


def invalid_credentials(detail: str, *, reason: str) -> AuthenticationError:
    """A 401 that tells the client its credentials were refused (RFC 6750 `invalid_token`)."""
    return AuthenticationError(
        detail, details={"reason": reason}, headers={"WWW-Authenticate": _INVALID_TOKEN_HEADER}
    )


# --- passwords ---------------------------------------------------------------------------
def normalize_password(password: str) -> str:
    """NFKC-normalise so the same password typed on different keyboards/IMEs hashes the same."""
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """argon2id hashing (pwdlib) run in worker threads so logins never block the event loop.

    Every verification goes through `verify`, which counts calls: login must cost exactly one
    verification whether or not the user exists, and the tests check that count.
    """

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_cost: int = 65536,
        max_concurrency: int | None = None,
    ) -> None:
        self._hash = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost),))
        # argon2 is CPU- and memory-heavy: bound how many run at once in this process.
        self._slots = asyncio.Semaphore(max_concurrency or max(1, os.cpu_count() or 1))
        self._dummy_hash: str | None = None
        self.verifications = 0

    async def hash(self, password: str) -> str:
        """The argon2id hash of `password` (salted, PHC string format)."""
        async with self._slots:
            return await asyncio.to_thread(self._hash.hash, normalize_password(password))

    async def verify(self, password: str, password_hash: str) -> bool:
        """Whether `password` matches `password_hash`; never raises for a malformed hash."""
        self.verifications += 1
        async with self._slots:
            try:
                return await asyncio.to_thread(
                    self._hash.verify, normalize_password(password), password_hash
                )
            except Exception:
                return False

    async def warm_up(self) -> None:
        """Make the dummy hash now, so the first unknown-user login costs no extra hashing."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(24))

    async def verify_dummy(self, password: str) -> None:
        """Spend one verification on a hash nobody owns: unknown users cost as much as known."""
        await self.warm_up()
        assert self._dummy_hash is not None
        await self.verify(password, self._dummy_hash)


# --- access tokens ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token and how many seconds it lives."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified claims of an access token."""

    user_id: str
    role: str
    jti: str
    issued_at: int
    expires_at: int
    # The username at issue time; None in tokens minted before the claim existed.
    username: str | None = None


class TokenCodec:
    """Issue and verify HS256 JWTs; the algorithm is fixed, never read from the token."""

    def __init__(self, *, secret_key: str, expire_minutes: int) -> None:
        self._secret = secret_key
        self._ttl_s = expire_minutes * 60

    @property
    def ttl_s(self) -> int:
        """How long an access token lives, in seconds."""
        return self._ttl_s

    def issue(
        self, *, user_id: str, role: str, username: str | None = None, now: float | None = None
    ) -> IssuedToken:
        """A signed access token for `user_id` with `sub`, `role`, `name`, `iat`, `exp`, `jti`."""
        issued_at = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": TOKEN_ISSUER,
            "sub": user_id,
            "role": role,
            "typ": TOKEN_TYPE,
            "iat": issued_at,
            "exp": issued_at + self._ttl_s,
            "jti": secrets.token_urlsafe(16),
        }
        if username is not None:
            claims["name"] = username
        token = jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)
        return IssuedToken(access_token=token, expires_in=self._ttl_s)

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; 401 for expired, forged, `alg: none` or malformed ones."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise invalid_credentials("The access token is invalid.", reason="invalid")
        try:
            header = jwt.get_unverified_header(token)
        except JWTError:
            raise invalid_credentials("The access token is invalid.", reason="invalid") from None
        # Checked before decoding as well as by `algorithms=`: a token never picks its own alg.
        if header.get("alg") != JWT_ALGORITHM:
            raise invalid_credentials("The access token is invalid.", reason="invalid")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                issuer=TOKEN_ISSUER,
                options={
                    "require_exp": True,
                    "require_iat": True,
                    "require_sub": True,
                    "require_jti": True,
                    "verify_aud": False,
                },
            )
        except ExpiredSignatureError:
            raise invalid_credentials(
                "The access token has expired; log in again.", reason="expired"
            ) from None
        except JWTError:
            raise invalid_credentials("The access token is invalid.", reason="invalid") from None
        sub, role, jti = claims.get("sub"), claims.get("role"), claims.get("jti")
        if (
            claims.get("typ") != TOKEN_TYPE
            or not isinstance(sub, str)
            or not isinstance(role, str)
            or not isinstance(jti, str)
        ):
            raise invalid_credentials("The access token is invalid.", reason="invalid")
        return TokenClaims(
            user_id=sub,
            role=role,
            jti=jti,
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            username=name if isinstance(name := claims.get("name"), str) else None,
        )


# --- API keys --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GeneratedApiKey:
    """A new API key: `key` is shown to its owner once; only `key_hash` is stored."""

    key: str
    prefix: str
    key_hash: str


def hash_api_key(key: str) -> str:
    """SHA-256 of the whole key: keys carry 256 random bits, so no slow hash is needed."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_api_key() -> GeneratedApiKey:
    """`rdk_<8 hex>_<43 url-safe chars>`; the `rdk_<8 hex>` part is the visible prefix."""
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    return GeneratedApiKey(key=key, prefix=prefix, key_hash=hash_api_key(key))


def is_well_formed_api_key(key: str) -> bool:
    """Whether `key` has the shape of a key we issue (checked before any lookup)."""
    return _API_KEY_RE.fullmatch(key) is not None


# --- static service keys (API_KEYS) -------------------------------------------------------------
SERVICE_PRINCIPAL_PREFIX: Final = "service:"
MIN_SERVICE_KEY_CHARS: Final = 16
# At most 48 characters: `service:<name>` fits the 64-character owner columns.
_SERVICE_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")


class ServiceKeyring:
    """The service-to-service keys from `API_KEYS`, kept only as SHA-256 digests.

    `API_KEYS` is comma-separated; each entry is `name:key` or a bare key, which is named by
    its position (`1`, `2`, ...). A key shorter than 16 characters, or a name given twice, is
    refused (ValueError, at startup): a static key cannot be rate-limited into safety.
    """

    def __init__(self, raw: str | None) -> None:
        entries: list[tuple[str, str]] = []
        names: set[str] = set()
        for position, part in enumerate((raw or "").split(","), start=1):
            entry = part.strip()
            if not entry:
                continue
            name, sep, key = entry.partition(":")
            if not sep or _SERVICE_NAME_RE.fullmatch(name) is None:
                name, key = str(position), entry
            if len(key) < MIN_SERVICE_KEY_CHARS:
                # The message names the entry's position and name, never any part of the key.
                raise ValueError(
                    f"entry {position} ({name}) is shorter than {MIN_SERVICE_KEY_CHARS} characters"
                )
            if name in names:
                raise ValueError(f"the name {name!r} is given twice")
            names.add(name)
            entries.append((name, hash_api_key(key)))
        self._digests: tuple[tuple[str, str], ...] = tuple(entries)

    def __len__(self) -> int:
        return len(self._digests)

    def __repr__(self) -> str:  # names only: digests stay out of reprs and so out of logs
        return f"ServiceKeyring(names={[name for name, _ in self._digests]})"

    def match(self, key: str) -> str | None:
        """The name of the service whose key `key` is, else None (constant time per entry)."""
        digest = hash_api_key(key)
        found: str | None = None
        for name, known in self._digests:
            # Every entry is compared, the match or not: the time says nothing about which.
            if hmac.compare_digest(digest, known) and found is None:
                found = name
        return found
