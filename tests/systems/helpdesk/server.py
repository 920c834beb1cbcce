"""A real django-helpdesk server for the system tests: `start_helpdesk(tmp_dir)`.

django-helpdesk 2.6 is installed into its own virtualenv (`.venv/systems/helpdesk`); a
minimal Django project is written to `tmp_dir/site` (SQLite, teams mode off, locmem e-mail,
DRF with Basic, Token and Session authentication, `helpdesk.urls` under `/helpdesk/`), then
one bootstrap process migrates and creates the API superuser (with a DRF token), a queue and
the `crm_id` ticket custom field. The server is waitress on a free loopback port, stopped by
its PID when the block ends.

    with start_helpdesk(tmp_path) as helpdesk:
        ticket = helpdesk.create_ticket("Printer on fire", "Anna@Example.com")
        TapHelpdesk(config=helpdesk.tap_config())
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.systems.servers import free_port, running, system_venv

__all__ = ["HELPDESK_REQUIREMENTS", "HelpdeskServer", "start_helpdesk"]

HELPDESK_REQUIREMENTS = ["django-helpdesk==2.6.*", "waitress==3.*"]
CUSTOM_FIELD = "crm_id"
CUSTOM_FIELD_MAX_LENGTH = 40

_SETTINGS = """
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = {secret_key!r}
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hdsite.urls"
WSGI_APPLICATION = "hdsite.wsgi.application"
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {{
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        }},
    }},
]
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "helpdesk.sqlite3",
        "OPTIONS": {{"timeout": 30}},
    }}
}}
# Tests need fast password hashing, not a production work factor.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
STATIC_URL = "/static/"
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"
LOGIN_URL = "/helpdesk/login/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
HELPDESK_TEAMS_MODE_ENABLED = False
REST_FRAMEWORK = {{
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}}
LOGGING = {{
    "version": 1,
    "handlers": {{"console": {{"class": "logging.StreamHandler"}}}},
    "root": {{"handlers": ["console"], "level": "WARNING"}},
}}
"""

_URLS = """
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
"""

_WSGI = """
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdsite.settings")
application = get_wsgi_application()
"""

_BOOTSTRAP = """
import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdsite.settings")
django.setup()

from django.contrib.auth import get_user_model
from django.core.management import call_command
from helpdesk.models import CustomField, Queue
from rest_framework.authtoken.models import Token

username, password = sys.argv[1], sys.argv[2]
call_command("migrate", interactive=False, verbosity=0)
user = get_user_model().objects.create_superuser(username, "api@example.com", password)
token = Token.objects.create(user=user)
queue = Queue.objects.create(title="Support", slug="support", allow_email_submission=False)
CustomField.objects.create(
    name={field!r},
    label="CRM golden id",
    data_type="varchar",
    max_length={max_length},
    required=False,
    staff_only=False,
)
CustomField.objects.create(  # audience names of a `system` audience destination
    name="crmhub_audiences",
    label="CRM audiences",
    data_type="varchar",
    max_length=255,
    required=False,
    staff_only=False,
)
print(json.dumps({{"token": token.key, "queue_id": queue.id}}))
"""


@dataclass(frozen=True)
class HelpdeskServer:
    """A running django-helpdesk: `base_url` is the site root, the API is at `api_url`."""

    base_url: str
    username: str
    password: str
    token: str
    queue_id: int
    site_dir: Path

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/helpdesk/api/"

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """Settings for `TapHelpdesk` / `HelpdeskWriter` (Basic auth as the API superuser)."""
        config: dict[str, Any] = {
            "base_url": self.base_url,
            "username": self.username,
            "password": self.password,
        }
        return {**config, **overrides}

    # -- seeding through the REST API, as any client would -----------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One authenticated API call; raises for an HTTP error status."""
        response = requests.request(
            method,
            self.api_url + path.lstrip("/"),
            auth=(self.username, self.password),
            timeout=30,
            **kwargs,
        )
        if response.status_code >= 400:
            msg = f"{method} {path}: {response.status_code} {response.text[:500]}"
            raise AssertionError(msg)
        return response

    def create_ticket(
        self, title: str, submitter_email: str, *, priority: int = 3, **fields: Any
    ) -> dict[str, Any]:
        """POST a ticket (django-helpdesk needs `priority` on creation); returns its JSON."""
        body = {
            "queue": self.queue_id,
            "title": title,
            "description": f"{title} (seeded by the crm-hub tests)",
            "submitter_email": submitter_email,
            "priority": priority,
            **fields,
        }
        result: dict[str, Any] = self.api("POST", "tickets/", json=body).json()
        return result

    def add_followup(self, ticket_id: int, comment: str, **fields: Any) -> dict[str, Any]:
        """POST a public follow-up. Note: a follow-up `title` renames the ticket."""
        body = {"ticket": ticket_id, "comment": comment, "public": True, **fields}
        result: dict[str, Any] = self.api("POST", "followups/", json=body).json()
        return result

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.api("GET", f"tickets/{ticket_id}/").json()
        return result


def _write_site(site: Path) -> None:
    package = site / "hdsite"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(_SETTINGS.format(secret_key=secrets.token_urlsafe(32)))
    (package / "urls.py").write_text(_URLS)
    (package / "wsgi.py").write_text(_WSGI)
    bootstrap = _BOOTSTRAP.format(field=CUSTOM_FIELD, max_length=CUSTOM_FIELD_MAX_LENGTH)
    (site / "bootstrap.py").write_text(textwrap.dedent(bootstrap))


def _api_ready(api_url: str) -> bool:
    # Any HTTP answer from the API root (401 without credentials) means Django is serving.
    return requests.get(api_url, timeout=2).status_code in (200, 401, 403)


@contextmanager
def start_helpdesk(tmp_dir: Path) -> Iterator[HelpdeskServer]:
    """Install (once), set up and run django-helpdesk; stop it when the block ends."""
    bin_dir = system_venv("helpdesk", HELPDESK_REQUIREMENTS)
    site = Path(tmp_dir) / "site"
    _write_site(site)
    username, password = "crmhub-api", secrets.token_urlsafe(16)
    env = {"PYTHONPATH": str(site), "DJANGO_SETTINGS_MODULE": "hdsite.settings"}
    done = subprocess.run(
        [str(bin_dir / "python"), "bootstrap.py", username, password],
        cwd=site,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"django-helpdesk setup failed:\n{done.stdout}\n{done.stderr}")
    created = json.loads(done.stdout.strip().splitlines()[-1])
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        str(bin_dir / "waitress-serve"),
        f"--listen=127.0.0.1:{port}",
        "--threads=4",
        "hdsite.wsgi:application",
    ]
    with running(
        command,
        port=port,
        log=site / "server.log",
        cwd=site,
        env=env,
        ready=lambda: _api_ready(f"{base_url}/helpdesk/api/"),
    ):
        yield HelpdeskServer(
            base_url=base_url,
            username=username,
            password=password,
            token=str(created["token"]),
            queue_id=int(created["queue_id"]),
            site_dir=site,
        )
