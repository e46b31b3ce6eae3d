"""Sign-in with JupyterHub when `autograder serve` runs as a hub service (OAuth 2, code flow).

The flow is JupyterHub's own (`jupyterhub.services.auth.HubOAuth`), written small for Starlette:

1. `/login` makes a random `state`, keeps it (and where to go next) in a signed, HttpOnly cookie
   that lives ten minutes, and redirects to the hub's `api/oauth2/authorize`.
2. The hub signs the person in and sends them to `/oauth_callback?code=...&state=...`. The state
   must equal the cookie's (CSRF); the code is exchanged once at the hub's `oauth2/token` (with
   the service's client id and its API token as the secret), and the access token asks the hub's
   `/user` who it belongs to: name, groups, scopes.
3. Who that is in the course: a hub user in an instructor group (`instructors`, or nbgrader's
   `formgrade-<course>`) is an instructor; a hub user whose name is an nbgrader student id of
   the course (or who is in nbgrader's `nbgrader-<course>` group) is that student; anyone else
   is refused with a page saying so. The service then sets its own signed session cookie
   (HttpOnly, SameSite=Lax, Path = the service's prefix, Secure over https) and forgets the
   hub's token.

The JSON API also takes a hub API token (`Authorization: token ...`), checked at the hub's
`/user` (answers kept a minute). A session cookie alone does not open the API: the page sends
the session's XSRF value in a header as well, which another site's form cannot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlparse

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from autograder.errors import UsageError
from autograder.serve import pages
from autograder.serve.db import Identity
from autograder.serve.tokens import STUDENT_ID

log = logging.getLogger(__name__)

SESSION_COOKIE = "autograder-session"
STATE_COOKIE = "autograder-oauth-state"
XSRF_HEADER = "x-autograder-xsrf"
STATE_MAX_AGE_S = 600
SESSION_MAX_AGE_S = 8 * 3600
TOKEN_CACHE_S = 60.0
_REQUIRED_ENV = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_CLIENT_ID")


class HubError(Exception):
    """The hub refused or could not be asked; the message says which, for the person signing in."""


@dataclass(frozen=True)
class HubConfig:
    """What the service needs to know of its hub, from JupyterHub's service environment."""

    api_url: str  # http://127.0.0.1:8081/hub/api/
    api_token: str  # the service's own token: also its OAuth client secret
    client_id: str  # service-<name>
    callback_url: str  # as registered with the hub (relative or absolute)
    authorize_url: str  # where browsers go to sign in
    hub_url: str  # the hub's pages, for links (…/hub/)
    service_name: str
    instructor_groups: frozenset[str]
    student_groups: frozenset[str]
    access_scopes: frozenset[str]  # one of these in a token's scopes lets it in
    secret: bytes  # signs this service's cookies

    @property
    def callback_path(self) -> str:
        return urlparse(self.callback_url).path

    @property
    def secure_cookies(self) -> bool:
        return urlparse(self.callback_url).scheme == "https" or urlparse(self.hub_url).scheme == "https"


def in_hub_environment(env: Mapping[str, str]) -> bool:
    """Whether this process was started as a JupyterHub service (or with its variables set)."""
    return all(env.get(name) for name in _REQUIRED_ENV)


def cookie_secret(state_dir: Path) -> bytes:
    """The course's cookie-signing key (made once, kept in the course's state, owner-only)."""
    path = state_dir / "serve" / "cookie_secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    text = path.read_text().strip()
    if len(text) < 32:
        raise UsageError(f"{path} is not a cookie secret (64 hex digits): delete it to make a new one.")
    return text.encode()


def hub_config(
    env: Mapping[str, str],
    *,
    course_id: str,
    secret: bytes,
    hub_url: str | None = None,
    callback_url: str | None = None,
    instructor_groups: tuple[str, ...] = (),
) -> HubConfig:
    """The hub's settings from JupyterHub's service environment; a clear error for what is missing."""
    missing = [name for name in _REQUIRED_ENV if not env.get(name)]
    if missing:
        raise UsageError(
            f"--hub needs JupyterHub's service environment ({', '.join(missing)} not set): run "
            "`autograder serve --hub` as a service in jupyterhub_config.py (see the README)."
        )
    api_url = env["JUPYTERHUB_API_URL"].rstrip("/") + "/"
    name = env.get("JUPYTERHUB_SERVICE_NAME", "") or env["JUPYTERHUB_CLIENT_ID"].removeprefix("service-")
    prefix = "/" + env.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{name}/").strip("/") + "/"
    if hub_url is None:
        public = env.get("JUPYTERHUB_PUBLIC_HUB_URL", "")
        base = env.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + "/hub/"
        hub_url = public or env.get("JUPYTERHUB_HOST", "") + base
    hub_url = hub_url.rstrip("/") + "/"
    parsed = urlparse(hub_url)
    if parsed.scheme not in ("", "http", "https") or (parsed.scheme and not parsed.netloc):
        raise UsageError(
            f"--hub-url {hub_url!r} must be the hub's address, like https://hub.example.edu/hub/"
        )
    scopes = env.get("JUPYTERHUB_OAUTH_ACCESS_SCOPES") or env.get("JUPYTERHUB_OAUTH_SCOPES") or ""
    try:
        access = frozenset(str(s) for s in json.loads(scopes)) if scopes else frozenset()
    except (ValueError, TypeError) as exc:
        raise UsageError(f"JUPYTERHUB_OAUTH_ACCESS_SCOPES is not a JSON list of scopes: {exc}") from exc
    groups = instructor_groups or ("instructors", f"formgrade-{course_id}")
    return HubConfig(
        api_url=api_url,
        api_token=env["JUPYTERHUB_API_TOKEN"],
        client_id=env["JUPYTERHUB_CLIENT_ID"],
        # As registered with the hub: the service's `oauth_redirect_uri` (the hub's environment has
        # the proxied path; a service reached on its own port registers its full URL instead).
        callback_url=callback_url or env.get("JUPYTERHUB_OAUTH_CALLBACK_URL") or prefix + "oauth_callback",
        authorize_url=urljoin(hub_url, "api/oauth2/authorize"),
        hub_url=hub_url,
        service_name=name,
        instructor_groups=frozenset(groups),
        student_groups=frozenset({f"nbgrader-{course_id}"}),
        access_scopes=access or frozenset({f"access:services!service={name}", "access:services"}),
        secret=secret,
    )


# --- signed values (cookies) -------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(
    secret: bytes, purpose: str, payload: dict[str, Any], max_age_s: int, now: float | None = None
) -> str:
    """`payload` as a tamper-proof string valid for `max_age_s`, for one `purpose` only."""
    body = dict(payload, exp=int((now if now is not None else time.time()) + max_age_s))
    data = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret, f"{purpose}|{data}".encode(), hashlib.sha256).digest()
    return f"{data}.{_b64(mac)}"


def unsign(secret: bytes, purpose: str, value: str | None, now: float | None = None) -> dict[str, Any] | None:
    """The payload of a value `sign` made for `purpose`, or None if forged, altered or expired."""
    if not value or len(value) > 4096 or "." not in value:
        return None
    data, _, mac = value.rpartition(".")
    want = hmac.new(secret, f"{purpose}|{data}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(want, _unb64(mac)):
            return None
        payload = json.loads(_unb64(data))
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        return None
    if payload["exp"] < (now if now is not None else time.time()):
        return None
    return payload


# --- who a hub user is in the course ---------------------------------------------------------


@dataclass(frozen=True)
class HubUser:
    """The hub's answer to /user: a name, groups and the token's scopes."""

    name: str
    groups: frozenset[str]
    scopes: frozenset[str]
    kind: str  # user | service


@dataclass(frozen=True)
class Session:
    """A signed-in person of this service (from its session cookie)."""

    identity: Identity
    xsrf: str


def parse_user(model: object) -> HubUser:
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise HubError("the hub's /user answer has no user name")
    return HubUser(
        name=model["name"],
        groups=frozenset(str(g) for g in model.get("groups") or ()),
        scopes=frozenset(str(s) for s in model.get("scopes") or ()),
        kind=str(model.get("kind", "user")),
    )


def not_in_course_message(user: HubUser, course_id: str, cfg: HubConfig) -> str | None:
    """Why `user` may not use this course's service, or None when they may."""
    if user.kind != "user":
        return f"{user.name!r} is a hub service, not a person: sign in with a user account."
    if cfg.access_scopes and not (cfg.access_scopes & user.scopes):
        return (
            f"the hub has not given {user.name!r} access to the {cfg.service_name} service "
            f"(scope access:services!service={cfg.service_name}); ask the hub's admin."
        )
    return None


def course_identity(user: HubUser, students: frozenset[str], cfg: HubConfig) -> Identity | None:
    """The course's name for a hub user: an instructor by group, a student by the same name as their
    nbgrader student id (or nbgrader's `nbgrader-<course>` group); None when neither."""
    if not STUDENT_ID.fullmatch(user.name) or ".." in user.name:
        return None
    if user.groups & cfg.instructor_groups:
        return Identity(user.name, "instructor")
    if user.name in students or user.groups & cfg.student_groups:
        return Identity(user.name, "student")
    return None


class HubClient:
    """Talks to the hub's API: the code exchange and /user, with hub API tokens' answers cached.

    Synchronous (httpx): the service's routes that need it run in Starlette's thread pool."""

    def __init__(
        self,
        cfg: HubConfig,
        course_id: str,
        students: Callable[[], frozenset[str]],
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.cfg = cfg
        self.course_id = course_id
        self.students = students
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._cache: dict[str, tuple[float, HubUser | None]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def token_for_code(self, code: str) -> str:
        """The access token for an authorization code (each code works once)."""
        if not code or len(code) > 1024:
            raise HubError("the sign-in link has no code: sign in again.")
        try:
            reply = self._http.post(
                urljoin(self.cfg.api_url, "oauth2/token"),
                data={
                    "client_id": self.cfg.client_id,
                    "client_secret": self.cfg.api_token,
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.cfg.callback_url,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise HubError(f"the hub did not answer ({type(exc).__name__}); try again in a moment.") from exc
        if reply.status_code != 200:
            log.warning("the hub refused an OAuth code: %s %s", reply.status_code, reply.text[:300])
            raise HubError(
                "the hub refused this sign-in (the link was used already or is too old): sign in again."
            )
        token = reply.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise HubError("the hub's token answer has no access token")
        return token

    def user_for_token(self, token: str) -> HubUser | None:
        """Who a hub token belongs to (None when the hub does not know it)."""
        try:
            reply = self._http.get(
                urljoin(self.cfg.api_url, "user"),
                headers={"Authorization": f"token {token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise HubError(f"the hub did not answer ({type(exc).__name__}); try again in a moment.") from exc
        if reply.status_code in (401, 403, 404):
            return None
        if reply.status_code != 200:
            raise HubError(f"the hub's /user answered {reply.status_code}")
        return parse_user(reply.json())

    def cached_user_for_token(self, token: str) -> HubUser | None:
        """`user_for_token`, its answer kept `TOKEN_CACHE_S` (so an API client is not a hub load)."""
        if not token or len(token) > 512:
            return None
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        try:
            user = self.user_for_token(token)
        except HubError as exc:
            log.warning("could not check a hub token: %s", exc)
            return None
        with self._lock:
            if len(self._cache) > 4096:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[key] = (now + TOKEN_CACHE_S, user)
        return user

    # --- the session cookie ---

    def session_cookie(self, identity: Identity, now: float | None = None) -> str:
        payload = {"u": identity.student, "r": identity.role, "x": secrets.token_urlsafe(16)}
        return sign(self.cfg.secret, "session", payload, SESSION_MAX_AGE_S, now)

    def session(self, value: str | None) -> Session | None:
        payload = unsign(self.cfg.secret, "session", value)
        if payload is None or payload.get("r") not in ("student", "instructor"):
            return None
        return Session(Identity(str(payload["u"]), str(payload["r"])), str(payload["x"]))

    def state_cookie(self, state: str, next_url: str) -> str:
        return sign(self.cfg.secret, "state", {"s": state, "n": next_url}, STATE_MAX_AGE_S)

    def state(self, value: str | None) -> tuple[str, str] | None:
        payload = unsign(self.cfg.secret, "state", value)
        if payload is None:
            return None
        return str(payload["s"]), str(payload["n"])

    def authorize_redirect(self, state: str) -> str:
        query = urlencode(
            {
                "client_id": self.cfg.client_id,
                "redirect_uri": self.cfg.callback_url,
                "response_type": "code",
                "state": state,
            }
        )
        return f"{self.cfg.authorize_url}?{query}"


# --- the routes: /login, /oauth_callback, /logout ----------------------------------------------


def service_root(request: Request) -> str:
    """The service's own path prefix as the browser sees it (`/services/autograder/`, or `/`)."""
    return str(request.scope.get("root_path", "")).rstrip("/") + "/"


def _safe_next(request: Request, next_url: str | None) -> str:
    """Where to go after signing in: a path of this service only (no open redirect)."""
    root = service_root(request)
    if not next_url or not next_url.startswith(root) or next_url.startswith("//") or "\\" in next_url:
        return root
    return next_url


def _set_cookie(
    response: Response, client: HubClient, request: Request, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=service_root(request),
        httponly=True,
        samesite="lax",
        # Over HTTPS only when the browser uses it: the hub's public URL, or the proxy's header.
        secure=client.cfg.secure_cookies
        or request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").split(",")[0].strip() == "https",
    )


def request_session(client: HubClient, request: Request) -> Session | None:
    return client.session(request.cookies.get(SESSION_COOKIE))


def api_identity(client: HubClient, request: Request) -> Identity | None:
    """Who calls the API with hub credentials: a hub API token (`Authorization: token ...`), or
    the session cookie together with its XSRF value in the `X-Autograder-XSRF` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "token":
        user = client.cached_user_for_token(token.strip())
        if user is None or not_in_course_message(user, client.course_id, client.cfg) is not None:
            return None
        return course_identity(user, client.students(), client.cfg)
    if scheme:
        return None
    session = request_session(client, request)
    sent = request.headers.get(XSRF_HEADER, "")
    if session is None or not sent or not hmac.compare_digest(sent.encode(), session.xsrf.encode()):
        return None
    return session.identity


def hub_routes(client: HubClient) -> list[Route]:
    """Sign-in through the hub (see the module's docstring)."""

    def login(request: Request) -> Response:
        state = secrets.token_urlsafe(24)
        response = RedirectResponse(client.authorize_redirect(state), status_code=302)
        next_url = _safe_next(request, request.query_params.get("next"))
        _set_cookie(
            response, client, request, STATE_COOKIE, client.state_cookie(state, next_url), STATE_MAX_AGE_S
        )
        return response

    def callback(request: Request) -> Response:
        kept = client.state(request.cookies.get(STATE_COOKIE))
        sent = request.query_params.get("state", "")
        if request.query_params.get("error"):
            return _refusal(request, 400, "the hub did not sign you in", request.query_params["error"][:200])
        if kept is None or not sent or not hmac.compare_digest(kept[0].encode(), sent.encode()):
            return _refusal(
                request,
                400,
                "this sign-in link is not yours or is too old",
                "its state does not match the one this browser started with; sign in again.",
            )
        try:
            token = client.token_for_code(request.query_params.get("code", ""))
            user = client.user_for_token(token)
        except HubError as exc:
            return _refusal(request, 400, "signing in through the hub failed", str(exc))
        if user is None:
            return _refusal(
                request, 400, "signing in through the hub failed", "the hub did not know its own token."
            )
        why = not_in_course_message(user, client.course_id, client.cfg)
        identity = None if why else course_identity(user, client.students(), client.cfg)
        if identity is None:
            reply = _refusal(
                request,
                403,
                f"{user.name} is not in {client.course_id}",
                why
                or (
                    f"You are signed in to JupyterHub as {user.name!r}, but {client.course_id} has no "
                    "student with that id (students sign in with the hub name that is their nbgrader "
                    "student id). "
                    "Ask your instructor to add you to the course."
                ),
            )
            reply.delete_cookie(STATE_COOKIE, path=service_root(request))
            return reply
        log.info("%s signed in through the hub as %s", identity.student, identity.role)
        response = RedirectResponse(kept[1], status_code=302)
        response.delete_cookie(STATE_COOKIE, path=service_root(request))
        _set_cookie(
            response, client, request, SESSION_COOKIE, client.session_cookie(identity), SESSION_MAX_AGE_S
        )
        return response

    def logout(request: Request) -> Response:
        response = HTMLResponse(
            pages.message_page(
                client.course_id,
                "Signed out",
                "You are signed out of this service (your JupyterHub session is the hub's own).",
                [
                    ("Sign in again", service_root(request) + "login"),
                    ("JupyterHub", client.cfg.hub_url + "home"),
                ],
            )
        )
        response.delete_cookie(SESSION_COOKIE, path=service_root(request))
        return response

    def _refusal(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
        links = [
            ("Sign in again", service_root(request) + "login"),
            ("JupyterHub", client.cfg.hub_url + "home"),
        ]
        return HTMLResponse(pages.message_page(client.course_id, title, detail, links), status_code=status)

    # The hub sends people back to .../<prefix>/oauth_callback; the route is its last part.
    route = "/" + (client.cfg.callback_path.rstrip("/").rsplit("/", 1)[-1] or "oauth_callback")
    return [Route("/login", login), Route(route, callback), Route("/logout", logout)]
