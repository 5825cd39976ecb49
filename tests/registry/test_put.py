"""RegistryService.put: replace a household by a whole document, members matched on NIK."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from selaras_registry.models import Household, HouseholdVersion, Member
from selaras_registry.schemas import HouseholdCreate
from selaras_registry.service import Caller, RegistryService
from selaras_shared.auth import Principal, Role
from selaras_shared.errors import Conflict, Forbidden, NotFound, PreconditionFailed

from .factories import OTHER_REGENCY_VILLAGE, VILLAGE, household, member

Services = Callable[..., RegistryService]


@pytest.fixture
async def db(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session configured like the app's (no autoflush), inside the test's transaction."""
    async with AsyncSession(
        connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    ) as session:
        yield session


@pytest.fixture
def services(db: AsyncSession) -> Services:
    """services(role=..., jurisdiction=...): a registry service for that principal."""

    def make(role: str = "front_office", jurisdiction: str = "") -> RegistryService:
        principal = Principal(subject="operator-1", role=Role(role), jurisdiction=jurisdiction)
        return RegistryService(db, Caller(principal=principal, source="test"))

    return make


def _data(payload: dict[str, Any]) -> HouseholdCreate:
    return HouseholdCreate.model_validate(payload)


async def _versions(db: AsyncSession, household_id: uuid.UUID) -> list[HouseholdVersion]:
    rows = await db.scalars(
        select(HouseholdVersion)
        .where(col(HouseholdVersion.household_id) == household_id)
        .order_by(col(HouseholdVersion.version))
    )
    return list(rows)


async def test_put_creates_then_leaves_an_identical_household_alone(
    services: Services, db: AsyncSession
) -> None:
    household_id = uuid.uuid4()
    payload = household()
    created = await services().put(_data(payload), household_id=household_id)
    assert created.outcome == "created"
    assert created.served.document["id"] == str(household_id)
    assert created.served.etag == '"1"'

    again = await services().put(_data(payload), household_id=household_id, change="synced")
    assert again.outcome == "unchanged"
    assert again.served.etag == '"1"'
    assert again.served.document["members"] == created.served.document["members"]
    versions = await _versions(db, household_id)
    assert [v.version for v in versions] == [1]
    assert versions[0].change == "created" and versions[0].source == "test"


async def test_put_updates_fields_and_records_the_diff(
    services: Services, db: AsyncSession
) -> None:
    payload = household()
    household_id = uuid.uuid4()
    await services().put(_data(payload), household_id=household_id)

    changed = await services().put(
        _data({**payload, "desil": 5, "monthly_income": 1_500_000}),
        household_id=household_id,
        expected=1,
        change="synced",
    )
    assert changed.outcome == "updated"
    assert changed.served.etag == '"2"'
    assert changed.served.document["desil"] == 5
    versions = await _versions(db, household_id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].change == "synced"
    assert versions[1].changes == {
        "desil": {"before": 2, "after": 5},
        "monthly_income": {"before": 900_000, "after": 1_500_000},
    }
    stored = await db.get(Household, household_id, populate_existing=True)
    assert stored is not None and stored.version == 2 and stored.desil == 5


async def test_put_matches_members_on_nik(services: Services, db: AsyncSession) -> None:
    payload = household()
    household_id = uuid.uuid4()
    first = await services().put(_data(payload), household_id=household_id)
    head, wife, child = first.served.document["members"]

    baby = member("Aisyah", "female", date(2025, 3, 14), "anak")
    corrected_wife = {**payload["members"][1], "name": "Nurhayati Daeng Caya"}
    # The child leaves the document, the wife's name is corrected, a baby is added.
    replaced = await services().put(
        _data({**payload, "members": [payload["members"][0], corrected_wife, baby]}),
        household_id=household_id,
    )
    assert replaced.outcome == "updated"
    members = replaced.served.document["members"]
    assert [m["nik"] for m in members] == [head["nik"], wife["nik"], baby["nik"]]
    # Existing people keep their member ids; only the new one gets a fresh id.
    assert members[0]["id"] == head["id"] and members[1]["id"] == wife["id"]
    assert members[1]["name"] == "Nurhayati Daeng Caya"
    assert members[2]["id"] not in (head["id"], wife["id"], child["id"])

    removed = await db.get(Member, uuid.UUID(child["id"]), populate_existing=True)
    assert removed is not None and removed.status == "inactive"
    assert removed.deactivation_reason == "other"
    changes = (await _versions(db, household_id))[1].changes
    assert changes[f"members.{wife['id']}.name"] == {
        "before": "Nurhayati Daeng Ngai",
        "after": "Nurhayati Daeng Caya",
    }
    assert changes[f"members.{child['id']}"]["after"] is None
    assert changes[f"members.{members[2]['id']}"]["before"] is None


async def test_put_refuses_a_nik_held_by_another_household(
    services: Services, db: AsyncSession
) -> None:
    other = household()
    other_id = uuid.uuid4()
    await services().put(_data(other), household_id=other_id)
    payload = household()
    household_id = uuid.uuid4()
    await services().put(_data(payload), household_id=household_id)

    taken = other["members"][1]
    with pytest.raises(Conflict) as raised:
        await services().put(
            _data(
                {**payload, "members": [*payload["members"], {**taken, "relationship": "lainnya"}]}
            ),
            household_id=household_id,
        )
    assert raised.value.status == 409
    assert raised.value.extra["household_id"] == str(other_id)
    assert [issue.field for issue in raised.value.errors] == ["members.3.nik"]
    # A new household taking someone else's NIK is refused the same way.
    with pytest.raises(Conflict):
        await services().put(_data({**household(), "members": [other["members"][0]]}))
    assert [v.version for v in await _versions(db, household_id)] == [1]


async def test_put_keeps_to_the_jurisdiction(services: Services) -> None:
    payload = household()
    household_id = uuid.uuid4()
    await services().put(_data(payload), household_id=household_id)
    palopo = services(jurisdiction="7373")

    # Creating in another regency is forbidden.
    with pytest.raises(Forbidden):
        await palopo.put(_data(household()), household_id=uuid.uuid4())
    # A household outside the jurisdiction looks absent, even when sent unchanged.
    with pytest.raises(NotFound):
        await palopo.put(_data(payload), household_id=household_id)
    # Moving a household out of one's own village is forbidden.
    with pytest.raises(Forbidden):
        await services(jurisdiction=VILLAGE).put(
            _data({**payload, "village_code": OTHER_REGENCY_VILLAGE}), household_id=household_id
        )
    # Reading is not writing.
    with pytest.raises(Forbidden):
        await services("supervisor").put(_data({**payload, "desil": 9}), household_id=household_id)


async def test_put_with_a_stale_expected_version_is_412(services: Services) -> None:
    payload = household()
    household_id = uuid.uuid4()
    await services().put(_data(payload), household_id=household_id)
    await services().put(_data({**payload, "desil": 3}), household_id=household_id, expected=1)

    with pytest.raises(PreconditionFailed) as raised:
        await services().put(_data({**payload, "desil": 4}), household_id=household_id, expected=1)
    assert raised.value.extra["current_etag"] == '"2"'
    assert raised.value.headers["ETag"] == '"2"'
    # The same content as the server's is no conflict, however old the expected version.
    same = await services().put(
        _data({**payload, "desil": 3}), household_id=household_id, expected=1
    )
    assert same.outcome == "unchanged" and same.served.etag == '"2"'


async def test_put_refuses_an_inactive_household(services: Services, db: AsyncSession) -> None:
    payload = household()
    household_id = uuid.uuid4()
    await services().put(_data(payload), household_id=household_id)
    stored = await db.get(Household, household_id)
    assert stored is not None
    stored.status = "inactive"
    await db.flush()

    with pytest.raises(Conflict) as raised:
        await services().put(_data(payload), household_id=household_id)
    assert "dinonaktifkan" in raised.value.detail.render("id")  # type: ignore[union-attr]
    count = await db.scalar(
        select(func.count())
        .select_from(HouseholdVersion)
        .where(col(HouseholdVersion.household_id) == household_id)
    )
    assert count == 1
