"""Rate limiting: limit values, route declarations, the policy from settings and the limiter.

Only leaf modules are re-exported here, because storage adapters import `app.ratelimit.items`.
"""

from app.ratelimit.declare import limit
from app.ratelimit.items import LimitCheck, RateLimitItem, parse_limit, parse_limits

__all__ = ["LimitCheck", "RateLimitItem", "limit", "parse_limit", "parse_limits"]
