"""Calibration and forecasts from the platform's records: the district's field records
(`platform/fieldrecords/records.py`) calibrate a scenario (`alianza.ladder.calibration`) and
the calibrated scenario runs the district forward (`alianza.ladder.forecast`).

Without a scenario of the caller's, the base is the programme's current kit catalogue with
the default policy; calibration replaces the kit yields (mean and spread) and the produce
prices the records show, and keeps the rest (reported as kept): the operating cost is not
recorded in the field (the records carry the catalogue's), nor are consumption and cash (the
forecast imputes each farmer's cash by the policy: `alianza.ladder.records.impute_cash`).

A district needs the records of at least :data:`MIN_FARMERS` farmers who own or bought a kit
before it is calibrated or forecast: fewer, and a standard error says little.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from alianza.ladder.calibration import MIN_OBSERVATIONS, Calibration, Estimate, calibrate
from alianza.ladder.forecast import Forecast, forecast
from alianza.ladder.records import impute_cash
from alianza.ladder.scenario import Policy, Population, Scenario
from alianza.ladder.seasons import season_end, season_label, season_start
from alianza.platform.access import Actor, Permission
from alianza.platform.errors import Refused
from alianza.platform.fieldrecords.records import FieldRecords, field_records
from alianza.problems import Message

MIN_FARMERS = 30
# Parameters the platform's records cannot inform (they carry the catalogue's value).
NOT_RECORDED = ("operating_cost_usd_per_season",)


CONSUMPTION_SHARE = "policy.consumption_share"


@dataclass(frozen=True)
class RecordsCalibration:
    """A scenario calibrated on the platform's records, and what came from them."""

    records: FieldRecords
    base: Scenario
    scenario: Scenario
    report: Calibration

    @property
    def from_records(self) -> list[Estimate]:
        """The parameters estimated from the records (not those carrying the catalogue's)."""
        return [
            e
            for e in self.report.estimates
            if e.estimate is not None and not e.parameter.endswith(NOT_RECORDED)
        ]

    @property
    def kept(self) -> list[Estimate]:
        """The parameters that keep the base's value (too few observations, or unrecorded)."""
        chosen = {e.parameter for e in self.from_records}
        return [e for e in self.report.estimates if e.parameter not in chosen]

    @property
    def kept_parameters(self) -> list[str]:
        """The parameters that keep the base's value, by name: the kept estimates, and the
        consumption share, which calibration estimates only from a consumption the field
        records do not carry."""
        names = [e.parameter for e in self.kept]
        if all(e.parameter != CONSUMPTION_SHARE for e in self.report.estimates):
            names.append(CONSUMPTION_SHARE)
        return names


def buying_farmers(records: FieldRecords) -> int:
    """Farmers with a kit owned or bought in the records."""
    table = records.table
    if table.num_rows == 0:
        return 0
    active = (np.asarray(table.column("units").to_pylist()) > 0) | (
        np.asarray(table.column("units_bought").to_pylist()) > 0
    )
    farmers = np.asarray(table.column("farmer_id").to_pylist(), dtype=object)
    return int(np.unique(farmers[active]).size)


def base_scenario(actor: Actor, records: FieldRecords, seasons: int = 2) -> Scenario:
    """The programme's current catalogue with the default policy, one district."""
    where = records.district or actor.programme().code
    return Scenario(
        name=f"{actor.programme().code} {where} (catalogue v{records.catalogue_version})",
        catalogue=records.catalogue,
        seasons=seasons,
        population=Population(farmers=max(records.farmers, 1), starting_kits={}),
        policy=Policy(),
    )


def _enough(records: FieldRecords) -> None:
    found = buying_farmers(records)
    if found < MIN_FARMERS:
        if records.district is None:
            reason = Message(
                "the programme has records of %(found)s farmers with kits; calibration and "
                "forecasts need at least %(least)s",
                found=found,
                least=MIN_FARMERS,
            )
        else:
            reason = Message(
                "%(district)s has records of %(found)s farmers with kits; calibration and "
                "forecasts need at least %(least)s",
                district=records.district,
                found=found,
                least=MIN_FARMERS,
            )
        raise Refused(
            reason,
            rule="enough records",
            field="district",
        )


def calibrate_from_records(
    actor: Actor,
    district: str | None = None,
    scenario: Scenario | None = None,
    as_of: date | None = None,
    min_observations: int = MIN_OBSERVATIONS,
    records: FieldRecords | None = None,
) -> RecordsCalibration:
    """Calibrate ``scenario`` (default: :func:`base_scenario`) on the records of the
    district (or of all the actor's scope reaches); refused below :data:`MIN_FARMERS`."""
    actor.require(Permission.FIELD_READ)
    records = records or field_records(actor, district, as_of)
    _enough(records)
    base = scenario or base_scenario(actor, records)
    calibrated, report = calibrate(base, records.table, min_observations)
    return RecordsCalibration(records, base, calibrated, report)


@dataclass(frozen=True)
class DistrictForecast:
    """A district's forecast from its records, with the calibration it ran on (if any) and
    the calendar seasons it covers."""

    forecast: Forecast
    records: FieldRecords
    calibration: RecordsCalibration | None
    season_labels: dict[int, str]  # forecast season (1 = next) -> "2025-3"


def district_forecast(
    actor: Actor,
    district: str,
    seasons: int = 2,
    replicates: int = 20,
    seed: int = 0,
    scenario: Scenario | None = None,
    as_of: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> DistrictForecast:
    """Kit demand, produce supply and prices of a district for the next ``seasons`` calendar
    seasons after its last recorded one: a given ``scenario`` as it is, else one calibrated on
    the district's records (each replicate then draws the estimates within their standard
    errors). Dates are the calendar seasons' (`alianza.ladder.seasons`)."""
    actor.require(Permission.FIELD_READ)
    if not 1 <= seasons <= 8:
        raise Refused(
            Message("a forecast covers 1 to 8 seasons"), rule="forecast length", field="seasons"
        )
    if not 2 <= replicates <= 1000:
        raise Refused(
            Message("a forecast runs 2 to 1,000 replicates"),
            rule="forecast length",
            field="replicates",
        )
    records = field_records(actor, district, as_of)
    _enough(records)
    calibration = None
    if scenario is None:
        calibration = calibrate_from_records(actor, district, records=records)
        scenario = calibration.scenario
    table = impute_cash(records.table, scenario)
    assert records.last_season is not None and records.district is not None  # _enough
    spy = records.seasons_per_year
    first = records.last_season + 1
    result = forecast(
        scenario,
        table,
        records.district,
        seasons=seasons,
        replicates=replicates,
        seed=seed,
        start=season_start(first, spy),
        progress=progress,
        calibration=calibration.report if calibration is not None else None,
    )
    # Calendar seasons' own dates (the simulator's are days_per_season long each).
    for row in (*result.kit_demand, *result.produce_supply, *result.prices):
        row.start = season_start(first + row.season - 1, spy)
        row.end = season_end(first + row.season - 1, spy)
    labels = {t: season_label(first + t - 1, spy) for t in range(1, seasons + 1)}
    return DistrictForecast(result, records, calibration, labels)
