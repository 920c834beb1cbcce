"""A real localstripe server (a stateful fake of the Stripe API) for tests.

`start_localstripe(tmp_dir)` installs localstripe into `.venv/systems/localstripe` on first
use, runs it on a free port of 127.0.0.1 only (localstripe's own CLI binds every interface
and shares /tmp/localstripe.pickle between instances, so a two-line launcher serves its app
with persistence turned off) and stops it by its PID when the block ends::

    with start_localstripe(tmp_path) as (base_url, api_key):
        config = {"api_key": api_key, "api_base": base_url, "filter_on_server": False}
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.systems.servers import free_port, running, system_venv

__all__ = ["API_KEY", "LOCALSTRIPE_REQUIREMENTS", "flush", "start_localstripe"]

# localstripe 1.15.10 runs on the current aiohttp (3.14) and Python 3.11; no pin needed.
LOCALSTRIPE_REQUIREMENTS = ["localstripe==1.15.10"]
API_KEY = "sk_test_crmhub"  # localstripe accepts any key of the form sk_...

_LAUNCHER = """
import logging, sys
from aiohttp import web
from localstripe import resources, server
resources.Store.dump_to_disk = lambda self: None  # keep state in memory, per instance
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None,
            access_log=logging.getLogger("aiohttp.access"))
"""


def _up(base_url: str) -> bool:
    request = urllib.request.Request(
        f"{base_url}/v1/customers?limit=1", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        return bool(response.status == 200)


@contextmanager
def start_localstripe(tmp_dir: Path) -> Iterator[tuple[str, str]]:
    """Run localstripe until the block ends; yields ``(base_url, api_key)``.

    Its access log is ``tmp_dir / "localstripe.log"`` (one line per request).
    """
    python = system_venv("localstripe", LOCALSTRIPE_REQUIREMENTS) / "python"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = Path(tmp_dir) / "localstripe.log"
    command = [str(python), "-u", "-c", _LAUNCHER, str(port)]
    with running(command, port=port, log=log, ready=lambda: _up(base_url), timeout=60):
        yield base_url, API_KEY


def flush(base_url: str) -> None:
    """Delete every object in the server (localstripe's `DELETE /_config/data`)."""
    request = urllib.request.Request(f"{base_url}/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
