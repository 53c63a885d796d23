"""Runs the policy rules on a model: as the file says it, or as the model will be.

The update is a PATCH: fields a file leaves out keep their live value. `effective_findings`
judges the model AWS will hold after the update (live merged with the file) and reports the
violations that come from live values, naming the file and what to add to it. Violations of
the file's own values are `check`'s, reported before any AWS call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cam_gitops.check.rules import CHECKS, DEFAULTS
from cam_gitops.check.violation import Violation
from cam_gitops.findings import Finding, Position, error
from cam_gitops.loader import DocPath
from cam_gitops.model import BESIDE_FIELDS, UPDATABLE_FIELDS, ModelSpec

LIVE_VALUE_POSITION = Position(1, 1)


def _violations(model: ModelSpec, rules: Mapping[str, Any]) -> list[tuple[str, Violation]]:
    """Every configured rule on a model; a rule that crashes becomes a violation."""
    found: list[tuple[str, Violation]] = []
    for rule_id, value in {**DEFAULTS, **rules}.items():
        check = CHECKS.get(rule_id)
        if check is None:
            continue
        try:
            found.extend((rule_id, violation) for violation in check(model, value))
        except Exception as exc:  # one buggy rule must not hide the other results
            found.append((rule_id, Violation((), f"rule failed on this file ({type(exc).__name__}: {exc})", True)))
    return found


def apply_rules(model: ModelSpec, rules: Mapping[str, Any]) -> list[Finding]:
    """Findings of the rules on the file's own values, at their line and column."""
    return [
        error(model.path, model.source.locate(violation.field), rule_id, violation.message)
        for rule_id, violation in _violations(model, rules)
    ]


def effective_model(model: ModelSpec, live: Mapping[str, Any]) -> ModelSpec:
    """The model as it will be after the update: live values for the fields the file leaves out
    (tags and the resource policy too, when the live model has them and the file does not)."""
    merged = {key: live[key] for key in UPDATABLE_FIELDS if key in live and live[key] is not None}
    merged.update(model.desired)
    beside = {key: live[key] for key in BESIDE_FIELDS if key in live}
    beside.update(model.beside)
    return ModelSpec(source=model.source, arn=model.arn, desired=merged, beside=beside)


def live_only_fields(model: ModelSpec, live: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """(field, live value) of every field the file does not set that the live model has."""
    fields = [(key, live[key]) for key in UPDATABLE_FIELDS if key not in model.desired and live.get(key) is not None]
    fields += [(key, live[key]) for key in BESIDE_FIELDS if key not in model.beside and live.get(key) is not None]
    return tuple(fields)


def effective_findings(model: ModelSpec, live: Mapping[str, Any], rules: Mapping[str, Any]) -> list[Finding]:
    """Violations of the rules by live values the file does not override."""
    from_live = {key for key, _ in live_only_fields(model, live)}
    findings: list[Finding] = []
    for rule_id, violation in _violations(effective_model(model, live), rules):
        field = _top_field(violation.field)
        if violation.crashed and from_live:  # a rule that cannot judge a live value refuses it
            message = violation.message.replace("on this file", "on the model as it will be (live values included)")
            findings.append(error(model.path, LIVE_VALUE_POSITION, rule_id, message))
        elif field in from_live:
            findings.append(error(model.path, LIVE_VALUE_POSITION, rule_id, _live_message(violation, field, model)))
    return findings


def _top_field(path: DocPath) -> str | None:
    return str(path[0]) if path else None


def _live_message(violation: Violation, field: str, model: ModelSpec) -> str:
    return (
        f"{violation.message} (live value; not set in {model.path}): add {field} to {model.path} "
        "with a value the policy allows, so the update replaces it"
    )
