"""The project package: a kernel at the bottom and the top layer above every app.

- The top layer: `urls.py` (every app's URLs), `admin.py` (the admin site and its dashboard,
  which reads orders and products), `apps.py`, `settings.py`, `wsgi.py`, `asgi.py`.
  Nothing imports them but Django itself.
- Everything else is the kernel (tasks, validators, prepared queries, middleware, checks,
  imaging, uploads, the security store, proxies, error views, Celery): any app may import
  it, and it imports no shop app (accounts, products, carts, wishlists, orders).

The apps are layered too: accounts imports no other shop app; products imports accounts at
most; carts imports neither orders nor wishlists. myecommerce/tests/test_layering.py
enforces all of it.
"""

# Load the Celery app with Django, so tasks queued by the web process use its configuration.
from .celery import app as celery_app

__all__ = ("celery_app",)
