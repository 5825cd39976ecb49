"""Change feed responses."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from selaras_registry.schemas.households import HouseholdRead


class ChangeRead(BaseModel):
    """One change to a household: the version it produced, and that version's document."""

    household_id: uuid.UUID
    version: int
    change: str = Field(description="created, updated, member_added, deactivated, ...")
    changed_at: datetime
    source: str
    actor_role: str
    village_code: str = Field(description="where the household is after the change")
    previous_village_code: str | None = Field(
        default=None, description="where it was, when the change moved it to another village"
    )
    reason: str | None = None
    household: HouseholdRead | None = Field(
        description="the household as of this version (masked without personal-data rights);"
        " null when the change moved it out of the caller's jurisdiction"
    )


class ChangePage(BaseModel):
    """A page of the change feed, oldest first.

    `next_cursor` is always present: the position after the last change served, or the
    position asked for when nothing is new. Pass it back as `since` to continue or to poll.
    """

    items: list[ChangeRead]
    next_cursor: str
    has_more: bool = Field(description="more changes are waiting: ask again at once")
