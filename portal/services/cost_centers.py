"""Cost centres of a buying company: where a purchase is booked, and who manages it.

Reads rely on the session's tenant scope; writes take the organisation and filter by it too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.domain import catalog as rules
from portal.domain.messages import N_, Msg
from portal.extensions import db
from portal.models import CostCenter, Organization, User
from portal.services import audit
from portal.services.catalog import FieldProblem
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset
from portal.services.reference import change_active, record_changes

NAME_MAX = 120


BY_CODE = Order("cost-centres", Key(CostCenter.code), Key(CostCenter.id))


def list_cost_centers(*, status: str = "all", cursor: str | None = None,
                      per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """A page of the company's cost centres by code, with their managers (read by cursor from
    the (organization_id, code) index). Raises BadCursor for a cursor it did not give out."""
    stmt = select(CostCenter).options(joinedload(CostCenter.manager))
    if status == "active":
        stmt = stmt.where(CostCenter.is_active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(CostCenter.is_active.is_(False))
    return keyset(stmt, BY_CODE, cursor=cursor, per_page=per_page)


def active_cost_centers() -> list[CostCenter]:
    """For pickers (requisition header, approval rules)."""
    return list(
        db.session.scalars(
            select(CostCenter).where(CostCenter.is_active.is_(True)).order_by(CostCenter.code)
        )
    )


def find_cost_center(cost_center_id: int) -> CostCenter | None:
    """The cost centre with this id in the current organisation, or None (answer 404)."""
    return db.session.scalars(
        select(CostCenter)
        .options(joinedload(CostCenter.manager))
        .where(CostCenter.id == cost_center_id)
    ).first()


def eligible_managers(org: Organization) -> list[User]:
    """Active users of `org`, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.organization_id == org.id, User.is_active_flag.is_(True))
            .order_by(User.full_name)
        ).unique()
    )


def _checked(org: Organization, code: str, name: str, manager_id: int | None, cost_center=None):
    code = rules.normalize_code(code)
    if problem := rules.check_code(code):
        raise FieldProblem(problem, "code")
    stmt = select(CostCenter.id).where(
        CostCenter.organization_id == org.id, CostCenter.code == code
    )
    if cost_center is not None:
        stmt = stmt.where(CostCenter.id != cost_center.id)
    if db.session.scalars(stmt).first() is not None:
        raise FieldProblem(
            Msg(N_("Another cost centre already has the code %(code)s."), {"code": code}), "code"
        )
    name = " ".join((name or "").split())
    if not name:
        raise FieldProblem(Msg(N_("Enter the name.")), "name")
    if len(name) > NAME_MAX:
        raise FieldProblem(Msg(N_("At most %(max)s characters."), {"max": NAME_MAX}), "name")
    unchanged = cost_center is not None and cost_center.manager_id == manager_id
    if manager_id is not None and not unchanged:
        manager = db.session.scalars(
            select(User).where(
                User.id == manager_id,
                User.organization_id == org.id,
                User.is_active_flag.is_(True),
            )
        ).first()
        if manager is None:
            raise FieldProblem(Msg(N_("Choose an active user of your company.")), "manager_id")
    return code, name


def create_cost_center(
    org: Organization, *, code: str, name: str, manager_id: int | None, actor
) -> CostCenter:
    """Add a cost centre. The code is upper-cased and unique per company; the manager, if
    any, is an active user of the company. Raises FieldProblem otherwise."""
    code, name = _checked(org, code, name, manager_id)
    cost_center = CostCenter(
        organization_id=org.id, code=code, name=name, manager_id=manager_id, is_active=True
    )
    db.session.add(cost_center)
    db.session.flush()
    audit.record(
        actor=actor, action="cost_center.created", obj=cost_center,
        summary={"code": code, "name": name, "manager_id": manager_id},
    )
    return cost_center


def update_cost_center(
    cost_center: CostCenter, *, code: str, name: str, manager_id: int | None, actor
) -> CostCenter:
    """Change code, name or manager. A manager who was since deactivated may stay unchanged."""
    org = db.session.get(Organization, cost_center.organization_id)
    code, name = _checked(org, code, name, manager_id, cost_center)
    record_changes(cost_center, {"code": code, "name": name, "manager_id": manager_id},
                   actor=actor, action="cost_center.updated")
    return cost_center


def deactivate_cost_center(cost_center: CostCenter, *, actor) -> CostCenter:
    """No new requisitions may book on it; existing documents keep it."""
    change_active(cost_center, False, actor=actor, kind="cost_center",
                  already=Msg(N_("The cost centre is already inactive.")))
    return cost_center


def reactivate_cost_center(cost_center: CostCenter, *, actor) -> CostCenter:
    change_active(cost_center, True, actor=actor, kind="cost_center",
                  already=Msg(N_("The cost centre is already active.")))
    return cost_center
