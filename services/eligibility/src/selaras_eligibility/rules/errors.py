"""Problems found in a rule set, each pointing at the offending node, and the error with them."""

from __future__ import annotations

from dataclasses import dataclass

from selaras_shared.errors import FieldIssue
from selaras_shared.i18n import Text


@dataclass(frozen=True)
class RuleProblem:
    """One problem in a rule set: where (`criteria[1].rule.and[0].>=[1]`), what, and why."""

    path: str
    code: str
    message: Text

    def as_field_issue(self) -> FieldIssue:
        """The problem as a problem+json field issue (the path is the field)."""
        return FieldIssue(self.path, self.code, self.message)


class RuleSetInvalid(Exception):
    """A rule set that cannot be loaded or compiled, with every problem found."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message.render('en')}" for p in problems[:5]))
        self.problems = problems

    def field_issues(self) -> list[FieldIssue]:
        """All problems as field issues, for `InvalidInput(errors=...)`."""
        return [problem.as_field_issue() for problem in self.problems]


class RuleSetNotInForce(Exception):
    """A rule set evaluated or exported for a date outside its effective period."""

    def __init__(self, message: Text) -> None:
        super().__init__(message.render("en"))
        self.message = message
