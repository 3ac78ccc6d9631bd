"""``registry/tasks/<suite>/``: task cases, their checks and the suite metadata."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from generator.registry.schema.common import Slug, Strict, _check_regex, _check_slug
from generator.registry.schema.policy import Severity

# --------------------------------------------------------------------------- task cases


class CheckBase(Strict):
    id: Slug | None = Field(default=None, description="Defaults to the kind and its position.")
    severity: Severity | None = Field(default=None, description="Defaults to the case's severity.")
    note: str | None = None


class JsonValidCheck(CheckBase):
    kind: Literal["json_valid"]


class JsonSchemaCheck(CheckBase):
    kind: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = _schema_problem(json.dumps(value, sort_keys=True, default=str))
        if problem is not None:
            raise ValueError(f"not a valid JSON Schema: {problem}")
        return value


@lru_cache(maxsize=4096)
def _schema_problem(canonical: str) -> str | None:
    """Why a JSON Schema (canonical JSON text) is not valid, or None; once per distinct schema:
    checking a schema against the metaschema is most of loading a suite, and cases of one suite
    often share their schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(json.loads(canonical))
    except SchemaError as exc:
        return exc.message
    return None


class ExactFieldCheck(CheckBase):
    kind: Literal["exact_field"]
    field: str = Field(description="Dotted path into the output's JSON object.")
    expected: Any


class LabelCheck(CheckBase):
    kind: Literal["label"]
    labels: list[str] = Field(min_length=2)
    expected: str
    field: str | None = Field(default=None, description="JSON field holding the label; else free text.")

    @model_validator(mode="after")
    def _expected_in_labels(self) -> LabelCheck:
        if self.expected not in self.labels:
            raise ValueError(f"expected label {self.expected!r} is not one of {self.labels}")
        return self


class EvidenceCheck(CheckBase):
    """The output must quote lines that really are in the case input (citations)."""

    kind: Literal["evidence"]
    required: list[str] = Field(default_factory=list, description="Lines that must be cited.")
    min_lines: Annotated[int, Field(ge=0)] = 1


class BannedPhrasesCheck(CheckBase):
    """Case-insensitive substrings, and regexes matched with IGNORECASE | MULTILINE."""

    kind: Literal["banned_phrases"]
    phrases: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list, description="Regexes, case-insensitive.")

    @model_validator(mode="after")
    def _something_banned(self) -> BannedPhrasesCheck:
        if not self.phrases and not self.patterns:
            raise ValueError("banned_phrases needs phrases or patterns")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from None
        return self


class RequiredPhrasesCheck(CheckBase):
    kind: Literal["required_phrases"]
    phrases: list[str] = Field(min_length=1)
    mode: Literal["all", "any"] = "all"


class RegexCheck(CheckBase):
    kind: Literal["regex"]
    pattern: str
    must_match: bool = True

    _compiles = field_validator("pattern")(_check_regex)


Check = Annotated[
    JsonValidCheck
    | JsonSchemaCheck
    | ExactFieldCheck
    | LabelCheck
    | EvidenceCheck
    | BannedPhrasesCheck
    | RequiredPhrasesCheck
    | RegexCheck,
    Field(discriminator="kind"),
]

# What a failed check means for the decision gates: banned phrases are policy
# violations, missing evidence is an unsupported claim.
CHECK_CATEGORY: dict[str, str] = {
    "json_valid": "format",
    "json_schema": "format",
    "exact_field": "accuracy",
    "label": "accuracy",
    "evidence": "unsupported_claim",
    "banned_phrases": "policy_violation",
    "required_phrases": "completeness",
    "regex": "format",
    "prompt_echo": "format",
}


class Message(Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class TaskCase(Strict):
    """One contributor-written case. ``{{input}}`` in the prompt is replaced by ``input``."""

    schema_version: Literal[1] = 1
    id: Slug
    title: str
    role: Slug
    workload: Slug | None = None
    severity: Severity
    author: str | None = None
    tags: list[str] = Field(default_factory=list)
    system: str | None = None
    prompt: str | None = None
    messages: list[Message] | None = None
    input: str = ""
    max_tokens: Annotated[int, Field(gt=0, le=8192)] | None = None
    checks: list[Check] = Field(min_length=1)
    rubric: str | None = Field(default=None, description="What a judge should look for (optional).")

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _prompt_or_messages(self) -> TaskCase:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt or messages")
        ids = [c.id for c in self.checks if c.id]
        if len(ids) != len(set(ids)):
            raise ValueError("check ids must be unique within a case")
        return self

    def check_ids(self) -> list[str]:
        return [c.id or f"{c.kind}-{i + 1}" for i, c in enumerate(self.checks)]


class SuiteMeta(Strict):
    schema_version: Literal[1] = 1
    description: str
    default_max_tokens: Annotated[int, Field(gt=0)] | None = None
