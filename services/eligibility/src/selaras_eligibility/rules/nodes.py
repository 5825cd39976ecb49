"""The compiled form of rules: an immutable tree of typed nodes (data only, nothing executable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeAlias

from selaras_eligibility.rules.document import Label
from selaras_eligibility.rules.fields import FieldSpec, ValueType
from selaras_shared.i18n import Text

#: A literal or parameter value; list parameters are kept as tuples so nothing can mutate them.
Scalar = int | float | str | bool | None
Value = Scalar | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Const:
    """A literal (number, code, flag, null) or a list literal (tuple) inside `in`."""

    value: Value | tuple[int | float, ...]


@dataclass(frozen=True, slots=True)
class Var:
    """A field of the household, or of the member in scope (`age` is derived)."""

    field: FieldSpec


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter, looked up for the evaluation date."""

    name: str


@dataclass(frozen=True, slots=True)
class Compare:
    """`==`, `!=`, `<`, `<=` (2 or 3 operands: a between), `>`, `>=`."""

    op: Literal["==", "!=", "<", "<=", ">", ">="]
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Logic:
    """`and` / `or` in three-valued logic."""

    op: Literal["and", "or"]
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """`!`: unknown stays unknown."""

    arg: Node


@dataclass(frozen=True, slots=True)
class If:
    """`if`: condition, value, [condition, value, ...], else value."""

    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Arith:
    """`+`, `-`, `*`, `/`, `min`, `max` over numbers."""

    op: Literal["+", "-", "*", "/", "min", "max"]
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class In:
    """A value in a list literal, or a code in a list (a list field or list parameter)."""

    needle: Node
    haystack: Node


@dataclass(frozen=True, slots=True)
class Quantifier:
    """`some` / `all` / `none` of the household's members satisfying a member-scoped rule."""

    op: Literal["some", "all", "none"]
    predicate: Node


@dataclass(frozen=True, slots=True)
class CountMembers:
    """How many members satisfy a member-scoped rule (all members without one)."""

    predicate: Node | None


@dataclass(frozen=True, slots=True)
class SumMembers:
    """The sum of a member-scoped number over the members satisfying an optional rule."""

    value: Node
    predicate: Node | None


Node: TypeAlias = (
    Const | Var | Param | Compare | Logic | Not | If | Arith | In | Quantifier | CountMembers
) | SumMembers


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    """One compiled criterion: its rule tree and the fields and parameters it reads."""

    id: str
    label: Label
    rule: Node
    fields: tuple[str, ...]
    parameters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    """A compiled rule set: criteria, dated parameters (sorted by date), identity and period."""

    program: str
    effective_from: date
    effective_to: date | None
    content_hash: str
    parameters: Mapping[str, tuple[tuple[date, Value], ...]]
    parameter_types: Mapping[str, ValueType]
    criteria: tuple[CompiledCriterion, ...]

    def in_force(self, on: date) -> bool:
        """Whether the rule set applies on `on`."""
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def parameter_at(self, name: str, on: date) -> tuple[Value, date]:
        """The value of a parameter on `on`, and the date it has held since."""
        found: tuple[date, Value] | None = None
        for since, value in self.parameters[name]:
            if since > on:
                break
            found = (since, value)
        if found is None:
            raise LookupError(name)  # compile_rule_set guarantees a value from effective_from
        return found[1], found[0]


NOT_IN_FORCE = Text(
    "Aturan {program} tidak berlaku pada {on} (berlaku {start} sampai {end})",
    "The rules of {program} are not in force on {on} (in force {start} to {end})",
)
