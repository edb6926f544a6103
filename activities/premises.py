"""Side effects of the premises projects (rules FC-1 … FC-4): the register row and its audit log."""
from __future__ import annotations


from activities.audit_trail import append_audit_line
from activities.effects import WithSessions
from db.premises_models import PremisesProject, PremisesTransition
from domain.premises import PremisesMirror
from workflows.premises import MIRROR_PROJECT


class PremisesActivities(WithSessions):
    @MIRROR_PROJECT.defn
    def mirror_transition(self, mirror: PremisesMirror) -> None:
        """Keep the project's row and its audit log (who, when, document reference) in step."""
        record, project = mirror.record, mirror.project
        fields = dict(
            municipality=project.municipality, site_name=project.site_name, address=project.address,
            unit_id=project.unit_id, property_owner=project.property_owner, site_class=project.site_class.value,
            power_requirement=mirror.power_requirement.value, state=mirror.state,
            connection_delivered=mirror.connection_delivered, power_requirement_met=mirror.power_requirement_met,
            requirements=mirror.requirements, updated_at=record.at)
        with self.sessions.begin() as s:
            row = s.get(PremisesProject, project.project_id)
            if row is None:
                s.add(PremisesProject(project_id=project.project_id, workflow_id=mirror.workflow_id,
                                      created_at=record.at, **fields))
                s.flush()
            if not append_audit_line(s, PremisesTransition, "project_id", project.project_id, record):
                return  # a retried activity: this line is already mirrored
            row = s.get(PremisesProject, project.project_id)
            for name, value in fields.items():
                setattr(row, name, value)

    def all(self) -> list:
        return [self.mirror_transition]
