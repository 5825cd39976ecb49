"""`selaras-registry`: migrate the database, load demo data, serve the API."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from selaras_registry.settings import RegistrySettings
from selaras_shared.auth import Principal, Role
from selaras_shared.db import make_engine, make_sessionmaker
from selaras_shared.migrations import upgrade
from selaras_shared.process import tune_collector

MIGRATIONS = "selaras_registry:migrations"


def migrate(settings: RegistrySettings) -> None:
    """Bring the registry database to the latest migration."""
    upgrade(MIGRATIONS, settings.database_url)


async def load_demo(
    settings: RegistrySettings, households: int, seed: int, batch: int = 250
) -> int:
    """Register `households` synthetic households through the service; returns how many
    were added (0 when the same demo set is already there)."""
    from selaras_registry.demo import generate
    from selaras_registry.models import Household
    from selaras_registry.service import Caller, RegistryService

    loader = Caller(
        Principal(subject="demo-loader", role=Role.manager, jurisdiction=""), source="demo"
    )
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    added = 0
    try:
        pending = list(generate(households, seed=seed))
        async with sessions() as session:
            first = pending[0].id if pending else None
            if first is not None and await session.get(Household, first) is not None:
                return 0
        for start in range(0, len(pending), batch):
            async with sessions.begin() as session:
                service = RegistryService(session, loader)
                for household in pending[start : start + batch]:
                    await service.create(household)
                    added += 1
    finally:
        await engine.dispose()
    return added


async def import_file(
    settings: RegistrySettings,
    path: Path,
    *,
    mode: str,
    principal: Principal,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Import a file in this process, as an upload through the API would: the file is
    copied to the spool, a job is queued and run to its end. Returns the finished job."""
    import uuid

    from selaras_registry.app import IMPORTS_PATH
    from selaras_registry.imports.runner import ImportRunner, spool_path
    from selaras_registry.models import ImportJob

    job_id = uuid.uuid4()
    sha256, size = await asyncio.to_thread(_spool, path, spool_path(settings.import_dir, job_id))
    options: dict[str, Any] = {"encoding": encoding}
    if delimiter:
        options["delimiter"] = delimiter
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    runner = ImportRunner(
        sessions,
        import_dir=settings.import_dir,
        workers=settings.workers(),
        families_per_batch=settings.import_batch_families,
        stale_seconds=settings.import_stale_seconds,
        heartbeat_seconds=settings.import_heartbeat_seconds,
        gc_threshold=settings.gc_threshold,
    )
    try:
        async with sessions.begin() as session:
            session.add(
                ImportJob(
                    id=job_id,
                    mode=mode,
                    format="ndjson" if path.suffix in (".ndjson", ".jsonl") else "csv",
                    filename=path.name[:200],
                    content_sha256=sha256,
                    size_bytes=size,
                    options=options,
                    submitted_by=principal.subject,
                    submitted_role=principal.role.value,
                    submitted_organization=principal.organization,
                    jurisdiction=principal.jurisdiction,
                )
            )
        await runner.run_pending()
        async with sessions() as session:
            job = await session.get(ImportJob, job_id)
            assert job is not None
            return {**job.model_dump(mode="json"), "links": f"{IMPORTS_PATH}/{job_id}"}
    finally:
        await runner.stop()
        await engine.dispose()


def _spool(path: Path, target: Path) -> tuple[str, int]:
    """Copy a file into the import spool; its sha256 and size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source, target.open("wb") as spool:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            spool.write(chunk)
    return digest.hexdigest(), size


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="selaras-registry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    demo = commands.add_parser("demo", help="load deterministic synthetic households")
    demo.add_argument("--households", type=int, default=3000)
    demo.add_argument("--seed", type=int, default=2016)
    load = commands.add_parser("import", help="import a CSV or NDJSON file of households")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--mode", choices=["dry_run", "all_or_nothing", "valid_only"], default="dry_run"
    )
    load.add_argument("--encoding", default="utf-8")
    load.add_argument("--delimiter", default=None)
    load.add_argument("--subject", default="import-cli")
    load.add_argument("--role", default="manager")
    load.add_argument("--jurisdiction", default="", help="region prefix imported into")
    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = RegistrySettings()

    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "demo":
        started = time.perf_counter()
        added = asyncio.run(load_demo(settings, args.households, args.seed))
        elapsed = time.perf_counter() - started
        print(f"registry demo data: {added} households added in {elapsed:.1f}s", file=sys.stderr)
        return 0
    if args.command == "import":
        tune_collector(settings.gc_threshold)
        principal = Principal(
            subject=args.subject, role=Role(args.role), jurisdiction=args.jurisdiction
        )
        job = asyncio.run(
            import_file(
                settings,
                args.file,
                mode=args.mode,
                principal=principal,
                encoding=args.encoding,
                delimiter=args.delimiter,
            )
        )
        print(json.dumps(job, indent=2))
        return 0 if job["status"] == "succeeded" else 1
    import uvicorn

    uvicorn.run(
        "selaras_registry.app:create_app",
        factory=True,
        host=args.host,
        port=args.port or settings.port,
        workers=args.workers,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
