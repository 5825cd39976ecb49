"""The screening job runner: a background task of the service process that takes
submitted jobs one at a time, reads the region from the registry with the submitter's
token, evaluates and stores the outcomes, and keeps the job's progress visible.

A job needs its submitter's token, which is kept in memory only: a job whose process died
(no heartbeat for `stale_seconds`) cannot be resumed, and is failed with a clear reason by
the next runner to look (at startup and then periodically), so that it can be submitted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.models import RuleSet, Screening, ScreeningSeries
from selaras_eligibility.repository.screenings import ScreeningRepository
from selaras_eligibility.screening import outcomes, state
from selaras_eligibility.screening.outcomes import ProgramSpec
from selaras_eligibility.service.explain import compiled_rule_set
from selaras_shared.db import utcnow
from selaras_shared.errors import DomainError
from selaras_shared.i18n import Text

_log = logging.getLogger("selaras.eligibility.screenings")

INTERRUPTED = Text(
    "Penyaringan terhenti karena prosesnya berhenti; ajukan lagi",
    "The screening stopped because its process ended; submit it again",
)
_CONCURRENT = Text(
    "Penyaringan lain untuk wilayah dan program yang sama selesai lebih dulu; ajukan lagi",
    "Another screening of the same region and programmes finished first; submit it again",
)
_INTERNAL = Text("Galat internal saat penyaringan", "Internal error while screening")


def problem(code: str, status: int, detail: Text) -> dict[str, Any]:
    """A failure as stored on a job: its problem type, status and detail in both languages."""
    return {"code": code, "status": status, "id": detail.render("id"), "en": detail.render("en")}


def program_specs(job: Screening, rule_sets: dict[uuid.UUID, RuleSet]) -> list[ProgramSpec]:
    """The programmes of a job as recorded at submission, with their compiled rules."""
    return [
        ProgramSpec(
            code=entry["program"],
            compiled=compiled_rule_set(rule_sets[uuid.UUID(entry["rule_set_id"])]),
            areas=tuple(entry["areas"]),
            excludes=tuple(entry["excludes"]),
            quota=entry["quota"],
            # Jobs submitted before the flag was recorded applied their quotas.
            quota_applies=entry.get("quota_applied") is not False,
            ranking=tuple((key["field"], key["order"]) for key in entry["ranking"]),
            benefit=entry["benefit"],
        )
        for entry in job.rule_sets
    ]


@dataclass(frozen=True)
class _Ticket:
    job_id: uuid.UUID
    authorization: str | None


@dataclass
class _Evaluated:
    """What a run produced, before it is written."""

    state: state.State
    cursor: str
    mode: str
    changed: int
    #: Households whose open row must end, and rows (positions in the state's table) to open.
    close: list[str]
    open_rows: Any
    close_all: bool


class ScreeningRunner:
    """Runs screening jobs in a background task of the service process."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: RegistryClient,
        *,
        data_dir: Path,
        stale_seconds: float = 60.0,
        heartbeat_seconds: float = 5.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.registry = registry
        self.data_dir = data_dir
        self.stale = timedelta(seconds=stale_seconds)
        self.heartbeat_seconds = heartbeat_seconds
        self._queue: asyncio.Queue[_Ticket] = asyncio.Queue()
        self._held: set[uuid.UUID] = set()
        self._ended: dict[uuid.UUID, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start the job loop and the heartbeat (from the app lifespan)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._loop(), name="screening-runner"),
                asyncio.create_task(self._beat(), name="screening-heartbeat"),
            ]

    async def stop(self) -> None:
        """Stop; a job cut short here is failed by the next runner's sweep."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def submit(self, job_id: uuid.UUID, authorization: str | None) -> None:
        """Queue a committed job, with the token its registry reads are made with."""
        self._held.add(job_id)
        self._queue.put_nowait(_Ticket(job_id, authorization))
        self.start()

    def ended(self, job_id: uuid.UUID) -> asyncio.Event:
        """An event set when the job has reached its end in this process (tests, tools)."""
        return self._ended.setdefault(job_id, asyncio.Event())

    async def sweep(self) -> int:
        """Fail jobs left queued or running by a process that stopped; returns how many."""
        async with self.sessionmaker() as session:
            repository = ScreeningRepository(session)
            stale = [
                job_id
                for job_id in await repository.abandoned(utcnow() - self.stale)
                if job_id not in self._held
            ]
            for job_id in stale:
                await repository.set(
                    job_id,
                    status="failed",
                    finished_at=utcnow(),
                    heartbeat_at=None,
                    error=problem("interrupted", 500, INTERRUPTED),
                )
            await session.commit()
        return len(stale)

    async def _loop(self) -> None:
        with contextlib.suppress(Exception):
            await self.sweep()
        while True:
            ticket = await self._queue.get()
            try:
                await self.run(ticket.job_id, ticket.authorization)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("screening runner error")

    async def _beat(self) -> None:
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                async with self.sessionmaker() as session:
                    await ScreeningRepository(session).touch(list(self._held), utcnow())
                    await session.commit()
                if time.monotonic() - last_sweep > self.stale.total_seconds():
                    last_sweep = time.monotonic()
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("screening heartbeat error")

    # --- one job --------------------------------------------------------------------

    async def run(self, job_id: uuid.UUID, authorization: str | None) -> None:
        """Take one job to its end: succeeded with stored outcomes, or failed with why."""
        self._held.add(job_id)
        timings: dict[str, float] = {}
        started = time.monotonic()
        try:
            async with self.sessionmaker() as session:
                repository = ScreeningRepository(session)
                job = await repository.screening(job_id)
                if job is None or job.status != "queued":
                    return
                series = await repository.series(job.series_id)
                assert series is not None
                ids = [uuid.UUID(entry["rule_set_id"]) for entry in job.rule_sets]
                found = {r.id: r for r in [await session.get(RuleSet, i) for i in ids] if r}
                await repository.set(
                    job_id, status="running", started_at=utcnow(), heartbeat_at=utcnow()
                )
                await session.commit()
            specs = program_specs(job, found)
            evaluated = await self._evaluate(job, series, specs, authorization, timings)
            await self._write(job, series, specs, evaluated, timings, started)
        except DomainError as error:
            detail = error.detail or error.title
            await self._fail(job_id, problem(error.code, error.status, detail), timings)
        except Exception:
            _log.exception("screening %s failed", job_id)
            await self._fail(job_id, problem("internal-error", 500, _INTERNAL), timings)
        finally:
            self._held.discard(job_id)
            self.ended(job_id).set()

    async def _phase(self, job_id: uuid.UUID, phase: str, **values: Any) -> None:
        async with self.sessionmaker() as session:
            await ScreeningRepository(session).set(
                job_id, phase=phase, heartbeat_at=utcnow(), **values
            )
            await session.commit()

    async def _fail(
        self, job_id: uuid.UUID, error: dict[str, Any], timings: dict[str, float]
    ) -> None:
        async with self.sessionmaker() as session:
            await ScreeningRepository(session).set(
                job_id,
                status="failed",
                phase=None,
                finished_at=utcnow(),
                heartbeat_at=None,
                error=error,
                timings=timings,
            )
            await session.commit()

    async def _evaluate(
        self,
        job: Screening,
        series: ScreeningSeries,
        specs: list[ProgramSpec],
        authorization: str | None,
        timings: dict[str, float],
    ) -> _Evaluated:
        clock = time.monotonic()
        path = state.state_path(self.data_dir, series.id)
        previous = await asyncio.to_thread(state.load, path, len(specs))
        timings["state_seconds"] = round(time.monotonic() - clock, 3)
        if previous is not None and (
            series.last_seq == 0
            or previous.meta.get("seq") != series.last_seq
            or previous.meta.get("programs") != [s.code for s in specs]
        ):
            previous = None  # not the state of the series' last stored screening
        if previous is None:
            return await self._full(job, series, specs, authorization, timings)
        return await self._changes(job, previous, specs, authorization, timings)

    async def _full(
        self,
        job: Screening,
        series: ScreeningSeries,
        specs: list[ProgramSpec],
        authorization: str | None,
        timings: dict[str, float],
    ) -> _Evaluated:
        await self._phase(job.id, "downloading", mode="full")
        clock = time.monotonic()
        snapshot = await self.registry.snapshot(job.region, authorization=authorization)
        timings["download_seconds"] = round(time.monotonic() - clock, 3)
        await self._phase(job.id, "evaluating", households=snapshot.table.num_rows)
        clock = time.monotonic()

        def work() -> state.State:
            table = state.rule_inputs(snapshot.table)
            base = outcomes.evaluate(table, specs, job.on)
            return state.State.evaluated(table, base, outcomes.apply_quotas(table, base, specs))

        evaluated = await asyncio.to_thread(work)
        timings["evaluate_seconds"] = round(time.monotonic() - clock, 3)
        return _Evaluated(
            state=evaluated,
            cursor=snapshot.cursor,
            mode="full",
            changed=evaluated.households,
            close=[],
            open_rows=np.arange(evaluated.households),
            close_all=series.last_seq > 0,
        )

    async def _changes(
        self,
        job: Screening,
        previous: state.State,
        specs: list[ProgramSpec],
        authorization: str | None,
        timings: dict[str, float],
    ) -> _Evaluated:
        await self._phase(job.id, "following_changes", mode="changes")
        clock = time.monotonic()
        changes = await self.registry.changes_since(
            job.region, str(previous.meta["cursor"]), authorization=authorization
        )
        changed, households = await asyncio.to_thread(
            previous.news, changes.changed, changes.households
        )
        timings["changes_seconds"] = round(time.monotonic() - clock, 3)
        await self._phase(job.id, "evaluating", households_changed=len(changed))
        clock = time.monotonic()
        same_rules = previous.meta.get("on") == job.on.isoformat() and previous.meta.get(
            "hashes"
        ) == [s.compiled.content_hash for s in specs]

        def work() -> _Evaluated:
            fresh = state.rule_inputs(households)
            table, current, replaced = previous.apply(changed, fresh)
            if same_rules:
                base = np.concatenate([previous.base, outcomes.evaluate(fresh, specs, job.on)])
            else:
                base = outcomes.evaluate(table, specs, job.on)
            # Rows replaced or gone take no part in quotas, counts or what is stored.
            base[~current] = outcomes.OUTSIDE
            final = outcomes.apply_quotas(table, base, specs)
            updated = state.State(
                table, current, base, final, segments=previous.segments, saved=previous.saved
            )
            close, open_rows = previous.rewrites(updated, replaced)
            return _Evaluated(
                state=updated,
                cursor=changes.cursor,
                mode="changes",
                changed=len(changed),
                close=sorted(close),
                open_rows=open_rows,
                close_all=False,
            )

        evaluated = await asyncio.to_thread(work)
        timings["evaluate_seconds"] = round(time.monotonic() - clock, 3)
        return evaluated

    async def _write(
        self,
        job: Screening,
        series: ScreeningSeries,
        specs: list[ProgramSpec],
        evaluated: _Evaluated,
        timings: dict[str, float],
        started: float,
    ) -> None:
        kept = evaluated.state
        await self._phase(job.id, "writing", households=kept.households)
        clock = time.monotonic()
        seq = series.last_seq + 1
        table = kept.table
        rows = pa.array(evaluated.open_rows, pa.int64())
        strings = outcomes.as_strings(kept.final[evaluated.open_rows])
        counted = outcomes.counts(kept.final, specs)
        async with self.sessionmaker() as session:
            repository = ScreeningRepository(session)
            if not await repository.advance_series(series.id, series.last_seq, seq):
                await session.rollback()
                raise _Concurrent()
            if evaluated.close_all:
                await repository.close_all(series.id, seq)
            else:
                await repository.close_rows(series.id, evaluated.close, seq)
            await repository.add_rows(
                series.id,
                seq,
                table.column("id").take(rows).combine_chunks(),
                table.column("village_code").take(rows).combine_chunks(),
                pa.array(strings.astype(object), pa.binary()).cast(pa.string()),
            )
            timings["write_seconds"] = round(time.monotonic() - clock, 3)
            timings["total_seconds"] = round(time.monotonic() - started, 3)
            await repository.set(
                job.id,
                status="succeeded",
                phase=None,
                seq=seq,
                cursor=evaluated.cursor,
                mode=evaluated.mode,
                households=kept.households,
                households_changed=evaluated.changed,
                rows_written=len(rows),
                counts=counted,
                timings=timings,
                finished_at=utcnow(),
                heartbeat_at=None,
            )
            await session.commit()
        meta = {
            "seq": seq,
            "cursor": evaluated.cursor,
            "on": job.on.isoformat(),
            "programs": [s.code for s in specs],
            "hashes": [s.compiled.content_hash for s in specs],
        }
        # After the commit: a state ahead of the database would be wrong, one behind is
        # only ignored (the next run reads the whole snapshot).
        path = state.state_path(self.data_dir, series.id)
        await asyncio.to_thread(state.save, path, kept, meta)
        if evaluated.mode == "full":
            async with self.sessionmaker() as session:
                await ScreeningRepository(session).refresh_statistics()
                await session.commit()


class _Concurrent(DomainError):
    status = 409
    code = "conflict"
    title = _CONCURRENT
