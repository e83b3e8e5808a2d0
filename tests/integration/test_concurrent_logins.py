"""Hundreds of logins of MockPass's sgID personas, many at once, through the local API: nobody's session or data
ever reaches another browser, and the table holds exactly one session per login."""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, items, mockpass_personas, persona_redirect, provider_redirect
from infra.sandbox.stack import ROOT, Sandbox

LOGINS = 500
PARALLEL = 32
"""More browsers at a time than there are personas (29) or workers per function (4): every function queues, and
the same person logs in from two browsers at once."""
PARALLEL_CALLBACKS = 24
SESSION = "__Host-sgw_session"
LOGIN = "__Host-sgw_login"
MYINFO_PERSONAS = ROOT / "node_modules" / "@opengovsg" / "mockpass" / "static" / "myinfo" / "v3.json"


@dataclass(frozen=True)
class Login:
    nric: str
    browser: Browser

    @property
    def session_id(self) -> str:
        return self.browser.cookies[SESSION]


@pytest.fixture(scope="module")
def personas(sandbox: Sandbox) -> dict[str, str]:
    """NRIC → name of the personas MockPass's sgID login page offers, the name as MockPass's MyInfo data has it.

    Not those with an unformatted address: MockPass 4.3.4 crashes (the whole process) formatting one for sgID's
    ``myinfo.registered_address``, which the sandbox asks for.
    """
    authorize = Browser(sandbox.url).start_login().headers["Location"]
    data = json.loads(MYINFO_PERSONAS.read_text())["personas"]
    offered = [nric for nric in mockpass_personas(authorize) if data[nric]["regadd"]["type"] == "SG"]
    return {nric: data[nric]["name"]["value"] for nric in offered}


def test_parallel_logins_of_many_people_never_mix_sessions_or_data(sandbox: Sandbox, personas: dict[str, str]) -> None:
    people = sorted(personas)
    sessions_before = stored_sessions(sandbox)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        logins = list(pool.map(log_in, [sandbox] * LOGINS, [people[n % len(people)] for n in range(LOGINS)]))
        answers = list(pool.map(me, logins))

    assert len({login.session_id for login in logins}) == LOGINS
    subjects: dict[str, set[str]] = defaultdict(set)
    for login, answer in zip(logins, answers, strict=True):
        assert answer["provider"] == "sgid"
        assert answer["person"]["myinfo.nric_number"] == login.nric
        assert answer["person"]["myinfo.name"] == personas[login.nric]
        subjects[login.nric].add(answer["sub"])
    assert all(len(subs) == 1 for subs in subjects.values())  # one person, one subject, whichever browser
    assert len(set.union(*subjects.values())) == len(people)  # and no two people share one
    sessions_after = stored_sessions(sandbox)
    assert len(sessions_after) == len(sessions_before) + LOGINS
    assert sessions_after - sessions_before == {"session#" + digest(login.session_id) for login in logins}

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = set(pool.map(lambda login: login.browser.api("/auth/logout", method="POST").status_code, logins))
    assert statuses == {204}
    assert stored_sessions(sandbox) == sessions_before


@pytest.mark.parametrize("provider", ["sgid", "oidc", "sp", "sp-data", "cp", "cp-data", "myinfo-v3", "mi-v4"])
def test_parallel_callbacks_for_one_login_create_exactly_one_session(sandbox: Sandbox, provider: str) -> None:
    browser = Browser(sandbox.url)
    callback_url = provider_redirect(browser.start_login("/", provider).headers["Location"])
    sessions_before = stored_sessions(sandbox)
    # Browsers that all hold the login cookie, as a browser whose callback is replayed in parallel would.
    browsers = [Browser(sandbox.url, {LOGIN: browser.cookies[LOGIN]}) for _ in range(PARALLEL_CALLBACKS)]

    with ThreadPoolExecutor(max_workers=PARALLEL_CALLBACKS) as pool:
        locations = list(pool.map(lambda replica: replica.get(callback_url).headers["Location"], browsers))

    assert sorted(locations) == [f"{sandbox.url}/"] + [f"{sandbox.url}/?error=invalid_state"] * (PARALLEL_CALLBACKS - 1)
    [session_id] = [replica.cookies[SESSION] for replica in browsers if SESSION in replica.cookies]
    assert stored_sessions(sandbox) - sessions_before == {"session#" + digest(session_id)}


def log_in(sandbox: Sandbox, nric: str) -> Login:
    browser = Browser(sandbox.url)
    authorize = browser.start_login().headers["Location"]
    callback = browser.get(persona_redirect(authorize, nric))
    assert callback.headers["Location"] == f"{sandbox.url}/", callback.headers["Location"]
    return Login(nric, browser)


def me(login: Login) -> dict[str, Any]:
    response = login.browser.api("/api/me")
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def stored_sessions(sandbox: Sandbox) -> set[str]:
    return {item["pk"]["S"] for item in items(sandbox, "session#")}
