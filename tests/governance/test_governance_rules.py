"""The framework's versioned parameters (GV-1, GV-2) and development-case routing (GV-3, GV-4): pure
functions on hand-computed cases."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.development_cases import CaseKind, DevelopmentCaseRequest, initial_route
from domain.framework_changes import FrameworkParameters, FrameworkProposal, FrameworkVersion, parameters_in_force

D = Decimal


# --- GV-1, GV-2: versioned parameters -----------------------------------------------------------------
def framework(version_id: str, effective: date, **changes) -> FrameworkVersion:
    return FrameworkVersion(id=version_id, title=version_id, kind="acute", effective_from=effective,
                            decided_on=date(2026, 10, 1), status="decided",
                            parameters=FrameworkParameters(price_list_year=effective.year).model_copy(update=changes))


def test_gv1_parameters_in_force_change_from_the_decided_date():
    base = framework("base", date(2022, 1, 1))
    change = framework("acute-1", date(2027, 3, 1), availability_target_percent=D("99.5"))
    assert parameters_in_force([base, change], date(2027, 2, 28)).parameters.availability_target_percent == D("99.1")
    assert parameters_in_force([base, change], date(2027, 3, 1)).parameters.availability_target_percent == D("99.5")
    with pytest.raises(LookupError):
        parameters_in_force([change], date(2026, 1, 1))


def test_gv1_defaults_restate_the_framework_and_feed_the_support_calendar():
    from domain.support_calendar import DEFAULT_HOURS

    parameters = FrameworkParameters(price_list_year=2026)
    assert parameters.availability_target_percent == D("99.1") and parameters.max_incidents_per_year == 5
    assert parameters.hours() == dict(DEFAULT_HOURS)
    primary, secondary = parameters.service_windows
    assert (primary.week_of_month, primary.starts.hour, primary.ends.hour) == (3, 18, 22)
    assert (secondary.days_after_primary, secondary.ends.hour) == (7, 21)


def test_gv1_acute_change_needs_a_change_in_law_and_yearly_takes_effect_on_1_january():
    parameters = FrameworkParameters(price_list_year=2027)
    with pytest.raises(ValidationError, match="GV-1"):
        FrameworkProposal(proposal_id="acute-x", kind="acute", title="t", effective_from=date(2027, 5, 1),
                          parameters=parameters)
    with pytest.raises(ValidationError, match="1 January"):
        FrameworkProposal(proposal_id="yearly-2027", kind="yearly", title="t", effective_from=date(2027, 2, 1),
                          parameters=parameters)


# --- GV-3, GV-4: development cases --------------------------------------------------------------------
def request(kind: CaseKind, cost: str, **extra) -> DevelopmentCaseRequest:
    return DevelopmentCaseRequest(case_id="DEV-X", title="t", kind=kind, unit_id="TR-KS", estimated_cost=D(cost),
                                  **extra)


@pytest.mark.parametrize(("kind", "cost", "threshold", "route"), [
    (CaseKind.CHANGE, "99999.99", "100000", "to_strategist"),
    (CaseKind.CHANGE, "100000.00", "100000", "to_steering_group"),
    (CaseKind.NEW_SYSTEM_SETUP, "5000", "100000", "to_strategist"),
    (CaseKind.NEW_SYSTEM_SETUP, "5000", "1000", "to_steering_group"),
    (CaseKind.ADDITION_TO_EXISTING, "900000", "100000", "to_strategist"),
    (CaseKind.PILOT, "900000", "100000", "to_forum"),
])
def test_gv3_gv4_routing_by_kind_and_configurable_size(kind, cost, threshold, route):
    assert initial_route(request(kind, cost), D(threshold)) == route


def test_gv3_gv4_what_is_not_a_development_case():
    with pytest.raises(ValidationError, match="GV-4"):
        request(CaseKind.PILOT, "0", callable_off_within_procured_agreements=True)
    with pytest.raises(ValidationError, match="GV-3.*APP-TRESERVA"):
        request(CaseKind.CHANGE, "0", covered_by_agreement_id="APP-TRESERVA")
