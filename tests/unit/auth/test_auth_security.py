"""Tokens, API-key format and password hashing, without servers."""

from __future__ import annotations

import base64
import json
import time

import pytest
from jose import jwt

from app.platform.errors import AuthenticationError
from app.platform.security import (
    MAX_TOKEN_CHARS,
    PasswordHasher,
    TokenCodec,
    generate_api_key,
    hash_api_key,
    is_well_formed_api_key,
)

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-key-with-more-than-32-chars"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _reason(exc: pytest.ExceptionInfo[AuthenticationError]) -> str:
    return str(exc.value.details["reason"])


@pytest.fixture
def codec() -> TokenCodec:
    return TokenCodec(secret_key=SECRET, expire_minutes=60)


def test_issued_token_carries_required_claims(codec: TokenCodec) -> None:
    issued = codec.issue(user_id="usr_1", role="admin", now=1_700_000_000)
    claims = jwt.get_unverified_claims(issued.access_token)
    assert jwt.get_unverified_header(issued.access_token)["alg"] == "HS256"
    assert claims["sub"] == "usr_1" and claims["role"] == "admin"
    assert claims["iat"] == 1_700_000_000 and claims["exp"] == 1_700_000_000 + 3600
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert issued.expires_in == 3600 and issued.token_type == "bearer"


def test_every_token_has_a_unique_jti(codec: TokenCodec) -> None:
    jtis = {codec.verify(codec.issue(user_id="u", role="user").access_token).jti for _ in range(50)}
    assert len(jtis) == 50


def test_valid_token_verifies(codec: TokenCodec) -> None:
    claims = codec.verify(codec.issue(user_id="usr_1", role="user").access_token)
    assert claims.user_id == "usr_1" and claims.role == "user"


def test_expired_token_is_refused_as_expired(codec: TokenCodec) -> None:
    token = codec.issue(user_id="u", role="user", now=time.time() - 3601).access_token
    with pytest.raises(AuthenticationError) as exc:
        codec.verify(token)
    assert _reason(exc) == "expired"
    assert "invalid_token" in exc.value.headers["WWW-Authenticate"]


def test_tampered_payload_is_refused(codec: TokenCodec) -> None:
    header, _payload, signature = codec.issue(user_id="u", role="user").access_token.split(".")
    claims = jwt.get_unverified_claims(codec.issue(user_id="u", role="user").access_token)
    forged = ".".join([header, _b64({**claims, "role": "admin"}), signature])
    with pytest.raises(AuthenticationError) as exc:
        codec.verify(forged)
    assert _reason(exc) == "invalid"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(codec: TokenCodec, alg: str) -> None:
    claims = jwt.get_unverified_claims(codec.issue(user_id="u", role="admin").access_token)
    unsigned = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(AuthenticationError):
        codec.verify(unsigned)


def test_other_hmac_algorithms_are_refused_even_with_the_right_key(codec: TokenCodec) -> None:
    claims = jwt.get_unverified_claims(codec.issue(user_id="u", role="user").access_token)
    token = jwt.encode(claims, SECRET, algorithm="HS512")
    with pytest.raises(AuthenticationError):
        codec.verify(token)


def test_token_signed_with_another_key_is_refused(codec: TokenCodec) -> None:
    other = TokenCodec(secret_key="another-secret-key-of-more-than-32-chars", expire_minutes=60)
    with pytest.raises(AuthenticationError):
        codec.verify(other.issue(user_id="u", role="user").access_token)


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "jti", "role", "typ", "iss"])
def test_tokens_missing_a_claim_are_refused(codec: TokenCodec, missing: str) -> None:
    claims = jwt.get_unverified_claims(codec.issue(user_id="u", role="user").access_token)
    del claims[missing]
    with pytest.raises(AuthenticationError):
        codec.verify(jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "eyJ.eyJ.x", "é.é.é", "x" * (MAX_TOKEN_CHARS + 1), "a.b", "...."],
)
def test_garbage_tokens_are_refused(codec: TokenCodec, token: str) -> None:
    with pytest.raises(AuthenticationError):
        codec.verify(token)


def test_api_key_shape_prefix_and_hash() -> None:
    generated = generate_api_key()
    assert generated.key.startswith(generated.prefix + "_")
    assert generated.prefix.startswith("rdk_") and len(generated.prefix) == 12
    assert is_well_formed_api_key(generated.key)
    assert generated.key_hash == hash_api_key(generated.key)
    assert generated.key not in generated.key_hash and len(generated.key_hash) == 64
    assert len({generate_api_key().key for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "key",
    ["", "rdk_", "rdk_1234567_" + "a" * 43, "rdk_1234abcd_" + "a" * 42, "xyz_1234abcd_" + "a" * 43,
     "rdk_1234abcd_" + "a" * 43 + "\n", "rdk_1234ABCD_" + "a" * 43],
)  # fmt: skip
def test_malformed_api_keys_are_recognised(key: str) -> None:
    assert not is_well_formed_api_key(key)


async def test_password_hash_round_trip_and_normalisation() -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024)
    # "ｐａｓｓ" (full-width) and "pass" are the same password after NFKC.
    hashed = await hasher.hash("ｐａｓｓｗｏｒｄ 한국어 ok")
    assert hashed.startswith("$argon2id$")
    assert "password" not in hashed
    assert await hasher.verify("password 한국어 ok", hashed)
    assert not await hasher.verify("password 한국어 no", hashed)
    assert not await hasher.verify("anything", "not-a-hash")
    assert hasher.verifications == 3
