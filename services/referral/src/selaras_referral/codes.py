"""Code lists of the referral service: channels, case types, sectors, priorities, states."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How the person reached SLRT."""

    puskesos_walk_in = "puskesos_walk_in"
    secretariat_walk_in = "secretariat_walk_in"
    facilitator_outreach = "facilitator_outreach"
    phone_whatsapp = "phone_whatsapp"
    other_system = "other_system"


class CaseType(StrEnum):
    """What the person brings: a question, a suggestion, a complaint (*pengaduan*) or a
    request for a service (*kebutuhan*)."""

    question = "question"
    suggestion = "suggestion"
    complaint = "complaint"
    service_request = "service_request"


class Sector(StrEnum):
    """The area of need a case concerns."""

    social = "social"
    health = "health"
    education = "education"
    economic = "economic"
    housing = "housing"
    protection = "protection"
    civil_registration = "civil_registration"
    disaster = "disaster"
    other = "other"


class Priority(StrEnum):
    """How urgent a case or referral is; drives the SLA due dates."""

    urgent = "urgent"
    high = "high"
    normal = "normal"
    low = "low"


class ConsentScope(StrEnum):
    """What the person consented to: checking the registry, referring to providers (which
    shares the household's data with them), and sharing data for follow-up."""

    registry_check = "registry_check"
    referral = "referral"
    data_sharing = "data_sharing"


class CaseStatus(StrEnum):
    """A case is open until its owner closes it after follow-up."""

    open = "open"
    closed = "closed"


class ReferralStatus(StrEnum):
    """Referral states (FHIR Task states used by closed-loop referrals, plus `closed`)."""

    draft = "draft"
    requested = "requested"
    accepted = "accepted"
    rejected = "rejected"
    cancelled = "cancelled"
    in_progress = "in_progress"
    on_hold = "on_hold"
    completed = "completed"
    failed = "failed"
    closed = "closed"
    entered_in_error = "entered_in_error"


class SlaStatus(StrEnum):
    """Where a referral stands against its running due date."""

    on_track = "on_track"
    at_risk = "at_risk"
    overdue = "overdue"


class TrailKind(StrEnum):
    """What an audit-trail entry records."""

    transition = "transition"
    approval = "approval"
    escalation = "escalation"
