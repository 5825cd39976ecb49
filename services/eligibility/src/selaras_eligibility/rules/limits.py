"""Every size limit of the rule language, in one place, so that a hostile rule is refused early."""

from __future__ import annotations

#: Bytes of one rule-set document as text (checked before parsing).
MAX_DOCUMENT_CHARS = 1_000_000
#: Nesting of operations in one rule (`{"and": [{"!": ...}]}` is depth 2).
MAX_DEPTH = 32
#: Nesting of the document's containers as text: a rule of MAX_DEPTH operations needs two
#: containers per operation (the object and its argument list) plus the document's own levels.
MAX_TEXT_NESTING = 2 * MAX_DEPTH + 8
#: Nodes (operations and literals) in one rule.
MAX_NODES = 2_000
#: Items of one list literal (and of a list-valued parameter).
MAX_LIST = 500
#: Characters of one string literal, field name or parameter name.
MAX_STRING = 200
#: Criteria of one rule set, parameters of one rule set, dated values of one parameter.
MAX_CRITERIA = 100
MAX_PARAMETERS = 200
MAX_PARAMETER_VALUES = 100
#: Magnitude of a number literal: large enough for rupiah, small enough to keep arithmetic cheap.
MAX_NUMBER = 10**15
