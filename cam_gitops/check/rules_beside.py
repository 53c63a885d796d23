"""Rules on what is managed beside the update request: the model's tags and resource policy.

Like every rule, each is a pure function of (model, rule value) yielding violations, and reads
values only through `model.get(...)`, so it judges the file and the model as it will be alike.
Only Allow statements grant anything: Deny statements are never refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from cam_gitops.check.globs import BLANKS, glob_to_matcher
from cam_gitops.check.violation import Violation, shown
from cam_gitops.model import ModelSpec

POLICY = "resourcePolicy"


def required_tags(model: ModelSpec, required: Mapping[str, Mapping[str, Any]]) -> Iterator[Violation]:
    """Every required tag is present, with a value the rule allows."""
    tags = model.get("tags")
    keys = ", ".join(sorted(required))
    if tags is None:
        yield Violation(
            (), f"tags are not set; policy requires the tags {keys} (left out, the live tags stay as they are)"
        )
        return
    if not isinstance(tags, dict):
        yield Violation(("tags",), f"tags {shown(tags)} is not a mapping of tag keys to values")
        return
    for key, rule in sorted(required.items()):
        if key not in tags:
            yield Violation(("tags",), f"tag {shown(key)} is required by policy; required tags: {keys}")
            continue
        value = tags[key]
        allowed = rule.get("values")
        pattern = rule.get("pattern")
        if not isinstance(value, str):
            yield Violation(("tags", key), f"tag {shown(key)} has the value {shown(value)}, not a string")
        elif allowed is not None and value not in allowed:
            yield Violation(
                ("tags", key),
                f"tag {shown(key)} is {shown(value)}; policy allows: {', '.join(map(shown, allowed))}",
            )
        elif pattern is not None and re.fullmatch(pattern, value) is None:
            yield Violation(("tags", key), f"tag {shown(key)} is {shown(value)}; policy requires it to match {pattern}")


def statements(model: ModelSpec) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, statement) of every Allow statement of the model's resource policy."""
    document = model.get(POLICY)
    if not isinstance(document, Mapping):
        return
    listed = document.get("Statement")
    for index, statement in enumerate(listed if isinstance(listed, list) else [listed]):
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
            yield index, statement


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def principals(statement: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, principal) of a statement's Principal: ("*", "*") for everyone."""
    principal = statement.get("Principal")
    if principal == "*":
        yield "*", "*"
    elif isinstance(principal, Mapping):
        for kind, values in sorted(principal.items()):
            for value in _strings(values):
                yield str(kind), value


def _account_forms(principal: str) -> list[str]:
    """An account may be written as its id or its root ARN: each matches the other's glob."""
    match = re.fullmatch(r"([0-9]{12})|arn:aws(?:-[a-z]+)*:iam::([0-9]{12}):root", principal)
    if match is None:
        return [principal]
    account = match.group(1) or match.group(2)
    return [principal, account, f"arn:aws:iam::{account}:root"]


def allowed_principals(model: ModelSpec, allowed: list[str] | None) -> Iterator[Violation]:
    """Allow statements grant only allowed principals; a wildcard principal only when "*" is
    allowed. With no rule configured (allowed is None), only the wildcard is refused."""
    wildcard_ok = allowed is not None and "*" in allowed
    yield from _unreadable(model, "principals")
    for index, statement in statements(model):
        where = (POLICY, "Statement", index)
        if "NotPrincipal" in statement:
            yield Violation(
                (*where, "NotPrincipal"),
                "an Allow statement with NotPrincipal grants every principal but those listed: "
                "name the principals it grants in Principal instead",
            )
        for kind, principal in principals(statement):
            if principal == "*":
                if not wildcard_ok:
                    yield Violation(
                        (*where, "Principal"),
                        f'a wildcard principal ("*"{"" if kind == "*" else f" as {kind}"}) grants the model to '
                        'everyone: name the principals, or allow "*" in allowed-principals',
                    )
            elif allowed is not None and not any(
                glob_to_matcher(glob, never=BLANKS)(form) for glob in allowed for form in _account_forms(principal)
            ):
                yield Violation(
                    (*where, "Principal"),
                    f"principal {shown(principal)} is not allowed; allowed: {', '.join(allowed)}",
                )


def allowed_actions(model: ModelSpec, allowed: list[str]) -> Iterator[Violation]:
    """Allow statements allow only allowed actions (compared case-insensitively, as IAM does)."""
    matchers = [glob_to_matcher(glob.lower(), never=BLANKS) for glob in allowed]
    yield from _unreadable(model, "actions")
    for index, statement in statements(model):
        where = (POLICY, "Statement", index)
        if "NotAction" in statement:
            yield Violation(
                (*where, "NotAction"),
                "an Allow statement with NotAction allows every action but those listed: list the actions in Action",
            )
        for action in _strings(statement.get("Action")):
            if not any(match(action.lower()) for match in matchers):
                yield Violation(
                    (*where, "Action"), f"action {shown(action)} is not allowed; allowed: {', '.join(allowed)}"
                )


def _unreadable(model: ModelSpec, what: str) -> Iterator[Violation]:
    """A policy that is not a JSON policy document (only AWS can hold one) cannot be judged:
    refused, never passed."""
    document = model.get(POLICY)
    if document is not None and not isinstance(document, Mapping):
        yield Violation(
            (POLICY,),
            f"the resource policy is not a JSON policy document, so its {what} cannot be checked: "
            "write the policy in the file (resourcePolicy) to replace it",
        )


def require_resource_policy(model: ModelSpec, enabled: bool) -> Iterator[Violation]:
    """The model has a resource policy."""
    if not enabled:
        return
    if not model.manages_policy:
        yield Violation(
            (),
            "resourcePolicy is not set; policy requires a resource policy (left out, the live policy stays "
            "whatever it is, possibly none)",
        )
    elif model.get(POLICY) is None:
        yield Violation((POLICY,), "resourcePolicy is null (no policy); policy requires a resource policy")
