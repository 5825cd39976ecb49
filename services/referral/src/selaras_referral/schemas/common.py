"""Pieces the referral schemas share: the input base, codes and bilingual problems."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: A Kemendagri village code (10 digits).
VillageCode = Annotated[str, Field(pattern=r"^\d{10}$")]
#: A programme code as the eligibility catalogue spells it.
ProgramCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")]
#: An organisation code such as `baznas-7303`.
OrganizationCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,49}$")]


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CheckProblem(BaseModel):
    """Why something could not be checked, in both languages."""

    id: str
    en: str


H = TypeVar("H", bound=Hashable)


def _unique(values: list[H]) -> list[H]:
    if len(set(values)) != len(values):
        raise ValueError("a value is listed twice")
    return values


#: A list whose items may appear once only (the error names the list field).
Unique = AfterValidator(_unique)
