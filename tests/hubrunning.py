"""A real JupyterHub (DummyAuthenticator, no proxy: people and the service talk to the hub's own
port) that starts `autograder serve --hub` as its managed service, and a browser-like client."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx

SERVICE = "autograder"
PASSWORD = "hub-test-password"

# The hub's configuration; {placeholders} filled by `hub_config`. The proxy is a no-op: the hub's
# pages and API are reached at the hub's own port, the service at its own (no node needed).
_CONFIG = '''
import sys
from jupyterhub.proxy import Proxy


class NoProxy(Proxy):
    """Routes remembered, nothing proxied: tests reach the hub and the service directly."""

    should_start = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.routes = {{}}

    async def add_route(self, routespec, target, data):
        self.routes[routespec] = {{"routespec": routespec, "target": target, "data": data}}

    async def delete_route(self, routespec):
        self.routes.pop(routespec, None)

    async def get_all_routes(self):
        return dict(self.routes)


c.JupyterHub.proxy_class = NoProxy
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{state}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.JupyterHub.load_groups = {{
    "instructors": {{"users": ["teacher"]}},
    "nbgrader-{course_id}": {{"users": ["erin"]}},
}}
# The README's snippet: the service, and every user allowed to reach it.
c.JupyterHub.services = [
    {{
        "name": "{service}",
        "url": "http://127.0.0.1:{service_port}",
        "command": [
            sys.executable, "-m", "autograder", "--course", "{root}", "serve", "--hub",
            "--hub-url", "http://127.0.0.1:{hub_port}/hub/", "--workers", "1",
            "--oauth-callback-url", "http://127.0.0.1:{service_port}/services/{service}/oauth_callback",
        ],
        "oauth_no_confirm": True,
        "oauth_redirect_uri": "http://127.0.0.1:{service_port}/services/{service}/oauth_callback",
        "environment": {{"PYTHONPATH": "{pythonpath}"}},
    }},
]
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service={service}"]}},
]
'''


@dataclass(frozen=True)
class Hub:
    """A running hub and its service: where each answers, and their logs."""

    hub_url: str  # http://127.0.0.1:PORT/hub/
    service_url: str  # http://127.0.0.1:PORT/services/autograder/
    log: Path

    def api_token(self, user: str) -> str:
        """A hub API token for `user`, made through the hub's API as that user (signed in)."""
        with browser_client() as client:
            sign_in_to_hub(client, self, user)
            xsrf = client.cookies.get("_xsrf", "")
            reply = client.post(
                urljoin(self.hub_url, f"api/users/{user}/tokens"),
                json={"note": "autograder test", "expires_in": 3600},
                headers={"X-XSRFToken": xsrf},
            )
            assert reply.status_code == 201, reply.text
            return str(reply.json()["token"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser_client() -> httpx.Client:
    """A client that keeps cookies like a browser (by host, whatever the port)."""
    return httpx.Client(follow_redirects=False, timeout=30.0)


def sign_in_to_hub(client: httpx.Client, hub: Hub, user: str, password: str = PASSWORD) -> None:
    """Sign in on the hub's own login form (its _xsrf field and cookie included)."""
    page = client.get(urljoin(hub.hub_url, "login"))
    assert page.status_code == 200, page.text[:500]
    match = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert match, "the hub's login page has no _xsrf field"
    reply = client.post(
        urljoin(hub.hub_url, "login"),
        data={"username": user, "password": password, "_xsrf": match.group(1)},
    )
    assert reply.status_code == 302, f"the hub did not sign {user} in: {reply.status_code} {reply.text[:300]}"


def follow(client: httpx.Client, url: str, limit: int = 10) -> tuple[httpx.Response, list[str]]:
    """GET `url` and its redirects; the last reply and every URL visited."""
    seen = [url]
    reply = client.get(url)
    while reply.is_redirect and len(seen) < limit:
        url = urljoin(url, reply.headers["location"])
        seen.append(url)
        reply = client.get(url)
    return reply, seen


def hub_config(root: Path, state: Path, course_id: str, hub_port: int, service_port: int) -> Path:
    repo = Path(__file__).resolve().parents[1]
    path = state / "jupyterhub_config.py"
    path.write_text(
        _CONFIG.format(
            hub_port=hub_port,
            service_port=service_port,
            state=state,
            root=root,
            course_id=course_id,
            service=SERVICE,
            password=PASSWORD,
            pythonpath=repo,
        )
    )
    return path


def _answers(url: str) -> int | None:
    parsed = urlparse(url)
    with contextlib.suppress(OSError):
        conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=2)
        try:
            conn.request("GET", parsed.path)
            return conn.getresponse().status
        finally:
            conn.close()
    return None


@contextlib.contextmanager
def _launched(config: Path, state: Path, ready: list[str]) -> Iterator[Path]:
    """`jupyterhub -f config` until the block ends, once every URL in `ready` answers 200; its log."""
    log = state / "jupyterhub.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=state,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while any(_answers(url) != 200 for url in ready):
            if proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the hub or its service did not answer in 90 s:\n{log.read_text()[-4000:]}"
                )
            time.sleep(0.3)
        yield log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the hub stops its managed services and its proxy
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def running_hub(root: Path, state: Path, course_id: str) -> Iterator[Hub]:
    """JupyterHub with `autograder serve --hub` as its service, until the block ends."""
    state.mkdir(parents=True, exist_ok=True)
    hub_port, service_port = free_port(), free_port()
    config = hub_config(root, state, course_id, hub_port, service_port)
    hub_url = f"http://127.0.0.1:{hub_port}/hub/"
    service_url = f"http://127.0.0.1:{service_port}/services/{SERVICE}/"
    with _launched(config, state, [service_url + "healthz", hub_url + "api/"]) as log:
        yield Hub(hub_url, service_url, log)


_PROXIED = """
import sys

c.JupyterHub.bind_url = "http://127.0.0.1:{public_port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = "{state}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{state}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
"""


def readme_snippet(readme: Path) -> str:
    """The README's jupyterhub_config.py for `serve --hub`, as written."""
    text = readme.read_text()
    start = text.index("```python\n# jupyterhub_config.py\n") + len("```python\n")
    return text[start : text.index("```", start)]


@contextlib.contextmanager
def proxied_hub(root: Path, state: Path, proxy: Path, readme: Path) -> Iterator[Hub]:
    """JupyterHub behind its own proxy (configurable-http-proxy) with the README's snippet as its
    service configuration: only the course's path and the service's port are filled in."""
    state.mkdir(parents=True, exist_ok=True)
    public_port, hub_port, api_port, service_port = (free_port() for _ in range(4))
    snippet = (
        readme_snippet(readme)
        .replace('"/srv/course"', repr(str(root)))
        .replace("8765", str(service_port))
        .replace('["autograder", ', '[sys.executable, "-m", "autograder", ')
    )
    config = state / "jupyterhub_config.py"
    config.write_text(
        _PROXIED.format(
            public_port=public_port,
            hub_port=hub_port,
            api_port=api_port,
            proxy=proxy,
            state=state,
            password=PASSWORD,
        )
        + snippet
    )
    public = f"http://127.0.0.1:{public_port}"
    hub = Hub(f"{public}/hub/", f"{public}/services/{SERVICE}/", state / "jupyterhub.log")
    with _launched(config, state, [hub.service_url + "healthz", hub.hub_url + "api/"]):
        yield hub
