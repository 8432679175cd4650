"""Rate limiting: limit values, the policy from settings, the limiter and its stores.

Only leaf modules are re-exported here, because the stores import `app.platform.ratelimit.items`.
"""

from app.platform.ratelimit.items import LimitCheck, RateLimitItem, parse_limit, parse_limits

__all__ = ["LimitCheck", "RateLimitItem", "parse_limit", "parse_limits"]
