"""Side effects of the framework's change process (rules GV-1, GV-2): decisions with their minutes,
the decided version with its price list, and its activation from the effective date."""
from __future__ import annotations

from datetime import date, timedelta

from pydantic import ValidationError
from sqlalchemy import select

from activities.agreements import invalid
from activities.effects import WithSessions, refusals
from db.agreement_models import ApplicationPriceRow, FrameworkDecisionRow, FrameworkVersionRow, ServiceDefinitionRow
from db.agreement_queries import price_list_for
from db.governance_queries import checked_equipment_price, framework_in_force, yearly_revision_conflict
from db.models import Municipality, PriceRow, RenewalPolicy
from domain.framework_changes import (
    ActivateFrameworkVersion,
    FrameworkProposal,
    FrameworkVersion,
    RecordDecision,
    RecordFrameworkVersion,
    YearlyDraftRequest,
)
from workflows.governance import (
    ACTIVATE_FRAMEWORK_VERSION,
    DRAFT_YEARLY_PROPOSAL,
    RECORD_DECISION,
    RECORD_FRAMEWORK_VERSION,
    VERSION_STATUS,
)


class GovernanceActivities(WithSessions):
    @RECORD_DECISION.defn
    def record_decision(self, request: RecordDecision) -> None:
        """Rule GV-2: each step's decision, date and minutes reference."""
        r = request.record
        with self.sessions.begin() as s:
            exists = s.scalar(select(FrameworkDecisionRow.id).where(
                FrameworkDecisionRow.workflow_id == request.workflow_id, FrameworkDecisionRow.seq == request.seq))
            if exists is None:
                s.add(FrameworkDecisionRow(
                    workflow_id=request.workflow_id, proposal_id=request.proposal_id, seq=request.seq, body=r.body,
                    municipality=r.municipality, decision=r.decision, decided_on=r.decided_on,
                    minutes_ref=r.minutes_ref, reason=r.reason, actor=r.actor, at=r.at))

    @RECORD_FRAMEWORK_VERSION.defn
    def record_framework_version(self, request: RecordFrameworkVersion) -> None:
        """Rule GV-2: samverkansnämnd it decides the assignment, its service catalogue and the price
        list of its year (AG-5); the version applies from its effective date."""
        v = request.version
        with self.sessions.begin() as s:
            row = s.get(FrameworkVersionRow, v.id)
            if row is not None and row.workflow_id != request.workflow_id:
                raise invalid(f"proposal_id: framework version {v.id!r} already exists")
            conflict = yearly_revision_conflict(s, v.id, v.effective_from, request.supersedes, v.kind)
            if conflict is not None:
                raise invalid(f"supersedes: rule GV-1: one yearly revision per year; {conflict.id!r} is already decided "
                              f"for {v.effective_from.year}: a later change supersedes it explicitly")
            if request.supersedes is not None:
                replaced = s.get(FrameworkVersionRow, request.supersedes)
                if replaced is not None and replaced.id != v.id:
                    replaced.status = "superseded"
            s.merge(FrameworkVersionRow(
                id=v.id, title=v.title, kind=v.kind, effective_from=v.effective_from, decided_on=v.decided_on,
                minutes_ref=v.minutes_ref, status="decided" if row is None else row.status,
                parameters=v.parameters.model_dump(mode="json"), services=list(v.services),
                workflow_id=request.workflow_id, activated_at=row.activated_at if row else None))
            for equipment_price in request.equipment_prices:  # rules EQ-4, AG-5: the equipment price list
                try:
                    checked = checked_equipment_price(s, equipment_price)
                except ValueError as error:
                    raise invalid(str(error)) from error
                s.merge(PriceRow(**checked.model_dump()))
            for price in request.prices:
                s.merge(ApplicationPriceRow(
                    year=price.year, item=price.item, component=price.component.value, unit=price.unit,
                    unit_price=price.unit_price, description=price.description,
                    set_by="samverkansnämnd it", framework_version_id=v.id))

    @ACTIVATE_FRAMEWORK_VERSION.defn
    def activate_framework_version(self, request: ActivateFrameworkVersion) -> list[str]:
        """Rule GV-1: from its date the version is in force: the equipment process's renewal periods
        (EQ-5) follow its parameters and its services are in the catalogue (AG-7)."""
        with self.sessions.begin() as s:
            row = s.get(FrameworkVersionRow, request.version_id)
            if row is None:
                raise invalid(f"no framework version {request.version_id!r}")
            if row.status == "superseded":  # rule GV-1: a later yearly revision replaced it before its date
                return []
            version = FrameworkVersion.model_validate(row, from_attributes=True)
            row.status = "in_force"
            row.activated_at = row.activated_at or request.at
            known = set(s.scalars(select(Municipality.code)))
            written = []
            for period in version.parameters.renewal_periods:
                if period.municipality in known:
                    s.merge(RenewalPolicy(category=period.category.value, municipality=period.municipality,
                                          renewal_months=period.renewal_months))
                    written.append(f"{period.category.value}/{period.municipality}={period.renewal_months}")
            for code in version.services:
                service = s.get(ServiceDefinitionRow, code)
                if service is not None:
                    service.status = "in_force"
            return written

    @VERSION_STATUS.defn
    def version_status(self, version_id: str) -> str:
        """Rule GV-1: whether a decided version was superseded before its date ("" when unknown)."""
        with self.sessions() as s:
            row = s.get(FrameworkVersionRow, version_id)
            return row.status if row is not None else ""

    @DRAFT_YEARLY_PROPOSAL.defn
    def draft_yearly_proposal(self, request: YearlyDraftRequest) -> FrameworkProposal:
        """Rule GV-1: the yearly revision starts from the parameters in force, the services priced for
        the year (AG-7) and the price list carried forward (AG-5); it-forum utveckling revises it."""
        year = request.year
        with self.sessions() as s:
            current = framework_in_force(s, date(year, 1, 1) - timedelta(days=1))
            services = list(s.scalars(select(ServiceDefinitionRow.code).where(
                ServiceDefinitionRow.status == "priced", ServiceDefinitionRow.for_year == year)
                .order_by(ServiceDefinitionRow.code)))
            prices = [p.model_copy(update={"year": year}) for p in price_list_for(s, year).items.values()]
        # validated here as the workflow will read it: a draft it cannot read (a year past the calendar) fails
        # this step once, as a refusal, instead of failing the round's workflow task forever (issue 20)
        with refusals({ValidationError: "InvalidCommand"}):
            proposal = FrameworkProposal(
                proposal_id=f"yearly-{year}", kind="yearly", title=f"Ramuppdrag IT {year}",
                summary=f"Yearly revision from {current.title}", effective_from=date(year, 1, 1),
                parameters=current.parameters.model_copy(update={"price_list_year": year}),
                services=sorted(set(current.services) | set(services)), prices=prices)
            return FrameworkProposal.model_validate_json(proposal.model_dump_json())

    def all(self) -> list:
        return [self.record_decision, self.record_framework_version, self.activate_framework_version,
                self.version_status, self.draft_yearly_proposal]
