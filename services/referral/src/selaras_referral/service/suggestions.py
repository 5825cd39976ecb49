"""Where referrals go: programme facts and suggestions from the eligibility service, and
what is recorded when it cannot be asked.

When the catalogue cannot be asked, a referral is still created, marked unchecked: its
receiver is the organisation the request names, or else the organisation the latest
checked referral to the same programme went to; with neither it is a 422 naming
`organization`. Such a referral needs a manager's approval before it is sent, since
nobody could tell whether the programme requires one.
"""

from __future__ import annotations

from selaras_referral import errors
from selaras_referral.repository.referrals import ReferralRepository
from selaras_referral.service.referrals import Target
from selaras_referral.service.upstream import Caller, ProgramSuggestion, Suggestions, Upstream
from selaras_referral.service.views import problem_json
from selaras_shared.i18n import Text


def checked_target(facts: ProgramSuggestion, organization: str | None) -> Target:
    """A referral's target from the catalogue's facts (or a household's suggestion)."""
    return Target(
        program=facts.program,
        organization=organization or facts.owner,
        program_name=facts.name_id,
        source_level=facts.source_level,
        requires_approval=facts.requires_manager_approval,
        eligibility_checked=True,
        eligibility_status=facts.status,
        eligibility_problem=None,
    )


async def unchecked_target(
    referrals: ReferralRepository,
    program: str,
    organization: str | None,
    problem: Text | None,
    field: str,
) -> Target:
    """A referral's target when the catalogue could not be asked (see the module docstring)."""
    receiver = organization or await referrals.last_receiver(program)
    if receiver is None:
        raise errors.field_invalid(
            field,
            "receiver_unknown",
            Text(
                "Layanan kelayakan tidak dapat dihubungi; sebutkan organisasi penerima "
                "untuk {code}",
                "The eligibility service cannot be reached; name the receiving organisation "
                "for {code}",
                {"code": program},
            ),
        )
    return Target(
        program=program,
        organization=receiver,
        program_name=None,
        source_level=None,
        requires_approval=True,
        eligibility_checked=False,
        eligibility_status=None,
        eligibility_problem=problem_json(problem),
    )


async def target_for(
    upstream: Upstream,
    caller: Caller,
    referrals: ReferralRepository,
    program: str,
    organization: str | None,
) -> Target:
    """The target of a referral made by hand to `program`."""
    facts, problem = await upstream.program(caller, program)
    if facts is not None:
        return checked_target(facts, organization)
    if problem is None:
        raise errors.field_invalid(
            "program",
            "program_unknown",
            Text("Program {code} tidak dikenal", "Unknown programme {code}", {"code": program}),
        )
    return await unchecked_target(referrals, program, organization, problem, "organization")


async def targets_from(
    suggestions: Suggestions,
    referrals: ReferralRepository,
    programs: list[str],
    organizations: dict[str, str],
) -> list[Target]:
    """The targets of referrals made from a household's suggestions, one per code."""
    if not suggestions.checked:
        return [
            await unchecked_target(
                referrals,
                code,
                organizations.get(code),
                suggestions.problem,
                f"organizations.{code}",
            )
            for code in programs
        ]
    offered = {s.program: s for s in suggestions.programs}
    targets = []
    for index, code in enumerate(programs):
        suggestion = offered.get(code)
        if suggestion is None:
            raise errors.field_invalid(
                f"programs.{index}",
                "not_offered",
                Text(
                    "Program {code} tidak tersedia untuk keluarga ini",
                    "Programme {code} is not offered to this household",
                    {"code": code},
                ),
            )
        targets.append(checked_target(suggestion, organizations.get(code)))
    return targets
