"""Evaluate a compiled rule set on one household document, explaining every criterion.

Three-valued logic: a field that is null or absent (where null does not carry a meaning of its
own) is *unknown*; `and` is false if any operand is false and unknown if none is false but one
is unknown, `or` the reverse, comparisons and arithmetic with an unknown operand are unknown.
So missing data yields an unknown answer that names the missing fields, never a silent false.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel

from selaras_eligibility.rules.document import Label, ParameterValue
from selaras_eligibility.rules.errors import RuleSetNotInForce
from selaras_eligibility.rules.fields import FieldSpec, ValueType
from selaras_eligibility.rules.nodes import (
    NOT_IN_FORCE,
    Arith,
    Compare,
    CompiledRuleSet,
    Const,
    CountMembers,
    If,
    In,
    Logic,
    Node,
    Not,
    Param,
    Quantifier,
    SumMembers,
    Value,
    Var,
)


class _Unknown:
    """The third truth value (and the value of a missing field)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
Status = Literal["true", "false", "unknown"]


class ParameterUsed(BaseModel):
    """A parameter's value on the evaluation date and the date it has held since."""

    value: ParameterValue
    since: date


class CriterionResult(BaseModel):
    """One criterion's answer with what it was based on."""

    id: str
    label: Label
    status: Status
    inputs: dict[str, Any]
    parameters: dict[str, ParameterUsed]
    missing: list[str]


class RuleSetResult(BaseModel):
    """A household's eligibility for one programme on one date, criterion by criterion."""

    program: str
    evaluated_on: date
    rule_set_hash: str
    status: Literal["eligible", "not_eligible", "unknown"]
    criteria: list[CriterionResult]


def age_on(birth: date, on: date) -> int:
    """Whole years between `birth` and `on` (the birthday itself counts)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def check_in_force(compiled: CompiledRuleSet, on: date) -> None:
    """Raise `RuleSetNotInForce` when `on` is outside the rule set's period."""
    if not compiled.in_force(on):
        raise RuleSetNotInForce(
            NOT_IN_FORCE.with_params(
                program=compiled.program,
                on=on.isoformat(),
                start=compiled.effective_from.isoformat(),
                end=compiled.effective_to.isoformat() if compiled.effective_to else "-",
            )
        )


def evaluate(compiled: CompiledRuleSet, household: dict[str, Any], on: date) -> RuleSetResult:
    """Evaluate every criterion on a registry household document as of `on`."""
    check_in_force(compiled, on)
    members = household.get("members")
    member_list = [m for m in members if isinstance(m, dict)] if isinstance(members, list) else []
    results: list[CriterionResult] = []
    # Parameters are looked up once per evaluation, whichever criteria read them.
    parameters: dict[str, tuple[Value, ParameterUsed]] = {}
    for criterion in compiled.criteria:
        run = _Run(compiled, household, member_list, on, parameters)
        value = run.value_of(criterion.rule, None)
        status: Status = "unknown" if value is UNKNOWN else "true" if value else "false"
        # Built from values this module produced: no validation pass needed (hot path).
        results.append(
            CriterionResult.model_construct(
                id=criterion.id,
                label=criterion.label,
                status=status,
                inputs=run.inputs,
                parameters=run.parameters,
                missing=sorted(run.missing) if status == "unknown" else [],
            )
        )
    statuses = {result.status for result in results}
    overall: Literal["eligible", "not_eligible", "unknown"] = (
        "not_eligible"
        if "false" in statuses
        else "unknown"
        if "unknown" in statuses
        else "eligible"
    )
    return RuleSetResult.model_construct(
        program=compiled.program,
        evaluated_on=on,
        rule_set_hash=compiled.content_hash,
        status=overall,
        criteria=results,
    )


class _Run:
    """One criterion's evaluation: records the inputs, parameters and missing fields it met."""

    def __init__(
        self,
        compiled: CompiledRuleSet,
        household: dict[str, Any],
        members: list[dict[str, Any]],
        on: date,
        looked_up: dict[str, tuple[Value, ParameterUsed]],
    ) -> None:
        self.compiled = compiled
        self.household = household
        self.members = members
        self.on = on
        self.looked_up = looked_up
        self.inputs: dict[str, Any] = {}
        self.parameters: dict[str, ParameterUsed] = {}
        self.missing: set[str] = set()

    def value_of(self, node: Node, member: int | None) -> Any:
        """The value of `node`, for the member at index `member` when in member scope."""
        # One dictionary lookup on the node's type: this walk is the hot path of explain.
        return _STEPS[type(node)](self, node, member)

    def _const(self, node: Const, member: int | None) -> Any:
        return node.value

    def _var(self, node: Var, member: int | None) -> Any:
        return self._read(node.field, member)

    def _param_node(self, node: Param, member: int | None) -> Any:
        return self._param(node.name)

    def _logic_node(self, node: Logic, member: int | None) -> Any:
        is_and = node.op == "and"
        return self._decided(
            [(arg, member) for arg in node.args], lambda values: self._logic(is_and, values)
        )

    def _not(self, node: Not, member: int | None) -> Any:
        value = self.value_of(node.arg, member)
        return UNKNOWN if value is UNKNOWN else not value

    def _compare_node(self, node: Compare, member: int | None) -> Any:
        values = [self.value_of(arg, member) for arg in node.args]
        if any(value is UNKNOWN for value in values):
            return UNKNOWN
        return _compare(node.op, values)

    def _if(self, node: If, member: int | None) -> Any:
        args = node.args
        for i in range(0, len(args) - 1, 2):
            condition = self.value_of(args[i], member)
            if condition is UNKNOWN:
                return UNKNOWN
            if condition:
                return self.value_of(args[i + 1], member)
        return self.value_of(args[-1], member)

    def _arith_node(self, node: Arith, member: int | None) -> Any:
        values = [self.value_of(arg, member) for arg in node.args]
        if any(value is UNKNOWN for value in values):
            return UNKNOWN
        return _arith(node.op, values)

    def _in(self, node: In, member: int | None) -> Any:
        item, items = self.value_of(node.needle, member), self.value_of(node.haystack, member)
        if item is UNKNOWN or items is UNKNOWN:
            return UNKNOWN
        return item in items

    def _quantifier(self, node: Quantifier, member: int | None) -> Any:
        op = node.op
        return self._decided(
            [(node.predicate, i) for i in range(len(self.members))],
            lambda values: _quantify(op, values),
        )

    def _count(self, node: CountMembers, member: int | None) -> Any:
        if node.predicate is None:
            return len(self.members)
        values = [self.value_of(node.predicate, i) for i in range(len(self.members))]
        if any(value is UNKNOWN for value in values):
            return UNKNOWN
        return sum(1 for value in values if value)

    def _sum(self, node: SumMembers, member: int | None) -> Any:
        total: int | float = 0
        for i in range(len(self.members)):
            chosen = True if node.predicate is None else self.value_of(node.predicate, i)
            if chosen is UNKNOWN:
                return UNKNOWN
            if chosen:
                value = self.value_of(node.value, i)
                if value is UNKNOWN:
                    return UNKNOWN
                total += value
        return total

    def _decided(self, operands: list[tuple[Node, int | None]], combine: Any) -> Any:
        """Combine operands; keep only the missing fields of unknown operands, and only when
        the result is unknown (a false `and` does not need the fields its other operands lacked).
        """
        outer = self.missing
        values: list[Any] = []
        lacking: list[set[str]] = []
        for node, member in operands:
            self.missing = set()
            values.append(self.value_of(node, member))
            lacking.append(self.missing)
        self.missing = outer
        result = combine(values)
        if result is UNKNOWN:
            for value, fields in zip(values, lacking, strict=True):
                if value is UNKNOWN:
                    outer.update(fields)
        return result

    @staticmethod
    def _logic(is_and: bool, values: list[Any]) -> Any:
        decisive = not is_and  # `and` is decided by a false operand, `or` by a true one
        if any(value is not UNKNOWN and bool(value) is decisive for value in values):
            return decisive
        if any(value is UNKNOWN for value in values):
            return UNKNOWN
        return not decisive

    def _param(self, name: str) -> Value:
        found = self.looked_up.get(name)
        if found is None:
            value, since = self.compiled.parameter_at(name, self.on)
            shown: ParameterValue = list(value) if isinstance(value, tuple) else value  # type: ignore[assignment]
            found = (value, ParameterUsed.model_construct(value=shown, since=since))
            self.looked_up[name] = found
        self.parameters[name] = found[1]
        return found[0]

    def _read(self, field: FieldSpec, member: int | None) -> Any:
        if field.scope == "household":
            source: Any = self.household
            label = field.name
        else:
            assert member is not None  # the compiler keeps member fields inside member scope
            source = self.members[member]
            label = f"members[{member}].{field.name}"
        if field.name == "member_count":
            self.inputs[label] = len(self.members)
            return len(self.members)
        if field.name == "age":
            return self._age(source, label, member)
        value = _dig(source, field.path)
        if value is None and not field.null_is_missing:
            self.inputs[label] = None
            return None
        if not _has_type(value, field.type):
            self.missing.add(label)
            return UNKNOWN
        self.inputs[label] = value
        return value

    def _age(self, source: dict[str, Any], label: str, member: int | None) -> Any:
        raw = source.get("birth_date")
        try:
            born = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            born = None
        if born is None:
            self.missing.add(f"members[{member}].birth_date")
            return UNKNOWN
        age = age_on(born, self.on)
        self.inputs[label] = age
        return age


#: How `_Run.value_of` evaluates each kind of node.
_STEPS: dict[type, Callable[[_Run, Any, int | None], Any]] = {
    Const: _Run._const,
    Var: _Run._var,
    Param: _Run._param_node,
    Logic: _Run._logic_node,
    Not: _Run._not,
    Compare: _Run._compare_node,
    If: _Run._if,
    Arith: _Run._arith_node,
    In: _Run._in,
    Quantifier: _Run._quantifier,
    CountMembers: _Run._count,
    SumMembers: _Run._sum,
}


def _dig(source: Any, path: tuple[str, ...]) -> Any:
    """Follow `path` through nested dicts; anything else on the way means absent."""
    for key in path:
        if not isinstance(source, dict):
            return None
        source = source.get(key)
    return source


def _has_type(value: Any, type: ValueType) -> bool:
    """Whether a document value fits the field's type (a wrong type counts as missing)."""
    if type == ValueType.boolean:
        return isinstance(value, bool)
    if type == ValueType.number:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type == ValueType.code:
        return isinstance(value, str)
    if type == ValueType.codes:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return False


def _compare(op: str, values: list[Any]) -> bool:
    if op == "==":
        return bool(values[0] == values[1])
    if op == "!=":
        return bool(values[0] != values[1])
    pairs = list(pairwise(values))
    if op == "<":
        return all(a < b for a, b in pairs)
    if op == "<=":
        return all(a <= b for a, b in pairs)
    if op == ">":
        return bool(values[0] > values[1])
    return bool(values[0] >= values[1])


def _arith(op: str, values: list[Any]) -> Any:
    if op == "+":
        return sum(values)
    if op == "-":
        return -values[0] if len(values) == 1 else values[0] - values[1]
    if op == "*":
        product = 1
        for value in values:
            product *= value
        return product
    if op == "/":
        return UNKNOWN if values[1] == 0 else values[0] / values[1]
    return min(values) if op == "min" else max(values)


def _quantify(op: str, values: list[Any]) -> Any:
    if op == "some":
        return _Run._logic(False, values) if values else False
    if op == "none":
        result = _Run._logic(False, values) if values else False
        return UNKNOWN if result is UNKNOWN else not result
    # JsonLogic's `all` of an empty list is false; kept so that exported rules agree.
    return _Run._logic(True, values) if values else False
