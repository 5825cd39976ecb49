"""Rule-set documents (YAML or JSON): their model, a loader that refuses hostile text, a hash."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.errors import RuleProblem, RuleSetInvalid
from selaras_shared.i18n import Text, validation_message

ProgramCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$", examples=["PKH"])]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["max_desil"])]
LabelText = Annotated[str, Field(min_length=1, max_length=300)]
#: A parameter's value on one date: a number, a code, a flag or a list of codes.
ParameterValue = int | float | str | bool | list[str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    """A text in Indonesian (`id`) and English (`en`)."""

    id: LabelText
    en: LabelText


class Criterion(_Strict):
    """One criterion of a programme: an id, its labels, and its rule (a JsonLogic-like tree)."""

    id: Name
    label: Label
    rule: Any


class RuleSetDocument(_Strict):
    """A versioned rule set of one programme, in force from `effective_from` to `effective_to`.

    `parameters` maps a name to dated values (`max_desil: {2024-01-01: 4, 2026-01-01: 5}`):
    the value on a date is the one with the latest date not after it, as in OpenFisca.
    """

    program: ProgramCode
    effective_from: date
    effective_to: date | None = None
    parameters: dict[Name, dict[date, ParameterValue]] = Field(
        default_factory=dict, max_length=limits.MAX_PARAMETERS
    )
    criteria: list[Criterion] = Field(min_length=1, max_length=limits.MAX_CRITERIA)

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self


def load_document(text: str, format: Literal["yaml", "json"]) -> RuleSetDocument:
    """Parse and validate a rule-set document; raise `RuleSetInvalid` naming every problem.

    Nesting is measured on the token or event stream before any recursive parser sees the
    text, so a 10,000-deep rule is refused instead of crashing the loader.
    """
    if len(text) > limits.MAX_DOCUMENT_CHARS:
        raise RuleSetInvalid(
            [
                RuleProblem(
                    "",
                    "document_too_large",
                    Text(
                        "Dokumen terlalu besar (maksimal {limit} karakter)",
                        "The document is too large (at most {limit} characters)",
                        {"limit": limits.MAX_DOCUMENT_CHARS},
                    ),
                )
            ]
        )
    if format == "json":
        _check_json_nesting(text)
        try:
            data = json.loads(text)
        except ValueError as error:
            raise RuleSetInvalid([_syntax_problem(str(error))]) from None
    else:
        _check_yaml_nesting(text)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise RuleSetInvalid([_syntax_problem(str(error))]) from None
    return validate_document(data)


def validate_document(data: Any) -> RuleSetDocument:
    """Validate already-parsed data as a rule-set document (problems as `RuleSetInvalid`)."""
    try:
        return RuleSetDocument.model_validate(data)
    except ValidationError as error:
        problems = []
        for issue in error.errors(include_url=False):
            english = issue["msg"]
            indonesian = validation_message(issue["type"], english, issue.get("ctx", {}), "id")
            problems.append(
                RuleProblem(format_path(issue["loc"]), issue["type"], Text(indonesian, english))
            )
        raise RuleSetInvalid(problems) from None


def content_hash(document: RuleSetDocument) -> str:
    """The sha256 (hex) of the document's canonical JSON: sorted keys, no spaces, UTF-8."""
    canonical = json.dumps(
        document.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def format_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """A location as the rule language writes it: `criteria[1].rule.and[0]`."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _syntax_problem(detail: str) -> RuleProblem:
    return RuleProblem(
        "",
        "syntax_error",
        Text(
            "Dokumen tidak dapat dibaca: {detail}", "The document cannot be read: {detail}"
        ).with_params(detail=detail[:300]),
    )


def _too_deep(parts: list[str | int]) -> RuleSetInvalid:
    return RuleSetInvalid(
        [
            RuleProblem(
                format_path(parts),
                "too_deep",
                Text(
                    "Bersarang terlalu dalam (maksimal {limit} tingkat operasi)",
                    "Nested too deeply (at most {limit} levels of operations)",
                    {"limit": limits.MAX_DEPTH},
                ),
            )
        ]
    )


def _check_json_nesting(text: str) -> None:
    """Walk JSON tokens iteratively, tracking the path, and refuse excessive nesting."""
    # Each frame is [key or index]; keys are taken raw from the text (escapes left as they are).
    frames: list[list[str | int]] = []
    kinds: list[str] = []
    last_string = ""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            last_string = text[i + 1 : end]
            i = end + 1
            continue
        if char in "{[":
            if len(kinds) >= limits.MAX_TEXT_NESTING:
                raise _too_deep([frame[0] for frame in frames])
            kinds.append(char)
            frames.append(["" if char == "{" else 0])
        elif char in "}]":
            if kinds:
                kinds.pop()
                frames.pop()
        elif char == ":" and kinds and kinds[-1] == "{":
            frames[-1][0] = last_string
        elif char == "," and kinds and kinds[-1] == "[":
            index = frames[-1][0]
            frames[-1][0] = index + 1 if isinstance(index, int) else index
        i += 1


def _check_yaml_nesting(text: str) -> None:
    """Walk YAML parser events (PyYAML's parser is not recursive) and refuse deep nesting."""
    frames: list[list[str | int]] = []  # [key or index, expecting a key?]
    mapping: list[bool] = []
    expect_key: list[bool] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                _advance(frames, mapping, expect_key)
                if len(mapping) >= limits.MAX_TEXT_NESTING:
                    raise _too_deep([frame[0] for frame in frames])
                is_mapping = isinstance(event, yaml.MappingStartEvent)
                mapping.append(is_mapping)
                expect_key.append(True)
                frames.append(["" if is_mapping else -1])
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                mapping.pop()
                expect_key.pop()
                frames.pop()
            elif isinstance(event, yaml.AliasEvent):
                # An alias repeats a subtree without its size showing in the text (the
                # "billion laughs"); rules have no use for them.
                _advance(frames, mapping, expect_key)
                raise RuleSetInvalid(
                    [
                        RuleProblem(
                            format_path([frame[0] for frame in frames]),
                            "yaml_alias",
                            Text(
                                "Alias YAML (*nama) tidak diizinkan dalam aturan",
                                "YAML aliases (*name) are not allowed in rules",
                            ),
                        )
                    ]
                )
            elif isinstance(event, yaml.ScalarEvent):
                if mapping and mapping[-1] and expect_key[-1]:
                    frames[-1][0] = event.value
                    expect_key[-1] = False
                else:
                    _advance(frames, mapping, expect_key)
    except yaml.YAMLError as error:
        raise RuleSetInvalid([_syntax_problem(str(error))]) from None


def _advance(frames: list[list[str | int]], mapping: list[bool], expect_key: list[bool]) -> None:
    """A value was read inside the current container: next key, or next list index."""
    if not mapping:
        return
    if mapping[-1]:
        expect_key[-1] = True
    else:
        index = frames[-1][0]
        frames[-1][0] = index + 1 if isinstance(index, int) else index
