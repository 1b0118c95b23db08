"""Opening calls for proposals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from alianza.platform.access import Actor, Permission, get, scoped
from alianza.platform.audit.service import jsonable, now, record_for
from alianza.platform.calls.models import Call
from alianza.platform.calls.schemas import CallIn, ScoringSheet
from alianza.platform.errors import Refused
from alianza.platform.registry.models import Place
from alianza.platform.validation import validated
from alianza.problems import Message


def open_call(actor: Actor, data: CallIn | dict[str, Any]) -> Call:
    actor.require(Permission.CALLS_MANAGE)
    call_in = validated(CallIn, data)
    for district_id in call_in.district_ids:
        if get(actor, Place, district_id).kind != "district":
            raise Refused(
                Message("place %(place)s is not a district", place=district_id),
                rule="call regions",
            )
    clash = actor.session.scalar(scoped(actor, select(Call.id)).where(Call.code == call_in.code))
    if clash is not None:
        raise Refused(Message("call '%(code)s' exists", code=call_in.code), rule="unique call code")
    fields = call_in.model_dump()
    for name in ("windows", "member_rules", "scoring_sheet"):
        fields[name] = jsonable(fields[name])
    call = Call(programme_id=actor.programme_id, created_at=now(), **fields)
    actor.session.add(call)
    record_for(actor, "create", call)
    return call


def scoring_sheet(call: Call) -> ScoringSheet:
    return ScoringSheet.model_validate(call.scoring_sheet)


def calls(actor: Actor) -> list[Call]:
    """The programme's calls for proposals, newest first (calls are public to the programme)."""
    return list(
        actor.session.scalars(
            scoped(actor, select(Call)).order_by(Call.opens_on.desc(), Call.id.desc())
        )
    )


def get_call(actor: Actor, call_id: int) -> Call:
    """One call of the programme (calls are public to the programme)."""
    return get(actor, Call, call_id)
