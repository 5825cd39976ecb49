"""OpenFisca side of bench/batch_openfisca.py: our compiled rule sets as an OpenFisca model.

A `TaxBenefitSystem` with a `household` group entity (role `member`) and a `person` entity;
input variables for the fields the rules read; the rules' dated parameters as OpenFisca
parameters (`programmes.<code>.<name>`, looked up for the evaluation day); and, for every
criterion, a household variable `<code>__<criterion>` whose formula is generated from the
compiled node tree (field reads through `household(...)` / `household.members(...)`, member
aggregates through `household.sum` / `household.any` / `household.nb_persons`).

OpenFisca values are two-valued, so missing data is encoded explicitly: every field whose null
means "not known" has a companion boolean input `<field>__known`, and every formula carries a
(values, known) pair through the tree with the same three-valued rules as our evaluators
(`and` decided by a false operand, `some` by a true member, `sum_members` unknown at the first
undecidable member, division by zero unknown, `all` of no members false). A criterion variable
is 1 (true), 0 (false) or -1 (unknown). Codes are indices of one shared `Code` enum (null is its
member `(null)`), so code fields compare with each other and with literals; a list-of-codes
field is one boolean input per code the rules ask about (`ppks__has__fakir_miskin`).
Not translated (raises `NotImplementedError`): code- or list-valued parameters and a
non-literal needle in a list field; the benchmark's rules use neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from openfisca_core import periods
from openfisca_core.entities import build_entity
from openfisca_core.indexed_enums import Enum
from openfisca_core.parameters import ParameterNode
from openfisca_core.simulations import Simulation, SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

from selaras_eligibility.rules.fields import HOUSEHOLD_FIELDS, MEMBER_FIELDS, FieldSpec, ValueType
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

NULL_CODE = "(null)"  # no code can be spelled so (the compiler refuses brackets)
DAY = periods.DateUnit.DAY
Pair = tuple[np.ndarray, np.ndarray]  # (values, known)
Evaluate = Callable[["_Context"], Pair]

Person = build_entity(
    key="person", plural="persons", label="A member of a household", is_person=True
)
Household = build_entity(
    key="household",
    plural="households",
    label="A family (one family card)",
    roles=[{"key": "member", "plural": "members", "label": "Member"}],
)


def variable_name(spec: FieldSpec) -> str:
    """The OpenFisca variable of a field (`housing.floor` -> `housing_floor`)."""
    prefix = "member_" if spec.scope == "member" and spec.name == "ppks" else ""
    return prefix + spec.name.replace(".", "_")


def has_code_name(spec: FieldSpec, code: str) -> str:
    """The boolean input saying a list-of-codes field holds `code`."""
    return f"{variable_name(spec)}__has__{code}"


def criterion_name(program: str, criterion: str) -> str:
    """The OpenFisca variable of one criterion."""
    return f"{program}__{criterion}"


class _Context:
    """What a formula sees: the household population, the period and the parameters."""

    def __init__(self, household: Any, period: Any, parameters: Any) -> None:
        self.household = household
        self.period = period
        self.parameters = parameters

    def size(self, level: str) -> int:
        return int(self.household.count if level == "household" else self.household.members.count)

    def read(self, name: str, level: str) -> np.ndarray:
        if level == "household":
            return np.asarray(self.household(name, self.period))
        return np.asarray(self.household.members(name, self.period))

    def any(self, mask: np.ndarray) -> np.ndarray:
        return np.asarray(self.household.any(mask))


def _operands(args: list[Evaluate], ctx: _Context) -> tuple[list[np.ndarray], np.ndarray]:
    """Every operand's values, and where all of them are known (strict operations)."""
    pairs = [arg(ctx) for arg in args]
    return [values for values, _ in pairs], np.logical_and.reduce([known for _, known in pairs])


class Translator:
    """Turns compiled node trees into OpenFisca formulas, collecting the inputs they need."""

    def __init__(self, codes: dict[str | None, int]) -> None:
        self.codes = codes
        self.list_codes: set[tuple[str, str, str]] = set()  # (scope, field, code)

    def formula(self, rule_set: CompiledRuleSet, rule: Node) -> Callable[..., np.ndarray]:
        """The formula of one criterion: 1 true, 0 false, -1 unknown."""
        evaluate = self._node(rule_set, rule, "household")

        def formula(household: Any, period: Any, parameters: Any) -> np.ndarray:
            values, known = evaluate(_Context(household, period, parameters))
            return np.where(known, np.where(values.astype(bool), 1, 0), -1)

        return formula

    def _code(self, value: Any) -> int:
        return self.codes[NULL_CODE if value is None else value]

    def _node(self, rs: CompiledRuleSet, node: Node, level: str) -> Evaluate:
        match node:
            case Const(value):
                return self._const(value, level)
            case Param(name):
                return self._param(rs, name, level)
            case Var(spec):
                return self._var(spec, level)
            case Logic(op, args):
                return self._logic(op == "and", [self._node(rs, a, level) for a in args])
            case Not(arg):
                inner = self._node(rs, arg, level)

                def negate(ctx: _Context) -> Pair:
                    values, known = inner(ctx)
                    return ~values.astype(bool), known

                return negate
            case Compare(op, args):
                return self._compare(op, [self._node(rs, a, level) for a in args])
            case Arith(op, args):
                return self._arith(op, [self._node(rs, a, level) for a in args])
            case If(args):
                return self._if([self._node(rs, a, level) for a in args], level)
            case In(needle, haystack):
                return self._in(rs, needle, haystack, level)
            case Quantifier(op, predicate):
                return self._quantifier(op, self._node(rs, predicate, "person"))
            case CountMembers(predicate):
                return self._count(
                    None if predicate is None else self._node(rs, predicate, "person")
                )
            case SumMembers(value, predicate):
                chosen = None if predicate is None else self._node(rs, predicate, "person")
                return self._sum(self._node(rs, value, "person"), chosen)
        raise NotImplementedError(type(node).__name__)

    def _const(self, value: Any, level: str) -> Evaluate:
        def constant(ctx: _Context) -> Pair:
            n = ctx.size(level)
            if isinstance(value, bool):
                values = np.full(n, value)
            elif isinstance(value, int | float):
                values = np.full(n, float(value))
            else:
                values = np.full(n, self._code(value), dtype=np.int64)
            return values, np.ones(n, dtype=bool)

        return constant

    def _param(self, rs: CompiledRuleSet, name: str, level: str) -> Evaluate:
        if rs.parameter_types[name] not in (ValueType.number, ValueType.boolean):
            raise NotImplementedError(f"{name}: only number and boolean parameters")

        def parameter(ctx: _Context) -> Pair:
            value = ctx.parameters(ctx.period).programmes[rs.program][name]
            n = ctx.size(level)
            return np.full(n, float(value)), np.ones(n, dtype=bool)

        return parameter

    def _var(self, spec: FieldSpec, level: str) -> Evaluate:
        name = variable_name(spec)
        known_name = "birth_date__known" if spec.name == "age" else f"{name}__known"

        def read(ctx: _Context) -> Pair:
            values = ctx.read(name, level)
            if values.dtype.kind == "i" and spec.type == ValueType.code:
                values = values.astype(np.int64)  # an EnumArray's indices
            if spec.null_is_missing and spec.name != "member_count":
                known = ctx.read(known_name, level)
            else:
                known = np.ones(len(values), dtype=bool)
            return values, known

        return read

    @staticmethod
    def _logic(is_and: bool, args: list[Evaluate]) -> Evaluate:
        decisive = not is_and

        def logic(ctx: _Context) -> Pair:
            decided = unknown = None
            for arg in args:
                values, known = arg(ctx)
                hit = known & (values.astype(bool) == decisive)
                decided = hit if decided is None else decided | hit
                unknown = ~known if unknown is None else unknown | ~known
            assert decided is not None and unknown is not None
            known = decided | ~unknown
            return (decided if decisive else ~decided), known

        return logic

    @staticmethod
    def _compare(op: str, args: list[Evaluate]) -> Evaluate:
        def compare(ctx: _Context) -> Pair:
            values, known = _operands(args, ctx)
            if op == "==":
                result = values[0] == values[1]
            elif op == "!=":
                result = values[0] != values[1]
            elif op == ">":
                result = values[0] > values[1]
            elif op == ">=":
                result = values[0] >= values[1]
            else:
                less = np.less if op == "<" else np.less_equal
                result = np.logical_and.reduce([less(a, b) for a, b in pairwise(values)])
            return np.asarray(result), known

        return compare

    @staticmethod
    def _arith(op: str, args: list[Evaluate]) -> Evaluate:
        def arith(ctx: _Context) -> Pair:
            operands, known = _operands(args, ctx)
            values = [v.astype(np.float64) for v in operands]
            with np.errstate(all="ignore"):
                if op == "+":
                    result = sum(values[1:], values[0])
                elif op == "-":
                    result = -values[0] if len(values) == 1 else values[0] - values[1]
                elif op == "*":
                    result = values[0]
                    for value in values[1:]:
                        result = result * value
                elif op == "/":
                    zero = values[1] == 0
                    known = known & ~zero
                    result = np.divide(values[0], np.where(zero, 1.0, values[1]))
                else:
                    result = (np.minimum if op == "min" else np.maximum).reduce(values)
            return result, known

        return arith

    @staticmethod
    def _if(args: list[Evaluate], level: str) -> Evaluate:
        def choose(ctx: _Context) -> Pair:
            n = ctx.size(level)
            decided = np.zeros(n, dtype=bool)
            values: np.ndarray | None = None
            known = np.zeros(n, dtype=bool)
            for i in range(0, len(args) - 1, 2):
                condition, condition_known = args[i](ctx)
                unknown_here = ~decided & ~condition_known
                take = ~decided & condition_known & condition.astype(bool)
                branch, branch_known = args[i + 1](ctx)
                values = branch if values is None else np.where(take, branch, values)
                known = np.where(take, branch_known, known)
                known = np.where(unknown_here, False, known)
                decided |= unknown_here | take
            otherwise, otherwise_known = args[-1](ctx)
            assert values is not None
            values = np.where(decided, values, otherwise)
            known = np.where(decided, known, otherwise_known)
            return values, known

        return choose

    def _in(self, rs: CompiledRuleSet, needle: Node, haystack: Node, level: str) -> Evaluate:
        if isinstance(haystack, Var):
            if not isinstance(needle, Const) or not isinstance(needle.value, str):
                raise NotImplementedError("a list field's needle must be a code literal")
            spec, code = haystack.field, needle.value
            self.list_codes.add((spec.scope, spec.name, code))
            name, known_name = has_code_name(spec, code), f"{variable_name(spec)}__known"

            def member_of(ctx: _Context) -> Pair:
                return ctx.read(name, level), ctx.read(known_name, level)

            return member_of
        if not isinstance(haystack, Const) or not isinstance(haystack.value, tuple):
            raise NotImplementedError("`in` needs a list literal or a list field")
        evaluate = self._node(rs, needle, level)
        items = haystack.value
        wanted = np.array(
            [self._code(item) if isinstance(item, str) else float(item) for item in items]
        )

        def within(ctx: _Context) -> Pair:
            values, known = evaluate(ctx)
            return np.isin(values, wanted), known

        return within

    @staticmethod
    def _quantifier(op: str, predicate: Evaluate) -> Evaluate:
        def quantify(ctx: _Context) -> Pair:
            values, known = predicate(ctx)
            holds = known & values.astype(bool)
            some_true = ctx.any(holds)
            some_unknown = ctx.any(~known)
            if op == "all":
                some_false = ctx.any(known & ~values.astype(bool))
                empty = np.asarray(ctx.household.nb_persons()) == 0
                result_known = empty | some_false | ~some_unknown
                return ~empty & ~some_false & ~some_unknown, result_known
            result_known = some_true | ~some_unknown
            return (some_true if op == "some" else ~some_true), result_known

        return quantify

    @staticmethod
    def _count(predicate: Evaluate | None) -> Evaluate:
        def count(ctx: _Context) -> Pair:
            if predicate is None:
                counts = np.asarray(ctx.household("member_count", ctx.period), dtype=np.float64)
                return counts, np.ones(len(counts), dtype=bool)
            values, known = predicate(ctx)
            counts = np.asarray(ctx.household.sum(known & values.astype(bool)), dtype=np.float64)
            return counts, ~ctx.any(~known)

        return count

    @staticmethod
    def _sum(value: Evaluate, predicate: Evaluate | None) -> Evaluate:
        def total(ctx: _Context) -> Pair:
            amounts, amounts_known = value(ctx)
            if predicate is None:
                chosen = chosen_known = np.ones(len(amounts), dtype=bool)
            else:
                chosen_values, chosen_known = predicate(ctx)
                chosen = chosen_known & chosen_values.astype(bool)
            stops = ~chosen_known | (chosen & ~amounts_known)
            weights = np.where(chosen & amounts_known, amounts.astype(np.float64), 0.0)
            return np.asarray(ctx.household.sum(weights), dtype=np.float64), ~ctx.any(stops)

        return total


# --- the tax-benefit system ---------------------------------------------------------------


def _variable(
    name: str, value_type: Any, entity: Any, formula: Any = None, **extra: Any
) -> type[Variable]:
    body: dict[str, Any] = {
        "value_type": value_type,
        "entity": entity,
        "definition_period": DAY,
        "label": name,
        **extra,
    }
    if formula is not None:
        body["formula"] = formula  # OpenFisca reads it from the class dict, unbound
    return type(name, (Variable,), body)


def _age_formula(on: date) -> Callable[..., np.ndarray]:
    def age(person: Any, period: Any, parameters: Any) -> np.ndarray:
        born = np.asarray(person("birth_date", period)).astype("datetime64[D]")
        year = born.astype("datetime64[Y]").astype(np.int64) + 1970
        month = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day = (born - born.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
        before = (month > on.month) | ((month == on.month) & (day > on.day))
        return (on.year - year - before).astype(np.float64)

    return age


def _parameters(rule_sets: Sequence[CompiledRuleSet]) -> ParameterNode:
    data: dict[str, Any] = {}
    for rule_set in rule_sets:
        node = {
            name: {"values": {since.isoformat(): value for since, value in dated}}
            for name, dated in rule_set.parameters.items()
        }
        if node:
            data[rule_set.program] = node
    return ParameterNode("", data={"programmes": data})


def build_system(
    rule_sets: Sequence[CompiledRuleSet], vocabulary: Iterable[str], on: date
) -> tuple[TaxBenefitSystem, Translator, type[Enum]]:
    """The tax-benefit system of `rule_sets`: inputs, parameters and one variable a criterion."""
    names = [NULL_CODE, *sorted(set(vocabulary) - {NULL_CODE})]
    code_enum = Enum("Code", [(name, name) for name in names])
    translator = Translator({None: 0, **{name: i for i, name in enumerate(names)}})
    system = TaxBenefitSystem([Household, Person])
    system.parameters = _parameters(rule_sets)
    formulas = {
        criterion_name(rs.program, c.id): translator.formula(rs, c.rule)
        for rs in rule_sets
        for c in rs.criteria
    }
    for specs, entity in ((HOUSEHOLD_FIELDS, Household), (MEMBER_FIELDS, Person)):
        for spec in specs.values():
            name = variable_name(spec)
            if spec.name == "member_count":
                count = lambda household, period, parameters: household.nb_persons()  # noqa: E731
                system.add_variable(_variable(name, float, entity, count))
                continue
            if spec.name == "age":
                system.add_variable(_variable("birth_date", date, entity))
                system.add_variable(_variable("birth_date__known", bool, entity))
                system.add_variable(_variable(name, float, entity, _age_formula(on)))
                continue
            if spec.null_is_missing:
                system.add_variable(_variable(f"{name}__known", bool, entity))
            if spec.type == ValueType.number:
                system.add_variable(_variable(name, float, entity))
            elif spec.type == ValueType.boolean:
                system.add_variable(_variable(name, bool, entity))
            elif spec.type == ValueType.code:
                system.add_variable(
                    _variable(
                        name,
                        Enum,
                        entity,
                        possible_values=code_enum,
                        default_value=code_enum[NULL_CODE],
                    )
                )
    for scope, field, code in sorted(translator.list_codes):
        spec = (HOUSEHOLD_FIELDS if scope == "household" else MEMBER_FIELDS)[field]
        entity = Household if scope == "household" else Person
        system.add_variable(_variable(has_code_name(spec, code), bool, entity))
    for name, formula in formulas.items():
        system.add_variable(_variable(name, int, Household, formula))
    return system, translator, code_enum


# --- inputs from the snapshot table ---------------------------------------------------------


def _column(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _known(array: pa.Array) -> np.ndarray:
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _codes(array: pa.Array, codes: dict[str | None, int]) -> np.ndarray:
    encoded = array.cast(pa.string()).dictionary_encode()
    lookup = np.array([0, *(codes[text] for text in encoded.dictionary.to_pylist())])
    return lookup[pc.fill_null(pc.add(encoded.indices, 1), 0).to_numpy()]


def simulation(
    system: TaxBenefitSystem, translator: Translator, table: pa.Table, on: date
) -> Simulation:
    """A simulation of every household of a snapshot table, inputs set for the day `on`."""
    period = periods.period(on.isoformat())
    members = _column(table.column("members"))
    people = pc.list_flatten(members)
    parent = pc.list_parent_indices(members).to_numpy().astype(np.int64)
    households = table.num_rows
    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("person", np.arange(len(parent)))
    group = builder.declare_entity("household", np.arange(households))
    builder.join_with_persons(group, parent, np.zeros(len(parent), dtype=np.int64))
    result = builder.build(system)

    def column(spec: FieldSpec) -> pa.Array:
        if spec.scope == "household":
            return _column(table.column(spec.name.replace(".", "_")))
        return pc.struct_field(people, spec.name.replace(".", "_"))

    for specs in (HOUSEHOLD_FIELDS, MEMBER_FIELDS):
        for spec in specs.values():
            name = variable_name(spec)
            if spec.name == "member_count" or spec.type == ValueType.codes:
                continue
            if spec.name == "age":
                born = pc.struct_field(people, "birth_date")
                result.set_input("birth_date__known", period, _known(born))
                days = pc.fill_null(born, date(1970, 1, 1)).to_numpy(zero_copy_only=False)
                result.set_input("birth_date", period, days.astype("datetime64[D]"))
                continue
            raw = column(spec)
            if spec.null_is_missing:
                result.set_input(f"{name}__known", period, _known(raw))
            if spec.type == ValueType.number:
                values = pc.fill_null(raw.cast(pa.float64()), 0.0).to_numpy()
            elif spec.type == ValueType.boolean:
                values = pc.fill_null(raw, False).to_numpy(zero_copy_only=False)
            else:
                values = _codes(raw, translator.codes)
            result.set_input(name, period, values)
    for scope, field, code in sorted(translator.list_codes):
        spec = (HOUSEHOLD_FIELDS if scope == "household" else MEMBER_FIELDS)[field]
        raw = column(spec)
        rows = households if scope == "household" else len(parent)
        flat = pc.list_flatten(raw)
        owner = pc.list_parent_indices(raw).to_numpy()
        hits = pc.equal(flat, code).to_numpy(zero_copy_only=False)
        result.set_input(
            has_code_name(spec, code), period, np.bincount(owner[hits], minlength=rows) > 0
        )
        result.set_input(f"{variable_name(spec)}__known", period, _known(raw))
    return result


def vocabulary(table: pa.Table, rule_sets: Sequence[CompiledRuleSet]) -> set[str]:
    """Every code in the table's code columns and in the rules' literals."""
    found: set[str] = set()
    members = _column(table.column("members"))
    people = pc.list_flatten(members)
    for specs in (HOUSEHOLD_FIELDS, MEMBER_FIELDS):
        for spec in specs.values():
            if spec.type != ValueType.code:
                continue
            if spec.scope == "household":
                raw = _column(table.column(spec.name.replace(".", "_")))
            else:
                raw = pc.struct_field(people, spec.name.replace(".", "_"))
            found.update(v for v in pc.unique(raw.cast(pa.string())).to_pylist() if v is not None)
    for rule_set in rule_sets:
        for criterion in rule_set.criteria:
            found.update(_literals(criterion.rule))
    return found


def _literals(node: Node) -> Iterable[str]:
    match node:
        case Const(value):
            items = value if isinstance(value, tuple) else (value,)
            yield from (item for item in items if isinstance(item, str))
        case Compare(_, args) | Logic(_, args) | Arith(_, args) | If(args):
            for arg in args:
                yield from _literals(arg)
        case Not(arg) | Quantifier(_, arg):
            yield from _literals(arg)
        case In(needle, haystack):
            yield from _literals(needle)
            yield from _literals(haystack)
        case CountMembers(predicate):
            if predicate is not None:
                yield from _literals(predicate)
        case SumMembers(value, predicate):
            yield from _literals(value)
            if predicate is not None:
                yield from _literals(predicate)
