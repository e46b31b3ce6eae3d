"""The hub sign-in's own rules, without a hub: signed cookies, who is who, the settings."""

from __future__ import annotations

import json

import pytest

from autograder.course.layout import Course
from autograder.errors import UsageError
from autograder.serve import hub
from autograder.serve.db import Identity

SECRET = b"0" * 64
ENV = {
    "JUPYTERHUB_API_TOKEN": "service-token",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_CLIENT_ID": "service-autograder",
    "JUPYTERHUB_SERVICE_NAME": "autograder",
    "JUPYTERHUB_SERVICE_PREFIX": "/services/autograder/",
    "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/autograder/oauth_callback",
    "JUPYTERHUB_BASE_URL": "/",
}


def config(**env: str) -> hub.HubConfig:
    return hub.hub_config({**ENV, **env}, course_id="nn101", secret=SECRET)


def test_a_signed_value_round_trips_and_any_change_purpose_or_age_refuses_it() -> None:
    value = hub.sign(SECRET, "session", {"u": "alice", "r": "student"}, 60, now=1000.0)
    assert hub.unsign(SECRET, "session", value, now=1059.0) == {"u": "alice", "r": "student", "exp": 1060}
    assert hub.unsign(SECRET, "session", value, now=1061.0) is None  # expired
    assert hub.unsign(SECRET, "state", value, now=1000.0) is None  # made for another purpose
    assert hub.unsign(b"1" * 64, "session", value, now=1000.0) is None  # another key
    data, _, mac = value.partition(".")
    forged = hub._b64(json.dumps({"u": "alice", "r": "instructor", "exp": 1060}).encode())
    assert hub.unsign(SECRET, "session", f"{forged}.{mac}", now=1000.0) is None
    assert hub.unsign(SECRET, "session", f"{data}.", now=1000.0) is None
    assert hub.unsign(SECRET, "session", "garbage", now=1000.0) is None


def test_instructors_are_a_hub_group_students_their_nbgrader_id_and_strangers_nobody() -> None:
    cfg = config()
    students = frozenset({"alice"})

    def user(name: str, *groups: str) -> hub.HubUser:
        return hub.HubUser(name, frozenset(groups), frozenset({"access:services!service=autograder"}), "user")

    assert hub.course_identity(user("teacher", "instructors"), students, cfg) == Identity("teacher", "instructor")
    assert hub.course_identity(user("ta", "formgrade-nn101"), students, cfg) == Identity("ta", "instructor")
    assert hub.course_identity(user("alice"), students, cfg) == Identity("alice", "student")
    assert hub.course_identity(user("erin", "nbgrader-nn101"), students, cfg) == Identity("erin", "student")
    assert hub.course_identity(user("zed", "nbgrader-other"), students, cfg) is None
    assert hub.course_identity(user("../alice", "instructors"), students, cfg) is None


def test_a_token_without_access_to_the_service_or_of_a_service_is_refused_with_the_reason() -> None:
    cfg = config()
    no_access = hub.HubUser("alice", frozenset(), frozenset({"read:users:name!user=alice"}), "user")
    assert hub.not_in_course_message(no_access, "nn101", cfg) == (
        "the hub has not given 'alice' access to the autograder service "
        "(scope access:services!service=autograder); ask the hub's admin."
    )
    bot = hub.HubUser("cull", frozenset(), frozenset({"access:services"}), "service")
    assert hub.not_in_course_message(bot, "nn101", cfg) == (
        "'cull' is a hub service, not a person: sign in with a user account."
    )


def test_the_settings_come_from_the_hubs_service_environment() -> None:
    cfg = config()
    assert cfg.authorize_url == "/hub/api/oauth2/authorize"  # behind the hub's proxy: same origin
    assert cfg.api_url == "http://127.0.0.1:8081/hub/api/"
    assert cfg.callback_path == "/services/autograder/oauth_callback"
    assert cfg.instructor_groups == {"instructors", "formgrade-nn101"}
    assert not cfg.secure_cookies
    public = config(JUPYTERHUB_PUBLIC_HUB_URL="https://hub.example.edu/hub/")
    assert public.authorize_url == "https://hub.example.edu/hub/api/oauth2/authorize"
    assert public.secure_cookies


def test_serving_with_hub_but_without_its_environment_says_what_is_missing() -> None:
    with pytest.raises(UsageError, match=r"--hub needs JupyterHub's service environment \(JUPYTERHUB_API_TOKEN not set\)"):
        hub.hub_config({**ENV, "JUPYTERHUB_API_TOKEN": ""}, course_id="nn101", secret=SECRET)
    with pytest.raises(UsageError, match="--hub-url 'ftp://x/' must be the hub's address"):
        hub.hub_config(ENV, course_id="nn101", secret=SECRET, hub_url="ftp://x/")
    assert not hub.in_hub_environment({})
    assert hub.in_hub_environment(ENV)


def test_the_cookie_key_is_made_once_owner_only_where_workers_cannot_read_it(course: Course) -> None:
    key = hub.cookie_secret(course.state_dir)
    path = course.state_dir / "serve" / "cookie_secret"
    assert len(key) == 64 and hub.cookie_secret(course.state_dir) == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert course.state_dir in course.hidden_paths()
