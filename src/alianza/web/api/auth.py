"""/api/v1/auth: bearer tokens for programs, and who the token belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from alianza.platform.auth import service as auth
from alianza.platform.programmes.service import programmes_of
from alianza.web.auth import CurrentUser, client_address
from alianza.web.deps import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class RoleOut(BaseModel):
    programme: str
    role: str
    scope: str


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    locale: str | None
    roles: list[RoleOut]


class ApiTokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@router.post("/token", name="api_auth_token")
def token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=500)],
    name: Annotated[str, Form(max_length=80)] = "API",
) -> TokenOut:
    """A new bearer token for the user whose password this is (OAuth2's password form).
    Failed attempts are rate-limited per user and per address."""
    from alianza.platform.errors import Refused

    try:
        user = auth.sign_in(session, username, password, client_address(request))
    except Refused:
        session.commit()  # the failed attempt counts towards the rate limit
        raise
    secret, _ = auth.create_token(session, user, name)
    return TokenOut(access_token=secret)


@router.get("/me", name="api_auth_me")
def me(session: SessionDep, user: CurrentUser) -> MeOut:
    """The user the token belongs to, with their roles and scopes in each programme."""
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        locale=user.locale,
        roles=[
            RoleOut(programme=p.code, role=a.role, scope=a.scope)
            for p, a in programmes_of(session, user.id)
        ],
    )


@router.get("/tokens", name="api_auth_tokens")
def tokens(session: SessionDep, user: CurrentUser) -> dict[str, object]:
    """The user's own tokens (never their secrets)."""
    rows = [
        ApiTokenOut.model_validate(t, from_attributes=True) for t in auth.tokens_of(session, user)
    ]
    return {"items": rows, "total": len(rows)}


@router.delete("/tokens/{token_id}", name="api_auth_token_revoke")
def revoke(session: SessionDep, user: CurrentUser, token_id: int) -> ApiTokenOut:
    """Revoke one of the user's own tokens; it stops working at once."""
    return ApiTokenOut.model_validate(
        auth.revoke_token(session, user, token_id), from_attributes=True
    )
