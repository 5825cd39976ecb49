"""Migrations match the models and go down and up; the CLI loads catalogue and rule files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_eligibility.cli import MIGRATIONS, load_files, main, read_file
from selaras_eligibility.models import Organization, Program, RuleSet, metadata
from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.db import make_engine
from selaras_shared.migrations import upgrade

DEMO = Path(__file__).parents[2] / "services/eligibility/demo/catalogue.yaml"


async def test_models_match_migrations(eligibility_engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with eligibility_engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_migrations_go_down_and_up_again(databases: Any) -> None:
    url = await databases.new("eligibility_downgrade")
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")


async def _count(url: str, model: Any) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await engine.dispose()


async def test_load_catalogue_and_rule_file(databases: Any, tmp_path: Path) -> None:
    url = await databases.new("eligibility_load")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    settings = EligibilitySettings(database_url=url)
    rule_file = tmp_path / "pkh.yaml"
    rule_file.write_text(
        "program: PKH\neffective_from: 2025-01-01\ncriteria:\n  - id: poor\n"
        "    label: {id: Miskin, en: Poor}\n    rule: {'<=': [{var: desil}, 4]}\n"
    )
    demo = read_file(DEMO)
    done = await load_files(settings, [DEMO, rule_file], publish=True)
    assert any("program PKH: created" in line for line in done)
    # The demo catalogue publishes PKH v1; the rule file comes after it.
    assert any("rules PKH v2: published" in line for line in done)
    assert await _count(url, Program) == len(demo["programs"])
    # Loading again changes nothing: matched by code and by content hash.
    again = await load_files(settings, [DEMO, rule_file], publish=True)
    assert all("created" not in line and "updated" not in line for line in again)
    assert any("unchanged (published)" in line for line in again)
    assert await _count(url, RuleSet) == len(demo["rule_sets"]) + 1


async def test_load_refuses_bad_file_as_a_whole(
    databases: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    url = await databases.new("eligibility_badload")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "organizations:\n  - {code: ok-org, name: Fine, kind: ngo, region: '73'}\n"
        "programs:\n  - {code: X1, name_id: Satu}\n"
    )
    monkeypatch.setenv("SELARAS_ELIGIBILITY_DATABASE_URL", url)
    assert await asyncio.to_thread(main, ["load", str(bad)]) == 1
    assert "programs.0.name_en" in capsys.readouterr().err
    # One transaction: the valid organisation was not kept either.

    assert await _count(url, Organization) == 0
