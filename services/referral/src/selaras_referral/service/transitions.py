"""The referral state machine (DESIGN section 7) as one table of data, and who may act.

Each row says from which states a referral may move to which state, which sides may move
it, and what the move must carry (a reason, an outcome). Nothing else in the service
decides whether a transition is allowed: the API, the sweep and the tests all read this
table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from selaras_referral.codes import ReferralStatus as S


class Side(StrEnum):
    """Who stands where relative to a referral.

    - `referrer`: the referring office: front/back office and managers whose jurisdiction
      covers the household's village.
    - `receiver`: a principal whose organisation is the referral's receiving organisation
      (a partner such as BAZNAS, or the staff of a receiving regency office).
    - `owner`: the case owner: the officer who registered the case, or a back office
      officer or manager whose jurisdiction covers the village.
    - `admin`: an administrator whose jurisdiction covers the village.
    - `system`: the service itself (the SLA sweep); never a caller.
    """

    referrer = "referrer"
    receiver = "receiver"
    owner = "owner"
    admin = "admin"
    system = "system"


class Needs(StrEnum):
    """What a transition must carry."""

    nothing = "nothing"
    reason = "reason"
    outcome = "outcome"


@dataclass(frozen=True)
class Rule:
    """One allowed move: from any of `sources` to `target`, by any of `sides`."""

    sources: frozenset[S]
    target: S
    sides: frozenset[Side]
    needs: Needs = Needs.nothing


def _rule(sources: tuple[S, ...], target: S, *sides: Side, needs: Needs = Needs.nothing) -> Rule:
    return Rule(frozenset(sources), target, frozenset(sides), needs)


R, RCV, OWN, ADM, SYS = Side.referrer, Side.receiver, Side.owner, Side.admin, Side.system

#: DESIGN section 7, row by row. Consent and manager approval before `requested` are
#: checked by the referral service on top of this table (they depend on the case).
TRANSITIONS: tuple[Rule, ...] = (
    _rule((S.draft,), S.requested, R),
    _rule((S.requested,), S.accepted, RCV),
    _rule((S.requested,), S.rejected, RCV, needs=Needs.reason),
    _rule((S.requested, S.accepted), S.cancelled, R, SYS, needs=Needs.reason),
    _rule((S.accepted,), S.in_progress, RCV),
    _rule((S.in_progress,), S.on_hold, RCV, needs=Needs.reason),
    _rule((S.on_hold,), S.in_progress, RCV),
    _rule((S.in_progress, S.on_hold), S.completed, RCV, needs=Needs.outcome),
    _rule((S.in_progress, S.on_hold), S.failed, RCV, needs=Needs.reason),
    _rule((S.completed, S.failed), S.closed, OWN),
    _rule((S.draft,), S.entered_in_error, ADM),
)

#: States a rejected or failed referral is re-routed from (a new referral, its child).
REROUTABLE: frozenset[S] = frozenset({S.rejected, S.failed})

#: States after which nothing more happens to a referral.
FINAL: frozenset[S] = frozenset({S.closed, S.cancelled, S.rejected, S.entered_in_error})

#: States in which the provider is working on the referral (the resolution clock runs).
ACTIVE: frozenset[S] = frozenset({S.accepted, S.in_progress, S.on_hold})


def rule_for(source: S, target: S) -> Rule | None:
    """The table's row for moving from `source` to `target`, if there is one."""
    for rule in TRANSITIONS:
        if rule.target == target and source in rule.sources:
            return rule
    return None


def allowed_targets(source: S, sides: frozenset[Side]) -> list[S]:
    """The states a caller standing on `sides` may move a referral in `source` to."""
    return [rule.target for rule in TRANSITIONS if source in rule.sources and rule.sides & sides]
