"""A Basic credential of dummy words is not a secret; a real-looking one still is."""

from __future__ import annotations

import base64
import secrets

import pytest

from swarm_core.analyzers.dummy_credentials import is_dummy_basic
from swarm_core.analyzers.secrets import SecretsAnalyzer
from tests.helpers import only, review_repo


def _basic(pair: str) -> str:
    # Built at test time: no credential-shaped string is stored in the repository.
    return base64.b64encode(pair.encode()).decode()


def _random_password() -> str:
    return secrets.token_urlsafe(18)


@pytest.mark.parametrize(
    "pair",
    [
        "username:password",
        "user:pass",
        "Admin:Secret",
        "test:changeme",
        "foo:bar",
        "user1:password123",
        "Aladdin:open sesame",
        ":qwerty",
        "tomchristie:tomchristie",
    ],
)
def test_a_pair_of_dummy_words_or_a_repeated_word_is_dummy(pair: str) -> None:
    token = _basic(pair)
    assert [is_dummy_basic(token), is_dummy_basic(f"Basic {token}"), is_dummy_basic(f"'basic {token}'")] == [
        True,
        True,
        True,
    ]
    assert is_dummy_basic(f"Proxy-Authorization: Basic {token}")
    assert is_dummy_basic(token.rstrip("="))


def test_a_real_looking_password_or_user_is_not_dummy() -> None:
    password = _random_password()
    assert [
        is_dummy_basic(_basic(f"username:{password}")),
        is_dummy_basic(_basic("username:correct-horse-battery")),
        is_dummy_basic(_basic("deploy-bot:password")),
        is_dummy_basic(_basic(f"{password}:password")),
    ] == [False, False, False, False]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic",
        "not base64!",
        _basic("password"),  # no colon: not a user:password pair
        _basic("user:"),  # no password
        base64.b64encode(b"user:\xff\xfe").decode(),  # not text
        _basic("user:pass\nword"),  # not printable
        "Bearer " + _basic("user:pass"),  # another scheme
        _basic("user:pass")[:9],  # a length base64 cannot have
    ],
)
def test_what_is_not_a_basic_pair_is_not_dummy(value: str) -> None:
    assert not is_dummy_basic(value)


def _headers(token: str) -> str:
    # The shape of encode/httpcore's proxy tests (tests/_async/test_http_proxy.py).
    return (
        "def test_proxy_auth():\n"
        "    headers = [\n"
        f'        (b"Proxy-Authorization", b"Basic {token}"),\n'
        f'        (b"Authorization", b"Basic {token}"),\n'
        "    ]\n"
        "    assert headers\n"
    )


def test_dummy_basic_headers_are_not_reported_by_any_engine(make_repo) -> None:
    repo = make_repo()
    repo.commit({"tests/test_proxy.py": "import httpcore\n"})
    repo.commit({"tests/test_proxy.py": "import httpcore\n" + _headers(_basic("username:password"))})

    review = review_repo(repo, analyzers=[SecretsAnalyzer()])

    assert only(review, "secrets/") == []


def test_a_basic_header_with_a_real_looking_password_is_still_reported(make_repo) -> None:
    password = _random_password()
    token = _basic(f"username:{password}")
    repo = make_repo()
    repo.commit({"tests/test_proxy.py": "import httpcore\n"})
    repo.commit({"tests/test_proxy.py": "import httpcore\n" + _headers(token)})

    review = review_repo(repo, analyzers=[SecretsAnalyzer()])

    found = only(review, "secrets/")
    assert [(f.line, f.rule) for f in found] == [
        (4, "secrets/basic-authorization"),
        (5, "secrets/basic-authorization"),
    ]
    assert all(token not in (f.evidence or "") for f in found)
