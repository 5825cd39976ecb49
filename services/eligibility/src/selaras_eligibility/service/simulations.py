"""What-if: a draft rule set against a region's households, next to the published rule set
in force; who gains and who loses eligibility, by village, and the budget change. Nothing
is written: the draft stays a draft and the catalogue is unchanged."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_eligibility import documents
from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.errors import field_invalid
from selaras_eligibility.models import Program, RuleSet, ScreeningSeries
from selaras_eligibility.repository import CatalogueRepository
from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.nodes import CompiledRuleSet
from selaras_eligibility.schemas.screenings import (
    BudgetChange,
    HouseholdChange,
    SimulationCreate,
    SimulationRead,
    VillageChange,
)
from selaras_eligibility.screening import outcomes, state
from selaras_eligibility.screening.outcomes import (
    ELIGIBLE_LETTERS,
    QUOTA_NOT_APPLIED,
    SELECTED,
    ProgramSpec,
    quota_applies,
)
from selaras_eligibility.service.explain import compiled_rule_set, today_wita
from selaras_shared.auth import Permission, Principal
from selaras_shared.errors import FieldIssue, InvalidInput
from selaras_shared.i18n import Text

#: Payments a year of each benefit period; a one-off benefit is paid once.
PAYMENTS_PER_YEAR = {"once": 1, "monthly": 12, "quarterly": 4, "yearly": 1}
#: The served word of each letter.
WORDS = {
    "S": "eligible",
    "W": "eligible_over_quota",
    "Q": "eligible_quota_not_applied",
    "N": "not_eligible",
    "X": "excluded",
    "U": "unknown",
    "-": "outside_area",
}


class SimulationService:
    """What-if evaluations for one caller; reads only."""

    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        registry: RegistryClient | None,
        data_dir: Path,
    ) -> None:
        self.session = session
        self.principal = principal
        self.registry = registry
        self.data_dir = data_dir
        self.catalogue = CatalogueRepository(session)

    async def simulate(self, body: SimulationCreate, authorization: str | None) -> SimulationRead:
        """Evaluate the draft and the rules in force on the region; report the difference."""
        self.principal.require(Permission.catalogue)
        self.principal.require_covers(body.region)
        program = await self.catalogue.program_by_code(body.program)
        if program is None:
            raise field_invalid(
                "program",
                "program_unknown",
                Text(
                    "Program {code} tidak dikenal",
                    "Unknown programme {code}",
                    {"code": body.program},
                ),
            )
        on = body.on or today_wita()
        draft, draft_ref = await self._draft(body, program)
        if not draft.in_force(on):
            raise field_invalid(
                "on",
                "draft_not_in_force",
                Text(
                    "Draf aturan tidak berlaku pada {on}",
                    "The draft rule set is not in force on {on}",
                    {"on": on.isoformat()},
                ),
            )
        current = (await self.catalogue.rule_sets_in_force([program.id], on)).get(program.id)
        areas = (await self.catalogue.areas([program.id]))[program.id]
        applies = quota_applies(body.region, areas)
        table, data = await self._households(body, authorization)

        def spec(compiled: CompiledRuleSet) -> ProgramSpec:
            return ProgramSpec(
                code=program.code,
                compiled=compiled,
                areas=tuple(areas),
                excludes=tuple(program.excludes),
                quota=program.quota,
                quota_applies=applies,
                ranking=tuple((k["field"], k["order"]) for k in program.ranking),
            )

        specs = [spec(draft)] + ([spec(compiled_rule_set(current))] if current else [])
        base = outcomes.evaluate(table, specs, on)
        final = outcomes.apply_quotas(table, base, specs)
        after = final[:, 0]
        before = final[:, 1] if current else np.full(table.num_rows, ord("N"), np.uint8)
        return self._report(
            body,
            program,
            on,
            table,
            (before, after),
            current,
            draft_ref,
            data,
            quota_applied=applies if program.quota is not None else None,
        )

    async def _draft(
        self, body: SimulationCreate, program: Program
    ) -> tuple[CompiledRuleSet, dict[str, Any]]:
        if (body.version is None) == (body.document is None):
            message = Text(
                "Isi tepat satu dari version atau document",
                "Give exactly one of version or document",
            )
            raise InvalidInput(
                message,
                errors=[FieldIssue(n, "one_of_required", message) for n in ("version", "document")],
            )
        if body.version is not None:
            stored = await self.catalogue.rule_set(program.id, body.version)
            if stored is None or stored.status != "draft":
                raise field_invalid(
                    "version",
                    "not_a_draft",
                    Text(
                        "Program {code} tidak memiliki draf versi {version}",
                        "Programme {code} has no draft version {version}",
                        {"code": program.code, "version": body.version},
                    ),
                )
            return compiled_rule_set(stored), _ref(stored)
        try:
            header, sha256 = documents.rule_set_from_data(body.document)
        except InvalidInput as exc:
            for issue in exc.errors:
                object.__setattr__(issue, "field", f"document.{issue.field}")
            raise
        if header.program != program.code:
            raise field_invalid(
                "document.program",
                "program_mismatch",
                Text(
                    "Dokumen untuk program {other}, bukan {code}",
                    "The document is for programme {other}, not {code}",
                    {"other": header.program, "code": program.code},
                ),
            )
        return compile_rule_set(header), {"version": None, "content_sha256": sha256}

    async def _households(
        self, body: SimulationCreate, authorization: str | None
    ) -> tuple[pa.Table, dict[str, Any]]:
        """The region's households: the latest screening's kept state when there is one
        for the same region and rights (unless `fresh`), else a snapshot."""
        masked = not self.principal.can(Permission.personal_data)
        if not body.fresh:
            candidates = await self.session.scalars(
                select(ScreeningSeries)
                .where(
                    col(ScreeningSeries.region) == body.region,
                    col(ScreeningSeries.masked) == masked,
                    col(ScreeningSeries.last_seq) > 0,
                )
                .order_by(col(ScreeningSeries.created_at).desc())
            )
            for series in candidates:
                path = state.state_path(self.data_dir, series.id)
                kept = state.load(path, len(series.programs))
                if kept is not None and kept.meta.get("seq") == series.last_seq:
                    return kept.households_table(), {
                        "source": "screening",
                        "series_id": str(series.id),
                        "cursor": kept.meta["cursor"],
                    }
        assert self.registry is not None
        snapshot = await self.registry.snapshot(body.region, authorization=authorization)
        return state.rule_inputs(snapshot.table), {"source": "snapshot", "cursor": snapshot.cursor}

    def _report(
        self,
        body: SimulationCreate,
        program: Program,
        on: date,
        table: pa.Table,
        letters: tuple[outcomes.Letters, outcomes.Letters],
        current: RuleSet | None,
        draft_ref: dict[str, Any],
        data: dict[str, Any],
        *,
        quota_applied: bool | None,
    ) -> SimulationRead:
        """The report of a draft's letters (`after`) against those in force (`before`)."""
        before, after = letters
        eligible_before = np.isin(before, ELIGIBLE_LETTERS)
        eligible_after = np.isin(after, ELIGIBLE_LETTERS)
        gained = np.flatnonzero(~eligible_before & eligible_after)
        lost = np.flatnonzero(eligible_before & ~eligible_after)
        ids = np.array(table.column("id").to_pylist(), dtype=object)
        villages = np.array(table.column("village_code").to_pylist(), dtype=object)

        def listed(rows: Any) -> list[HouseholdChange]:
            chosen = sorted(rows, key=lambda r: ids[r])[: body.limit]
            return [
                HouseholdChange(
                    household_id=uuid.UUID(ids[r]),
                    village_code=villages[r],
                    before=WORDS[chr(before[r])],
                    after=WORDS[chr(after[r])],
                )
                for r in chosen
            ]

        by_village = []
        for village in sorted(set(villages.tolist())):
            here = villages == village
            by_village.append(
                VillageChange(
                    village_code=village,
                    eligible_before=int((eligible_before & here).sum()),
                    eligible_after=int((eligible_after & here).sum()),
                    gains=int((~eligible_before & eligible_after & here).sum()),
                    losses=int((eligible_before & ~eligible_after & here).sum()),
                )
            )
        period = str(program.benefit.get("period", "once"))
        amount = program.benefit.get("amount_rupiah")
        per_year = PAYMENTS_PER_YEAR.get(period, 1)
        # Where the quota cannot be applied to the region, every eligible household counts.
        funded_before = int(np.isin(before, (SELECTED, QUOTA_NOT_APPLIED)).sum())
        funded_after = int(np.isin(after, (SELECTED, QUOTA_NOT_APPLIED)).sum())
        yearly_before = (amount or 0) * per_year * funded_before
        yearly_after = (amount or 0) * per_year * funded_after
        return SimulationRead(
            program=program.code,
            region=body.region,
            evaluated_on=on,
            data=data,
            in_force=_ref(current) if current else None,
            draft=draft_ref,
            households=table.num_rows,
            counts_before=_counts(before),
            counts_after=_counts(after),
            gains=len(gained),
            losses=len(lost),
            gained=listed(gained),
            lost=listed(lost),
            villages=by_village,
            budget=BudgetChange(
                amount_rupiah=amount,
                period=period,
                payments_per_year=per_year,
                quota_applied=quota_applied,
                funded_before=funded_before,
                funded_after=funded_after,
                yearly_before=yearly_before,
                yearly_after=yearly_after,
                yearly_change=yearly_after - yearly_before,
            ),
        )


def _ref(rule_set: RuleSet) -> dict[str, Any]:
    return {
        "version": rule_set.version,
        "status": rule_set.status,
        "content_sha256": rule_set.content_sha256,
    }


def _counts(letters: outcomes.Letters) -> dict[str, int]:
    tally = np.bincount(letters, minlength=256)
    return {WORDS[chr(code)]: int(tally[code]) for code in map(ord, WORDS) if tally[code]}
