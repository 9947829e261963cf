"""swarm's JWK rule: private members found in JSON, YAML and Python, every line of a value reported."""

from __future__ import annotations

import base64
import json
import secrets

from swarm_core.analyzers.jwk_private import JWK, KIND, jwk_hits
from swarm_core.models import Severity


def _b64url(n_bytes: int) -> str:
    # Fresh random key material each run: nothing credential-shaped is stored in the repository.
    return base64.urlsafe_b64encode(secrets.token_bytes(n_bytes)).rstrip(b"=").decode()


def _added(text: str, first: int = 1) -> list[tuple[int, str]]:
    return list(enumerate(text.split("\n"), first))


def _spans(text: str, first: int = 1) -> list[tuple[int, int | None]]:
    return [(h.line, h.end_line) for h in jwk_hits(_added(text, first))]


def _chunks(value: str, width: int = 58) -> list[str]:
    return [value[i : i + width] for i in range(0, len(value), width)]


def _rsa_members() -> dict[str, str]:
    return {
        "n": _b64url(256),
        "e": "AQAB",
        "d": _b64url(256),
        "p": _b64url(128),
        "q": _b64url(128),
        "dp": _b64url(128),
        "dq": _b64url(128),
        "qi": _b64url(128),
    }


def test_an_rsa_jwk_in_python_with_implicit_concatenation_reports_each_private_value_line() -> None:
    members = _rsa_members()
    lines = ["expected = {", '    "kty": "RSA",']
    spans = {}
    for name, value in members.items():
        if len(value) <= 58:
            lines.append(f'    "{name}": "{value}",')
            continue
        lines.append(f'    "{name}": (')
        start = len(lines) + 1
        lines += [f'        "{chunk}"' for chunk in _chunks(value)]
        spans[name] = (start, len(lines))
        lines.append("    ),")
    lines.append("}")

    hits = jwk_hits(_added("\n".join(lines), first=1))

    # The public members (n, e) are not reported; each private one from its first value line to its last.
    private = ("d", "p", "q", "dp", "dq", "qi")
    assert [(h.line, h.end_line) for h in hits] == [spans[name] for name in private]
    assert {(h.engine, h.kind, h.severity, h.specific) for h in hits} == {
        (JWK, KIND, Severity.CRITICAL, True)
    }
    # Redaction covers the whole value and each line's piece of it.
    (d_hit,) = [h for h in hits if h.line == spans["d"][0]]
    assert d_hit.values == (members["d"], *_chunks(members["d"]))


def test_a_jwk_file_in_json_reports_the_private_members_lines() -> None:
    members = _rsa_members()
    text = json.dumps({"kty": "RSA", "kid": "signing-1", **members}, indent=2)
    lines = text.split("\n")
    expected = [
        n
        for n, line in enumerate(lines, 1)
        if line.strip().split(":")[0].strip('"') in ("d", "p", "q", "dp", "dq", "qi")
    ]

    assert _spans(text) == [(n, None) for n in expected]
    assert len(expected) == 6


def test_a_one_line_ec_jwk_and_one_escaped_inside_a_json_string() -> None:
    x, y, d = _b64url(32), _b64url(32), _b64url(32)
    one_line = json.dumps({"kty": "EC", "crv": "P-256", "x": x, "y": y, "d": d})
    wrapped = json.dumps({"jwk": one_line})

    assert _spans(f"key = '{one_line}'") == [(1, None)]
    assert _spans(wrapped, first=7) == [(7, None)]
    assert jwk_hits(_added(one_line))[0].values == (d,)


def test_a_jwk_in_yaml() -> None:
    d = _b64url(32)
    text = f"keys:\n  - kty: OKP\n    crv: Ed25519\n    x: {_b64url(32)}\n    d: {d}\n    use: sig\n"

    (hit,) = jwk_hits(_added(text))
    assert (hit.line, hit.end_line, hit.values) == (5, None, (d,))


def test_a_yaml_value_over_several_lines_is_reported_and_redacted_line_by_line() -> None:
    d = _b64url(96)
    first, second = d[:64], d[64:]
    folded = f"kty: EC\ncrv: P-384\nd: {first}\n  {second}\nx: abc"
    block = f"kty: EC\ncrv: P-384\nd: >-\n  {first}\n  {second}\nx: abc"
    next_line = f"kty: EC\ncrv: P-384\nd:\n  {d}\nx: abc"
    for text, span in ((folded, (3, 4)), (block, (4, 5)), (next_line, (4, None))):
        [hit] = jwk_hits(_added(text))
        assert (hit.line, hit.end_line) == span
        # Every line of the value is among the values redacted, not only the first.
        assert d in hit.values
        assert span[1] is None or {first, second} <= set(hit.values)
    # The next member, or a word on the next line, is not part of the value.
    assert _spans(f"kty: EC\ncrv: P-384\nd: {d}\n  x: abc") == [(3, None)]


def test_an_oct_key_is_reported_when_its_k_is_random_and_not_when_it_is_a_word() -> None:
    random_k = _b64url(32)
    word_k = base64.urlsafe_b64encode(b"correct horse battery staple").decode()

    assert _spans(f'{{"kty": "oct", "k": "{random_k}"}}') == [(1, None)]
    assert _spans(f'{{"kty": "oct", "k": "{word_k}"}}') == []
    assert _spans('{"kty": "oct", "k": "c2VjcmV0"}') == []
    # A `k` outside an oct key is not a key: an EC key has none, a cache has its own k's.
    assert _spans(f'{{"kty": "EC", "crv": "P-256", "k": "{random_k}"}}') == []


def test_nothing_without_a_jwk_around_it_or_with_a_value_that_is_no_key() -> None:
    d = _b64url(32)
    # No kty, crv, n with e or x with y near the member.
    assert _spans(f'params = {{"d": "{d}", "mode": "fast"}}') == []
    # Too short for any curve or modulus, or text rather than key material.
    assert _spans('{"kty": "EC", "crv": "P-256", "d": "dGVzdA=="}') == []
    text_value = base64.urlsafe_b64encode(b"this is a documentation placeholder only").decode()
    assert _spans(f'{{"kty": "EC", "crv": "P-256", "d": "{text_value}"}}') == []
    # Code, not a value: a call, a variable.
    assert _spans('jwk = {"kty": "RSA", "d": to_base64url_uint(numbers.d).decode()}') == []
    assert _spans('jwk = {"kty": "RSA", "d": private_exponent_of_the_test_key}') == []
    # A member whose name only ends in d, p or q.
    assert _spans(f'{{"kty": "EC", "crv": "P-256", "kid": "{d}", "alg_d": "{d}"}}') == []


def test_only_added_lines_are_read_and_a_value_does_not_run_across_a_gap() -> None:
    d = _b64url(256)
    first, second = d[:200], d[200:]
    # The JWK's kty is on a line the change did not add: the member alone is not enough.
    assert jwk_hits([(40, f'    "d": "{d}",')]) == []
    # The value's two lines are added, but a line between them is not: the first literal ends the value.
    lines = [(1, '{"kty": "RSA",'), (2, ' "d": ('), (3, f'  "{first}"'), (5, f'  "{second}"'), (6, " )}")]
    (hit,) = jwk_hits(lines)
    assert (hit.line, hit.end_line, hit.values) == (3, None, (first,))
