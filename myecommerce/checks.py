"""System checks for the deployment as a whole (registered by `myecommerce.apps.KernelConfig`)."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Tags, Warning, register

LOCAL_MEMORY_CACHE = "django.core.cache.backends.locmem.LocMemCache"
FILE_CACHE = "django.core.cache.backends.filebased.FileBasedCache"


@register(Tags.caches, deploy=True)
def check_the_cache_is_shared(app_configs, **kwargs):
    """gunicorn runs several worker processes, and a shop may run several servers: a cache
    that they do not all share goes stale between them.

    A per-process cache (locmem) is always wrong in production. The default file cache
    (CACHE_URL unset) is shared by one machine's processes only: right for a single server,
    wrong for several, so production must say which it wants (a file cache named in
    CACHE_URL is that choice).
    """
    if settings.DEBUG:
        return []
    default = settings.CACHES["default"]
    if default["BACKEND"] == LOCAL_MEMORY_CACHE:
        message = (
            "The cache is local to each process: with several workers or servers, a signed-out "
            "session can still be read from another worker's copy, and catalogue pages stay "
            "stale there after a change."
        )
    elif default["BACKEND"] == FILE_CACHE and Path(default.get("LOCATION", "")) == Path(
        settings.DEFAULT_CACHE_DIR
    ):
        message = (
            "No CACHE_URL: the cache is in files on this machine, shared by this server's "
            "workers but not by other servers, where a signed-out session could still be read "
            "and catalogue pages would stay stale after a change."
        )
    else:
        return []
    return [
        Warning(
            message,
            hint="Set CACHE_URL=redis://host:6379/1 (shared by every worker and server), or on "
            "a single server CACHE_URL=filecache:///srv/myecommerce/cache.",
            id="myecommerce.W001",
        )
    ]


@register(Tags.caches, deploy=True)
def check_the_security_store_never_evicts(app_configs, **kwargs):
    """Lock-out counters on an evicting Redis can be erased by filling it with pages."""
    from myecommerce.security_store import NON_EVICTING_POLICY, security_redis_eviction_policy

    policy = security_redis_eviction_policy()  # None: not Redis, or not reachable now
    if policy is None or policy == NON_EVICTING_POLICY:
        return []
    return [
        Warning(
            f"The Redis that keeps sign-in lock-outs and code throttles (the 'security' cache) "
            f"runs with maxmemory-policy {policy}: once full, it may evict a lock-out counter, "
            "and anonymous visitors can fill it (the page cache, if it shares the server).",
            hint="Run that Redis with maxmemory-policy noeviction, or point SECURITY_CACHE_URL "
            "at a Redis server that does (the page cache's may stay LRU).",
            id="myecommerce.W002",
        )
    ]
