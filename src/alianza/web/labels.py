"""The names people read for the platform's enums (roles, scopes, states, permissions), marked
for translation; templates show them with ``role_label``, ``state_label``, ``scope_label``."""

from __future__ import annotations

from alianza.platform.access import Role, ScopeKind
from alianza.platform.subprojects.states import State
from alianza.web.i18n import N_

ROLES = {
    Role.ADMINISTRATOR: N_("Administrator"),
    Role.PROGRAMME_MANAGER: N_("Programme manager"),
    Role.EVALUATOR: N_("Evaluator (committee member)"),
    Role.FIELD_OFFICER: N_("Field officer"),
    Role.PO_REPRESENTATIVE: N_("Producer organization representative"),
    Role.BUYER: N_("Buyer"),
    Role.LENDER: N_("Lender"),
    Role.AUDITOR: N_("Auditor"),
}
SCOPES = {
    ScopeKind.PROGRAMME: N_("the whole programme"),
    ScopeKind.PLACES: N_("some places"),
    ScopeKind.ORGANIZATION: N_("one producer organization"),
    ScopeKind.BUYER: N_("one buyer"),
    ScopeKind.LENDER: N_("one lender"),
    ScopeKind.ALLIANCE: N_("one alliance"),
    ScopeKind.ASSIGNED: N_("the subprojects assigned"),
}
STATES = {
    State.PROFILE_SUBMITTED: N_("Profile submitted"),
    State.ELIGIBLE: N_("Eligible"),
    State.INELIGIBLE: N_("Ineligible"),
    State.BUSINESS_PLAN_SUBMITTED: N_("Business plan submitted"),
    State.UNDER_EVALUATION: N_("Under evaluation"),
    State.APPROVED: N_("Approved"),
    State.APPROVED_WITH_CONDITIONS: N_("Approved with conditions"),
    State.REJECTED: N_("Rejected"),
    State.COUNTERPART_PAID: N_("Counterpart paid"),
    State.AGREEMENT_SIGNED: N_("Agreement signed"),
    State.IN_EXECUTION: N_("In execution"),
    State.COMPLETED: N_("Completed"),
    State.POST_PROJECT_MONITORING: N_("Post-project monitoring"),
}
