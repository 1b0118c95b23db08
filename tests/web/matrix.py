"""The permission matrix: every role against an endpoint, each either allowed or refused with
403 (or 404 where existence itself must not leak). Each area's test file lists its endpoints
and calls :func:`check`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.testclient import TestClient

ROLES = (
    "administrator",
    "programme_manager",
    "evaluator",
    "field_officer",
    "po_representative",
    "buyer",
    "lender",
    "auditor",
)
REFUSED = {403, 404}


def check(
    clients: dict[str, TestClient],
    method: str,
    path: str,
    allowed: Iterable[str],
    refused_status: set[int] | None = None,
    **request: Any,
) -> None:
    """Call ``method path`` as every role: the ``allowed`` roles get anything but 401/403/404
    (a 422 for a deliberately incomplete body still shows the permission passed), the others
    403 (or one of ``refused_status``)."""
    allowed = set(allowed)
    assert allowed <= set(ROLES), allowed - set(ROLES)
    for role in ROLES:
        answer = clients[role].request(method, path, **request)
        if role in allowed:
            assert answer.status_code not in {401, 403, 404, 500}, (role, method, path, answer.text)
        else:
            assert answer.status_code in (refused_status or {403}), (
                role,
                method,
                path,
                answer.status_code,
                answer.text,
            )
            assert set(answer.json()) >= {"error"}, answer.text
