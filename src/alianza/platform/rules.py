"""The rules a refusal names (``Refused(rule=...)``), as people read them.

A rule's name is also its code in the API's errors (``rule_code``); these are its words, said
in the reader's language wherever a refusal or a note names the rule."""

from __future__ import annotations

from alianza.problems import Message

RULE_NAMES: dict[str, Message] = {
    "roles": Message("permissions of your role"),
    "call regions": Message("the call's regions"),
    "call value chains": Message("the call's value chains"),
    "call windows": Message("the call's windows"),
    "call window": Message("the call's dates"),
    "families per alliance": Message("families per alliance"),
    "buyer letter of interest": Message("the buyer's letter of interest"),
    "member eligibility": Message("eligibility of the members"),
    "business plan": Message("a business plan is needed"),
    "business plan required": Message("a business plan, not a profile"),
    "financing plan": Message("the financing plan covers the costs"),
    "one score per member": Message("one score per member"),
    "scoring sheet": Message("the scoring sheet"),
    "max grant share": Message("maximum grant share"),
    "min counterpart share": Message("minimum counterpart share"),
    "ceiling per alliance": Message("ceiling per alliance"),
    "ceiling per family": Message("ceiling per family"),
    "minimum IRR": Message("minimum IRR"),
    "minimum NPV": Message("minimum NPV"),
    "share of women": Message("share of women"),
    "share of youth": Message("share of youth"),
    "committee scores": Message("committee scores"),
    "pass score": Message("pass score"),
    "conditions": Message("conditions of the approval"),
    "counterpart before agreement": Message("counterpart before the agreement"),
    "one disbursement plan": Message("one disbursement plan"),
    "tranches = grant": Message("the tranches add up to the grant"),
    "tranche n+1 after tranche n is justified and verified": Message(
        "a tranche after the previous one is justified and verified"
    ),
    "completion after every tranche": Message("completion after every tranche"),
    "subproject cycle": Message("the subproject cycle"),
    "steps in date order": Message("steps in date order"),
    "agreement before disbursement": Message("the agreement before disbursement"),
    "release once": Message("a tranche is released once"),
    "justify after release": Message("justification after release"),
    "evidence": Message("evidence"),
    "verify after justification": Message("verification after justification"),
    "tranches closed on completion": Message("tranches closed on completion"),
    "project funds": Message("project funds"),
    "plan format": Message("the plan format"),
    "counterpart_cash accounts": Message("the accounts a cash counterpart moves between"),
    "counterpart_in_kind accounts": Message("the accounts an in-kind counterpart moves between"),
}


def rule_name(rule: str) -> str:
    """The rule in words: a :class:`Message` for the rules above, else the name as it is."""
    return RULE_NAMES.get(rule, rule)
