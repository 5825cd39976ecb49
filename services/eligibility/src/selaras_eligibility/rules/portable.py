"""Export a rule set for one date as standard JsonLogic, for clients that evaluate offline.

Domain operations are desugared and parameters filled in, so any JsonLogic library runs the
export unchanged on the *portable input* (`to_jsonlogic_input`), which is::

    {
      "desil": 3, "monthly_income": 1200000, "village_code": "7303082005",
      "registry_status": "national",
      "housing": {"floor": ..., "wall": ..., "roof": ..., "toilet": ..., "water": ...,
                  "electricity_va": 900, "land_ownership": ...},
      "programs_received": ["PKH"], "ppks": ["fakir_miskin"],
      "members": [
        {"sex": "female", "birth_ymd": 19850701, "age": 40, "relationship": "istri",
         "marital_status": "kawin", "education": "sd", "in_school": false,
         "occupation": "ibu rumah tangga", "disability": {"type": null, "severity": null},
         "chronic_illness": null, "pregnant": false, "ppks": []}
      ]
    }

No names or NIK: only what rules read. `birth_ymd` is the birth date as the number YYYYMMDD;
the exported rules compute age from it exactly with JsonLogic arithmetic (`age` is there for
people reading the input; the rules do not use it). `member_count` is counted from `members`.

Unknown: a criterion's rule is wrapped as `{"if": [{"missing": [household fields]}, null,
rule]}`, so a household lacking a household-level field the criterion reads answers null
(unknown). This is more cautious than the service, which can still decide when another operand
settles the answer (`and` with a false operand is false). Null member-level fields are not
caught this way: JsonLogic reads them as null (false in logic, 0 in arithmetic), so answers
on households with missing member data may differ from the service's unknown; the service's
explanation is authoritative.
JsonLogic's `all` over no members is false, and so is the service's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from selaras_eligibility.rules.explain import age_on, check_in_force
from selaras_eligibility.rules.fields import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from selaras_eligibility.rules.nodes import (
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
    Var,
)

_MEMBERS = {"var": "members"}
_COUNT = {"+": [{"var": "accumulator"}, 1]}


def to_jsonlogic(compiled: CompiledRuleSet, on: date) -> dict[str, Any]:
    """The rule set as standard JsonLogic for `on`: one rule per criterion, plus provenance."""
    check_in_force(compiled, on)
    exporter = _Exporter(compiled, on)
    criteria = []
    for criterion in compiled.criteria:
        rule = exporter.emit(criterion.rule, "")
        requires = [
            name
            for name in criterion.fields
            if HOUSEHOLD_FIELDS[name].null_is_missing and name != "member_count"
        ]
        if requires:
            rule = {"if": [{"missing": requires}, None, rule]}
        criteria.append(
            {
                "id": criterion.id,
                "label": criterion.label.model_dump(),
                "rule": rule,
                "requires": requires,
            }
        )
    return {
        "program": compiled.program,
        "evaluated_on": on.isoformat(),
        "rule_set_hash": compiled.content_hash,
        "criteria": criteria,
    }


def to_jsonlogic_input(household: dict[str, Any], on: date) -> dict[str, Any]:
    """Flatten a registry household document into the portable input (see the module doc)."""
    portable: dict[str, Any] = {}
    for name, spec in HOUSEHOLD_FIELDS.items():
        if name == "member_count":
            continue
        target = portable
        for key in spec.path[:-1]:
            target = target.setdefault(key, {})
        target[spec.path[-1]] = _dig(household, spec.path)
    members = household.get("members")
    portable["members"] = [
        _member(member, on)
        for member in (members if isinstance(members, list) else [])
        if isinstance(member, dict)
    ]
    return portable


def _member(member: dict[str, Any], on: date) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, spec in MEMBER_FIELDS.items():
        if name == "age":
            continue
        target = result
        for key in spec.path[:-1]:
            target = target.setdefault(key, {})
        target[spec.path[-1]] = _dig(member, spec.path)
    born = _birth_date(member.get("birth_date"))
    result["birth_ymd"] = born.year * 10_000 + born.month * 100 + born.day if born else None
    result["age"] = age_on(born, on) if born else None
    return result


def _birth_date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _dig(source: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(source, dict):
            return None
        source = source.get(key)
    return source


class _Exporter:
    """Turns node trees into JsonLogic for one evaluation date."""

    def __init__(self, compiled: CompiledRuleSet, on: date) -> None:
        self.compiled = compiled
        self.on = on
        self.on_ymd = on.year * 10_000 + on.month * 100 + on.day

    def emit(self, node: Node, prefix: str) -> Any:
        """JsonLogic for `node`; member fields are read under `prefix` (`current.` in reduce)."""
        match node:
            case Const(value):
                return list(value) if isinstance(value, tuple) else value
            case Var(field):
                if field.name == "member_count":
                    return {"reduce": [_MEMBERS, _COUNT, 0]}
                if field.name == "age":
                    return self._age(prefix)
                return {"var": prefix + field.name if field.scope == "member" else field.name}
            case Param(name):
                value, _ = self.compiled.parameter_at(name, self.on)
                return list(value) if isinstance(value, tuple) else value
            case Compare(op, args) | Logic(op, args) | Arith(op, args):
                return {op: [self.emit(arg, prefix) for arg in args]}
            case Not(arg):
                return {"!": [self.emit(arg, prefix)]}
            case If(args):
                return {"if": [self.emit(arg, prefix) for arg in args]}
            case In(needle, haystack):
                return {"in": [self.emit(needle, prefix), self.emit(haystack, prefix)]}
            case Quantifier(op, predicate):
                return {op: [_MEMBERS, self.emit(predicate, "")]}
            case CountMembers(predicate):
                return {"reduce": [self._chosen(predicate), _COUNT, 0]}
            case SumMembers(value, predicate):
                add = {"+": [{"var": "accumulator"}, self.emit(value, "current.")]}
                return {"reduce": [self._chosen(predicate), add, 0]}
        raise TypeError(f"not a rule node: {type(node).__name__}")  # pragma: no cover

    def _chosen(self, predicate: Node | None) -> Any:
        if predicate is None:
            return _MEMBERS
        return {"filter": [_MEMBERS, self.emit(predicate, "")]}

    def _age(self, prefix: str) -> Any:
        # Whole years from YYYYMMDD numbers: (d - d % 10000) / 10000 with d = on - birth,
        # exact because month and day sit below the 10,000s (JsonLogic has no floor).
        days = {"-": [self.on_ymd, {"var": prefix + "birth_ymd"}]}
        return {"/": [{"-": [days, {"%": [days, 10_000]}]}, 10_000]}
