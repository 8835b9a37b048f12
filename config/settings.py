"""vaxbook settings. Everything that differs between machines comes from the environment
(documented in .env.example); see config/env.py for the rules."""

import os
from pathlib import Path

from django.utils.csp import CSP

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAXBOOK_VAR_DIR", BASE_DIR / "var"))

DEBUG = env.env_bool("DEBUG", default=False)
SECRET_KEY = env.secret_key(debug=DEBUG, var_dir=VAR_DIR)
ALLOWED_HOSTS = env.env_list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "vaxbook.accounts",
    "vaxbook.centres",
    "vaxbook.bookings",
    "vaxbook.core",
    "vaxbook.credentials",
    "vaxbook.notifications",
    "vaxbook.checkin",
    "vaxbook.management",
    "vaxbook.api",
    "vaxbook.audit",
    "vaxbook.waiting_room",
    "vaxbook.waiting_list",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Serves the API docs' Swagger UI from our static files, not a CDN.
    "ninja",
]

MIDDLEWARE = [
    # First: a request refused for overload costs nothing else (vaxbook.core.overload).
    "vaxbook.core.overload.LoadSheddingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "vaxbook.core.permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "vaxbook.core.db_router.ReadYourWritesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "vaxbook.accounts.second_step.SecondStepMiddleware",
    "vaxbook.accounts.sessions.StaffSessionMiddleware",
    "vaxbook.core.devices.KnownDeviceMiddleware",
    # The booking pages need a waiting-room pass while a room is active.
    "vaxbook.waiting_room.gate.PageGate",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.database(os.environ.get("DATABASE_URL"), var_dir=VAR_DIR)}
# A streaming replica for the reads that may lag a little (vaxbook.core.db_router says
# which, and when they fall back to the primary).
if replica := env.replica_database(os.environ.get("DATABASE_REPLICA_URL"), var_dir=VAR_DIR):
    DATABASES["replica"] = replica
DATABASE_ROUTERS = ["vaxbook.core.db_router.ReadRouter"]
REPLICA_MAX_LAG_SECONDS = env.replica_max_lag_seconds()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": env.cache(os.environ.get("REDIS_URL"))}
# Off only to measure what the availability cache saves (bench/scale_out.py): every day page,
# slot list and search is then computed from the database.
AVAILABILITY_CACHE = env.env_bool("AVAILABILITY_CACHE", default=True)

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "sign_in"
LOGIN_REDIRECT_URL = "appointment_list"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
# The health authority's clock: the admin shows and takes times in it, and campaign openings
# ("from Monday 08:00") are announced in it. Each centre's pages use the centre's own zone.
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Madrid")
USE_I18N = True
# One date and one time format per language, for every page and message.
FORMAT_MODULE_PATH = ["vaxbook.core.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Security headers and cookies. HTTPS is the rule in production; `make run` serves a local
# demo over plain HTTP and says so with HTTPS=false. The TLS terminator (nginx) redirects
# HTTP to HTTPS and sets X-Forwarded-Proto for Django.
HTTPS = env.env_bool("HTTPS", default=not DEBUG)
# A strict Content-Security-Policy: scripts, styles, images and requests from our own origin
# only (static files are self-hosted), no inline script or style anywhere, no framing. QR
# codes and icons inline as data: images. The staff scan page reads the camera with
# getUserMedia, which CSP does not govern.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# How many reverse proxies (nginx, a load balancer) stand in front of the app and append to
# X-Forwarded-For. The client address (rate limits, audit log) is the entry that many hops
# from the right; with 0 it is REMOTE_ADDR and the header, which anyone can forge, is ignored.
# The name authenticator apps show next to the staff member's account.
OTP_TOTP_ISSUER = "vaxbook"
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Only a proxy in front of the app may say that the request came over HTTPS: with none, the
# header is the client's to forge.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT > 0 else None
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
# Sessions that passed the second factor (staff, on shared tablets): idle and absolute
# limits, in seconds (vaxbook.accounts.sessions).
STAFF_SESSION_IDLE_SECONDS = int(os.environ.get("STAFF_SESSION_IDLE_SECONDS", "1800"))
STAFF_SESSION_MAX_SECONDS = int(os.environ.get("STAFF_SESSION_MAX_SECONDS", "43200"))
SECURE_HSTS_SECONDS = 63072000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Public address of the service, for links in emails and SMS.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Where people write for help, about their data or about accessibility: the contact and help,
# privacy and accessibility pages give it.
CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "help@vaxbook.example")

# Confirmation credentials (vaxbook.credentials): the ES256 signing keys, a JWK Set with the
# private keys, kept in this file (generated on first use when missing) or given whole in
# SIGNING_KEYS_JSON. A token stays valid until the end of its appointment's local day plus
# the grace period.
SIGNING_KEYS_PATH = Path(os.environ.get("SIGNING_KEYS_PATH", VAR_DIR / "signing-keys.json"))
SIGNING_KEYS_JSON = os.environ.get("SIGNING_KEYS_JSON", "")
CREDENTIAL_GRACE_HOURS = int(os.environ.get("CREDENTIAL_GRACE_HOURS", "6"))

# Where `manage.py backup` writes when not given --output (docs/backups.md).
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", VAR_DIR / "backups"))

# Email: SMTP when EMAIL_HOST is set; otherwise each message is written as a file under
# var/mail/ (development and `make run`).
if smtp_host := os.environ.get("EMAIL_HOST", ""):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": smtp_host,
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env.env_bool("EMAIL_USE_TLS", default=True),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "vaxbook <no-reply@vaxbook.example>")

# SMS: a file backend under var/sms/ unless a provider is configured.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "vaxbook.notifications.sms.FileBackend")
SMS_FILE_PATH = VAR_DIR / "sms"

# Retention (vaxbook.accounts.retention, docs/privacy.md): days after which the worker
# anonymises or deletes what is past its purpose, checked every hour. Cancelled and missed
# appointments are pseudonymised that long after their day; the outbox rows of an
# appointment are deleted that long after its day; audit events lose their client address
# that long after they happened; finished background tasks (their arguments name email
# addresses) are deleted that long after they ran.
RETENTION_APPOINTMENT_DAYS = int(os.environ.get("RETENTION_APPOINTMENT_DAYS", "365"))
RETENTION_MESSAGE_DAYS = int(os.environ.get("RETENTION_MESSAGE_DAYS", "90"))
RETENTION_AUDIT_ADDRESS_DAYS = int(os.environ.get("RETENTION_AUDIT_ADDRESS_DAYS", "90"))
RETENTION_TASK_DAYS = int(os.environ.get("RETENTION_TASK_DAYS", "7"))

# JSON API (vaxbook.api): how long a bearer token from POST /api/v1/auth/token lives.
API_TOKEN_LIFETIME_SECONDS = int(os.environ.get("API_TOKEN_LIFETIME_SECONDS", "43200"))

# Rate limits (vaxbook.core.ratelimit), counted in the cache: shared by every worker with
# REDIS_URL, per process without it. "<requests>/<period>", period in s, m, h or d ("30/m",
# "10/h"), or "off". Per client address, and per account (the email address signing in, or
# the bearer token's user).
RATE_LIMITS = {
    "sign_in_address": os.environ.get("RATE_LIMIT_SIGN_IN_ADDRESS", "30/m"),
    "sign_in_account": os.environ.get("RATE_LIMIT_SIGN_IN_ACCOUNT", "10/m"),
    # Sign-ins to an account from a browser that signed in to it before (vaxbook.core.devices).
    "sign_in_device": os.environ.get("RATE_LIMIT_SIGN_IN_DEVICE", "10/m"),
    "register_address": os.environ.get("RATE_LIMIT_REGISTER_ADDRESS", "20/h"),
    # Registration emails (a link, or a notice to an existing account) per address typed.
    "register_account": os.environ.get("RATE_LIMIT_REGISTER_ACCOUNT", "3/h"),
    "password_reset_address": os.environ.get("RATE_LIMIT_PASSWORD_RESET_ADDRESS", "20/h"),
    "password_reset_account": os.environ.get("RATE_LIMIT_PASSWORD_RESET_ACCOUNT", "3/h"),
    "booking_account": os.environ.get("RATE_LIMIT_BOOKING_ACCOUNT", "20/m"),
    "booking_address": os.environ.get("RATE_LIMIT_BOOKING_ADDRESS", "600/m"),
    "validation_account": os.environ.get("RATE_LIMIT_VALIDATION_ACCOUNT", "120/m"),
    "validation_address": os.environ.get("RATE_LIMIT_VALIDATION_ADDRESS", "1200/m"),
    # Joins of the waiting room per address (a crowd behind one NAT joins too), and polls
    # of one ticket in the database store (the Redis store counts them in its script).
    "waiting_room_join_address": os.environ.get("RATE_LIMIT_WAITING_ROOM_JOIN_ADDRESS", "60/m"),
    "waiting_room_poll": os.environ.get("RATE_LIMIT_WAITING_ROOM_POLL", "10/10s"),
}

# Load shedding per worker process (vaxbook.core.overload, docs/overload.md): requests
# running at once, waiting for a turn and for how long, the staff side's own budget.
LOAD_SHEDDING = env.load_shedding(os.environ)

# Waiting room (vaxbook.waiting_room): the line lives in this Redis (default: REDIS_URL;
# empty: in the database), which a request waits for at most WAITING_ROOM_REDIS_TIMEOUT_S.
# A ticket keeps its place for WAITING_ROOM_GRACE_SECONDS after it was last issued (every
# poll issues it again): a reload, a late poll or a lost connection within that keeps it.
WAITING_ROOM_REDIS_URL = os.environ.get("WAITING_ROOM_REDIS_URL", os.environ.get("REDIS_URL", ""))
WAITING_ROOM_REDIS_TIMEOUT_S = float(os.environ.get("WAITING_ROOM_REDIS_TIMEOUT_S", "0.5"))
WAITING_ROOM_GRACE_SECONDS = int(os.environ.get("WAITING_ROOM_GRACE_SECONDS", "1800"))
# Automatic admission (mode "auto"): the mean booking latency the rate is steered to stay
# under, and the bounds of the rate (admissions a minute).
WAITING_ROOM_TARGET_LATENCY_MS = float(os.environ.get("WAITING_ROOM_TARGET_LATENCY_MS", "100"))
WAITING_ROOM_AUTO_MIN_RATE = int(os.environ.get("WAITING_ROOM_AUTO_MIN_RATE", "60"))
WAITING_ROOM_AUTO_MAX_RATE = int(os.environ.get("WAITING_ROOM_AUTO_MAX_RATE", "30000"))

# Waiting list (vaxbook.waiting_list, docs/waiting-list.md): how long an offer holds its
# place for an answer, and the shorter hold for a place whose time is within
# WAITING_LIST_SHORT_NOTICE_HOURS (offered then only to people who can come at short notice).
WAITING_LIST_OFFER_MINUTES = int(os.environ.get("WAITING_LIST_OFFER_MINUTES", "30"))
WAITING_LIST_SHORT_NOTICE_OFFER_MINUTES = int(
    os.environ.get("WAITING_LIST_SHORT_NOTICE_OFFER_MINUTES", "10")
)
WAITING_LIST_SHORT_NOTICE_HOURS = int(os.environ.get("WAITING_LIST_SHORT_NOTICE_HOURS", "3"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No secret from a URL (a password reset token) in any log line: vaxbook.core.logging.
    # Every handler carries the filter: a filter on a handler sees every record it writes,
    # whichever logger it came from.
    "filters": {"redact": {"()": "vaxbook.core.logging.RedactSecretPaths"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"]},
        # runserver's access log (make dev), as Django formats it.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own defaults (django.utils.log.DEFAULT_LOGGING) give these loggers handlers
    # without the filter (a console one under DEBUG, mail to ADMINS, which is not set):
    # replaced, so "django" goes to the root's console and runserver to its own.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
