"""The permission matrix of the endpoints every signed-in user has: the plan appraisal and
the account's own tokens (every role allowed; no one else's data in them)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.web import matrix

PLAN = Path(__file__).parents[2] / "examples" / "plans" / "honey-production.profile.yaml"


def test_every_role_may_appraise_a_plan_and_read_its_own_account(
    role_clients: dict[str, TestClient],
) -> None:
    matrix.check(
        role_clients,
        "POST",
        "/api/v1/plans/appraise",
        matrix.ROLES,
        files={"file": (PLAN.name, PLAN.read_bytes(), "application/yaml")},
    )
    matrix.check(role_clients, "GET", "/api/v1/auth/me", matrix.ROLES)
    matrix.check(role_clients, "GET", "/api/v1/auth/tokens", matrix.ROLES)


def test_a_token_lists_only_its_own_user(role_clients: dict[str, TestClient]) -> None:
    names = {
        role: client.get("/api/v1/auth/me").json()["username"]
        for role, client in role_clients.items()
    }
    assert len(set(names.values())) == len(names)
    buyer_tokens = role_clients["buyer"].get("/api/v1/auth/tokens").json()
    admin_tokens = role_clients["administrator"].get("/api/v1/auth/tokens").json()
    assert not {t["id"] for t in buyer_tokens["items"]} & {t["id"] for t in admin_tokens["items"]}
    other = admin_tokens["items"][0]["id"]
    refused = role_clients["buyer"].delete(f"/api/v1/auth/tokens/{other}")
    assert refused.status_code == 404  # another user's token looks absent
    assert role_clients["administrator"].get("/api/v1/auth/me").status_code == 200
