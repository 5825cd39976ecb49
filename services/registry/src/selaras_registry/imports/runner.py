"""The import job runner: claims queued (or orphaned) jobs, streams their file through
validation in worker processes, checks and writes families batch by batch, and keeps
progress visible.

Modes: `dry_run` checks everything (database included) and writes only the job and its
issues; `all_or_nothing` writes in one transaction committed only without a single error
(after the first error the data are rolled back and the rest of the file is checked as in a
dry run, so that the report is complete); `valid_only` commits each batch, writing valid
families whole and reporting the others.

Resuming: a job left `running` by a dead process is claimed again once its heartbeat is
stale, and read again from the first row. Importing is idempotent, and in the modes that
commit per batch (`dry_run`, `valid_only`) the job's `rows_done` is committed with each
batch, so that families up to it are not counted or reported twice: they are only read to
rebuild the memory of KK numbers and NIKs seen earlier in the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import sqlite3
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from selaras_registry.imports.records import (
    FamilyRecord,
    FileProblem,
    ImportOptions,
    RawBatch,
    RowIssue,
)
from selaras_registry.imports.writer import (
    Actor,
    BatchWriter,
    Family,
    NewRows,
    Prepared,
    PreparedBatch,
    member_row,
    prepare_batch,
)
from selaras_registry.models import ImportJob
from selaras_registry.repository.imports import ImportRepository
from selaras_registry.service import Caller
from selaras_shared.auth import Principal, Role
from selaras_shared.db import utcnow
from selaras_shared.i18n import Text
from selaras_shared.process import tune_collector

_log = logging.getLogger("selaras.imports")

#: Called after each batch is written (tests pause a job here to look at its progress).
BatchHook = Callable[[uuid.UUID, int], Awaitable[None]]


@dataclass(frozen=True)
class Reader:
    """The three functions of the import reader the runner uses (see `imports.reader`)."""

    raw_batches: Callable[..., Iterator[RawBatch]]
    validate_batch: Callable[[RawBatch], list[FamilyRecord]]
    count_rows: Callable[[Path, ImportOptions], int]


def default_reader() -> Reader:
    """The import reader of this package."""
    from selaras_registry.imports import reader

    return Reader(reader.raw_batches, reader.validate_batch, reader.count_rows)


def spool_path(import_dir: Path, job_id: uuid.UUID) -> Path:
    """Where the uploaded file of a job is kept until the job ends."""
    return import_dir / f"{job_id}.upload"


@dataclass
class Progress:
    """Live counters of a running job."""

    rows_total: int | None = None
    rows_done: int = 0
    bytes_done: int = 0
    households_created: int = 0
    households_updated: int = 0
    households_unchanged: int = 0
    households_rejected: int = 0
    error_count: int = 0
    warning_count: int = 0

    def columns(self) -> dict[str, Any]:
        """The job columns these counters are persisted in."""
        return dict(self.__dict__)

    @classmethod
    def of(cls, job: ImportJob) -> Progress:
        """The counters as persisted on a job."""
        return cls(**{name: getattr(job, name) for name in cls().__dict__})


class SeenKeys:
    """KK numbers and NIKs met earlier in one file, with the row where each was first seen.

    A million families carry about five million keys: an in-memory SQLite b-tree of
    integers keeps them in tens of MB, where a Python set of strings would take hundreds.
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", isolation_level=None)
        self._db.execute("CREATE TABLE kk (key INTEGER PRIMARY KEY, row INTEGER NOT NULL)")
        self._db.execute("CREATE TABLE nik (key INTEGER PRIMARY KEY, row INTEGER NOT NULL)")

    def find(self, kind: str, keys: set[str]) -> dict[str, int]:
        """Which of `keys` (16-digit numbers) were seen before, and at which row."""
        numbers = {int(k): k for k in keys if k.isdigit() and len(k) <= 18}
        found: dict[str, int] = {}
        items = list(numbers)
        for start in range(0, len(items), 30_000):
            chunk = items[start : start + 30_000]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, row FROM {kind} WHERE key IN ({marks})"
            for key, row in self._db.execute(query, chunk):
                found[numbers[key]] = row
        return found

    def add(self, kind: str, pairs: list[tuple[str, int]]) -> None:
        """Remember keys first seen at these rows."""
        rows = [(int(k), row) for k, row in pairs if k.isdigit() and len(k) <= 18]
        self._db.executemany(
            f"INSERT OR IGNORE INTO {kind} (key, row) VALUES (?, ?)",
            rows,
        )

    def close(self) -> None:
        """Free the memory."""
        self._db.close()


_DUPLICATE_KK = Text(
    "Nomor KK ini sudah muncul di baris {first_row}; baris satu keluarga harus berurutan",
    "This KK number already appeared at row {first_row}; a family's rows must be consecutive",
)
_NIK_IN_TWO_FAMILIES = Text(
    "NIK ini sudah muncul pada keluarga lain di baris {first_row}",
    "This NIK already appeared in another family at row {first_row}",
)
_NIK_ACTIVE = Text(
    "NIK {nik} sudah terdaftar aktif pada keluarga {household}",
    "NIK {nik} is already registered to household {household}",
)
_OUTSIDE = Text(
    "Desa/kelurahan {region} di luar wilayah kerja Anda ({jurisdiction})",
    "Village {region} is outside your jurisdiction ({jurisdiction})",
)
_KK_OUTSIDE = Text(
    "Nomor KK ini terdaftar pada keluarga di luar wilayah kerja Anda",
    "This KK number belongs to a household outside your jurisdiction",
)
_KK_AMBIGUOUS = Text(
    "Nomor KK ini dipakai oleh {count} keluarga aktif; perbaiki dulu di registri",
    "This KK number is held by {count} active households; resolve that in the registry first",
)
_FILE_MISSING = Text(
    "Berkas impor tidak ditemukan lagi di server; unggah ulang",
    "The import file is no longer on the server; upload it again",
)
_CONCURRENT = Text(
    "Data bentrok dengan perubahan lain yang bersamaan; jalankan impor lagi",
    "Conflicted with a concurrent change; run the import again",
)


@dataclass
class _Run:
    """State of one job run in this process."""

    job: ImportJob
    progress: Progress
    skip_rows: int = 0
    data_failed: bool = False
    batch_index: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)


class ImportRunner:
    """Runs import jobs in a background task of the service process; validation runs in
    `workers` worker processes (none: in this one), whose garbage collector is tuned with
    `gc_threshold` when it is given."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        import_dir: Path,
        workers: int = 0,
        families_per_batch: int = 2000,
        stale_seconds: float = 60.0,
        heartbeat_seconds: float = 1.0,
        poll_seconds: float = 5.0,
        reader: Reader | None = None,
        after_batch: BatchHook | None = None,
        gc_threshold: int | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.import_dir = import_dir
        self.workers = workers
        self.families_per_batch = families_per_batch
        self.stale = timedelta(seconds=stale_seconds)
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds
        self.reader = reader or default_reader()
        self.after_batch = after_batch
        self.gc_threshold = gc_threshold
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._live: dict[uuid.UUID, Progress] = {}
        self._current: uuid.UUID | None = None
        self._ended: dict[uuid.UUID, asyncio.Event] = {}

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start the background task (from the app lifespan)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="import-runner")

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The background task (tests cancel it to simulate a crash)."""
        return self._task

    async def stop(self) -> None:
        """Stop the task; a job interrupted here is handed back to the queue at once."""
        task, self._task = self._task, None
        current = self._current
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if current is not None:
            async with self.sessionmaker() as session:
                await ImportRepository(session).set(current, heartbeat_at=None)
                await session.commit()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def notify(self) -> None:
        """Tell the runner a job was queued."""
        self._wake.set()

    def progress(self, job_id: uuid.UUID) -> Progress | None:
        """Live counters of a job running in this process, ahead of the persisted ones."""
        return self._live.get(job_id)

    def ended(self, job_id: uuid.UUID) -> asyncio.Event:
        """An event set when this runner has taken the job to its end (CLI and tests);
        one small event per job run by this process is kept."""
        return self._ended.setdefault(job_id, asyncio.Event())

    async def run_pending(self) -> int:
        """Run every claimable job to its end (the CLI and tests); returns how many ran."""
        count = 0
        while (job_id := await self._claim()) is not None:
            await self._run(job_id)
            count += 1
        return count

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be briefly unavailable; the job is retried once stale.
                _log.exception("import runner error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _claim(self) -> uuid.UUID | None:
        now = utcnow()
        async with self.sessionmaker() as session:
            repository = ImportRepository(session)
            for job_id in await repository.claimable(now - self.stale):
                if await repository.claim(job_id, now - self.stale, now):
                    await session.commit()
                    return job_id
            await session.rollback()
        return None

    # --- one job --------------------------------------------------------------------

    async def _run(self, job_id: uuid.UUID) -> None:
        self._current = job_id
        try:
            await self._run_job(job_id)
        finally:
            self._current = None
            self._live.pop(job_id, None)
        # Only a job that reached its end: a cancelled run leaves it to be resumed.
        self.ended(job_id).set()

    async def _run_job(self, job_id: uuid.UUID) -> None:
        async with self.sessionmaker() as session:
            job = await ImportRepository(session).get(job_id)
            assert job is not None
            path = spool_path(self.import_dir, job.id)
            resumable = job.mode != "all_or_nothing" and job.rows_done > 0
            progress = Progress.of(job) if resumable else Progress()
            run = _Run(job, progress, skip_rows=progress.rows_done)
            values: dict[str, Any] = {"started_at": job.started_at or utcnow()}
            if not resumable:
                await ImportRepository(session).clear_issues(job.id)
                values.update(progress.columns(), failure=None)
            await ImportRepository(session).set(job.id, **values)
            await session.commit()
        self._live[job.id] = progress
        if not path.exists():
            await self._finish(run, "failed", {"code": "file_missing", **_texts(_FILE_MISSING)})
            return
        options = ImportOptions(
            format=job.format,  # type: ignore[arg-type]
            encoding=str(job.options.get("encoding", "utf-8")),
            delimiter=job.options.get("delimiter"),
        )
        try:
            progress.rows_total = await asyncio.to_thread(self.reader.count_rows, path, options)
        except FileProblem:
            progress.rows_total = None  # the same problem is reported when reading
        if job.mode == "all_or_nothing":
            await self._all_or_nothing(run, path, options)
        else:
            await self._per_batch(run, path, options)

    async def _per_batch(self, run: _Run, path: Path, options: ImportOptions) -> None:
        """`dry_run` and `valid_only`: one transaction per batch, with the progress."""
        dry_run = run.job.mode == "dry_run"
        seen = SeenKeys()
        try:
            async for batch in self._batches(run, path, options):
                async with self.sessionmaker() as session:
                    await self._batch(run, session, batch, seen, dry_run=dry_run)
                    await self._save(run, session)
                    await session.commit()
                await self._after_batch(run)
        except FileProblem as problem:
            await self._finish(run, "failed", _failure(problem))
            return
        except _Conflict:
            await self._finish(run, "failed", {"code": "conflict", **_texts(_CONCURRENT)})
            return
        finally:
            seen.close()
        await self._finish(run, "succeeded", None)

    async def _all_or_nothing(self, run: _Run, path: Path, options: ImportOptions) -> None:
        """One transaction for every family; after the first error, only checking."""
        data = self.sessionmaker()
        try:
            failure = await self._all_or_nothing_in(run, data, path, options)
            if failure is None and not run.data_failed:
                # The job's end commits with the data: both, or neither.
                await ImportRepository(data).add_issues(run.issues)
                run.issues = []
                await ImportRepository(data).set(run.job.id, **self._final(run, "succeeded", None))
                await data.commit()
                _remove(spool_path(self.import_dir, run.job.id))
                return
            if not run.data_failed:
                await self._abandon(run, data)
        finally:
            # Also on cancellation: the transaction must not outlive the run.
            await data.close()
        await self._finish(run, "failed", failure)

    async def _all_or_nothing_in(
        self, run: _Run, data: AsyncSession, path: Path, options: ImportOptions
    ) -> dict[str, Any] | None:
        seen = SeenKeys()
        heartbeat = asyncio.create_task(self._heartbeat(run, data))
        try:
            async for batch in self._batches(run, path, options):
                if run.data_failed:
                    async with self.sessionmaker() as session:
                        await self._batch(run, session, batch, seen, dry_run=True)
                        await self._save(run, session)
                        await session.commit()
                else:
                    await self._batch(run, data, batch, seen, dry_run=False)
                    if run.progress.error_count:
                        await self._abandon(run, data)
                await self._after_batch(run)
        except FileProblem as problem:
            return _failure(problem)
        except _Conflict:
            return {"code": "conflict", **_texts(_CONCURRENT)}
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            seen.close()
        return None

    async def _abandon(self, run: _Run, data: AsyncSession) -> None:
        """Roll the data back; what was counted as written is no longer."""
        await data.rollback()
        run.data_failed = True
        progress = run.progress
        progress.households_created = progress.households_updated = 0
        progress.households_unchanged = 0
        async with self.sessionmaker() as session:
            await self._save(run, session)
            await session.commit()

    async def _heartbeat(self, run: _Run, data: AsyncSession) -> None:
        """Keep the heartbeat (and on PostgreSQL the progress) fresh while one long
        transaction runs. On SQLite that transaction holds the only write lock, so a
        second writer would wait for it: the heartbeat is skipped (no other replica can
        take the job meanwhile either, as claiming needs the same lock) and live progress
        is served from memory by `progress`."""
        if data.bind is None or data.bind.dialect.name == "sqlite":
            return
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            async with self.sessionmaker() as session:
                values = {"heartbeat_at": utcnow()}
                if not run.data_failed:
                    values.update(run.progress.columns())
                await ImportRepository(session).set(run.job.id, **values)
                await session.commit()

    async def _save(self, run: _Run, session: AsyncSession) -> None:
        """Persist issues found so far and the progress, in `session`'s transaction."""
        repository = ImportRepository(session)
        await repository.add_issues(run.issues)
        run.issues = []
        await repository.set(run.job.id, heartbeat_at=utcnow(), **run.progress.columns())

    async def _after_batch(self, run: _Run) -> None:
        run.batch_index += 1
        if self.after_batch is not None:
            await self.after_batch(run.job.id, run.batch_index)

    def _final(self, run: _Run, status: str, failure: dict[str, Any] | None) -> dict[str, Any]:
        return {
            **run.progress.columns(),
            "status": status,
            "failure": failure,
            "finished_at": utcnow(),
            "heartbeat_at": None,
        }

    async def _finish(self, run: _Run, status: str, failure: dict[str, Any] | None) -> None:
        async with self.sessionmaker() as session:
            repository = ImportRepository(session)
            await repository.add_issues(run.issues)
            run.issues = []
            await repository.set(run.job.id, **self._final(run, status, failure))
            await session.commit()
        _remove(spool_path(self.import_dir, run.job.id))

    # --- batches --------------------------------------------------------------------

    async def _batches(
        self, run: _Run, path: Path, options: ImportOptions
    ) -> AsyncIterator[PreparedBatch]:
        """Validated batches in file order; validation of the next batches overlaps the
        writing of this one (a bounded window, so memory stays flat)."""
        job = run.job
        actor = Actor(
            subject=job.submitted_by,
            role=job.submitted_role,
            organization=job.submitted_organization,
            copy_text=self._postgres(),
        )
        work = partial(prepare_batch, actor=actor, validate=self.reader.validate_batch)
        batches = self.reader.raw_batches(path, options, families_per_batch=self.families_per_batch)
        loop = asyncio.get_running_loop()
        pending: deque[asyncio.Future[PreparedBatch]] = deque()
        window = max(2, self.workers + 1)
        problem: FileProblem | None = None
        exhausted = False
        try:
            while True:
                while problem is None and not exhausted and len(pending) < window:
                    try:
                        raw = await asyncio.to_thread(next, batches, None)
                    except FileProblem as exc:
                        problem = exc
                        break
                    if raw is None:
                        exhausted = True
                        break
                    if self.workers > 0:
                        pending.append(loop.run_in_executor(self._executor(), work, raw))
                    else:
                        pending.append(asyncio.ensure_future(asyncio.to_thread(work, raw)))
                if not pending:
                    break
                yield await pending.popleft()
        finally:
            for future in pending:
                future.cancel()
        if problem is not None:
            raise problem

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: forking a process that runs an event loop and threads is unsafe. Each
            # worker validates batch after batch of rows: its collector is tuned like a
            # server's (`gc_threshold`).
            context = multiprocessing.get_context("spawn")
            if self.gc_threshold is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            else:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=context,
                    initializer=tune_collector,
                    initargs=(self.gc_threshold,),
                )
        return self._pool

    def _postgres(self) -> bool:
        bind = self.sessionmaker.kw.get("bind")
        return bool(bind is not None and bind.dialect.name == "postgresql")

    async def _batch(
        self,
        run: _Run,
        session: AsyncSession,
        batch: PreparedBatch,
        seen: SeenKeys,
        *,
        dry_run: bool,
    ) -> None:
        """Check one batch's families across the file and against the database, and
        write (or in a dry run only count) them."""
        progress = run.progress
        progress.bytes_done = batch.bytes_done
        fresh: list[Prepared] = []
        replaying: list[Prepared] = []
        # Families up to the committed checkpoint were written by an earlier attempt.
        done_until = run.skip_rows + batch.header_rows
        for family in batch.families:
            done = run.skip_rows and family.record.last_row <= done_until
            (replaying if done else fresh).append(family)
        problems = _cross_family(replaying + fresh, seen)
        if not fresh:
            return
        job = run.job
        caller = Caller(
            Principal(
                subject=job.submitted_by,
                role=Role(job.submitted_role),
                jurisdiction=job.jurisdiction,
                organization=job.submitted_organization,
            ),
            source="import",
        )
        writer = BatchWriter(session, caller, dry_run=dry_run)
        candidates = [f.family for f in fresh if f.family is not None and id(f) not in problems]
        existing = await writer.existing_by_kk([f.kk_number for f in candidates])
        holders = await writer.holders([nik for f in candidates for nik in f.niks])
        new_rows: list[NewRows] = []
        for family in fresh:
            record = family.record
            issues = list(record.issues) + problems.get(id(family), [])
            status = "rejected"
            keys = family.family
            if keys is not None and family.rows is not None and not _errors(issues):
                found = existing.get(keys.kk_number, [])
                issues += _database_problems(record, keys, found, holders, job.jurisdiction)
                if not _errors(issues):
                    if not found:
                        status = "created"
                        new_rows.append(family.rows)
                    else:
                        data = keys.household()
                        outcome = await writer.put_existing(record, data, found[0].id)
                        status = outcome.status
                        issues += outcome.issues
            self._count(run, record, status, issues)
        try:
            await writer.insert_new(new_rows)
        except (IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
            # SQLAlchemy's error on SQLite; asyncpg's own from COPY on PostgreSQL.
            raise _Conflict from exc
        progress.rows_done = max(progress.rows_done, batch.rows_done)

    def _count(self, run: _Run, record: FamilyRecord, status: str, issues: list[RowIssue]) -> None:
        progress = run.progress
        setattr(progress, f"households_{status}", getattr(progress, f"households_{status}") + 1)
        for problem in issues:
            if problem.warning:
                progress.warning_count += 1
            else:
                progress.error_count += 1
            run.issues.append(_issue_row(run.job.id, record, problem))


class _Conflict(Exception):
    """A bulk write lost a race with a concurrent writer (unique active NIK)."""


def _errors(issues: list[RowIssue]) -> bool:
    return any(not i.warning for i in issues)


def _cross_family(families: list[Prepared], seen: SeenKeys) -> dict[int, list[RowIssue]]:
    """KK numbers appearing again later in the file, and NIKs in two families: errors on
    the later rows. Families are taken in file order; a rejected family's NIKs are not
    remembered (its KK number is)."""
    kks = {f.record.kk_number for f in families if f.record.kk_number}
    niks = {nik for f in families if f.family for nik in f.family.niks}
    kk_before, nik_before = seen.find("kk", kks), seen.find("nik", niks)
    kk_batch: dict[str, int] = {}
    nik_batch: dict[str, int] = {}
    problems: dict[int, list[RowIssue]] = {}
    for family in families:
        record = family.record
        found: list[RowIssue] = []
        kk = record.kk_number
        if kk:
            first = kk_before.get(kk, kk_batch.get(kk))
            if first is not None:
                found.append(
                    RowIssue(
                        record.first_row,
                        "kk_number",
                        kk,
                        "kk_repeated",
                        _DUPLICATE_KK.with_params(first_row=first),
                    )
                )
            else:
                kk_batch[kk] = record.first_row
        keys = family.family
        if keys is not None and not found:
            members = len(keys.niks)
            for index, nik in enumerate(keys.niks):
                first = nik_before.get(nik, nik_batch.get(nik))
                if first is not None:
                    found.append(
                        RowIssue(
                            member_row(record, index, members),
                            "nik",
                            nik,
                            "nik_in_two_families",
                            _NIK_IN_TWO_FAMILIES.with_params(first_row=first),
                        )
                    )
            if not found and not _errors(record.issues):
                for index, nik in enumerate(keys.niks):
                    nik_batch[nik] = member_row(record, index, members)
        if found:
            problems[id(family)] = found
    seen.add("kk", list(kk_batch.items()))
    seen.add("nik", list(nik_batch.items()))
    return problems


def _database_problems(
    record: FamilyRecord,
    data: Family,
    found: list[Any],
    holders: dict[str, uuid.UUID],
    jurisdiction: str,
) -> list[RowIssue]:
    """Jurisdiction, the existing household of the KK number, and NIKs held elsewhere."""
    problems: list[RowIssue] = []
    if not data.village_code.startswith(jurisdiction):
        problems.append(
            RowIssue(
                record.first_row,
                "village_code",
                data.village_code,
                "outside_jurisdiction",
                _OUTSIDE.with_params(region=data.village_code, jurisdiction=jurisdiction or "-"),
            )
        )
        return problems
    if len(found) > 1:
        problems.append(
            RowIssue(
                record.first_row,
                "kk_number",
                data.kk_number,
                "kk_ambiguous",
                _KK_AMBIGUOUS.with_params(count=len(found)),
            )
        )
        return problems
    target = found[0].id if found else None
    if found and not found[0].village_code.startswith(jurisdiction):
        problems.append(
            RowIssue(
                record.first_row, "kk_number", data.kk_number, "outside_jurisdiction", _KK_OUTSIDE
            )
        )
        return problems
    for index, nik in enumerate(data.niks):
        holder = holders.get(nik)
        if holder is not None and holder != target:
            problems.append(
                RowIssue(
                    member_row(record, index, len(data.niks)),
                    "nik",
                    nik,
                    "nik_duplicate",
                    _NIK_ACTIVE.with_params(nik=nik, household=str(holder)),
                )
            )
    return problems


def _issue_row(job_id: uuid.UUID, record: FamilyRecord, problem: RowIssue) -> dict[str, Any]:
    value = problem.value
    return {
        "job_id": job_id,
        "row": problem.row,
        "kk_number": (record.kk_number or "")[:40] or None,
        "field": problem.field[:100],
        "value": value[:200] if value is not None else None,
        "code": problem.code[:50],
        "severity": "warning" if problem.warning else "error",
        "message_id": problem.message.render("id")[:500],
        "message_en": problem.message.render("en")[:500],
    }


def _texts(message: Text) -> dict[str, str]:
    return {"message_id": message.render("id"), "message_en": message.render("en")}


def _failure(problem: FileProblem) -> dict[str, Any]:
    return {"code": problem.code, "row": problem.row, **_texts(problem.message)}


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
