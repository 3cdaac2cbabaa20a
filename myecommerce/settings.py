"""
Settings for myecommerce.

Every value that differs between machines comes from the environment (or an optional
`.env` file) through django-environ. Defaults are safe for production: DEBUG is off and
SECRET_KEY is required unless DEBUG is switched on.
"""

import re
from email.utils import parseaddr
from hashlib import sha256
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------
# Environment
# ------------------------------------------------------------------------------
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# Only ever used when DEBUG is on; production must provide its own key.
_DEV_SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production-5b8f2e"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is False.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused form (expired or missing CSRF token) gets the shop's 403 page, saying what to do.
CSRF_FAILURE_VIEW = "myecommerce.views.csrf_failure"

# ------------------------------------------------------------------------------
# Applications
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "myecommerce.apps.ShopAdminConfig",  # django.contrib.admin with the dashboard site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles so runserver does not serve static files itself: whitenoise does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "bootstrap",  # django-bootstrap-static: Bootstrap 5.3 served from our own static files
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "sorl.thumbnail",
    "import_export",
    "django_countries",
    "csp",  # django-csp: the Content-Security-Policy header (see Security below)
    "phonenumber_field",  # one phone rule (the phonenumbers library) for every form and model
]
LOCAL_APPS = [
    "myecommerce.apps.KernelConfig",  # the kernel's own checks (myecommerce/checks.py)
    "accounts",
    "products",
    "carts",
    "wishlists",
    "orders",
    "mailer",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Reads a multipart body before the CSRF check: an oversized upload gets a 413 page.
    "myecommerce.uploads.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A Redis outage during sign-in (lock-out counters) answers 503, not 500.
    "myecommerce.middleware.ServiceUnavailableMiddleware",
    # Last, as django-axes asks: it turns lock-outs into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "myecommerce.urls"
WSGI_APPLICATION = "myecommerce.wsgi.application"
ASGI_APPLICATION = "myecommerce.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "products.context_processors.store",
                "carts.context_processors.cart",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Database
# ------------------------------------------------------------------------------
try:
    DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
except Exception as exc:  # environ raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"].get("ENGINE") not in set(environ.Env.DB_SCHEMES.values()):
    raise ImproperlyConfigured(
        "DATABASE_URL names an unknown database engine; use e.g. sqlite:///path or "
        "postgres://user@host:5432/name."
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default, shared by several processes and threads: readers never wait for
    # the writer (WAL), and a transaction takes the write lock when it starts (IMMEDIATE), so
    # it queues for up to SQLITE_BUSY_TIMEOUT seconds instead of failing half-way with
    # "database is locked" when it first writes. What still cannot get the lock answers 503.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=20.0),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# Cache and sessions
# ------------------------------------------------------------------------------
# The default keeps the cache in files under var/cache/ beside the code, shared by every
# process on this machine (runserver, `manage.py shell`, gunicorn's workers, a Celery worker):
# a change made by one is seen by all at once. Several app servers need redis://; a per-process
# locmemcache:// would serve stale pages after another process's change (check --deploy
# warns about both in production: myecommerce.W001).
# redis:// and rediss:// always mean django-redis (django-environ would quietly pick Django's
# own backend were django-redis missing). IGNORE_EXCEPTIONS keeps the shop up while Redis is
# away: sessions come from the database (cached_db), pages are built uncached, and each
# miss is logged. Lock-out counters use their own alias below, which does not ignore errors.
DEFAULT_CACHE_DIR = BASE_DIR / "var" / "cache"
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{DEFAULT_CACHE_DIR}")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
    # One directory, several databases (`DATABASE_URL=postgres://… make run` after a SQLite
    # run): each database gets its own keys, so no page built from another one is served.
    _db = DATABASES["default"]
    _db_id = f"{_db['ENGINE']}|{_db.get('HOST')}|{_db.get('PORT')}|{_db['NAME']}"
    CACHES["default"].setdefault("KEY_PREFIX", f"db-{sha256(_db_id.encode()).hexdigest()[:12]}")
CACHE_ON_REDIS = CACHES["default"]["BACKEND"] in {
    "django_redis.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache",
}
if CACHE_ON_REDIS:
    CACHES["default"]["BACKEND"] = "django_redis.cache.RedisCache"
    CACHES["default"].setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="myecommerce"))
    CACHES["default"]["OPTIONS"] = {
        "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
        "SOCKET_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
        "IGNORE_EXCEPTIONS": env.bool("CACHE_IGNORE_EXCEPTIONS", default=True),
        **CACHES["default"].get("OPTIONS", {}),
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Security state (sign-in failure counters, the password-reset decoys, throttles) has its own
# alias, "security" (myecommerce.security_store), never the page cache: anonymous visitors can
# fill that, and an evicting Redis would then forget lock-outs. SECURITY_CACHE_URL names it;
# with a Redis CACHE_URL it defaults to the same server, database number + 8 (1 -> 9). That
# Redis must run with maxmemory-policy noeviction (a policy is per server: an LRU page cache
# needs its own server); `check --deploy` warns otherwise. It never ignores errors: a Redis
# outage refuses sign-in rather than lifting lock-outs. Without Redis: files in a folder of
# their own inside the file cache's (or this process's memory beside a locmem cache), never
# culled; lock-outs then go to the database (see AXES_HANDLER).
SECURITY_CACHE_URL = env.str("SECURITY_CACHE_URL", default="")
if SECURITY_CACHE_URL:
    CACHES["security"] = env.cache("SECURITY_CACHE_URL")
elif CACHE_ON_REDIS:
    _cache_url = urlsplit(CACHES["default"]["LOCATION"].split(",")[0])
    if _cache_url.scheme not in {"redis", "rediss"} or _cache_url.query:
        raise ImproperlyConfigured(
            "Set SECURITY_CACHE_URL (a Redis with maxmemory-policy noeviction): it can only "
            "be derived from a redis:// or rediss:// CACHE_URL."
        )
    _cache_db = int(_cache_url.path.strip("/") or 0)
    CACHES["security"] = {
        **CACHES["default"],
        "LOCATION": urlunsplit(_cache_url._replace(path=f"/{(_cache_db + 8) % 16}")),
    }
elif CACHES["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
    CACHES["security"] = {
        **CACHES["default"],
        "LOCATION": str(Path(CACHES["default"]["LOCATION"]) / "security"),
        "OPTIONS": {**CACHES["default"].get("OPTIONS", {}), "MAX_ENTRIES": 10**9},
    }
else:
    CACHES["security"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "security",
        "OPTIONS": {"MAX_ENTRIES": 10**9},
    }
SECURITY_CACHE_ON_REDIS = CACHES["security"]["BACKEND"] in {
    "django_redis.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache",
}
if SECURITY_CACHE_ON_REDIS:
    CACHES["security"]["BACKEND"] = "django_redis.cache.RedisCache"
    CACHES["security"].setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="myecommerce"))
    CACHES["security"]["OPTIONS"] = {
        "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
        "SOCKET_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
        **CACHES["security"].get("OPTIONS", {}),
        "IGNORE_EXCEPTIONS": False,
    }
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 14)

# ------------------------------------------------------------------------------
# Performance
# ------------------------------------------------------------------------------
# Anonymous catalogue pages are shared through the cache for at most this long (0: off);
# any catalogue change makes them stale at once (see products/catalogue_cache.py).
CATALOGUE_PAGE_CACHE_SECONDS = env.int("CATALOGUE_PAGE_CACHE_SECONDS", default=600)

# ------------------------------------------------------------------------------
# Authentication
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out username never reaches the password check.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UsernameOrEmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# django-axes: 5 failures for one username, or 20 from one IP, within the cool-off time
# lock sign-in for 15 minutes. axes has a single limit, so accounts.lockout counts the two
# scopes separately and tells axes when either limit is reached.
ACCOUNTS_LOGIN_FAILURE_LIMIT_PER_USERNAME = env.int("AXES_FAILURE_LIMIT", default=5)
ACCOUNTS_LOGIN_FAILURE_LIMIT_PER_IP = env.int("AXES_IP_FAILURE_LIMIT", default=20)
AXES_FAILURE_LIMIT = "accounts.lockout.failure_limit"
AXES_LOCKOUT_PARAMETERS = "accounts.lockout.lockout_parameters"
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_USERNAME_FORM_FIELD = "username"
# accounts.lockout.reset_on_login resets the username only (axes would reset the IP too).
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Counters in the security Redis when there is one (shared by every app server, expire by
# themselves, out of the page cache's reach); a Redis outage then refuses sign-in rather than
# lifting lock-outs. Else in the database.
AXES_HANDLER = env.str(
    "AXES_HANDLER",
    default="axes.handlers.cache.AxesCacheHandler"
    if SECURITY_CACHE_ON_REDIS
    else "axes.handlers.database.AxesDatabaseHandler",
)
AXES_CACHE = "security"
# Behind N load balancers/proxies that append to X-Forwarded-For, the client is the N-th
# address from the right (myecommerce.proxies); 0 (direct) uses REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "myecommerce.proxies.client_ip"
AXES_VERBOSE = False
# One-time codes (accounts.otp.otp_issue): one a minute per account and purpose and per
# destination address; at most this many an hour from one client address (an IPv6 /64).
ACCOUNTS_CODES_PER_IP_PER_HOUR = env.int("CODES_PER_IP_PER_HOUR", default=20)
# The old address is told of an e-mail change with a link that undoes it for this many days.
EMAIL_CHANGE_UNDO_DAYS = env.int("EMAIL_CHANGE_UNDO_DAYS", default=7)

# ------------------------------------------------------------------------------
# Internationalisation
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# Static and media files
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads go to S3-compatible object storage (AWS S3, MinIO, Ceph, R2…) through
# django-storages when a bucket is named, so every app server sees every file; else to
# MEDIA_ROOT on this machine (one server, or a shared volume). Static files stay with whitenoise.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            # Empty means AWS itself; e.g. http://minio:9000 for another S3 API.
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            # Empty keys: boto3 finds credentials itself (instance role, ~/.aws, AWS_* env).
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            # A CDN or public host name in front of the bucket, e.g. media.example.com.
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            "url_protocol": env.str("AWS_S3_URL_PROTOCOL", default="https:"),
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            # Product pictures and avatars are public (avatars under random names): plain,
            # cacheable URLs. Set True for a private bucket (signed URLs that expire).
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=False),
            # Never overwrite: a second upload named like the first gets a new name, as on disk.
            "file_overwrite": False,
            "default_acl": env.str("AWS_DEFAULT_ACL", default="") or None,
            "object_parameters": {"CacheControl": "max-age=86400, public"},
        },
    }
# whitenoise serves files straight from the finders while DEBUG is on, so runserver
# and gunicorn work without collectstatic during development.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Uploaded images larger than this are refused.
MAX_UPLOAD_IMAGE_BYTES = env.int("MAX_UPLOAD_IMAGE_BYTES", default=5 * 1024 * 1024)
# Pixels an uploaded image may need decoded (a JPEG is decoded at 1/2, 1/4 or 1/8 scale when
# that is enough for what is kept): 16 million keep one decoding well under 100 MB.
MAX_UPLOAD_IMAGE_PIXELS = env.int("MAX_UPLOAD_IMAGE_PIXELS", default=16_000_000)
# All files of one request together; reading stops there, before anything is stored (413).
MAX_UPLOAD_REQUEST_BYTES = env.int("MAX_UPLOAD_REQUEST_BYTES", default=20 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "myecommerce.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

# sorl-thumbnail (no page uses it now; products.images makes the thumbnails): should it be
# used, its key-value store is the database behind the cache, shared by every server.
THUMBNAIL_KVSTORE = "sorl.thumbnail.kvstores.cached_db_kvstore.KVStore"
THUMBNAIL_PRESERVE_FORMAT = True
THUMBNAIL_DEBUG = False

# ------------------------------------------------------------------------------
# E-mail
# ------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shop@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Codes, order confirmations and status e-mails are written to the outbox (mailer.Message) in
# the transaction of their change by mailer.services.email_dispatch and sent after commit: by
# a Celery worker when CELERY_BROKER_URL is set (see "Task queue"), else by this process; what
# is left unsent is retried by the worker's sweep or `manage.py mail_send` (cron).

# ------------------------------------------------------------------------------
# Task queue (Celery; `celery -A myecommerce worker`, app in myecommerce/celery.py)
# ------------------------------------------------------------------------------
# Without a broker nothing is queued: tasks run in the calling process (ALWAYS_EAGER).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True  # nothing reads results: no result backend to run
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged when done, so a worker killed mid-send leaves it for another one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "mailer.tasks.message_deliver": {"queue": "mail"},
    "mailer.tasks.message_send_pending": {"queue": "mail"},
}
# `celery beat` (or `worker -B`) sweeps the outbox: e-mails the broker never took are sent.
CELERY_BEAT_SCHEDULE = {
    "mailer-send-pending": {
        "task": "mailer.tasks.message_send_pending",
        "schedule": env.float("MAIL_SWEEP_SECONDS", default=60.0),
    },
}
# A sender owns an outbox message it claimed this long (longer than any SMTP conversation);
# one that died mid-send delays that message by as much, never sends it twice.
MAIL_CLAIM_SECONDS = env.int("MAIL_CLAIM_SECONDS", default=300)
# Redis re-delivers a task not acknowledged within this time: longer than any retry delay.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# A web request waits at most a few seconds for an unreachable broker, then sends in-process.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# ------------------------------------------------------------------------------
# Security (production switches; all on by default when DEBUG is off)
# ------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# /healthz/ is probed by load balancers over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# Content-Security-Policy (django-csp 4): scripts, styles, fonts and frames only from this
# site, never inline (page scripts live in static/js/, styles in static/css/). Images also
# from data: URLs (Bootstrap's form icons) and, when uploads live in object storage
# (django-storages), from its public origin. A page that needs an inline script must use
# a nonce ({{ request.csp_nonce }} with csp.constants.NONCE in script-src), never
# 'unsafe-inline'.
_S3_BUCKET = env.str("AWS_STORAGE_BUCKET_NAME", default="")
_S3_REGION = env.str("AWS_S3_REGION_NAME", default="")
_S3_CUSTOM_DOMAIN = env.str("AWS_S3_CUSTOM_DOMAIN", default="")  # a host name, maybe + path
_S3_ENDPOINT = env.str("AWS_S3_ENDPOINT_URL", default="")  # e.g. http://127.0.0.1:9000
_S3_PROTOCOL = env.str("AWS_S3_URL_PROTOCOL", default="https:").rstrip(":/")
_media_urls = []
if _S3_CUSTOM_DOMAIN:
    _media_urls.append(
        _S3_CUSTOM_DOMAIN if "://" in _S3_CUSTOM_DOMAIN else f"{_S3_PROTOCOL}://{_S3_CUSTOM_DOMAIN}"
    )
if _S3_ENDPOINT:  # path-style URLs, or the bucket as a sub-domain (virtual-hosted style)
    _media_urls.append(_S3_ENDPOINT)
    if _S3_BUCKET and "://" in _S3_ENDPOINT:
        _scheme, _rest = _S3_ENDPOINT.split("://", 1)
        _media_urls.append(f"{_scheme}://{_S3_BUCKET}.{_rest}")
elif _S3_BUCKET and not _S3_CUSTOM_DOMAIN:  # AWS S3 itself
    _media_urls.append(f"https://{_S3_BUCKET}.s3.amazonaws.com")
    if _S3_REGION:
        _media_urls.append(f"https://{_S3_BUCKET}.s3.{_S3_REGION}.amazonaws.com")
        _media_urls.append(f"https://s3.{_S3_REGION}.amazonaws.com")
_CSP_MEDIA_ORIGINS = []
for _media_url in _media_urls:
    _parts = urlsplit(_media_url)
    _host_port = re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", _parts.netloc)
    if _parts.scheme in {"http", "https"} and _host_port:
        _CSP_MEDIA_ORIGINS.append(f"{_parts.scheme}://{_parts.netloc}")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *dict.fromkeys(_CSP_MEDIA_ORIGINS)],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# ------------------------------------------------------------------------------
# Forms
# ------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
# Phone numbers (django-phonenumber-field): one rule for the profile, checkout and the models.
# A number typed without +country code is read as one of this region; numbers are stored in
# E.164 (+12015550123), shown in the form in national format when they are of this region,
# and elsewhere in international format (+1 201-555-0123).
PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="US").upper()
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

# ------------------------------------------------------------------------------
# CSV import and export in the admin (django-import-export)
# ------------------------------------------------------------------------------
# The file between preview and confirmation: kept in the cache under a name the storage made
# and signed, never a path taken from the form (products/resources.py).
IMPORT_EXPORT_TMP_STORAGE_CLASS = "products.resources.ImportFileStorage"
# Exports escape formulae with products.resources.ProductCSV (a leading ' before = + - @ tab
# CR); the library's own switch only drops a leading "=", so it stays off.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False

# ------------------------------------------------------------------------------
# Logging: to the console, where gunicorn and the process manager collect it.
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # runserver's request lines ("GET / HTTP/1.1" 200) while developing, with Django's own
    # handler and format; in production gunicorn writes the access log, so only warnings.
    "loggers": {} if DEBUG else {"django.server": {"level": "WARNING"}},
}

# ------------------------------------------------------------------------------
# The shop
# ------------------------------------------------------------------------------
STORE_NAME = env.str("STORE_NAME", default="myecommerce")
STORE_REQUIRE_LOGIN_TO_BROWSE = env.bool("STORE_REQUIRE_LOGIN_TO_BROWSE", default=False)
STORE_CURRENCY = env.str("STORE_CURRENCY", default="USD")
# Where shoppers write to (the footer, the blocked-account message): by default the address
# the shop's mail comes from, without its display name.
STORE_CONTACT_EMAIL = env.str(
    "STORE_CONTACT_EMAIL", default=parseaddr(DEFAULT_FROM_EMAIL)[1] or "shop@localhost"
)
LOW_STOCK_THRESHOLD = env.int("LOW_STOCK_THRESHOLD", default=5)
CART_MAX_LINES = 100
# Against stock hoarding: one order line holds at most this many of a product (the cart and
# checkout refuse more), a customer may have this many unpaid (pending) orders at once, and a
# pending bank-transfer order is cancelled and restocked this many days after it was placed
# (`manage.py orders_expire`, daily). Cash-on-delivery orders count as unpaid but never expire.
ORDER_MAX_QUANTITY_PER_LINE = env.int("ORDER_MAX_QUANTITY_PER_LINE", default=10)
ORDER_MAX_UNPAID_PER_CUSTOMER = env.int("ORDER_MAX_UNPAID_PER_CUSTOMER", default=3)
BANK_TRANSFER_TIMEOUT_DAYS = env.int("BANK_TRANSFER_TIMEOUT_DAYS", default=7)
if min(ORDER_MAX_QUANTITY_PER_LINE, ORDER_MAX_UNPAID_PER_CUSTOMER, BANK_TRANSFER_TIMEOUT_DAYS) < 1:
    # 0 would refuse every checkout, or cancel every bank-transfer order on the next run.
    raise ImproperlyConfigured(
        "ORDER_MAX_QUANTITY_PER_LINE, ORDER_MAX_UNPAID_PER_CUSTOMER and "
        "BANK_TRANSFER_TIMEOUT_DAYS must be at least 1."
    )
PRODUCTS_PER_PAGE = 24
STORE_BANK_TRANSFER_INSTRUCTIONS = env.str(
    "STORE_BANK_TRANSFER_INSTRUCTIONS",
    default=(
        "Please transfer the order total to IBAN XX00 0000 0000 0000 0000 00 (myecommerce), "
        "quoting your order number as the reference."
    ),
)
