"""Side effects of the agreement processes (rules AG-1 … AG-8) and the mirror every AG/GV process
writes. Idempotent: versions by workflow id, transitions by (workflow id, seq), upserts by key."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from temporalio.exceptions import ApplicationError

from activities.audit_trail import append_audit_line
from activities.effects import WithSessions
from db.agreement_queries import price_list_for
from db.agreement_models import (
    AgreementCostLineRow,
    AgreementRow,
    AgreementVersionRow,
    ApplicationPriceRow,
    GovernanceProcessRow,
    GovernanceTransitionRow,
    ServiceDefinitionRow,
)
from domain.agreements import (
    ActivateVersion,
    AgreementContent,
    CurrentAgreement,
    CurrentAgreementRequest,
    RegisterAgreement,
    RevisionCandidates,
)
from domain.common import ProcessMirror
from domain.costing import PriceList, PriceListRequest
from domain.service_introduction import ServiceDefinition, ServiceDefinitionUpsert
from workflows.agreements import (
    ACTIVATE_VERSION,
    CURRENT_AGREEMENT,
    MIRROR_PROCESS,
    PRICE_LIST,
    REGISTER_AGREEMENT,
    REVISION_CANDIDATES,
    SERVICE_DEFINITION,
    UPSERT_SERVICE_DEFINITION,
)


def invalid(message: str) -> ApplicationError:
    """A business refusal: not retried; the API answers 422."""
    return ApplicationError(message, type="InvalidCommand", non_retryable=True)


class AgreementActivities(WithSessions):
    """Holds the session factory; the workflows call these by name."""

    @PRICE_LIST.defn
    def price_list(self, request: PriceListRequest) -> PriceList:
        """Rule AG-5: the price list in force in the year the costs are for."""
        with self.sessions() as s:
            return price_list_for(s, request.year)

    @REGISTER_AGREEMENT.defn
    def register(self, request: RegisterAgreement) -> None:
        """Rule AG-1: IT draws up an agreement for every application it operates."""
        content = request.content
        with self.sessions.begin() as s:
            row = s.get(AgreementRow, content.agreement_id)
            if row is not None:
                if row.workflow_id != request.workflow_id:
                    raise invalid(f"agreement_id: agreement {content.agreement_id!r} already exists")
                return
            s.add(AgreementRow(id=content.agreement_id, application=content.application,
                               application_kind=content.application_kind.value, variant=content.variant.value,
                               unit_id=content.unit_id, system_owner_ref=content.system_owner_ref, status="draft",
                               workflow_id=request.workflow_id, created_at=request.at))

    @CURRENT_AGREEMENT.defn
    def current(self, request: CurrentAgreementRequest) -> CurrentAgreement:
        """The latest approved version: what the yearly revision starts from (rule AG-4)."""
        with self.sessions() as s:
            row = s.scalars(select(AgreementVersionRow).where(
                AgreementVersionRow.agreement_id == request.agreement_id)
                .order_by(AgreementVersionRow.version.desc())).first()
            if row is None:
                raise invalid(f"agreement_id: agreement {request.agreement_id!r} has no approved version")
            return CurrentAgreement(version=row.version, content=AgreementContent.model_validate(row.content))

    @ACTIVATE_VERSION.defn
    def activate_version(self, request: ActivateVersion) -> int:
        """Rules AG-4, AG-6: the approved version is kept, in force from 1 January of its year."""
        with self.sessions.begin() as s:
            done = s.scalar(select(AgreementVersionRow.version).where(
                AgreementVersionRow.workflow_id == request.workflow_id))
            if done is not None:
                return done
            agreement = s.get(AgreementRow, request.agreement_id)
            if agreement is None:
                raise invalid(f"agreement_id: no agreement {request.agreement_id!r}")
            number = (s.scalar(select(func.max(AgreementVersionRow.version)).where(
                AgreementVersionRow.agreement_id == request.agreement_id)) or 0) + 1
            content, cost = request.content, request.cost
            s.add(AgreementVersionRow(
                agreement_id=request.agreement_id, version=number, for_year=request.for_year,
                effective_from=date(request.for_year, 1, 1), price_year=cost.year, total=cost.total,
                content=content.model_dump(mode="json"),
                approved_by={a.party: a.actor for a in request.approvals}, workflow_id=request.workflow_id,
                created_at=request.at))
            for line in cost.lines:
                s.add(AgreementCostLineRow(
                    agreement_id=request.agreement_id, version=number, item=line.item,
                    component=line.component.value, quantity=line.quantity, unit=line.unit,
                    unit_price=line.unit_price, price_year=line.price_year, amount=line.amount))
            agreement.current_version = number
            agreement.application, agreement.variant = content.application, content.variant.value
            agreement.unit_id, agreement.system_owner_ref = content.unit_id, content.system_owner_ref
            if agreement.status == "draft":
                agreement.status = "active"
            return number

    @REVISION_CANDIDATES.defn
    def revision_candidates(self, request: RevisionCandidates) -> list[str]:
        """Rule AG-4: every active agreement charged in the coming year and not yet revised for it (AG-6)."""
        with self.sessions() as s:
            revised = select(AgreementVersionRow.agreement_id).where(
                AgreementVersionRow.for_year >= request.for_year)
            query = select(AgreementRow.id).where(
                AgreementRow.status.in_(("active", "terminated")),
                or_(AgreementRow.terminated_on.is_(None),
                    AgreementRow.terminated_on >= date(request.for_year, 1, 1)),
                AgreementRow.id.not_in(revised),
            ).order_by(AgreementRow.id)
            return list(s.scalars(query))

    @UPSERT_SERVICE_DEFINITION.defn
    def upsert_service_definition(self, request: ServiceDefinitionUpsert) -> None:
        """Rule AG-7: the description for the framework assignment; once priced by
        tjänstefieringsgruppen, the price enters the coming year's price list."""
        d = request.definition
        with self.sessions.begin() as s:
            s.merge(ServiceDefinitionRow(
                code=d.code, name=d.name, description=d.description, component=d.component.value if d.component else None,
                unit=d.unit, status=d.status, for_year=d.for_year, unit_price=d.unit_price,
                workflow_id=request.workflow_id, updated_by=request.actor, updated_at=request.at))
            if d.status == "priced":
                assert d.for_year is not None and d.unit_price is not None and d.component and d.unit
                s.merge(ApplicationPriceRow(year=d.for_year, item=d.code, component=d.component.value, unit=d.unit,
                                            unit_price=d.unit_price, description=d.name,
                                            set_by=f"tjänstefieringsgruppen ({request.actor})"))

    @SERVICE_DEFINITION.defn
    def service_definition(self, code: str) -> ServiceDefinition | None:
        """Rule AG-7: does the service already have a definition?"""
        with self.sessions() as s:
            row = s.get(ServiceDefinitionRow, code)
            return None if row is None else ServiceDefinition.model_validate(row, from_attributes=True)

    @MIRROR_PROCESS.defn
    def mirror(self, mirror: ProcessMirror) -> None:
        """Keep the process row and its audit log in step with the workflow."""
        record = mirror.record
        with self.sessions.begin() as s:
            row = s.get(GovernanceProcessRow, mirror.workflow_id)
            if row is None:
                row = GovernanceProcessRow(workflow_id=mirror.workflow_id, process=mirror.process,
                                           subject=mirror.subject, started_at=record.at)
                s.add(row)
            row.state, row.updated_at, row.data = mirror.state, record.at, mirror.data
            append_audit_line(s, GovernanceTransitionRow, "workflow_id", mirror.workflow_id, record)

    def all(self) -> list:
        return [self.price_list, self.register, self.current, self.activate_version, self.revision_candidates,
                self.service_definition, self.upsert_service_definition, self.mirror]
