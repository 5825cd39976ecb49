"""Screening jobs: submission (programmes and rule sets resolved, region checked), status,
and the stored outcomes, paged or as CSV."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.errors import field_invalid
from selaras_eligibility.models import Program, Screening, ScreeningRow, ScreeningSeries
from selaras_eligibility.repository import CatalogueRepository
from selaras_eligibility.repository.screenings import ScreeningRepository
from selaras_eligibility.schemas.screenings import (
    ProgramOutcome,
    ScreeningCreate,
    ScreeningRead,
    ScreeningResult,
)
from selaras_eligibility.screening.outcomes import OUTCOMES, STATUS_LETTERS, quota_applies
from selaras_eligibility.service.explain import today_wita
from selaras_shared.auth import Permission, Principal, Role
from selaras_shared.db import utcnow
from selaras_shared.errors import FieldIssue, Forbidden, InvalidInput, NotFound
from selaras_shared.i18n import Text

#: Roles that screen whole regions; field staff explain one household at a time.
SCREENING_ROLES = frozenset(
    {Role.back_office, Role.supervisor, Role.manager, Role.admin, Role.partner, Role.service}
)
#: Rows read per query while streaming a CSV.
CSV_BATCH = 5000
#: How CSV cells name each letter (empty: the programme does not cover the household).
CSV_LABELS = {
    "S": "eligible",
    "W": "waitlisted",
    "Q": "eligible_quota_not_applied",
    "N": "not_eligible",
    "X": "excluded",
    "U": "unknown",
    "-": "",
}


def screening_not_found(screening_id: uuid.UUID) -> NotFound:
    """No screening with this id within the caller's jurisdiction."""
    return NotFound(
        Text(
            "Penyaringan {id} tidak ditemukan",
            "Screening {id} not found",
            {"id": str(screening_id)},
        )
    )


def series_key(region: str, masked: bool, programs: list[str]) -> str:
    """The identity of a series: region, rights, programmes."""
    raw = "|".join([region, "masked" if masked else "full", *programs])
    return hashlib.sha256(raw.encode()).hexdigest()


def screening_read(job: Screening, lang: str) -> ScreeningRead:
    """The served form of a job; its error is rendered in `lang`."""
    error = None
    if job.error:
        error = {
            "type": f"urn:selaras:problem:{job.error['code']}",
            "status": job.error["status"],
            "detail": job.error["en" if lang == "en" else "id"],
        }
    return ScreeningRead.model_validate(
        {
            **{name: getattr(job, name) for name in ScreeningRead.model_fields if name != "error"},
            "error": error,
        }
    )


def overlaps(areas: list[str], region: str) -> bool:
    """Whether a programme area covers the region or part of it."""
    return any(a.startswith(region) or region.startswith(a) for a in areas)


class ScreeningService:
    """Screening jobs for one caller; the session is the request's."""

    def __init__(
        self, session: AsyncSession, principal: Principal, registry: RegistryClient | None
    ) -> None:
        self.session = session
        self.principal = principal
        self.registry = registry
        self.repo = ScreeningRepository(session)
        self.catalogue = CatalogueRepository(session)

    def _require_screener(self) -> None:
        self.principal.require(Permission.read)
        if self.principal.role not in SCREENING_ROLES:
            raise Forbidden(
                Text(
                    "Peran {role} tidak dapat menyaring wilayah",
                    "Role {role} may not screen regions",
                    {"role": self.principal.role.value},
                )
            )

    async def submit(self, body: ScreeningCreate, authorization: str | None) -> Screening:
        """Record a queued job after checking the region, programmes and rule sets."""
        self._require_screener()
        self.principal.require_covers(body.region)
        on = body.on or today_wita()
        programs = await self._programs(body, on)
        in_force = await self.catalogue.rule_sets_in_force([p.id for p in programs], on)
        explicit = body.programs is not None
        missing = [p.code for p in programs if p.id not in in_force]
        if explicit and missing:
            message = Text(
                "Program tanpa aturan terbit yang berlaku pada {on}: {codes}",
                "Programmes without a published rule set in force on {on}: {codes}",
                {"on": on.isoformat(), "codes": ", ".join(missing)},
            )
            raise InvalidInput(message, errors=[FieldIssue("programs", "no_rule_set", message)])
        screened = [p for p in programs if p.id in in_force]
        if not screened:
            message = Text(
                "Tidak ada program dengan aturan berlaku untuk wilayah {region} pada {on}",
                "No programme with rules in force covers region {region} on {on}",
                {"region": body.region, "on": on.isoformat()},
            )
            raise InvalidInput(message, errors=[FieldIssue("region", "no_programs", message)])
        assert self.registry is not None
        if not await self.registry.region_known(body.region, authorization=authorization):
            raise field_invalid(
                "region",
                "region_unknown",
                Text("Kode wilayah tidak dikenal", "Unknown region code"),
            )
        areas = await self.catalogue.areas([p.id for p in screened])
        masked = not self.principal.can(Permission.personal_data)
        codes = [p.code for p in screened]
        series = await self._series(body.region, masked, codes)
        job = Screening(
            series_id=series.id,
            region=body.region,
            on=on,
            masked=masked,
            rule_sets=[
                {
                    "program": p.code,
                    "program_id": str(p.id),
                    "rule_set_id": str(in_force[p.id].id),
                    "version": in_force[p.id].version,
                    "content_sha256": in_force[p.id].content_sha256,
                    "effective_from": in_force[p.id].effective_from.isoformat(),
                    "areas": areas[p.id],
                    "excludes": list(p.excludes),
                    "quota": p.quota,
                    "quota_applied": (
                        quota_applies(body.region, areas[p.id]) if p.quota is not None else None
                    ),
                    "ranking": list(p.ranking),
                    "benefit": p.benefit,
                }
                for p in screened
            ],
            skipped=[{"program": code, "reason": "no_rule_set_in_force"} for code in missing],
            created_by=self.principal.subject,
            created_role=self.principal.role.value,
            heartbeat_at=utcnow(),
        )
        self.session.add(job)
        await self.session.flush()
        return job

    async def _programs(self, body: ScreeningCreate, on: date) -> list[Program]:
        if body.programs is None:
            return list(await self.repo.programs_overlapping(body.region, on))
        wanted = list(dict.fromkeys(body.programs))
        found = await self.repo.programs_by_code(wanted)
        issues = []
        for index, code in enumerate(body.programs):
            program = found.get(code)
            if program is None:
                issues.append(
                    FieldIssue(
                        f"programs.{index}",
                        "program_unknown",
                        Text(
                            "Program {code} tidak dikenal",
                            "Unknown programme {code}",
                            {"code": code},
                        ),
                    )
                )
            elif program.active_from > on or (program.active_to and program.active_to < on):
                issues.append(
                    FieldIssue(
                        f"programs.{index}",
                        "program_inactive",
                        Text(
                            "Program {code} tidak aktif pada {on}",
                            "Programme {code} is not active on {on}",
                            {"code": code, "on": on.isoformat()},
                        ),
                    )
                )
        if not issues:
            areas = await self.catalogue.areas([found[c].id for c in wanted])
            for index, code in enumerate(body.programs):
                if not overlaps(areas[found[code].id], body.region):
                    issues.append(
                        FieldIssue(
                            f"programs.{index}",
                            "program_outside_region",
                            Text(
                                "Program {code} tidak mencakup wilayah {region}",
                                "Programme {code} does not cover region {region}",
                                {"code": code, "region": body.region},
                            ),
                        )
                    )
        if issues:
            raise InvalidInput(issues[0].message, errors=issues)
        return sorted((found[c] for c in wanted), key=lambda p: p.code)

    async def _series(self, region: str, masked: bool, codes: list[str]) -> ScreeningSeries:
        key = series_key(region, masked, codes)
        series = await self.repo.series_by_key(key)
        if series is None:
            series = ScreeningSeries(key=key, region=region, masked=masked, programs=codes)
            self.session.add(series)
            await self.session.flush()
        return series

    async def screening(self, screening_id: uuid.UUID) -> Screening:
        """One job within the caller's jurisdiction (another region's is not found)."""
        self.principal.require(Permission.read)
        job = await self.repo.screening(screening_id)
        if job is None or not self.principal.covers(job.region):
            raise screening_not_found(screening_id)
        return job

    async def screenings(
        self, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Screening]:
        """A page of the jobs of regions within the caller's jurisdiction, newest first."""
        self.principal.require(Permission.read)
        return list(
            await self.repo.screenings(within=self.principal.jurisdiction, after=after, limit=limit)
        )

    async def _done(self, screening_id: uuid.UUID) -> tuple[Screening, list[str]]:
        job = await self.screening(screening_id)
        if job.status != "succeeded" or job.seq is None:
            raise InvalidInput(
                Text(
                    "Penyaringan {id} belum selesai (status {status})",
                    "Screening {id} has not succeeded (status {status})",
                    {"id": str(job.id), "status": job.status},
                ),
                errors=[
                    FieldIssue(
                        "screening_id",
                        "screening_not_ready",
                        Text("Hasil belum tersedia", "Results are not available"),
                    )
                ],
            )
        return job, [entry["program"] for entry in job.rule_sets]

    async def results(
        self,
        screening_id: uuid.UUID,
        *,
        program: str | None,
        status: str | None,
        village: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[ScreeningResult]:
        """A page of households with their outcomes, narrowed by programme and status."""
        job, codes = await self._done(screening_id)
        index, letters = _filter(codes, program, status)
        assert job.seq is not None
        rows = await self.repo.rows(
            job.series_id,
            job.seq,
            after=after,
            limit=limit,
            program_index=index,
            letters=letters,
            village=village,
        )
        return [_result(row, codes) for row in rows]

    async def csv_header(
        self, screening_id: uuid.UUID, program: str | None, status: str | None
    ) -> tuple[Screening, list[str], int | None, str | None]:
        """Check the job and filters before a CSV download starts streaming."""
        job, codes = await self._done(screening_id)
        index, letters = _filter(codes, program, status)
        return job, codes, index, letters


async def csv_lines(
    sessionmaker: async_sessionmaker[AsyncSession],
    job: Screening,
    codes: list[str],
    *,
    program_index: int | None,
    letters: str | None,
    village: str | None,
) -> AsyncIterator[bytes]:
    """The outcomes as CSV (UTF-8 with BOM, for Excel), read a batch at a time."""
    assert job.seq is not None
    encoder = codecs.getincrementalencoder("utf-8")()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["household_id", "village_code", *codes])
    yield b"\xef\xbb\xbf" + encoder.encode(buffer.getvalue())
    after: uuid.UUID | None = None
    while True:
        async with sessionmaker() as session:
            rows = await ScreeningRepository(session).rows(
                job.series_id,
                job.seq,
                after=after,
                limit=CSV_BATCH,
                program_index=program_index,
                letters=letters,
                village=village,
            )
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow(
                [str(row.household_id), row.village_code, *(CSV_LABELS[c] for c in row.outcomes)]
            )
        yield encoder.encode(buffer.getvalue())
        after = rows[-1].household_id
        if len(rows) < CSV_BATCH:
            return


def _filter(
    codes: list[str], program: str | None, status: str | None
) -> tuple[int | None, str | None]:
    """The 1-based programme position and the letters a results filter selects."""
    if program is None:
        if status is not None:
            raise field_invalid(
                "status",
                "program_required",
                Text("Filter status memerlukan program", "A status filter needs a programme"),
            )
        return None, None
    if program not in codes:
        raise field_invalid(
            "program",
            "program_not_screened",
            Text(
                "Program {code} tidak termasuk penyaringan ini",
                "Programme {code} is not part of this screening",
                {"code": program},
            ),
        )
    return codes.index(program) + 1, STATUS_LETTERS[status] if status else None


def _result(row: ScreeningRow, codes: list[str]) -> ScreeningResult:
    programs: dict[str, Any] = {}
    for code, letter in zip(codes, row.outcomes, strict=True):
        if letter in OUTCOMES:
            status, reason = OUTCOMES[letter]
            programs[code] = ProgramOutcome(status=status, reason=reason)
    return ScreeningResult(
        household_id=row.household_id, village_code=row.village_code, programs=programs
    )
