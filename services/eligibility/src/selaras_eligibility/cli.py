"""`selaras-eligibility`: migrate the database, load catalogue and rule-set files, serve."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from selaras_eligibility import documents
from selaras_eligibility.errors import issues_from_validation
from selaras_eligibility.schemas import (
    OrganizationCreate,
    OrganizationUpdate,
    ProgramCreate,
    ProgramUpdate,
)
from selaras_eligibility.service import CatalogueService
from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.auth import Principal, Role
from selaras_shared.db import make_engine, make_sessionmaker
from selaras_shared.errors import DomainError, InvalidInput
from selaras_shared.i18n import Text
from selaras_shared.migrations import upgrade

MIGRATIONS = "selaras_eligibility:migrations"
LOADER = Principal(subject="catalogue-loader", role=Role.admin, jurisdiction="")


def migrate(settings: EligibilitySettings) -> None:
    """Bring the eligibility database to the latest migration."""
    upgrade(MIGRATIONS, settings.database_url)


def read_file(path: Path) -> dict[str, Any]:
    """A catalogue or rule-set file, YAML (.yaml/.yml) or JSON, as plain JSON values (a
    rule set in it is then validated by the rule language)."""
    media_type = "application/yaml" if path.suffix in (".yaml", ".yml") else "application/json"
    return documents.parse(path.read_bytes(), media_type)


def _parsed(model: type[Any], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            Text("{where} tidak valid", "{where} is invalid", {"where": where}),
            errors=issues_from_validation(exc, prefix=f"{where}."),
        ) from exc


async def load_document(
    service: CatalogueService, data: dict[str, Any], *, publish: bool
) -> list[str]:
    """Load one file's content: a catalogue (`organizations`, `programs`, `rule_sets`) or a
    single rule-set document naming its `program`. Returns what was done, line by line.

    Loading the same file again changes nothing: records are matched by code, and rule-set
    versions by content hash.
    """
    done: list[str] = []
    is_catalogue = any(key in data for key in ("organizations", "programs", "rule_sets"))
    for i, raw in enumerate(data.get("organizations", []) if is_catalogue else []):
        body = _parsed(OrganizationCreate, raw, f"organizations.{i}")
        existing = await service.repo.organization_by_code(body.code)
        if existing is None:
            await service.create_organization(body)
            done.append(f"organization {body.code}: created")
        else:
            changes = body.model_dump(mode="json", exclude={"code"})
            if any(getattr(existing, k) != v for k, v in changes.items()):
                await service.update_organization(existing.id, OrganizationUpdate(**changes), None)
                done.append(f"organization {body.code}: updated")
    programs = [
        _parsed(ProgramCreate, raw, f"programs.{i}")
        for i, raw in enumerate(data.get("programs", []) if is_catalogue else [])
    ]
    # Exclusions may name programmes further down the file: create first, then link.
    created: set[str] = set()
    for program in programs:
        existing_program = await service.repo.program_by_code(program.code)
        if existing_program is None:
            await service.create_program(program.model_copy(update={"excludes": []}))
            done.append(f"program {program.code}: created")
            created.add(program.code)
    for program in programs:
        current = await service.repo.program_by_code(program.code)
        assert current is not None
        served = await service.program(current.id)
        wanted = program.model_dump(mode="json", exclude={"code"})
        if served.model_dump(mode="json", include=set(wanted)) != wanted:
            await service.update_program(current.id, ProgramUpdate(**wanted), None)
            if program.code not in created:
                done.append(f"program {program.code}: updated")
    rule_sets = data.get("rule_sets", []) if is_catalogue else [data]
    for i, document in enumerate(rule_sets):
        code = document.get("program") if isinstance(document, dict) else None
        if not isinstance(code, str):
            raise InvalidInput(
                Text(
                    "Dokumen aturan {i} tidak menyebut program",
                    "Rule-set document {i} names no program",
                    {"i": i},
                )
            )
        target = await service.repo.program_by_code(code)
        if target is None:
            raise InvalidInput(
                Text("Program {code} tidak dikenal", "Unknown programme {code}", {"code": code})
            )
        checked = documents.rule_set_from_data(document)
        same = await service.repo.rule_set_by_hash(target.id, checked[1])
        if same is not None:
            done.append(f"rules {code} v{same.version}: unchanged ({same.status})")
            continue
        added = await service.add_rule_set(target.id, checked)
        if publish:
            await service.publish(target.id, added.version)
        done.append(f"rules {code} v{added.version}: {'published' if publish else 'draft'}")
    return done


async def load_files(
    settings: EligibilitySettings, paths: list[Path], *, publish: bool
) -> list[str]:
    """Load files in one transaction: all of them, or nothing when one has a problem."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            service = CatalogueService(session, LOADER)
            done: list[str] = []
            for path in paths:
                done += [
                    f"{path}: {line}"
                    for line in await load_document(service, read_file(path), publish=publish)
                ]
            return done
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="selaras-eligibility", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    load = commands.add_parser("load", help="load catalogue or rule-set files (YAML or JSON)")
    load.add_argument("files", type=Path, nargs="+", metavar="FILE")
    load.add_argument("--draft", action="store_true", help="keep new rule sets as drafts")
    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = EligibilitySettings()

    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "load":
        try:
            done = asyncio.run(load_files(settings, args.files, publish=not args.draft))
        except (OSError, DomainError) as exc:
            print(_describe(exc), file=sys.stderr)
            return 1
        for line in done or ["nothing to change"]:
            print(line, file=sys.stderr)
        return 0
    import uvicorn

    uvicorn.run(
        "selaras_eligibility.app:create_app",
        factory=True,
        host=args.host,
        port=args.port or settings.port,
        workers=args.workers,
        access_log=False,
    )
    return 0


def _describe(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return json.dumps(exc.to_problem("en"), indent=2, ensure_ascii=False)
    return str(exc)
