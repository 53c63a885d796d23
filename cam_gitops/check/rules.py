"""Policy rules: each a pure function of (model, rule value) that yields violations.

A violation names the field it is about; the engine (check/engine.py) places it in the file,
or, when the field's value comes from the live model (effective state), says so. Rules read
values only through `model.get(...)`, so the same rule judges a file and the model as it will
be after the update.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cam_gitops.check.globs import BLANKS, glob_to_matcher
from cam_gitops.check.rules_beside import (
    allowed_actions,
    allowed_principals,
    require_resource_policy,
    required_tags,
)
from cam_gitops.check.violation import RuleCheck, Violation, is_int, shown
from cam_gitops.loader import DocPath
from cam_gitops.model import ModelSpec, parse_arn

S3_URI: DocPath = ("outputConfig", "destination", "s3Destination", "s3Uri")
ROLE_ARN: DocPath = ("outputConfig", "roleArn")
BINS: DocPath = ("audienceSizeConfig", "audienceSizeBins")
SIZE_TYPE: DocPath = ("audienceSizeConfig", "audienceSizeType")
MODEL_ARN: DocPath = ("configuredAudienceModelArn",)
AUDIENCE_MODEL_ARN: DocPath = ("audienceModelArn",)


def min_matching_seed_size(model: ModelSpec, minimum: int) -> Iterator[Violation]:
    """minMatchingSeedSize is present and at least the minimum."""
    value = model.get("minMatchingSeedSize")
    if value is None:
        yield Violation(
            (),
            f"minMatchingSeedSize is not set; policy requires at least {minimum} "
            "(left out, the live value stays whatever it is)",
        )
    elif not is_int(value) or value < minimum:
        yield Violation(
            ("minMatchingSeedSize",),
            f"minMatchingSeedSize is {shown(value)}; policy requires at least {minimum}",
        )


def allowed_s3_prefixes(model: ModelSpec, prefixes: list[str]) -> Iterator[Violation]:
    """The s3Uri lies under an allowed prefix, matched on whole path segments."""
    uri = model.get(*S3_URI)
    if uri is None:
        return
    problem = s3_uri_problem(uri) if isinstance(uri, str) else "is not a string"
    if problem:
        yield Violation(S3_URI, f"s3Uri {shown(uri)} {problem}")
    elif not any(s3_under_prefix(uri, prefix) for prefix in prefixes):
        yield Violation(S3_URI, f"s3Uri {shown(uri)} is not under an allowed prefix; allowed: {', '.join(prefixes)}")


def _s3_parts(uri: str) -> tuple[str, list[str]]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.split("/") if key else []


def s3_uri_problem(uri: str) -> str | None:
    """Why an s3 URI is not a clean s3://bucket/key path, or None."""
    if not uri.startswith("s3://"):
        return "does not start with s3://"
    bucket, segments = _s3_parts(uri)
    if not bucket:
        return "has no bucket name"
    if any(ord(char) < 0x20 or char == "\x7f" for char in uri):
        return "has a control character; write the plain path"
    for index, segment in enumerate(segments):
        if segment in (".", ".."):
            return f"has a '{segment}' segment; write the normalised path"
        if segment == "" and index < len(segments) - 1:
            return "has an empty segment (//); write the normalised path"
    return None


def s3_under_prefix(uri: str, prefix: str) -> bool:
    """Whether uri is the prefix or below it, on whole segments (s3://a/aud/ does not admit s3://a/audit)."""
    bucket, segments = _s3_parts(uri)
    prefix_bucket, prefix_segments = _s3_parts(prefix)
    prefix_segments = [s for s in prefix_segments if s]
    return bucket == prefix_bucket and segments[: len(prefix_segments)] == prefix_segments


# Every ARN field a model sets, and the ARN it must be: (service, resource type).
ARN_FIELDS: tuple[tuple[DocPath, str, str], ...] = (
    (MODEL_ARN, "cleanrooms-ml", "configured-audience-model"),
    (AUDIENCE_MODEL_ARN, "cleanrooms-ml", "audience-model"),
    (ROLE_ARN, "iam", "role"),
)


def _arns(model: ModelSpec) -> Iterator[tuple[DocPath, Any, Any]]:
    """(field, value, parsed ARN or None) of every ARN the model sets, validated whole."""
    for path, service, kind in ARN_FIELDS:
        value = model.arn if path == MODEL_ARN else model.get(*path)
        if value is not None:
            yield path, value, parse_arn(value, service, kind) if isinstance(value, str) else None


def _not_an_arn(path: DocPath, value: Any, what: str) -> Violation:
    kinds = {path: f"{service}:{kind}" for path, service, kind in ARN_FIELDS}
    return Violation(
        path,
        f"{path[-1]} {shown(value)} is not a valid {kinds[path]} ARN "
        f"(arn:partition:service:region:account:type/id); cannot check its {what}",
    )


def allowed_accounts(model: ModelSpec, accounts: list[str]) -> Iterator[Violation]:
    """Every ARN in the model belongs to an allowed account."""
    for path, value, arn in _arns(model):
        if arn is None:
            yield _not_an_arn(path, value, "account")
        elif arn.account not in accounts:
            yield Violation(path, f"{path[-1]} is in account {arn.account}; allowed accounts: {', '.join(accounts)}")


def allowed_regions(model: ModelSpec, regions: list[str]) -> Iterator[Violation]:
    """The model and audience-model ARNs are in allowed regions (IAM roles have no region)."""
    for path, value, arn in _arns(model):
        if path == ROLE_ARN:
            continue
        if arn is None:
            yield _not_an_arn(path, value, "region")
        elif arn.region not in regions:
            yield Violation(path, f"{path[-1]} is in region {arn.region}; allowed regions: {', '.join(regions)}")


def arn_glob_matches(arn: str, pattern: str) -> bool:
    """Whether an ARN matches a glob: `*` and `?` stay within one path segment and never
    match a space or a control character, so role/allowed-* cannot admit
    role/allowed-prefix/AdminRole; brackets are literal."""
    return glob_to_matcher(pattern, never=BLANKS)(arn)


def allowed_role_arns(model: ModelSpec, globs: list[str]) -> Iterator[Violation]:
    """outputConfig.roleArn matches an allowed glob; `*` never crosses `/`."""
    role = model.get(*ROLE_ARN)
    if role is None:
        return
    if not isinstance(role, str) or parse_arn(role, "iam", "role") is None:
        yield _not_an_arn(ROLE_ARN, role, "role")
    elif not any(arn_glob_matches(role, glob) for glob in globs):
        yield Violation(ROLE_ARN, f"roleArn {role} is not allowed; allowed: {', '.join(globs)}")


def allowed_shared_audience_metrics(model: ModelSpec, allowed: list[str]) -> Iterator[Violation]:
    """Every sharedAudienceMetrics value is allowed."""
    values = model.get("sharedAudienceMetrics")
    if values is None:
        return
    if not isinstance(values, list):
        yield Violation(("sharedAudienceMetrics",), f"sharedAudienceMetrics {shown(values)} is not a list")
        return
    for index, value in enumerate(values):
        if value not in allowed:
            yield Violation(
                ("sharedAudienceMetrics", index),
                f"sharedAudienceMetrics {shown(value)} is not allowed; allowed: {', '.join(allowed)}",
            )


def audience_size(model: ModelSpec, limits: Mapping[str, Any]) -> Iterator[Violation]:
    """audienceSizeConfig respects the allowed types, bin count and bin range."""
    size_type = model.get(*SIZE_TYPE)
    bins = model.get(*BINS)
    if size_type is None or bins is None:
        return
    if not isinstance(bins, list) or not all(is_int(b) for b in bins):
        yield Violation(BINS, f"audienceSizeBins {shown(bins)} is not a list of integers")
        return
    allowed_types = limits.get("allowed-types")
    if allowed_types is not None and size_type not in allowed_types:
        yield Violation(
            SIZE_TYPE, f"audienceSizeType {shown(size_type)} is not allowed; allowed: {', '.join(allowed_types)}"
        )
    max_bins = limits.get("max-bins")
    if max_bins is not None and len(bins) > max_bins:
        yield Violation(BINS, f"audienceSizeBins has {len(bins)} bins; policy allows at most {max_bins}")
    low_key, high_key = ("min-percentage", "max-percentage") if size_type == "PERCENTAGE" else ("min-bin", "max-bin")
    low, high = limits.get(low_key), limits.get(high_key)
    for index, value in enumerate(bins):
        if (low is not None and value < low) or (high is not None and value > high):
            allowed = f"{low if low is not None else 1}..{high if high is not None else 'max'}"
            yield Violation(
                (*BINS, index),
                f"{shown(size_type)} bin {value} is outside the allowed range {allowed} ({low_key}/{high_key})",
            )


def audience_size_ascending(model: ModelSpec, enabled: bool) -> Iterator[Violation]:
    """audienceSizeBins are strictly ascending."""
    bins = model.get(*BINS) or []
    if not enabled or not isinstance(bins, list) or not all(is_int(b) for b in bins):
        return
    for index in range(1, len(bins)):
        if bins[index] <= bins[index - 1]:
            yield Violation(
                (*BINS, index),
                f"audienceSizeBins must be strictly ascending: {bins[index]} follows {bins[index - 1]}",
            )


def require_description(model: ModelSpec, enabled: bool) -> Iterator[Violation]:
    """description is set and not blank."""
    description = model.get("description")
    if enabled and (not isinstance(description, str) or not description.strip()):
        yield Violation(
            ("description",) if description is not None else (),
            "description is required by policy: say what the model is for and who owns it",
        )


CHECKS: dict[str, RuleCheck] = {
    "min-matching-seed-size": min_matching_seed_size,
    "allowed-s3-prefixes": allowed_s3_prefixes,
    "allowed-accounts": allowed_accounts,
    "allowed-regions": allowed_regions,
    "allowed-role-arns": allowed_role_arns,
    "allowed-shared-audience-metrics": allowed_shared_audience_metrics,
    "audience-size": audience_size,
    "audience-size-ascending": audience_size_ascending,
    "require-description": require_description,
    "required-tags": required_tags,
    "allowed-principals": allowed_principals,
    "allowed-actions": allowed_actions,
    "require-resource-policy": require_resource_policy,
}

# Rules in force even when policy.yaml does not name them, with the value they run with: a
# wildcard principal in a resource policy is refused unless allowed-principals allows "*".
DEFAULTS: dict[str, Any] = {"allowed-principals": None}
