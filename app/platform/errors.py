"""One error hierarchy and the RFC 9457 problem body every error response uses.

Services raise `AppError` subclasses; they never build HTTP responses. Each subclass carries
a stable symbolic `code` (e.g. ``SESSION_NOT_FOUND``), a numbered `error_code` (``ERR_1002``)
and an HTTP status. `docs/errors.md` lists every code (a test keeps the two in step).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

from app.platform.clock import utc_second_text
from app.platform.context import current_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"


class AppError(Exception):
    """Base of every error the service reports to a client."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    error_code: ClassVar[str] = "ERR_1000"
    title: ClassVar[str] = "Internal server error"
    registry: ClassVar[dict[str, type[AppError]]] = {}

    def __init__(
        self,
        detail: str | None = None,
        *,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.details = details
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        other = AppError.registry.get(cls.error_code)
        if other is not None and other.code != cls.code:
            raise TypeError(f"{cls.__name__} reuses {cls.error_code} of {other.__name__}")
        AppError.registry[cls.error_code] = cls

    @property
    def error_name(self) -> str:
        """The short type name clients switch on (the `error` member)."""
        return type(self).__name__.removesuffix("Error") or "Error"


AppError.registry[AppError.error_code] = AppError


# --- platform (1xxx) ---------------------------------------------------------
class ValidationFailedError(AppError):
    status = 400
    code = "VALIDATION_ERROR"
    error_code = "ERR_1001"
    title = "Request validation failed"

    @property
    def error_name(self) -> str:
        return "ValidationError"


class NotFoundError(AppError):
    status = 404
    code = "NOT_FOUND"
    error_code = "ERR_1003"
    title = "Not found"
    # What `details.resource` calls the missing thing (clients switch on it, with `code`).
    resource: ClassVar[str] = "route"

    @classmethod
    def missing(cls, resource_id: object, detail: str, **extra: Any) -> Self:
        """The problem for one missing resource: `details` names the resource and the id asked for."""
        return cls(detail, details={"resource": cls.resource, "id": resource_id, **extra})


class SessionNotFoundError(NotFoundError):
    code = "SESSION_NOT_FOUND"
    error_code = "ERR_1002"
    title = "Session not found"
    resource = "session"


class MethodNotAllowedError(AppError):
    status = 405
    code = "METHOD_NOT_ALLOWED"
    error_code = "ERR_1004"
    title = "Method not allowed"


class PayloadTooLargeError(AppError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    error_code = "ERR_1005"
    title = "Request body too large"


class UnsupportedMediaTypeError(AppError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    error_code = "ERR_1006"
    title = "Unsupported media type"


class ServiceUnavailableError(AppError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
    error_code = "ERR_1007"
    title = "Service unavailable"
    # Seconds a client should wait before retrying (`Retry-After`, unless the raiser set one).
    retry_after_s: ClassVar[int] = 2

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        if not any(name.lower() == "retry-after" for name in self.headers):
            self.headers["Retry-After"] = str(self.retry_after_s)


class RequestTimeoutError(AppError):
    status = 408
    code = "REQUEST_TIMEOUT"
    error_code = "ERR_1014"
    title = "Request too slow"


class DatabaseUnavailableError(ServiceUnavailableError):
    code = "DATABASE_UNAVAILABLE"
    error_code = "ERR_1012"
    title = "Database unavailable"


class RedisUnavailableError(ServiceUnavailableError):
    code = "REDIS_UNAVAILABLE"
    error_code = "ERR_1013"
    title = "Redis unavailable"


class ConflictError(AppError):
    status = 409
    code = "CONFLICT"
    error_code = "ERR_1008"
    title = "Conflict"


class RateLimitExceededError(AppError):
    status = 429
    code = "RATE_LIMIT_EXCEEDED"
    error_code = "ERR_1009"
    title = "Too many requests"


class HTTPStatusError(AppError):
    """Any other framework-level HTTP error (e.g. 400 from a malformed form)."""

    status = 400
    code = "HTTP_ERROR"
    error_code = "ERR_1010"
    title = "Bad request"

    def __init__(self, status: int, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.instance_status = status


class InvalidHostError(AppError):
    status = 400
    code = "INVALID_HOST"
    error_code = "ERR_1011"
    title = "Host not allowed"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "This server does not answer for that Host.", **kwargs)


# --- accounts (2xxx) -----------------------------------------------------------------
class AuthenticationError(AppError):
    status = 401
    code = "AUTHENTICATION_REQUIRED"
    error_code = "ERR_2001"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="raidesk"')


class PermissionDeniedError(AppError):
    status = 403
    code = "PERMISSION_DENIED"
    error_code = "ERR_2002"
    title = "Permission denied"


class InvalidCredentialsError(AuthenticationError):
    # One answer for an unknown user and a wrong password: no user enumeration.
    code = "INVALID_CREDENTIALS"
    error_code = "ERR_2003"
    title = "Invalid username or password"


class UsernameTakenError(ConflictError):
    code = "USERNAME_TAKEN"
    error_code = "ERR_2004"
    title = "Username already taken"


class WeakPasswordError(AppError):
    status = 400
    code = "WEAK_PASSWORD"
    error_code = "ERR_2005"
    title = "Password does not meet the password policy"


class InvalidUsernameError(AppError):
    status = 400
    code = "INVALID_USERNAME"
    error_code = "ERR_2006"
    title = "Username does not meet the username rules"


class ApiKeyNotFoundError(NotFoundError):
    code = "API_KEY_NOT_FOUND"
    error_code = "ERR_2007"
    title = "API key not found"
    resource = "api_key"


class ApiKeyLimitError(ConflictError):
    code = "API_KEY_LIMIT_REACHED"
    error_code = "ERR_2008"
    title = "Too many API keys"


class UserNotFoundError(NotFoundError):
    code = "USER_NOT_FOUND"
    error_code = "ERR_2009"
    title = "User not found"
    resource = "user"


class MonitoringForbiddenError(PermissionDeniedError):
    """`/metrics` or `/health/detailed` asked for by a caller the monitoring settings refuse."""

    code = "MONITORING_FORBIDDEN"
    error_code = "ERR_2011"
    title = "Monitoring endpoints are not open to this caller"


class SelfModificationError(ConflictError):
    code = "SELF_MODIFICATION"
    error_code = "ERR_2010"
    title = "Admins cannot change their own role or status"


# --- commerce (4xxx): locks -------------------------------------------------------------
class LockTimeoutError(ConflictError):
    """A named lock stayed held by someone else for the whole bounded wait."""

    code = "LOCK_TIMEOUT"
    error_code = "ERR_4090"
    title = "Resource busy"


# --- commerce (4xxx): products, stock, purchases ---------------------------------------
class ProductNotFoundError(NotFoundError):
    code = "PRODUCT_NOT_FOUND"
    error_code = "ERR_4001"
    title = "Product not found"
    resource = "product"


class PurchaseNotFoundError(NotFoundError):
    code = "PURCHASE_NOT_FOUND"
    error_code = "ERR_4002"
    title = "Purchase not found"
    resource = "purchase"


class InsufficientStockError(AppError):
    status = 400
    code = "INSUFFICIENT_STOCK"
    error_code = "ERR_4003"
    title = "Insufficient stock"


class PurchaseLimitReachedError(ConflictError):
    code = "PURCHASE_LIMIT_REACHED"
    error_code = "ERR_4004"
    title = "Purchase limit reached"


class SaleNotActiveError(ConflictError):
    code = "SALE_NOT_ACTIVE"
    error_code = "ERR_4005"
    title = "Sale not active"


class IdempotencyKeyReusedError(AppError):
    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"
    error_code = "ERR_4006"
    title = "Idempotency key reused with a different request"


class IdempotencyInFlightError(ConflictError):
    code = "IDEMPOTENCY_IN_FLIGHT"
    error_code = "ERR_4007"
    title = "A request with this idempotency key is still in progress"


class StockStoreUnavailableError(ServiceUnavailableError):
    code = "STOCK_STORE_UNAVAILABLE"
    error_code = "ERR_4008"
    title = "Stock store unavailable"


class PurchaseNotRecordedError(ServiceUnavailableError):
    code = "PURCHASE_NOT_RECORDED"
    error_code = "ERR_4009"
    title = "Purchase not recorded"


class InvalidIdempotencyKeyError(AppError):
    status = 400
    code = "INVALID_IDEMPOTENCY_KEY"
    error_code = "ERR_4010"
    title = "Invalid Idempotency-Key header"


# --- regulatory (3xxx) ------------------------------------------------------------------
class PlanNotFoundError(NotFoundError):
    code = "PLAN_NOT_FOUND"
    error_code = "ERR_3001"
    title = "Plan not found"
    resource = "plan"


class PlanVersionNotFoundError(NotFoundError):
    code = "PLAN_VERSION_NOT_FOUND"
    error_code = "ERR_3002"
    title = "Plan version not found"
    resource = "plan_version"


class DeviceNotMedicalError(AppError):
    status = 400
    code = "DEVICE_NOT_MEDICAL"
    error_code = "ERR_3003"
    title = "Not a medical device"


class InvalidCategoryError(AppError):
    status = 400
    code = "INVALID_CATEGORY"
    error_code = "ERR_3004"
    title = "Invalid device category"


class AIUnavailableError(ServiceUnavailableError):
    code = "AI_UNAVAILABLE"
    error_code = "ERR_3005"
    title = "AI model server unavailable"


class AIInvalidOutputError(AppError):
    status = 502
    code = "AI_INVALID_OUTPUT"
    error_code = "ERR_3006"
    title = "AI model returned invalid output"


class PlanVersionConflictError(ConflictError):
    code = "PLAN_VERSION_CONFLICT"
    error_code = "ERR_3007"
    title = "Plan changed concurrently"


class SessionDataTooLargeError(AppError):
    status = 413
    code = "SESSION_DATA_TOO_LARGE"
    error_code = "ERR_3008"
    title = "Session data too large"


# --- rate limiting (5xxx) ---------------------------------------------------------------
class IpNotAllowedError(PermissionDeniedError):
    code = "IP_NOT_ALLOWED"
    error_code = "ERR_5001"
    title = "Address not allowed"


class RateLimiterUnavailableError(ServiceUnavailableError):
    code = "RATE_LIMITER_UNAVAILABLE"
    error_code = "ERR_5002"
    title = "Rate limiter unavailable"


class ClientBlockedError(AppError):
    """Too many rate-limit rejections in a row: refused until the block ends (`Retry-After`)."""

    status = 429
    code = "CLIENT_BLOCKED"
    error_code = "ERR_5003"
    title = "Client blocked"


class BlockNotFoundError(NotFoundError):
    code = "BLOCK_NOT_FOUND"
    error_code = "ERR_5004"
    title = "Block not found"
    resource = "block"


class QuotaNotFoundError(NotFoundError):
    code = "QUOTA_NOT_FOUND"
    error_code = "ERR_5005"
    title = "Quota not found"
    resource = "quota"


# --- batch jobs (6xxx) -----------------------------------------------------------------
class BatchJobNotFoundError(NotFoundError):
    code = "BATCH_JOB_NOT_FOUND"
    error_code = "ERR_6001"
    title = "Batch job not found"
    resource = "batch_job"


class BatchJobStateError(ConflictError):
    code = "BATCH_JOB_STATE"
    error_code = "ERR_6002"
    title = "Not possible in the job's current status"


class BatchActiveLimitError(AppError):
    status = 429
    code = "BATCH_ACTIVE_LIMIT"
    error_code = "ERR_6003"
    title = "Too many unfinished batch jobs"


class BatchItemTimeoutError(AppError):
    # Only ever an item's error code (its job goes on): the item took longer than allowed.
    status = 504
    code = "BATCH_ITEM_TIMEOUT"
    error_code = "ERR_6004"
    title = "Batch item timed out"


class BatchItemInterruptedError(AppError):
    # Only ever an item's error code: an item of a kind that must not run twice was cut off
    # (its worker died, or the job was paused while it ran); it may or may not have taken effect.
    status = 409
    code = "BATCH_ITEM_INTERRUPTED"
    error_code = "ERR_6006"
    title = "Batch item interrupted"


class BatchBacklogFullError(AppError):
    status = 429
    code = "BATCH_BACKLOG_FULL"
    error_code = "ERR_6005"
    title = "The batch queue is full"


def _slug(code: str) -> str:
    return code.lower().replace("_", "-")


# A JWT or an API key that a client put into a URL is not echoed back into error bodies
# (`instance`, and details that quote the path), which clients and proxies tend to log.
_CREDENTIAL_RE = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*|\brdk_[\w-]{8,}")


def _redact(text: str) -> str:
    return _CREDENTIAL_RE.sub("***", text)


def redact_credentials(text: str) -> str:
    """`text` with any JWT or API key in it masked (for paths kept in logs or event records)."""
    return _redact(text)


def _redact_details(details: Any) -> Any:
    """`details` with credentials masked in its string members (ids quote the client's path)."""
    if details is None:
        return {}
    if isinstance(details, dict):
        return {k: _redact(v) if isinstance(v, str) else v for k, v in details.items()}
    return details


def problem_body(error: AppError, *, instance: str, status: int | None = None) -> dict[str, Any]:
    """Build the RFC 9457 body with the extension members older clients read."""
    status = status or getattr(error, "instance_status", None) or error.status
    detail = _redact(error.detail)
    body = {
        "type": f"urn:raidesk:error:{_slug(error.code)}",
        "title": error.title,
        "status": status,
        "detail": detail,
        "instance": _redact(instance),
        "error": error.error_name,
        "code": error.code,
        "error_code": error.error_code,
        "message": detail,
        "details": _redact_details(error.details),
        "trace_id": current_request_id(),
        "timestamp": utc_second_text(int(time.time())) + "Z",
    }
    # Extra top-level members an error adds (e.g. the 429's `remaining`); never the standard ones.
    for name, value in getattr(error, "extra_members", {}).items():
        body.setdefault(name, value)
    return body


def problem_bytes(error: AppError, *, instance: str) -> tuple[int, bytes]:
    """Status and encoded body of a problem response."""
    body = problem_body(error, instance=instance)
    return body["status"], json.dumps(body, ensure_ascii=False, default=str).encode()


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Turn pydantic/FastAPI error dicts into `[{field, message, type}]` without echoing input."""
    details = []
    for err in errors:
        raw_loc = tuple(err.get("loc") or ("body",))
        loc = [str(p) for p in raw_loc if p not in ("body", "query", "path", "header")]
        discriminator = (err.get("ctx") or {}).get("discriminator")
        if str(err.get("type", "")).startswith("union_tag") and discriminator:
            # A tagged union names the object, not the field that picks its shape: name it.
            loc.append(str(discriminator).strip("'\""))
        details.append(
            {
                "field": ".".join(loc) or str(raw_loc[0]),
                "message": str(err.get("msg", "invalid value")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return details


def error_event(exc: AppError) -> dict[str, Any]:
    """A problem-like `error` event (the same members as an error body's core)."""
    return {
        "type": "error",
        "status": exc.status,
        "code": exc.code,
        "error_code": exc.error_code,
        "title": exc.title,
        "detail": exc.detail,
        "error": exc.error_name,
    }
