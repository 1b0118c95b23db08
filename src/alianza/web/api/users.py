"""Administering the programme's users (users.admin): who they are, their role and its scope,
disabling and enabling them. A user is created with their role in one request; a role is
changed with ``PUT /users/{id}/role`` and taken away with ``DELETE``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from alianza.platform.access import Actor
from alianza.platform.programmes import service as programmes
from alianza.platform.programmes.models import RoleAssignment, User
from alianza.platform.programmes.schemas import RoleIn
from alianza.web.auth import CurrentActor

router = APIRouter(prefix="/users", tags=["users"])


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    disabled: bool
    role: str | None
    scope: str | None
    place_ids: list[int]
    organization_id: int | None
    subproject_id: int | None


class UserPage(BaseModel):
    items: list[UserOut]
    total: int


class NewUser(RoleIn):
    """A user and the role they get in the programme (its scope: the role's default if omitted)."""

    username: str = Field(min_length=1, max_length=80)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=500, description="The initial password.")


def user_out(user: User, assignment: RoleAssignment | None, place_ids: list[int]) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        disabled=user.disabled_at is not None,
        role=assignment.role if assignment else None,
        scope=assignment.scope if assignment else None,
        place_ids=place_ids,
        organization_id=assignment.organization_id if assignment else None,
        subproject_id=assignment.subproject_id if assignment else None,
    )


def one_user(actor: Actor, user_id: int) -> UserOut:
    for user, assignment in programmes.users(actor):
        if user.id == user_id:
            return user_out(
                user, assignment, programmes.role_place_ids(actor).get(assignment.id, [])
            )
    user = programmes.get_user(actor, user_id, any_programme=True)
    return user_out(user, None, [])


@router.get("", name="api_users", response_model=UserPage, summary="The programme's users")
def list_users(
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserPage:
    """The users holding a role in the programme, by username, with their role and scope."""
    rows = programmes.users(actor)
    places = programmes.role_place_ids(actor)
    return UserPage(
        items=[user_out(u, a, places.get(a.id, [])) for u, a in rows[offset : offset + limit]],
        total=len(rows),
    )


@router.post(
    "",
    name="api_user_create",
    response_model=UserOut,
    status_code=201,
    summary="Create a user with their role",
)
def create_user(actor: CurrentActor, new: NewUser) -> UserOut:
    data: dict[str, Any] = new.model_dump()
    user = programmes.add_user(
        actor,
        {key: data.pop(key) for key in ("username", "display_name", "password")},
        data,
    )
    return one_user(actor, user.id)


@router.put(
    "/{user_id}/role",
    name="api_user_role",
    response_model=UserOut,
    summary="Give or change a user's role",
)
def grant_role(actor: CurrentActor, user_id: int, role: RoleIn) -> UserOut:
    programmes.grant_role(actor, user_id, role)
    actor.session.flush()
    return one_user(actor, user_id)


@router.delete(
    "/{user_id}/role",
    name="api_user_role_revoke",
    status_code=204,
    summary="Take away a user's role",
)
def revoke_role(actor: CurrentActor, user_id: int) -> Response:
    programmes.revoke_role(actor, user_id)
    return Response(status_code=204)


@router.post(
    "/{user_id}/disable",
    name="api_user_disable",
    response_model=UserOut,
    summary="Disable a user (their sessions and tokens stop at once)",
)
def disable(actor: CurrentActor, user_id: int) -> UserOut:
    programmes.set_disabled(actor, user_id, True)
    return one_user(actor, user_id)


@router.post(
    "/{user_id}/enable",
    name="api_user_enable",
    response_model=UserOut,
    summary="Enable a disabled user again",
)
def enable(actor: CurrentActor, user_id: int) -> UserOut:
    programmes.set_disabled(actor, user_id, False)
    return one_user(actor, user_id)
