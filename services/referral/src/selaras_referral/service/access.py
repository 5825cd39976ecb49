"""Who sees and who acts on cases and referrals (DESIGN section 8), in Python and in SQL.

- Cases: staff (facilitator, front and back office, supervisor, manager) and the `service`
  role whose jurisdiction covers the household's village. Partners and administrators
  never read cases: a case holds personal data, a referral does not.
- Sensitive cases (violence, child cases) and their notes and referrals: only the owner
  office's back office, supervisors and managers (jurisdiction covering the village) and
  the officer who registered the case; the receiving organisation still sees its own
  referral. Anyone else is told 404, and lists leave them out.
- Referrals: the case's readers (and administrators in jurisdiction), plus the receiving
  organisation's principals wherever they sit.
Everything a principal may not see is answered 404, never 403, so that nobody learns that
it exists.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import col

from selaras_referral.models import IntakeCase, Referral
from selaras_referral.service.transitions import Side
from selaras_shared.auth import Principal, Role

CASE_READERS = frozenset(
    {Role.facilitator, Role.front_office, Role.back_office, Role.supervisor, Role.manager}
) | {Role.service}
#: Who may register cases and write case notes.
CASE_WRITERS = frozenset({Role.facilitator, Role.front_office, Role.back_office, Role.manager})
#: The referring office: who may create, send and cancel referrals.
REFERRERS = frozenset({Role.front_office, Role.back_office, Role.manager})
#: Besides the registering officer, who owns (closes) cases.
OWNERS = frozenset({Role.back_office, Role.manager})
#: Besides the registering officer, who reads sensitive cases.
SENSITIVE_READERS = frozenset({Role.back_office, Role.supervisor, Role.manager})
#: Roles that act for a receiving organisation when their `organization` is the receiver.
RECEIVERS = frozenset(
    {Role.partner, Role.front_office, Role.back_office, Role.supervisor, Role.manager}
)


def sees_sensitive(principal: Principal, case: IntakeCase) -> bool:
    """Whether the principal is one of the few who read a sensitive case."""
    return principal.subject == case.registered_by or principal.role in SENSITIVE_READERS


def can_read_case(principal: Principal, case: IntakeCase) -> bool:
    """Whether the principal may read the case (and its case notes)."""
    if principal.role not in CASE_READERS or not principal.covers(case.region):
        return False
    return not case.sensitive or sees_sensitive(principal, case)


def is_receiver(principal: Principal, referral: Referral) -> bool:
    """Whether the principal acts for the referral's receiving organisation."""
    return principal.organization == referral.organization and principal.role in RECEIVERS


def can_read_referral(principal: Principal, referral: Referral, case: IntakeCase) -> bool:
    """Whether the principal may read the referral (and its notes and trail)."""
    if is_receiver(principal, referral):
        return True
    if principal.role == Role.admin and principal.covers(referral.region):
        return not case.sensitive
    return can_read_case(principal, case)


def sides(principal: Principal, referral: Referral, case: IntakeCase) -> frozenset[Side]:
    """Where the principal stands relative to a referral it can read."""
    found: set[Side] = set()
    in_jurisdiction = principal.covers(referral.region) and can_read_case(principal, case)
    if in_jurisdiction and principal.role in REFERRERS:
        found.add(Side.referrer)
    if in_jurisdiction and (
        principal.role in OWNERS
        or (principal.subject == case.registered_by and principal.role in CASE_WRITERS)
    ):
        found.add(Side.owner)
    if is_receiver(principal, referral):
        found.add(Side.receiver)
    if principal.role == Role.admin and principal.covers(referral.region):
        found.add(Side.admin)
    return frozenset(found)


def _in_jurisdiction(principal: Principal, region: object) -> ColumnElement[bool]:
    if not principal.jurisdiction:
        return true()
    return col(region).startswith(principal.jurisdiction)


def case_filter(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on IntakeCase: the cases the principal may read."""
    if principal.role not in CASE_READERS:
        return false()
    visible = _in_jurisdiction(principal, IntakeCase.region)
    if principal.role in SENSITIVE_READERS:
        return visible
    return and_(
        visible,
        or_(
            col(IntakeCase.sensitive).is_(False),
            col(IntakeCase.registered_by) == principal.subject,
        ),
    )


def referral_filter(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on Referral joined with its IntakeCase: the referrals it may read."""
    receiving = (
        col(Referral.organization) == principal.organization
        if principal.organization and principal.role in RECEIVERS
        else false()
    )
    if principal.role == Role.admin:
        readable = and_(
            _in_jurisdiction(principal, Referral.region), col(IntakeCase.sensitive).is_(False)
        )
    else:
        readable = case_filter(principal)
    return or_(receiving, readable)
