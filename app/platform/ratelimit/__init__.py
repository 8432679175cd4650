"""Rate limiting: limit values, route declarations, the policy from settings and the limiter.

Only leaf modules are re-exported here, because storage adapters import `app.platform.ratelimit.items`.
"""

from app.platform.ratelimit.declare import limit
from app.platform.ratelimit.items import LimitCheck, RateLimitItem, parse_limit, parse_limits

__all__ = ["LimitCheck", "RateLimitItem", "limit", "parse_limit", "parse_limits"]
