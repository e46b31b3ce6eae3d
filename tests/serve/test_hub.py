"""Sign-in through a real JupyterHub: `autograder serve --hub` started by the hub as its service.

The hub (tests/conftest.py's `hub`): alice and bob are nbgrader students of the course, teacher
is in the hub's `instructors` group, erin in nbgrader's `nbgrader-<course>` group, zed in neither.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from hubrunning import Hub, browser_client, follow, proxied_hub, sign_in_to_hub
from nbgrader.api import Gradebook
from running import ASSIGNMENT

from autograder.course.layout import load_course

pytestmark = pytest.mark.slow

SUBMISSIONS = f"api/v1/assignments/{ASSIGNMENT}/submissions"


@pytest.fixture
def clients() -> Iterator[list[httpx.Client]]:
    """Browser-like clients of one test, closed at its end."""
    made: list[httpx.Client] = []
    yield made
    for client in made:
        client.close()


def new_client(clients: list[httpx.Client]) -> httpx.Client:
    clients.append(browser_client())
    return clients[-1]


def signed_in(
    hub: Hub, user: str, clients: list[httpx.Client]
) -> tuple[httpx.Client, httpx.Response, list[str]]:
    """A browser-like client signed in to the hub as `user`, then to the service's student page."""
    client = new_client(clients)
    sign_in_to_hub(client, hub, user)
    page, visited = follow(client, hub.service_url)
    return client, page, visited


def xsrf_of(page: httpx.Response) -> str:
    marker = "name='autograder-xsrf' content='"
    assert marker in page.text, page.text[:500]
    return page.text.split(marker, 1)[1].split("'", 1)[0]


def wait_graded(client: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        reply = client.get(url, headers=headers)
        assert reply.status_code == 200, reply.text
        if reply.json()["status"] in ("graded", "error"):
            return dict(reply.json())
        time.sleep(0.3)
    raise AssertionError(f"{url} was not graded in 90 s")


def test_a_student_signs_in_through_the_hub_submits_and_sees_only_their_own_work(
    hub: Hub, notebooks: dict[str, bytes], clients: list[httpx.Client]
) -> None:
    alice, page, visited = signed_in(hub, "alice", clients)
    assert page.status_code == 200, (visited, page.text[-1500:], hub.log.read_text()[-3000:])
    assert any("/hub/api/oauth2/authorize" in url for url in visited), visited
    assert any("/services/autograder/oauth_callback?code=" in url for url in visited), visited
    cookie = next(c for c in alice.cookies.jar if c.name == "autograder-session")
    assert cookie.path == "/services/autograder/"
    assert cookie.has_nonstandard_attr("HttpOnly")
    xsrf = xsrf_of(page)
    me = alice.get(hub.service_url + "api/v1/me", headers={"X-Autograder-XSRF": xsrf})
    assert me.status_code == 200 and me.json()["student"] == "alice" and me.json()["role"] == "student"

    # The cookie alone (another site's form, a script without the page's value) opens nothing.
    bare = alice.get(hub.service_url + "api/v1/me")
    assert bare.status_code == 401
    wrong = alice.get(hub.service_url + "api/v1/me", headers={"X-Autograder-XSRF": "x" + xsrf})
    assert wrong.status_code == 401

    sent = alice.post(
        hub.service_url + SUBMISSIONS,
        content=notebooks["solution"],
        headers={"X-Autograder-XSRF": xsrf, "Content-Type": "application/x-ipynb+json"},
    )
    assert sent.status_code == 202, sent.text
    graded = wait_graded(
        alice, hub.service_url + f"api/v1/submissions/{sent.json()['id']}", {"X-Autograder-XSRF": xsrf}
    )
    assert graded["status"] == "graded" and graded["student"] == "alice"
    assert graded["score"] == graded["max_score"]

    bob, bob_page, _ = signed_in(hub, "bob", clients)
    bob_xsrf = xsrf_of(bob_page)
    bobs = bob.post(
        hub.service_url + SUBMISSIONS,
        content=notebooks["stub"],
        headers={"X-Autograder-XSRF": bob_xsrf, "Content-Type": "application/x-ipynb+json"},
    )
    assert bobs.status_code == 202, bobs.text
    mine = alice.get(hub.service_url + SUBMISSIONS, headers={"X-Autograder-XSRF": xsrf})
    # The hub (and its course) serve the whole test session: the browser test may have
    # submitted as alice too. Hers are all listed, and nobody else's.
    assert {s["student"] for s in mine.json()} == {"alice"}
    ids = [s["id"] for s in mine.json()]
    assert sent.json()["id"] in ids and bobs.json()["id"] not in ids
    theirs = alice.get(
        hub.service_url + f"api/v1/submissions/{bobs.json()['id']}", headers={"X-Autograder-XSRF": xsrf}
    )
    assert theirs.status_code == 404
    assert theirs.json()["error"] == "no such submission of yours."


def test_a_hub_user_in_the_instructor_group_reaches_the_dashboard_and_a_student_gets_403(
    hub: Hub, clients: list[httpx.Client]
) -> None:
    teacher = new_client(clients)
    sign_in_to_hub(teacher, hub, "teacher")
    page, _ = follow(teacher, hub.service_url + "instructor")
    assert page.status_code == 200
    assert "instructor dashboard" in page.text
    board = teacher.get(
        hub.service_url + f"api/v1/assignments/{ASSIGNMENT}/dashboard",
        headers={"X-Autograder-XSRF": xsrf_of(page)},
    )
    assert board.status_code == 200 and "students" in board.json()

    alice, student_page, _ = signed_in(hub, "alice", clients)
    refused = alice.get(hub.service_url + "instructor")
    assert refused.status_code == 403
    assert "alice is a student of" in refused.text and "instructor group (formgrade-" in refused.text
    api = alice.get(
        hub.service_url + f"api/v1/assignments/{ASSIGNMENT}/dashboard",
        headers={"X-Autograder-XSRF": xsrf_of(student_page)},
    )
    assert api.status_code == 403
    assert api.json()["error"] == "this is for instructors: sign in with an instructor token."


def test_a_hub_user_not_in_the_course_gets_a_clear_403_and_an_nbgrader_group_member_gets_in(
    hub: Hub, clients: list[httpx.Client]
) -> None:
    zed, page, _ = signed_in(hub, "zed", clients)
    assert page.status_code == 403
    assert "zed is not in" in page.text
    assert "You are signed in to JupyterHub as &#x27;zed&#x27;, but" in page.text
    assert "autograder-session" not in zed.cookies

    erin, erin_page, _ = signed_in(hub, "erin", clients)
    assert erin_page.status_code == 200
    me = erin.get(hub.service_url + "api/v1/me", headers={"X-Autograder-XSRF": xsrf_of(erin_page)})
    assert me.json()["student"] == "erin" and me.json()["role"] == "student"


def _authorized(client: httpx.Client, hub: Hub) -> str:
    """Start the service's sign-in and stop at the hub's redirect back: the callback URL."""
    url = hub.service_url + "login"
    reply = client.get(url)
    while reply.is_redirect:
        url = str(httpx.URL(url).join(reply.headers["location"]))
        if "/oauth_callback?" in url:
            return url
        reply = client.get(url)
    raise AssertionError(f"the hub did not send {url} back with a code")


def test_a_forged_state_or_a_replayed_code_is_refused(hub: Hub, clients: list[httpx.Client]) -> None:
    client = new_client(clients)
    sign_in_to_hub(client, hub, "alice")
    callback = _authorized(client, hub)
    code = parse_qs(urlparse(callback).query)["code"][0]
    forged = client.get(hub.service_url + f"oauth_callback?code={code}&state=forged")
    assert forged.status_code == 400
    assert "this sign-in link is not yours or is too old" in forged.text
    assert "autograder-session" not in client.cookies

    # A fresh sign-in, done; its callback URL replayed (by the same browser: the hub refuses the code).
    callback = _authorized(client, hub)
    state_cookie = client.cookies.get("autograder-oauth-state", path="/services/autograder/")
    assert client.get(callback).status_code == 302
    assert "autograder-session" in client.cookies
    again = new_client(clients)
    again.cookies.set(
        "autograder-oauth-state", state_cookie or "", domain="127.0.0.1", path="/services/autograder/"
    )
    replayed = again.get(callback)
    assert replayed.status_code == 400
    assert "the hub refused this sign-in (the link was used already or is too old)" in replayed.text
    assert "autograder-session" not in again.cookies


def test_a_hub_api_token_submits_and_a_wrong_one_is_refused(
    hub: Hub, notebooks: dict[str, bytes], clients: list[httpx.Client]
) -> None:
    token = hub.api_token("bob")
    with browser_client() as client:
        sent = client.post(
            hub.service_url + SUBMISSIONS,
            content=notebooks["solution"],
            headers={"Authorization": f"token {token}", "Content-Type": "application/x-ipynb+json"},
        )
        assert sent.status_code == 202, sent.text
        row = client.get(
            hub.service_url + f"api/v1/submissions/{sent.json()['id']}",
            headers={"Authorization": f"token {token}"},
        )
        assert row.json()["student"] == "bob"
        wrong = client.post(
            hub.service_url + SUBMISSIONS,
            content=notebooks["solution"],
            headers={"Authorization": f"token {token}x", "Content-Type": "application/x-ipynb+json"},
        )
        assert wrong.status_code == 401


def test_signing_in_goes_back_only_to_a_page_of_this_service(hub: Hub, clients: list[httpx.Client]) -> None:
    client = new_client(clients)
    sign_in_to_hub(client, hub, "alice")
    page, visited = follow(client, hub.service_url + "login?next=https://evil.example/")
    assert page.status_code == 200
    assert visited[-1] == hub.service_url
    _, visited = follow(client, hub.service_url + "login?next=/services/autograder/instructor")
    assert visited[-1] == hub.service_url + "instructor"


def test_signing_out_clears_the_session_cookie(hub: Hub, clients: list[httpx.Client]) -> None:
    client, _, _ = signed_in(hub, "alice", clients)
    assert "autograder-session" in client.cookies
    out = client.get(hub.service_url + "logout")
    assert out.status_code == 200 and "You are signed out of this service" in out.text
    assert "autograder-session" not in client.cookies
    again = client.get(hub.service_url)
    assert again.status_code == 302 and again.headers["location"].startswith("/services/autograder/login")


REPO = Path(__file__).resolve().parents[2]
PROXY = REPO / ".proxy" / "node_modules" / ".bin" / "configurable-http-proxy"


def test_the_readmes_jupyterhub_config_works_behind_the_hubs_own_proxy(
    tmp_path: Path, released_template: Path, clients: list[httpx.Client]
) -> None:
    if not PROXY.exists():
        pytest.skip(f"{PROXY} is missing: scripts/ensure-proxy.sh (run by ./dev test) installs it with npm")
    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    with Gradebook(load_course(root).db_url) as gradebook:
        gradebook.update_or_create_student("alice")
    with proxied_hub(root, tmp_path / "state", PROXY, REPO / "README.md") as hub:
        alice, page, visited = signed_in(hub, "alice", clients)
        assert page.status_code == 200, (visited, page.text[:300])
        assert all(url.startswith(hub.hub_url.removesuffix("hub/")) for url in visited)  # one origin
        me = alice.get(hub.service_url + "api/v1/me", headers={"X-Autograder-XSRF": xsrf_of(page)})
        assert me.json()["student"] == "alice" and me.json()["role"] == "student"
        assert alice.get(hub.service_url + "instructor").status_code == 403

        prof = new_client(clients)
        sign_in_to_hub(prof, hub, "prof")
        board, _ = follow(prof, hub.service_url + "instructor")
        assert board.status_code == 200 and "instructor dashboard" in board.text
