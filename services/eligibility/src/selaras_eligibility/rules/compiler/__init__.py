"""Compile a rule-set document into typed node trees, rejecting anything unsafe or ill-typed.

The compiler only reads plain JSON data (dicts, lists, strings, numbers, booleans, null) and
looks operations and fields up in fixed tables: nothing from a rule is ever executed, imported
or used as an attribute name. Size and depth are checked before descending, so a hostile rule
costs at most `limits.MAX_NODES` steps and `limits.MAX_DEPTH` stack frames.
"""

from __future__ import annotations

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.compiler.arithmetic import ArithmeticOperations
from selaras_eligibility.rules.compiler.domain import DomainOperations
from selaras_eligibility.rules.compiler.logic import LogicOperations
from selaras_eligibility.rules.compiler.members import MemberOperations
from selaras_eligibility.rules.compiler.problems import BOOLEAN, TooLarge, problem
from selaras_eligibility.rules.document import RuleSetDocument, content_hash
from selaras_eligibility.rules.errors import RuleSetInvalid
from selaras_eligibility.rules.nodes import CompiledCriterion, CompiledRuleSet

__all__ = ["compile_rule_set"]


def compile_rule_set(document: RuleSetDocument) -> CompiledRuleSet:
    """Compile and type-check every criterion; raise `RuleSetInvalid` with all problems found."""
    compiler = _Compiler(document)
    criteria = compiler.compile_criteria()
    if compiler.problems:
        raise RuleSetInvalid(compiler.problems)
    return CompiledRuleSet(
        program=document.program,
        effective_from=document.effective_from,
        effective_to=document.effective_to,
        content_hash=content_hash(document),
        parameters=compiler.parameter_values,
        parameter_types=compiler.parameter_types,
        criteria=tuple(criteria),
    )


class _Compiler(LogicOperations, ArithmeticOperations, MemberOperations, DomainOperations):
    """One compilation: the operation table over every operation group, and the criteria."""

    def __init__(self, document: RuleSetDocument) -> None:
        super().__init__(document)
        self._operations = {
            "var": self._var,
            "param": self._param,
            "==": self._equality,
            "!=": self._equality,
            "<": self._order,
            "<=": self._order,
            ">": self._order,
            ">=": self._order,
            "and": self._logic,
            "or": self._logic,
            "!": self._not,
            "if": self._if,
            "+": self._arith,
            "-": self._arith,
            "*": self._arith,
            "/": self._arith,
            "min": self._arith,
            "max": self._arith,
            "in": self._in,
            "some": self._quantifier,
            "all": self._quantifier,
            "none": self._quantifier,
            "count_members": self._count_members,
            "sum_members": self._sum_members,
            "age": self._age,
        }

    def compile_criteria(self) -> list[CompiledCriterion]:
        """Check parameters and period, then compile each criterion's rule."""
        self._check_parameters()
        compiled: list[CompiledCriterion] = []
        seen: set[str] = set()
        for index, criterion in enumerate(self.document.criteria):
            path = f"criteria[{index}]"
            if criterion.id in seen:
                self.problems.append(
                    problem(
                        f"{path}.id",
                        "duplicate_criterion",
                        "Kriteria {id} muncul lebih dari sekali",
                        "Criterion {id} appears more than once",
                        id=criterion.id,
                    )
                )
            seen.add(criterion.id)
            self.nodes, self.fields, self.params = 0, set(), set()
            try:
                rule, type = self._node(criterion.rule, f"{path}.rule", "household", 0)
            except TooLarge:
                self.problems.append(
                    problem(
                        f"{path}.rule",
                        "too_many_nodes",
                        "Aturan terlalu besar (maksimal {limit} simpul)",
                        "The rule is too large (at most {limit} nodes)",
                        limit=limits.MAX_NODES,
                    )
                )
                continue
            self._expect(type, BOOLEAN, f"{path}.rule")
            compiled.append(
                CompiledCriterion(
                    criterion.id,
                    criterion.label,
                    rule,
                    tuple(sorted(self.fields)),
                    tuple(sorted(self.params)),
                )
            )
        return compiled
