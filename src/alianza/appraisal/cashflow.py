"""From a plan to its yearly cash flows, the way RuralInvest builds them.

Everything here is computed for years of operation 1..N as arrays, one row per plan
item. A plan's flows are the with-project flows minus, where given, the without-project
flows (the increment is what the project is appraised on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from alianza.appraisal.money import round_cents
from alianza.appraisal.plan import Activity, GeneralCost, Investment, Plan, Situation

Array = NDArray[np.float64]

BENEFITS = ("sales", "own_use", "salvage", "residual")
# Income is valued net of its transport (RuralInvest's income lines), so the transport of
# what is sold is not an operating cost here; the working capital pays it in its months.
OPERATING = ("inputs", "labour")
COSTS = (*OPERATING, "general", "maintenance", "replacements", "investment")
COMPONENTS = BENEFITS + COSTS
IS_COST = np.array([name in COSTS for name in COMPONENTS])


@dataclass(frozen=True)
class AssetSchedule:
    """Yearly money of investment items (rows) over years 1..N (columns)."""

    investment: Array  # first purchase, in the item's `begin` year
    replacements: Array  # purchases again at the end of each life
    salvage: Array  # salvage value cashed
    maintenance: Array  # per item and year of use
    residual: Array  # value left at the end of year N (only column N is non-zero)


def asset_schedule(items: list[Investment], horizon: int) -> AssetSchedule:
    """Purchases, replacements, salvage, maintenance and residual value of `items`.

    An item bought in year b with life L and `replace` is bought again in years b + kL
    (k >= 1, within N), its salvage cashed in that same year, and maintained every year
    from b on. An item not replaced is maintained in years b..b+L-1 and its salvage is
    cashed in year b+L when that is within N. At the end of year N an item still in use
    (replaced, or not replaced with b+L-1 > N) keeps a residual value per unit of
        (unit_cost - salvage) / L * years_left + salvage,
        years_left = L - ((N - b + 1) mod L), taken as 0 when it equals L.
    Labour and services are spent once in year b.
    """
    n_items = len(items)
    shape = (n_items, horizon)
    if n_items == 0:
        empty = np.zeros(shape)
        return AssetSchedule(empty, empty, empty, empty, empty)
    quantity = np.array([item.quantity for item in items])
    unit_cost = np.array([item.unit_cost for item in items])
    begin = np.array([item.begin for item in items])
    is_asset = np.array([item.kind == "asset" for item in items])
    life = np.array([item.life_years or horizon + 1 for item in items])
    salvage = np.array([item.salvage for item in items])
    maintenance = np.array([item.maintenance for item in items])
    replace = np.array([item.replace for item in items]) & is_asset

    years = np.arange(1, horizon + 1)
    age = years[None, :] - begin[:, None]  # 0 in the year the item is bought
    in_service = age >= 0
    first = age == 0
    renewed = in_service & ~first & (age % life[:, None] == 0) & replace[:, None]
    life_ended = (age == life[:, None]) & ~replace[:, None] & is_asset[:, None]
    maintained = np.where(replace[:, None], in_service, in_service & (age < life[:, None]))

    used = horizon - begin + 1
    years_left = life - used % life
    years_left = np.where(years_left == life, 0, years_left)
    still_in_use = is_asset & (replace | (begin + life - 1 > horizon))
    residual_per_unit = (unit_cost - salvage) / life * years_left + salvage
    residual = np.zeros(shape)
    residual[:, -1] = np.where(still_in_use, residual_per_unit * quantity, 0.0)

    cost = (quantity * unit_cost)[:, None]
    return AssetSchedule(
        investment=np.where(first, cost, 0.0),
        replacements=np.where(renewed, cost, 0.0),
        salvage=np.where(renewed | life_ended, (quantity * salvage)[:, None], 0.0),
        maintenance=np.where(
            maintained & is_asset[:, None], (quantity * maintenance)[:, None], 0.0
        ),
        residual=residual,
    )


def by_year(values: list[float] | float, horizon: int) -> Array:
    """A value per year 1..N from a list given by year whose last value repeats."""
    if not isinstance(values, list):
        return np.full(horizon, float(values))
    padded = list(values[:horizon]) + [values[-1]] * max(0, horizon - len(values))
    return np.array(padded, dtype=np.float64)


def units_produced(activity: Activity, horizon: int) -> Array:
    """Activity units made in each year: production per cycle x cycles a year. A one-year
    horizon is a profile's typical year, at full production (the last value given)."""
    production = activity.production[-1:] if horizon == 1 else activity.production
    return by_year(production, horizon) * activity.cycles_per_year


@dataclass(frozen=True)
class ActivityFlows:
    """Yearly money of one activity (each an array over years 1..N).

    The flows value income as RuralInvest does, quantity x (price - transport), own use
    included; the cash lines (for the working capital) move the money of what is sold,
    and of what is bought and paid, in their calendar months."""

    sales: Array  # quantity sold x (price - transport)
    own_use: Array  # quantity kept x (price - transport): valued, not cash
    inputs: Array  # all inputs, in kind included: quantity x (price + transport)
    labour: Array  # all labour at its wage, unpaid included
    cash_sales: Array  # cash in: quantity sold x price
    cash_transport: Array  # cash out: quantity sold x transport
    cash_inputs: Array  # cash out: quantity bought x (price + transport)
    paid_labour: Array  # cash out: the labour paid


def activity_flows(activity: Activity, horizon: int) -> ActivityFlows:
    units = units_produced(activity, horizon)

    def per_unit(values: list[float]) -> Array:
        return float(sum(values)) * units

    income, inputs, labour = activity.income, activity.inputs, activity.labour
    return ActivityFlows(
        sales=per_unit([(x.quantity - x.own_use) * (x.price - x.transport) for x in income]),
        own_use=per_unit([x.own_use * (x.price - x.transport) for x in income]),
        inputs=per_unit([x.quantity * (x.price + x.transport) for x in inputs]),
        labour=per_unit([x.quantity * x.wage for x in labour]),
        cash_sales=per_unit([(x.quantity - x.own_use) * x.price for x in income]),
        cash_transport=per_unit([(x.quantity - x.own_use) * x.transport for x in income]),
        cash_inputs=per_unit([(x.quantity - x.in_kind) * (x.price + x.transport) for x in inputs]),
        paid_labour=per_unit([(x.quantity - x.unpaid) * x.wage for x in labour]),
    )


def _by_year_or_typical(values: list[float] | float, horizon: int) -> Array:
    """`by_year`, except that a one-year horizon (a profile) takes the last value."""
    return by_year(values[-1:] if horizon == 1 and isinstance(values, list) else values, horizon)


def general_cost_by_year(cost: GeneralCost, horizon: int, cash_only: bool = False) -> Array:
    """A general cost's money each year, quantity x unit_cost; `cash_only` leaves out what
    is given in kind: (quantity - in_kind) x unit_cost - in_kind_amount."""
    quantity = _by_year_or_typical(cost.quantity, horizon)
    if not cash_only:
        return quantity * cost.unit_cost
    in_kind_amount = _by_year_or_typical(cost.in_kind_amount, horizon)
    return (quantity - cost.in_kind) * cost.unit_cost - in_kind_amount


@dataclass(frozen=True)
class CashFlowTable:
    """The yearly flows of a plan by component, years 1..N (the increment over the
    without-project situation where the plan gives one)."""

    horizon: int
    components: dict[str, Array]
    # Grants for investment items, by the year their item is bought (years 1..N): those of
    # the situation with the project less those of the situation without it.
    investment_grants: Array
    # The working-capital grant, with the project less without it.
    working_capital_grant: float = 0.0

    def __getitem__(self, component: str) -> Array:
        return self.components[component]

    @property
    def operating(self) -> Array:
        return sum((self.components[name] for name in OPERATING), np.zeros(self.horizon))

    @property
    def benefits(self) -> Array:
        return sum((self.components[name] for name in BENEFITS), np.zeros(self.horizon))

    @property
    def costs(self) -> Array:
        return sum((self.components[name] for name in COSTS), np.zeros(self.horizon))

    @property
    def net(self) -> Array:
        """net_t = sales + own use + salvage + residual - all costs, t = 1..N."""
        return self.benefits - self.costs

    @property
    def annual_net_income(self) -> float:
        """RuralInvest's annual net income: year N's whole net flow, rounded to the cent
        (its investments, replacements and salvage included), less the residual value
        (rounded to the cent as reported): round(net_N) - round(residual_N)."""
        return float(round_cents(round_cents(self.net[-1]) - round_cents(self["residual"][-1])))


def situation_components(situation: Plan | Situation, horizon: int) -> dict[str, Array]:
    schedule = asset_schedule(situation.investments, horizon)
    components = {name: np.zeros(horizon) for name in COMPONENTS}
    for name in ("investment", "replacements", "salvage", "maintenance", "residual"):
        components[name] = getattr(schedule, name).sum(axis=0)
    for activity in situation.activities:
        flows = activity_flows(activity, horizon)
        for name in ("sales", "own_use", "inputs", "labour"):
            components[name] += getattr(flows, name)
    for cost in situation.general_costs:
        components["general"] += general_cost_by_year(cost, horizon)
    return components


def investment_grants(items: list[Investment], horizon: int) -> Array:
    """Grants for investment items, by the year (1..N) their item is bought."""
    grants = np.zeros(horizon)
    for item in items:
        grants[item.begin - 1] += item.total_grant
    return grants


def cash_flow_table(plan: Plan) -> CashFlowTable:
    """The plan's yearly flows by component, with-project minus without-project; grants
    likewise, grants(with) - grants(without)."""
    horizon = plan.horizon
    components = situation_components(plan, horizon)
    grants = investment_grants(plan.investments, horizon)
    working_capital_grant = plan.working_capital.grant
    if plan.without_project is not None:
        without = situation_components(plan.without_project, horizon)
        components = {name: components[name] - without[name] for name in COMPONENTS}
        grants = grants - investment_grants(plan.without_project.investments, horizon)
        working_capital_grant -= plan.without_project.working_capital.grant
    return CashFlowTable(horizon, components, grants, working_capital_grant)


def project_flows(yearly_net: Array, first_year_investment: Array | float) -> Array:
    """Flows t = 0..N: t=0 holds minus the year-1 investment, t=1 the year-1 net plus
    that investment, t>=2 the year's net. Works on the last axis, for batches too."""
    yearly_net = np.asarray(yearly_net, dtype=np.float64)
    invest = np.asarray(first_year_investment, dtype=np.float64)
    flows = np.concatenate([-invest[..., None], yearly_net], axis=-1)
    flows[..., 1] += invest
    return flows


def grant_flows(table: CashFlowTable) -> Array:
    """What the applicant's flows add back to the total flows, by t = 0..N: grants for
    year-1 items at t=0, for items bought in a later year b at t=b, and the
    working-capital grant at t=1 (each with the project less without it). Own
    contributions stay in (the applicant pays them). Each amount is rounded to the cent,
    as RuralInvest rounds the year-1 grant it moves to t=0."""
    grants = np.zeros(table.horizon + 1)
    grants[0] = table.investment_grants[0]
    grants[2:] = table.investment_grants[1:]
    grants[1] += table.working_capital_grant
    return round_cents(grants)


def round_flows(raw: ArrayLike) -> Array:
    """Flows t = 0..N rounded to the cent in RuralInvest's order (last axis is t).

    RuralInvest rounds each year's whole net flow, year-1 investment included, and then
    moves the year-1 investment to t=0 unrounded: with raw_0 = -(year-1 investment) (plus
    its grants, already in cents, for the applicant) and raw_1 the rest of year 1,
        flow_0 = raw_0,  flow_1 = round(raw_0 + raw_1) - raw_0,  flow_t = round(raw_t).
    flow_0 + flow_1 is then year 1's rounded net, and no total drifts by a cent when a
    line lands on a half cent."""
    raw = np.asarray(raw, dtype=np.float64)
    flows = round_cents(raw)
    if raw.shape[-1] > 1:
        flows[..., 0] = raw[..., 0]
        flows[..., 1] = round_cents(raw[..., 0] + raw[..., 1]) - raw[..., 0]
    return flows


def flow_lines(table: CashFlowTable) -> Array:
    """The flows by component (rows in COMPONENTS order, costs where IS_COST) over
    t = 0..N, with the year-1 investment at t=0 (see `project_flows`)."""
    lines = np.zeros((len(COMPONENTS), table.horizon + 1))
    for row, name in enumerate(COMPONENTS):
        lines[row, 1:] = table[name]
    investment = lines[COMPONENTS.index("investment")]
    investment[0], investment[1] = investment[1], 0.0
    return lines
