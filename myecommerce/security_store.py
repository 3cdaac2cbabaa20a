"""Where security state lives: sign-in failure counters, password-reset decoys, throttles.

Not in the default cache: anonymous visitors decide what goes there (every catalogue URL can
be a stored page), so under memory pressure an evicting cache would drop a lock-out counter
for a few hundred page requests. The "security" alias (SECURITY_CACHE_URL, see settings) is a
Redis that must never evict, or, without Redis, this process's memory, never culled.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import BaseCache, caches

SECURITY_CACHE = "security"
# Every policy but noeviction may drop keys once maxmemory is reached; the volatile-* ones drop
# keys with an expiry, and every lock-out counter and decoy has one.
NON_EVICTING_POLICY = "noeviction"


def security_cache() -> BaseCache:
    """The store for security state; never the page cache."""
    return caches[SECURITY_CACHE]


def security_redis_eviction_policy() -> str | None:
    """The security Redis's maxmemory-policy, or None when the store is not Redis or cannot
    be asked (unreachable, or CONFIG disabled as on some managed Redis services)."""
    backend = settings.CACHES.get(SECURITY_CACHE, {}).get("BACKEND", "")
    if backend != "django_redis.cache.RedisCache":
        return None
    from redis.exceptions import RedisError

    try:
        client = security_cache().client.get_client(write=True)
        found = client.config_get("maxmemory-policy")
    except (RedisError, OSError):
        return None
    policy = found.get("maxmemory-policy") or found.get(b"maxmemory-policy")
    return policy.decode() if isinstance(policy, bytes) else policy
