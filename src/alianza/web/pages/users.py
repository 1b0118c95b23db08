"""Administering the programme's users (users.admin): the list with each user's role and
scope, creating a user with their role, and one user's page to change or revoke the role and
to disable or enable them. The scope fields follow the role chosen (htmx asks for them again
when the role changes; without script the role's default scopes are offered)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alianza.platform.access import (
    ROLE_SCOPES,
    SCOPE_ORGANIZATION_KIND,
    Actor,
    Permission,
    Role,
    ScopeKind,
)
from alianza.platform.programmes import service as programmes
from alianza.platform.registry import service as registry
from alianza.platform.subprojects import service as cycle
from alianza.web import i18n
from alianza.web.auth import CurrentActor
from alianza.web.i18n import N_
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

MESSAGES = {
    "created": N_("The user was created with their role."),
    "granted": N_("The role was saved."),
    "revoked": N_("The role was taken away."),
    "disabled": N_("The user is disabled: their sessions and tokens stopped working."),
    "enabled": N_("The user is enabled again."),
}


def _flashes(request: Request, done: str | None) -> list[tuple[str, str]]:
    """The message of the change just made (the redirect names it), in the reader's language."""
    if done not in MESSAGES:
        return []
    return [("success", i18n.gettext(i18n.locale_of(request), MESSAGES[done]))]


def _id(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _role(text: str | None) -> Role:
    try:
        return Role(text or Role.FIELD_OFFICER)
    except ValueError:
        return Role.FIELD_OFFICER


def scope_choices(actor: Actor) -> dict[str, Any]:
    """What the scope fields offer: places (not villages), organizations by the kind a scope
    names, and the programme's subprojects."""
    places = [p for p in registry.places(actor) if p.kind != "village"]
    lineages = registry.place_lineages(actor)
    organizations = {
        scope.value: registry.organizations(actor, kind)
        for scope, kind in SCOPE_ORGANIZATION_KIND.items()
    }
    return {
        "places": sorted(
            places, key=lambda p: (["country", "district", "municipality"].index(p.kind), p.name)
        ),
        "lineages": lineages,
        "organizations": organizations,
        "subprojects": cycle.list_subprojects(actor, limit=1000).items,
        "role_scopes": {
            role.value: [s.value for s in scopes] for role, scopes in ROLE_SCOPES.items()
        },
        "roles": list(Role),
    }


def scope_descriptions(actor: Actor, rows: list[Any]) -> dict[int, str]:
    """What each user's scope names, in words (places, the organization, the subproject)."""
    place_names = {p.id: p.name for p in registry.places(actor)}
    organization_names = {o.id: o.name for o in registry.organizations(actor)}
    role_places = programmes.role_place_ids(actor)
    described: dict[int, str] = {}
    for user, assignment in rows:
        if assignment.scope == ScopeKind.PLACES:
            described[user.id] = ", ".join(
                place_names.get(p, str(p)) for p in role_places.get(assignment.id, [])
            )
        elif assignment.organization_id is not None:
            described[user.id] = organization_names.get(assignment.organization_id, "")
        elif assignment.subproject_id is not None:
            described[user.id] = f"#{assignment.subproject_id}"
    return described


@router.get("/users", response_class=HTMLResponse, name="users_admin")
def users_admin(request: Request, actor: CurrentActor, done: str | None = None) -> HTMLResponse:
    rows = programmes.users(actor)
    flashes = _flashes(request, done)
    return render(
        request,
        "users/users.html",
        {
            "rows": rows,
            "described": scope_descriptions(actor, rows),
            "flashes": flashes,
            "role": Role.FIELD_OFFICER.value,
            "scope": None,
            "chosen_places": [],
            "organization_id": None,
            "subproject_id": None,
            **scope_choices(actor),
        },
    )


@router.get("/users/scope-fields", response_class=HTMLResponse, name="users_scope_fields")
def scope_fields(request: Request, actor: CurrentActor, role: str | None = None) -> HTMLResponse:
    """The scope fields for a role (htmx swaps them in when the role select changes)."""
    actor.require(Permission.USERS_ADMIN)
    return render(
        request,
        "users/_scope_fields.html",
        {
            "role": _role(role).value,
            "scope": None,
            "chosen_places": [],
            "organization_id": None,
            "subproject_id": None,
            **scope_choices(actor),
        },
    )


def _role_data(
    role: str, scope: str, place_ids: list[int], organization_id: str, subproject_id: str
) -> dict[str, Any]:
    """The role form's fields as the service takes them: only the scope's own field is sent
    (the form shows every field a role's scopes may need)."""
    effective = scope or None
    if effective is None and role in {r.value for r in Role}:
        effective = ROLE_SCOPES[Role(role)][0].value
    return {
        "role": role,
        "scope": scope or None,
        "place_ids": place_ids if effective == ScopeKind.PLACES else [],
        "organization_id": _id(organization_id)
        if effective in {s.value for s in SCOPE_ORGANIZATION_KIND}
        else None,
        "subproject_id": _id(subproject_id) if effective == ScopeKind.ALLIANCE else None,
    }


@router.post("/users", name="users_create")
def create_user(
    actor: CurrentActor,
    username: Annotated[str, Form(max_length=80)],
    display_name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=500)],
    role: Annotated[str, Form(max_length=40)],
    scope: Annotated[str, Form(max_length=40)] = "",
    place_ids: Annotated[list[int] | None, Form()] = None,
    organization_id: Annotated[str, Form(max_length=20)] = "",
    subproject_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    programmes.add_user(
        actor,
        {"username": username, "display_name": display_name, "password": password},
        _role_data(role, scope, place_ids or [], organization_id, subproject_id),
    )
    return RedirectResponse("/users?done=created", status_code=303)


@router.get("/users/{user_id}", response_class=HTMLResponse, name="user_admin")
def user_admin(
    request: Request, actor: CurrentActor, user_id: int, done: str | None = None
) -> HTMLResponse:
    rows = [(u, a) for u, a in programmes.users(actor) if u.id == user_id]
    if not rows:
        programmes.get_user(actor, user_id)  # not of this programme: 404
    user, assignment = rows[0]
    flashes = _flashes(request, done)
    places = programmes.role_place_ids(actor).get(assignment.id, [])
    return render(
        request,
        "users/user.html",
        {
            "shown": user,
            "assignment": assignment,
            "flashes": flashes,
            "described": scope_descriptions(actor, rows),
            "role": assignment.role,
            "scope": assignment.scope,
            "chosen_places": places,
            "organization_id": assignment.organization_id,
            "subproject_id": assignment.subproject_id,
            **scope_choices(actor),
        },
    )


@router.post("/users/{user_id}/role", name="users_grant")
def grant(
    actor: CurrentActor,
    user_id: int,
    role: Annotated[str, Form(max_length=40)],
    scope: Annotated[str, Form(max_length=40)] = "",
    place_ids: Annotated[list[int] | None, Form()] = None,
    organization_id: Annotated[str, Form(max_length=20)] = "",
    subproject_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    programmes.grant_role(
        actor, user_id, _role_data(role, scope, place_ids or [], organization_id, subproject_id)
    )
    return RedirectResponse(f"/users/{user_id}?done=granted", status_code=303)


@router.post("/users/{user_id}/revoke", name="users_revoke")
def revoke(actor: CurrentActor, user_id: int) -> Response:
    programmes.revoke_role(actor, user_id)
    return RedirectResponse("/users?done=revoked", status_code=303)


@router.post("/users/{user_id}/disable", name="users_disable")
def disable(actor: CurrentActor, user_id: int) -> Response:
    programmes.set_disabled(actor, user_id, True)
    return RedirectResponse(f"/users/{user_id}?done=disabled", status_code=303)


@router.post("/users/{user_id}/enable", name="users_enable")
def enable(actor: CurrentActor, user_id: int) -> Response:
    programmes.set_disabled(actor, user_id, False)
    return RedirectResponse(f"/users/{user_id}?done=enabled", status_code=303)
