"""`start_collector`: the real `crmhub collect` as a subprocess on a free loopback port."""

from __future__ import annotations

import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.systems.servers import REPO, free_port, running

__all__ = ["start_collector"]


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


def _healthy(base_url: str) -> bool:
    with _DIRECT.open(f"{base_url}/health", timeout=2) as response:
        return bool(response.status == 200)


@contextmanager
def start_collector(
    hub_yaml_path: Path,
    connector: str = "web",
    *,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """Run `crmhub collect -c hub_yaml_path --connector connector` until the block ends.

    Yields the base URL (``http://127.0.0.1:PORT``) to give a Segment client as its host.
    The write keys' ``${ENV}`` references resolve from this process's environment plus
    ``env``. The server is stopped by its PID; its output goes to ``log`` (by default a
    file in a temporary folder, named in the error if it does not come up).
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    hub_yaml = Path(hub_yaml_path).resolve()
    command = [
        sys.executable,
        "-m",
        "hub",
        "collect",
        "--connector",
        connector,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(hub_yaml),
    ]
    with tempfile.TemporaryDirectory(prefix="crmhub-collector-") as tmp:
        log_file = log or Path(tmp) / "collector.log"
        with running(
            command,
            port=port,
            log=log_file,
            cwd=REPO,
            env=env,
            ready=lambda: _healthy(base_url),
            timeout=30,
        ):
            yield base_url
