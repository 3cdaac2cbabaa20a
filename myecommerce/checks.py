"""System checks for the deployment as a whole (registered by the accounts app)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

LOCAL_MEMORY_CACHE = "django.core.cache.backends.locmem.LocMemCache"


@register(Tags.caches, deploy=True)
def check_the_cache_is_shared(app_configs, **kwargs):
    """gunicorn runs several worker processes: a per-process cache goes stale between them."""
    if settings.DEBUG or settings.CACHES["default"]["BACKEND"] != LOCAL_MEMORY_CACHE:
        return []
    return [
        Warning(
            "The cache is local to each process: with several workers or servers, a signed-out "
            "session can still be read from another worker's copy, and catalogue pages stay "
            "stale there after a change.",
            hint="Set CACHE_URL=redis://host:6379/1 (shared by every worker and server).",
            id="myecommerce.W001",
        )
    ]
