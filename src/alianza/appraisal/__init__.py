"""Business-plan appraisal: plan format, cash flows and indicators (pure computation).

from alianza.appraisal import load_plan, evaluate
report = evaluate(load_plan("examples/plans/fruit-veg-processing.plan.yaml"))
report.npv, report.irr.value, report.to_dict()
"""

from alianza.appraisal.evaluate import Appraisal, ProfileAppraisal, ProjectAppraisal, evaluate
from alianza.appraisal.indicators import Irr, irr, npv, payback, xirr, xnpv
from alianza.appraisal.plan import Plan, PlanError, load_plan, parse_plan, plan_json_schema
from alianza.appraisal.sensitivity import RiskOptions

__all__ = [
    "Appraisal",
    "Irr",
    "Plan",
    "PlanError",
    "ProfileAppraisal",
    "ProjectAppraisal",
    "RiskOptions",
    "evaluate",
    "irr",
    "load_plan",
    "npv",
    "parse_plan",
    "payback",
    "plan_json_schema",
    "xirr",
    "xnpv",
]
