"""The access policy (api.policy) is the API's: every operation of the OpenAPI document × every role (and no
token) answers as the policy says, a new endpoint without a policy entry is refused to everyone and fails
here, and docs/security.md shows the same table."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from api.policy import AUDITOR, POLICY, ROLES, SCIM, policy_by_full_path
from scripts.render_docs import SECURITY_DOC, render, security_blocks

ROOT = Path(__file__).resolve().parents[2]
NO_TOKEN = None
# Path parameters of the right type that name nothing: an allowed call gets past the policy and then finds
# no object (404) or no valid body (422); a refused call never gets that far.
SAMPLE = {"year": "2031", "for_year": "2031", "version": "1", "incident_id": "999999", "category": "workstation"}


def operations(app: FastAPI) -> list[tuple[str, str]]:
    document = app.openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def without_policy(app: FastAPI) -> list[tuple[str, str]]:
    known = policy_by_full_path()
    return [op for op in operations(app) if op not in known]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "MATRIX-NONE"), path)


def test_every_operation_has_a_policy_entry(settings, sessions):
    """A new endpoint must get a line in api.policy.POLICY (see docs/security.md, "Adding an endpoint")."""
    missing = without_policy(create_app(settings=settings, sessions=sessions))
    assert not missing, f"operations without an access policy entry in api/policy.py: {missing}"


async def test_an_endpoint_without_policy_entry_is_refused_and_fails_the_check(settings, sessions, bearer):
    app = create_app(settings=settings, sessions=sessions)

    @app.get("/api/v1/brand-new-thing")
    def brand_new_thing() -> dict:
        return {"secret": "everything"}

    assert without_policy(app) == [("GET", "/api/v1/brand-new-thing")]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for roles in (("it-admin",), ("auditor",), tuple(ROLES)):
            answer = await client.get("/api/v1/brand-new-thing", headers=bearer("it.anna", *roles))
            assert answer.status_code == 403 and "no access policy" in answer.json()["detail"]
        assert (await client.get("/api/v1/brand-new-thing")).status_code == 401


def test_the_auditor_reads_everything_and_changes_nothing():
    for (method, path), rule in POLICY.items():
        if rule.public or path.startswith(SCIM):  # Entra ID's provisioning channel: a machine's, no person's
            continue
        if method == "GET":
            assert rule.reads and AUDITOR in rule.roles, f"the auditor cannot read GET {path}"
        elif AUDITOR in rule.roles:
            assert rule.reads and method == "POST", f"the auditor could {method} {path}"


async def test_matrix_every_operation_every_role_answers_as_the_policy_says(api, bearer):
    """Walks the OpenAPI document: for each operation, each role alone and no token."""
    app_ops = operations(api._transport.app)
    assert len(app_ops) > 80
    policy = policy_by_full_path()
    tokens = {role: bearer(f"matrix.{role}", role, unit="MATRIX-UNIT", team="användarstöd") for role in ROLES}
    wrong: list[str] = []
    checked = 0
    for method, path in app_ops:
        rule = policy[(method, path)]
        url = concrete(path)
        for role in (NO_TOKEN, *ROLES):
            headers = {"Authorization": ""} if role is NO_TOKEN else tokens[role]
            # an invalid body: an allowed write stops at validation (422) and changes nothing
            response = await api.request(method, "http://ramflow.test" + url, headers=headers,
                                         json=["matrix"] if method in ("POST", "PUT") else None)
            status = response.status_code
            checked += 1
            if rule.public:
                ok = status not in (401, 403)
            elif role is NO_TOKEN:
                ok = status == 401
            elif role in rule.roles:
                ok = status not in (401, 403)
            else:
                ok = status == 403
            if not ok:
                wrong.append(f"{method} {path} as {role or 'no token'}: {status} {response.text[:120]}")
    assert not wrong, "\n".join(wrong)
    assert checked == len(app_ops) * (len(ROLES) + 1)


def test_role_table_in_the_docs_is_the_policy():
    text = SECURITY_DOC.read_text(encoding="utf-8")
    assert render(text, security_blocks()) == text, "docs/security.md is stale: run `make docs`"


def test_readme_and_docs_walkthroughs_use_tokens_not_x_actor():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert "X-Actor:" not in text, f"{doc.name} still sends X-Actor"
        for line in text.splitlines():
            if re.search(r"curl .*-X (POST|PUT|DELETE)", line):
                assert "Authorization: Bearer" in line or "${H[@]}" in line or '"${' in line, \
                    f"{doc.name}: a curl without a token: {line.strip()}"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_is_in_the_entra_id_app_registration_steps(role):
    entra = SECURITY_DOC.read_text(encoding="utf-8").split("Microsoft Entra ID", 1)[1]
    assert f"`{role}`" in entra, f"{SECURITY_DOC.name}: app role {role} is not in the Entra ID set-up"


def walkthrough_calls(text: str) -> list[tuple[str, str, str, frozenset[str]]]:
    """(method, path, token variable, its roles) of every curl in a document's walkthroughs."""
    roles_of = {name: frozenset(roles.split(",")) for name, roles in
                re.findall(r"(\w+)=\$\(make -s token USER=\S+ ROLES=([\w,-]+)", text)}
    array = re.search(r'H=\(-H "Authorization: Bearer \$(\w+)"', text)
    joined = re.sub(r"\\\n", " ", text)
    calls = []
    for line in joined.splitlines():
        for command in re.findall(r"curl [^;|]*", line):
            url = re.search(r"\$(?:API|B)(/[^\s'\"?]*)", command)
            if url is None:
                continue
            method = re.search(r"-X (\w+)", command)
            token = re.search(r'Bearer \$(\w+)', command)
            name = token.group(1) if token else (array.group(1) if array and "${H[@]}" in command else None)
            assert name is not None, f"a curl without a token: {command}"
            calls.append((method.group(1) if method else "GET", "/api/v1" + url.group(1), name,
                          roles_of.get(name, frozenset())))
    return calls


def test_every_walkthrough_call_is_allowed_to_the_roles_of_its_token():
    """The README and docs walkthroughs work as written: each call's token has a role the policy allows."""
    from starlette.routing import compile_path

    patterns = [(key, compile_path(key[1])[0]) for key in policy_by_full_path()]
    checked = 0
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for method, path, name, roles in walkthrough_calls(doc.read_text(encoding="utf-8")):
            keys = [key for key, pattern in patterns if key[0] == method and pattern.fullmatch(path)]
            assert keys, f"{doc.name}: {method} {path} is no operation of the API"
            rule = policy_by_full_path()[keys[-1]]
            assert roles, f"{doc.name}: ${name} is not made by `make -s token` in the document"
            assert rule.public or roles & rule.roles, f"{doc.name}: {method} {path} as ${name} ({sorted(roles)})"
            checked += 1
    assert checked > 50
