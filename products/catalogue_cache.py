"""Caching of catalogue pages and product counts, made correct by one catalogue version.

Every write that can change what a catalogue page shows (a product, category or product image
saved or deleted, a stock change, a bulk load) bumps one number, the *catalogue version*, kept
in the default cache (Redis in production, so every app server sees the same number). Cached
entries carry the version they were built under, so a bump makes all of them stale at once;
nothing has to find and delete them (they are overwritten or expire).

Three things are cached:

- **Whole anonymous pages** (`CataloguePageCacheMixin`): home, list (with any query string),
  category and detail pages, but only for a GET/HEAD request that carries no cookie other
  than the CSRF cookie: no session means no cart (the navbar shows 0), no flash messages and
  no signed-in user, so the page is the same for every such visitor. Django's own
  `cache_page` cannot do this: it refuses responses that set a cookie when the request sent
  none, and the CSRF cookie is exactly that. The one per-visitor part of such a page is its
  CSRF token: it is stored as a placeholder and replaced by the visitor's own token on every
  hit (which also sets their CSRF cookie, as rendering would have).
- **Fragments** (`fragment_cached`, the `{% catalogue_fragment %}` tag): the product grid and
  the list's sidebar, per URL, for the visitors whole pages are not shared with (signed-in
  shoppers, guests with a cart); their CSRF token is swapped in the same way.
- **Result counts and pages** (`CataloguePaginator`): the COUNT(*) behind "1,234 products"
  and the ids of the products on each page (the costly part of a search on a big catalogue),
  for everybody, signed in or not.

All of it goes through one `PageStore` (whole pages, fragments, and the cart page of the
carts app): open an entry with the state the page is built from, serve it if that state is
unchanged, else render and keep it, its CSRF tokens swapped for a placeholder.

A cached page never outlives `CATALOGUE_PAGE_CACHE_SECONDS` (0 turns the page cache off);
that limit is a safety net for writes that bypass the version (raw SQL), not the mechanism.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.functional import SimpleLazyObject, cached_property

logger = logging.getLogger(__name__)

CATALOGUE_VERSION_KEY = "products:catalogue-version"
PAGE_KEY_PREFIX = "products:page"
RESULTS_KEY_PREFIX = "products:results"
FRAGMENT_KEY_PREFIX = "products:fragment"
# How long cached counts, result ids and the category tree may live: the same limit as a
# page (10 minutes when the page cache is off). They are keyed by the version or dropped on
# change, so this only bounds how long a lost bump (the cache away for a moment) can last.
DEFAULT_SAFETY_NET_SECONDS = 600


def cache_safety_net_seconds() -> int:
    return settings.CATALOGUE_PAGE_CACHE_SECONDS or DEFAULT_SAFETY_NET_SECONDS


# Response header saying how a catalogue page was made: hit, miss (rendered and stored) or
# bypass (a visitor with a session, or a page that may not be shared). Tests and the
# benchmark read it; it tells a browser nothing private.
CACHE_STATUS_HEADER = "X-Page-Cache"

# A stored page's CSRF tokens are replaced by a placeholder made afresh for each entry and
# stored with it: a visitor cannot put it in a page (say, in a search for it) to have the
# next visitor's token written there.
_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")([^"]*)(")')
_CSRF_INPUT_BYTES = re.compile(_CSRF_INPUT.pattern.encode())


def csrf_placeholder() -> str:
    """A new placeholder: never a valid token (those are alphanumeric only)."""
    return f"__csrf-{secrets.token_hex(16)}__"


# ------------------------------------------------------------------------------
# The catalogue version
# ------------------------------------------------------------------------------
def catalogue_version() -> int:
    """The current catalogue version; started from the clock in nanoseconds the first time
    (or after the cache lost it), so a new number is above every number used before: the
    version never moves faster than one bump a nanosecond."""
    version = cache.get(CATALOGUE_VERSION_KEY)
    if version is None:
        cache.add(CATALOGUE_VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(CATALOGUE_VERSION_KEY)
    return version


def _version_increment() -> None:
    try:
        bumped = cache.incr(CATALOGUE_VERSION_KEY)
    except ValueError:  # not there yet (or evicted): start a new, larger number
        cache.add(CATALOGUE_VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:
        # The cache being down must not fail a checkout or an admin save; entries expire
        # after cache_safety_net_seconds() at the latest.
        logger.exception("Could not bump the catalogue version")
    else:
        if bumped is None:  # django-redis ignoring an error (CACHE_IGNORE_EXCEPTIONS)
            logger.error("Could not bump the catalogue version: the cache did not answer")


_after_commit = threading.local()


def now_and_after_commit(func) -> None:
    """Run `func` at once (this request, and tests inside a transaction, see the change) and,
    inside a transaction, once more after commit: whatever another request cached between
    the first run and the commit was built from the old rows and must not survive.

    Once per commit is enough (a bulk delete sends a signal per row): every write queues a
    callback stamped with this thread's current round for `func`; after the commit the
    first of them runs `func` and starts a new round, and the others, stamped with the
    finished round, do nothing. A rolled-back transaction's callbacks are dropped unrun, so
    its round is simply reused.
    """
    func()
    if transaction.get_autocommit():  # not in a transaction: nothing left to wait for
        return
    rounds = _after_commit.__dict__.setdefault("rounds", {})
    stamp = rounds.setdefault(func, 0)

    def once_per_commit() -> None:
        if rounds.get(func) == stamp:
            rounds[func] = stamp + 1
            func()

    transaction.on_commit(once_per_commit)


def catalogue_version_bump() -> None:
    """Make every cached catalogue page and count stale. Call after any catalogue write."""
    now_and_after_commit(_version_increment)


# ------------------------------------------------------------------------------
# Result counts and pages
# ------------------------------------------------------------------------------
class CataloguePaginator(Paginator):
    """A Paginator that keeps, per catalogue version and `cache_key` (which must name
    everything that filters and orders the queryset), the COUNT and the product ids of each
    page it has shown. A cached page is loaded by primary key: a search over a large
    catalogue ranks every match, so it is run once per version, not once per visit.
    """

    def __init__(self, *args, cache_key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache_key = hashlib.sha256(cache_key.encode()).hexdigest()

    @cached_property
    def version(self) -> int:
        return catalogue_version()

    def _key(self, what: str) -> str:
        return f"{RESULTS_KEY_PREFIX}:{self.version}:{self.cache_key}:{what}"

    @cached_property
    def count(self) -> int:
        key = self._key("count")
        count = cache.get(key)
        if count is None:
            count = super().count
            cache.set(key, count, cache_safety_net_seconds())
        return count

    def page(self, number):
        page = super().page(number)
        rows = page.object_list
        # Loaded only if a template shows them: a cached product grid (see
        # `catalogue_fragment`) needs no product at all.
        page.object_list = SimpleLazyObject(lambda: self._page_objects(rows, page.number))
        return page

    def _page_objects(self, rows, number: int) -> list:
        key = self._key(f"page:{self.per_page}:{number}")
        ids = cache.get(key)
        if ids is None:
            objects = list(rows)
            cache.set(key, [obj.pk for obj in objects], cache_safety_net_seconds())
            return objects
        found = self.object_list.in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]


# ------------------------------------------------------------------------------
# The page store: rendered HTML kept per key and the state it was built from
# ------------------------------------------------------------------------------
def _with_placeholder(body: bytes | str, placeholder: str) -> bytes | str:
    """`body` with every form's CSRF token replaced by `placeholder`."""
    if isinstance(body, bytes):
        return _CSRF_INPUT_BYTES.sub(rb"\g<1>" + placeholder.encode() + rb"\g<3>", body)
    return _CSRF_INPUT.sub(r"\g<1>" + placeholder + r"\g<3>", body)


@dataclass(frozen=True)
class StoredPage:
    """One entry of the page store, opened before rendering (see `PageStore.open`).

    `state` is the catalogue version read now plus whatever else the page shows (the
    cart page: its user and their cart): an entry built under another state is stale.
    """

    key: str
    state: str
    entry: dict | None
    timeout: int

    def body(self, token: str) -> bytes | str | None:
        """The stored HTML with `token` as every form's CSRF token, or None if stale."""
        entry = self.entry
        if entry is None or entry.get("state") != self.state:
            return None
        placeholder = entry["placeholder"]
        if isinstance(entry["body"], bytes):
            return entry["body"].replace(placeholder.encode(), token.encode())
        return entry["body"].replace(placeholder, token)

    def response(self, request: HttpRequest) -> HttpResponse | None:
        """The stored page with this visitor's own CSRF token, or None if stale."""
        if self.entry is None or self.entry.get("state") != self.state:
            return None
        # get_token also (re)sets the visitor's CSRF cookie, as rendering would have.
        return HttpResponse(self.body(get_token(request)), content_type=self.entry["content_type"])

    def keep(self, body: bytes | str, *, content_type: str | None = None) -> None:
        """Store `body` under the state read *before* rendering: a change made meanwhile
        makes it stale. Its CSRF tokens are replaced by a placeholder of its own."""
        placeholder = csrf_placeholder()
        entry = {
            "state": self.state,
            "body": _with_placeholder(body, placeholder),
            "placeholder": placeholder,
            "content_type": content_type,
        }
        cache.set(self.key, entry, self.timeout)

    def keep_response(self, response: HttpResponse) -> None:
        self.keep(response.content, content_type=response["Content-Type"])


class PageStore:
    """The one store of rendered pages and fragments, for every visitor kind.

    An entry is found by a key (a digest of what names the page) and is fresh while the
    catalogue version and the caller's `state` are what they were when it was built. The
    version and the entry come in one cache round trip; the version is read before
    rendering, so a change made while the page was being built makes the stored copy stale.
    """

    def __init__(self, prefix: str):
        self.prefix = prefix

    def key(self, *parts: object) -> str:
        digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()
        return f"{self.prefix}:{digest}"

    def open(self, key: str, state: tuple = ()) -> StoredPage:
        found = cache.get_many([CATALOGUE_VERSION_KEY, key])
        version = found.get(CATALOGUE_VERSION_KEY)
        if version is None:
            version = catalogue_version()
        return StoredPage(
            key=key,
            state=repr((version, *state)),
            entry=found.get(key),
            timeout=settings.CATALOGUE_PAGE_CACHE_SECONDS,
        )


def page_store_enabled() -> bool:
    return settings.CATALOGUE_PAGE_CACHE_SECONDS > 0


def page_cache_mark(response: HttpResponse, status: str) -> HttpResponse:
    """Mark a page that may be served from the cache: private, `Vary: Cookie`, and how it was
    made (hit, miss or bypass) in the X-Page-Cache header."""
    # Each copy carries its visitor's CSRF token: never for a shared (proxy) cache.
    patch_cache_control(response, private=True, max_age=0)
    patch_vary_headers(response, ["Cookie"])
    response[CACHE_STATUS_HEADER] = status
    return response


def has_flash_messages(request: HttpRequest) -> bool:
    """Whether the page shows flash messages (read once, so never stored nor served)."""
    return len(messages.get_messages(request)) > 0


def serve_from_store(request: HttpRequest, page: StoredPage, build, *, may_store=None):
    """A view's response from the page store (marked "hit"), else built by `build()`
    (marked "miss") and stored once rendered if `may_store(response)` allows it (else
    marked "bypass"). For whole pages: the catalogue pages and the cart page."""
    cached = page.response(request)
    if cached is not None:
        return page_cache_mark(cached, "hit")
    response = page_cache_mark(build(), "miss")

    def store(rendered):
        if may_store is not None and not may_store(rendered):
            rendered[CACHE_STATUS_HEADER] = "bypass"
        elif rendered.status_code == 200 and not rendered.streaming and not rendered.cookies:
            page.keep_response(rendered)
        else:
            rendered[CACHE_STATUS_HEADER] = "bypass"

    if getattr(response, "is_rendered", True):
        store(response)
    else:  # a TemplateResponse: store it once it is rendered
        response.add_post_render_callback(store)
    return response


# ------------------------------------------------------------------------------
# Whole anonymous catalogue pages
# ------------------------------------------------------------------------------
PAGES = PageStore(PAGE_KEY_PREFIX)
FRAGMENTS = PageStore(FRAGMENT_KEY_PREFIX)


def page_cache_applies(request: HttpRequest) -> bool:
    """Whether this request may get (and fill) the shared anonymous page cache."""
    return (
        page_store_enabled()
        and request.method in ("GET", "HEAD")
        # No session, messages or any other cookie: only the CSRF cookie is allowed.
        and all(name == settings.CSRF_COOKIE_NAME for name in request.COOKIES)
        and not request.user.is_authenticated
    )


def page_cache_key(request: HttpRequest) -> str:
    """One entry per URL; the entry records the catalogue version it was built under.

    The version is in the value, not the key, so a hit costs one round trip to the cache
    (the version and the page in one `get_many`). The exact full path: the page repeats it
    (the add-to-cart forms' `next`), so two spellings of the same filters are two entries.
    """
    return PAGES.key(f"{request.scheme}://{request.get_host()}{request.get_full_path()}")


def _shareable(request: HttpRequest) -> bool:
    """A rendered page may be stored only if nothing about it was personal."""
    session = getattr(request, "session", None)
    return (
        (session is None or (not session.modified and session.is_empty()))
        and not has_flash_messages(request)
        and not request.user.is_authenticated
    )


# ------------------------------------------------------------------------------
# Page fragments (for visitors the whole-page cache does not serve)
# ------------------------------------------------------------------------------
def fragment_cached(request: HttpRequest, name: str, csrf_token: str, render) -> str:
    """The HTML of fragment `name` of this URL, from the cache or from `render()`.

    For parts of a catalogue page that are the same for every visitor but for the CSRF
    token (the product grid: the signed-in shopper's page is built, but its grid is not
    theirs). Kept per URL (the grid repeats it in its forms' `next`) and catalogue version.
    """
    # Only a real token can be swapped in and out (never "NOTPROVIDED" or an empty one).
    if not page_store_enabled() or not (csrf_token.isalnum() and len(csrf_token) >= 32):
        return render()
    page = FRAGMENTS.open(
        FRAGMENTS.key(name, f"{request.scheme}://{request.get_host()}{request.get_full_path()}")
    )
    html = page.body(csrf_token)
    if html is None:
        html = render()
        page.keep(html)
    return html


def query_is_cacheable(request: HttpRequest, names) -> bool:
    """Only URLs whose query parameters are all the page's own (each given once) are cached:
    made-up parameters (`?utm_x=1`, `?a=1&a=2`) cannot fill the cache with copies."""
    return all(name in names and len(request.GET.getlist(name)) == 1 for name in request.GET)


class CataloguePageCacheMixin:
    """Serves anonymous, cookie-less GETs of a catalogue view from the shared page cache.

    Put it after any access check in the bases, so a page that needs sign-in is never served
    from here. Every response of the view is marked private and `Vary: Cookie`. A URL with
    a query parameter not in `page_cache_params` is built every time and never stored.
    """

    page_cache_params: frozenset[str] = frozenset()

    def page_may_be_stored(self) -> bool:
        """Whether the page just built may be stored (a view refuses pages showing errors)."""
        return True

    def dispatch(self, request, *args, **kwargs):
        if not page_cache_applies(request) or not query_is_cacheable(
            request, self.page_cache_params
        ):
            return page_cache_mark(super().dispatch(request, *args, **kwargs), "bypass")
        return serve_from_store(
            request,
            PAGES.open(page_cache_key(request)),
            lambda: super(CataloguePageCacheMixin, self).dispatch(request, *args, **kwargs),
            may_store=lambda _response: self.page_may_be_stored() and _shareable(request),
        )
