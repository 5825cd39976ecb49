"""Explain one household's eligibility programme by programme; export rules as JsonLogic."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.errors import program_not_found
from selaras_eligibility.models import Program, RuleSet
from selaras_eligibility.repository import CatalogueRepository, ProgramFilter
from selaras_eligibility.rules.compiler.cache import CompiledRuleSetCache
from selaras_eligibility.rules.explain import evaluate
from selaras_eligibility.rules.fields import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from selaras_eligibility.rules.nodes import CompiledRuleSet
from selaras_eligibility.rules.portable import to_jsonlogic
from selaras_eligibility.schemas.explain import (
    CriterionExplanation,
    ExplainRequest,
    ExplainResponse,
    JsonLogicExport,
    PortableInput,
    ProgramExplanation,
    RuleSetRef,
)
from selaras_shared.auth import Permission, Principal
from selaras_shared.errors import FieldIssue, InvalidInput, NotFound
from selaras_shared.i18n import Lang, Text

#: Sulawesi (where Selaras starts) keeps WITA, UTC+8, all year: no DST, so a fixed offset.
WITA = timezone(timedelta(hours=8), "WITA")
#: More programmes than any village is covered by; a bound, not a page.
MAX_PROGRAMS = 1000

_NO_RULES = Text(
    "Tidak ada aturan terbit yang berlaku pada {on}",
    "No published rule set is in force on {on}",
)
_EXCLUDED = Text(
    "Tidak dapat digabung dengan program yang sudah diterima: {codes}",
    "Cannot be combined with programmes already received: {codes}",
)
_EXCLUSION_UNKNOWN = Text(
    "Program yang sudah diterima tidak diketahui; program ini mengecualikan {codes}",
    "Programmes already received are unknown; this programme excludes {codes}",
)


def today_wita() -> date:
    """Today's date in WITA (Asia/Makassar), the default evaluation date."""
    return datetime.now(WITA).date()


#: Process-wide, like a `functools.lru_cache`: entries are immutable and named by content, so
#: sharing them between requests (and app instances in one process) can never serve stale rules.
COMPILED = CompiledRuleSetCache(maxsize=512)


def compiled_rule_set(rule_set: RuleSet) -> CompiledRuleSet:
    """A stored rule set compiled (stored documents passed the compiler when written), from
    the cache when its content hash was compiled before."""
    return COMPILED.compiled(rule_set.content_sha256, rule_set.document)


class ExplainService:
    """Eligibility explanations for one caller; the session is the request's."""

    def __init__(
        self, session: AsyncSession, principal: Principal, registry: RegistryClient | None
    ) -> None:
        self.principal = principal
        self.repo = CatalogueRepository(session)
        self.registry = registry

    async def explain(
        self,
        body: ExplainRequest,
        *,
        lang: Lang,
        authorization: str | None,
        accept_language: str | None,
    ) -> ExplainResponse:
        """Evaluate every programme covering the household on the date, with reasons."""
        self.principal.require(Permission.read)
        household = await self._household(body, authorization, accept_language)
        on = body.on or today_wita()
        village = household.get("village_code")
        region = village if isinstance(village, str) else ""
        # A household without a village (inline pre-screening) is covered by national
        # programmes only: the others depend on where it lives.
        where = ProgramFilter(region=region, active_on=on)
        programs = list(await self.repo.programs(where, after=None, limit=MAX_PROGRAMS))
        if body.programs is not None:
            wanted = set(body.programs)
            programs = [p for p in programs if p.code in wanted]
        owners = await self.repo.organizations_by_id({p.owner_id for p in programs})
        in_force = await self.repo.rule_sets_in_force([p.id for p in programs], on)
        show_inputs = self.principal.can(Permission.personal_data)
        answers = [
            self._program(p, owners[p.owner_id].code, in_force.get(p.id), household, on, lang)
            for p in programs
        ]
        if not show_inputs:
            # Inputs are the household's own data (ages, desil, income): personal.
            for answer in answers:
                for criterion in answer.criteria:
                    criterion.inputs = {}
        return ExplainResponse(
            household_id=body.household_id,
            village_code=village if isinstance(village, str) else None,
            evaluated_on=on,
            inputs_shown=show_inputs,
            programs=answers,
        )

    async def _household(
        self, body: ExplainRequest, authorization: str | None, accept_language: str | None
    ) -> dict[str, Any]:
        if (body.household_id is None) == (body.household is None):
            message = Text(
                "Isi tepat satu dari household_id atau household",
                "Give exactly one of household_id or household",
            )
            issues = [
                FieldIssue(name, "one_of_required", message)
                for name in ("household_id", "household")
            ]
            raise InvalidInput(message, errors=issues)
        if body.household is not None:
            return body.household.model_dump(mode="json", exclude_unset=True)
        assert body.household_id is not None and self.registry is not None
        return await self.registry.household(
            body.household_id, authorization=authorization, accept_language=accept_language
        )

    def _program(
        self,
        program: Program,
        owner: str,
        rule_set: RuleSet | None,
        household: dict[str, Any],
        on: date,
        lang: Lang,
    ) -> ProgramExplanation:
        answer = ProgramExplanation(
            program=program.code,
            name=program.name_en if lang == "en" else program.name_id,
            name_id=program.name_id,
            name_en=program.name_en,
            source_level=program.source_level,
            owner=owner,
            benefit=program.benefit,
            requires_manager_approval=program.requires_manager_approval,
            status="unknown",
        )
        if rule_set is None:
            answer.reason_code = "no_rule_set_in_force"
            answer.reason = _NO_RULES.with_params(on=on.isoformat()).render(lang)
            return answer
        result = evaluate(compiled_rule_set(rule_set), household, on)
        answer.rule_set = RuleSetRef(
            version=rule_set.version,
            content_sha256=rule_set.content_sha256,
            effective_from=rule_set.effective_from,
            effective_to=rule_set.effective_to,
        )
        answer.criteria = [
            CriterionExplanation(
                id=c.id,
                label=c.label,
                text=c.label.en if lang == "en" else c.label.id,
                status=c.status,
                inputs=c.inputs,
                parameters=c.parameters,
                missing=c.missing,
            )
            for c in result.criteria
        ]
        answer.status = result.status
        answer.missing = sorted({field for c in result.criteria for field in c.missing})
        self._exclusions(answer, program, household, lang)
        return answer

    @staticmethod
    def _exclusions(
        answer: ProgramExplanation, program: Program, household: dict[str, Any], lang: Lang
    ) -> None:
        """A programme that excludes one the household already receives is not eligible."""
        if not program.excludes or answer.status == "not_eligible":
            return
        received = household.get("programs_received")
        if not isinstance(received, list):
            # Cannot rule out a conflicting programme: an eligible answer becomes unknown.
            answer.status = "unknown"
            answer.reason_code = "programs_received_unknown"
            answer.reason = _EXCLUSION_UNKNOWN.with_params(
                codes=", ".join(program.excludes)
            ).render(lang)
            answer.missing = sorted({*answer.missing, "programs_received"})
            return
        conflicts = [code for code in program.excludes if code in received]
        if conflicts:
            answer.status = "not_eligible"
            answer.reason_code = "excluded"
            answer.excluded_by = conflicts
            answer.reason = _EXCLUDED.with_params(codes=", ".join(conflicts)).render(lang)

    async def jsonlogic(self, program_id: uuid.UUID, on: date | None) -> JsonLogicExport:
        """The published rule set in force on `on` as standard JsonLogic; 404 if none."""
        self.principal.require(Permission.read)
        program = await self.repo.program(program_id)
        if program is None:
            raise program_not_found(str(program_id))
        day = on or today_wita()
        rule_set = (await self.repo.rule_sets_in_force([program.id], day)).get(program.id)
        if rule_set is None:
            raise NotFound(
                Text(
                    "Program {program} tidak memiliki aturan terbit yang berlaku pada {on}",
                    "Programme {program} has no published rule set in force on {on}",
                    {"program": program.code, "on": day.isoformat()},
                )
            )
        exported = to_jsonlogic(compiled_rule_set(rule_set), day)
        return JsonLogicExport(
            program=program.code,
            version=rule_set.version,
            content_sha256=rule_set.content_sha256,
            evaluated_on=day,
            criteria=exported["criteria"],
            input=portable_input(),
        )


def portable_input() -> PortableInput:
    """The description of the portable input the exported rules read."""
    household = {
        name: spec.type.value for name, spec in HOUSEHOLD_FIELDS.items() if name != "member_count"
    }
    household["members"] = "list of member objects"
    member = {name: spec.type.value for name, spec in MEMBER_FIELDS.items()}
    member["birth_ymd"] = "number (birth date as YYYYMMDD)"
    return PortableInput(
        household=household,
        member=member,
        note=(
            "Dotted names are nested objects (housing.floor is housing: {floor}). A household "
            "field a criterion needs that is null makes the criterion answer null (unknown); "
            "the service's explanation is authoritative."
        ),
    )


__all__ = ["ExplainService", "portable_input", "today_wita"]
