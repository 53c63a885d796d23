"""Policy rules: each a pure function of (model, rule value) that yields findings.

Every rule id is also the key that enables it in policy.yaml. RULES documents every id the
tool can report, policy rules and built-in checks alike, for --help, SARIF and the README.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cam_gitops.findings import Finding, error
from cam_gitops.loader import DocPath
from cam_gitops.model import Arn, ModelSpec

RuleCheck = Callable[[ModelSpec, Any], Iterator[Finding]]

S3_URI: DocPath = ("outputConfig", "destination", "s3Destination", "s3Uri")
ROLE_ARN: DocPath = ("outputConfig", "roleArn")
BINS: DocPath = ("audienceSizeConfig", "audienceSizeBins")
SIZE_TYPE: DocPath = ("audienceSizeConfig", "audienceSizeType")


@dataclass(frozen=True)
class RuleInfo:
    """What a rule id means: a one-line summary and how to configure or fix it."""

    rule_id: str
    summary: str
    help: str
    configurable: bool = True


RULES: dict[str, RuleInfo] = {
    info.rule_id: info
    for info in (
        RuleInfo(
            "schema",
            "File breaks the configured audience model schema (botocore's constraints).",
            "Fix the key or value named; keys and enum values are case-sensitive.",
            False,
        ),
        RuleInfo(
            "parse",
            "File cannot be read as one YAML or JSON mapping.",
            "Use UTF-8, spaces not tabs, one document, no tags, anchors or aliases.",
            False,
        ),
        RuleInfo("duplicate-key", "A key appears twice in one mapping.", "Remove one of the keys.", False),
        RuleInfo(
            "duplicate-arn",
            "Two files manage the same configuredAudienceModelArn.",
            "Keep one file per model; delete or merge the other.",
            False,
        ),
        RuleInfo(
            "path",
            "A file path resolves outside the repository (symlink or ..).",
            "Keep model files as regular files inside the repository.",
            False,
        ),
        RuleInfo("policy", "policy.yaml itself is invalid.", "Fix policy.yaml as the message says.", False),
        RuleInfo(
            "waiver-expired",
            "A waiver in policy.yaml is past its expiry date.",
            "Fix the model file, or renew the waiver with a new reason and date.",
            False,
        ),
        RuleInfo("waiver-unused", "A waiver in policy.yaml waives nothing.", "Remove the waiver.", False),
        RuleInfo(
            "min-matching-seed-size", "minMatchingSeedSize must be set and at least N.", "min-matching-seed-size: 1000"
        ),
        RuleInfo(
            "allowed-s3-prefixes",
            "The output s3Uri must lie under an allowed prefix (whole segments).",
            "allowed-s3-prefixes: [s3://acme-audiences/prod/]",
        ),
        RuleInfo(
            "allowed-accounts",
            "The account of every ARN in the file must be allowed.",
            "allowed-accounts: ['111122223333']",
        ),
        RuleInfo(
            "allowed-regions",
            "Model and audience-model ARNs must be in an allowed region.",
            "allowed-regions: [us-east-1, eu-west-1]",
        ),
        RuleInfo(
            "allowed-role-arns",
            "outputConfig.roleArn must match an allowed glob.",
            "allowed-role-arns: ['arn:aws:iam::111122223333:role/cleanrooms-ml-*']",
        ),
        RuleInfo(
            "allowed-shared-audience-metrics",
            "sharedAudienceMetrics values must be allowed.",
            "allowed-shared-audience-metrics: [NONE]",
        ),
        RuleInfo(
            "audience-size",
            "audienceSizeConfig type, bin count and bin range limits.",
            "audience-size: {allowed-types: [ABSOLUTE], max-bins: 10, min-bin: 1000, max-bin: 5000000}",
        ),
        RuleInfo(
            "audience-size-ascending", "audienceSizeBins must be strictly ascending.", "audience-size-ascending: true"
        ),
        RuleInfo("require-description", "description must be set and not blank.", "require-description: true"),
    )
}


def min_matching_seed_size(model: ModelSpec, minimum: int) -> Iterator[Finding]:
    """minMatchingSeedSize is present and at least the minimum."""
    value = model.get("minMatchingSeedSize")
    if value is None:
        yield _error(
            model,
            (),
            "min-matching-seed-size",
            f"minMatchingSeedSize is not set; policy requires at least {minimum} "
            "(left out, the live value stays whatever it is)",
        )
    elif value < minimum:
        yield _error(
            model,
            ("minMatchingSeedSize",),
            "min-matching-seed-size",
            f"minMatchingSeedSize is {value}; policy requires at least {minimum}",
        )


def allowed_s3_prefixes(model: ModelSpec, prefixes: list[str]) -> Iterator[Finding]:
    """The s3Uri lies under an allowed prefix, matched on whole path segments."""
    uri = model.get(*S3_URI)
    if uri is None:
        return
    problem = s3_uri_problem(uri)
    if problem:
        yield _error(model, S3_URI, "allowed-s3-prefixes", f"s3Uri {uri} {problem}")
    elif not any(s3_under_prefix(uri, prefix) for prefix in prefixes):
        yield _error(
            model,
            S3_URI,
            "allowed-s3-prefixes",
            f"s3Uri {uri} is not under an allowed prefix; allowed: {', '.join(prefixes)}",
        )


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


def _arn_fields(model: ModelSpec) -> Iterator[tuple[DocPath, Arn | None]]:
    """Every ARN the file sets; None for one that does not start as an ARN.

    botocore's patterns are not anchored, so the schema admits `junk arn:aws:...`; such a
    value must not slip past the account and region rules unchecked.
    """
    for path in (("configuredAudienceModelArn",), ("audienceModelArn",), ROLE_ARN):
        value = model.arn if path == ("configuredAudienceModelArn",) else model.get(*path)
        if isinstance(value, str):
            yield path, Arn.parse(value)


def _not_an_arn(model: ModelSpec, path: DocPath, rule: str, what: str) -> Finding:
    return _error(
        model,
        path,
        rule,
        f"{path[-1]} is not an ARN (arn:partition:service:region:account:...); cannot check its {what}",
    )


def allowed_accounts(model: ModelSpec, accounts: list[str]) -> Iterator[Finding]:
    """Every ARN in the file belongs to an allowed account."""
    for path, arn in _arn_fields(model):
        if arn is None:
            yield _not_an_arn(model, path, "allowed-accounts", "account")
        elif arn.account not in accounts:
            yield _error(
                model,
                path,
                "allowed-accounts",
                f"{path[-1]} is in account {arn.account}; allowed accounts: {', '.join(accounts)}",
            )


def allowed_regions(model: ModelSpec, regions: list[str]) -> Iterator[Finding]:
    """The model and audience-model ARNs are in allowed regions."""
    for path, arn in _arn_fields(model):
        if arn is None:
            if path != ROLE_ARN:
                yield _not_an_arn(model, path, "allowed-regions", "region")
        elif arn.service == "cleanrooms-ml" and arn.region not in regions:
            yield _error(
                model,
                path,
                "allowed-regions",
                f"{path[-1]} is in region {arn.region}; allowed regions: {', '.join(regions)}",
            )


def allowed_role_arns(model: ModelSpec, globs: list[str]) -> Iterator[Finding]:
    """outputConfig.roleArn matches an allowed glob."""
    role = model.get(*ROLE_ARN)
    if role is not None and not any(fnmatch.fnmatchcase(role, glob) for glob in globs):
        yield _error(
            model, ROLE_ARN, "allowed-role-arns", f"roleArn {role} is not allowed; allowed: {', '.join(globs)}"
        )


def allowed_shared_audience_metrics(model: ModelSpec, allowed: list[str]) -> Iterator[Finding]:
    """Every sharedAudienceMetrics value is allowed."""
    for index, value in enumerate(model.get("sharedAudienceMetrics") or []):
        if value not in allowed:
            yield _error(
                model,
                ("sharedAudienceMetrics", index),
                "allowed-shared-audience-metrics",
                f"sharedAudienceMetrics {value} is not allowed; allowed: {', '.join(allowed)}",
            )


def audience_size(model: ModelSpec, limits: Mapping[str, Any]) -> Iterator[Finding]:
    """audienceSizeConfig respects the allowed types, bin count and bin range."""
    size_type = model.get(*SIZE_TYPE)
    bins = model.get(*BINS)
    if size_type is None or bins is None:
        return
    allowed_types = limits.get("allowed-types")
    if allowed_types is not None and size_type not in allowed_types:
        yield _error(
            model,
            SIZE_TYPE,
            "audience-size",
            f"audienceSizeType {size_type} is not allowed; allowed: {', '.join(allowed_types)}",
        )
    max_bins = limits.get("max-bins")
    if max_bins is not None and len(bins) > max_bins:
        yield _error(
            model, BINS, "audience-size", f"audienceSizeBins has {len(bins)} bins; policy allows at most {max_bins}"
        )
    low_key, high_key = ("min-percentage", "max-percentage") if size_type == "PERCENTAGE" else ("min-bin", "max-bin")
    low, high = limits.get(low_key), limits.get(high_key)
    for index, value in enumerate(bins):
        if (low is not None and value < low) or (high is not None and value > high):
            allowed = f"{low if low is not None else 1}..{high if high is not None else 'max'}"
            yield _error(
                model,
                (*BINS, index),
                "audience-size",
                f"{size_type} bin {value} is outside the allowed range {allowed} ({low_key}/{high_key})",
            )


def audience_size_ascending(model: ModelSpec, enabled: bool) -> Iterator[Finding]:
    """audienceSizeBins are strictly ascending."""
    bins = model.get(*BINS) or []
    if not enabled:
        return
    for index in range(1, len(bins)):
        if bins[index] <= bins[index - 1]:
            yield _error(
                model,
                (*BINS, index),
                "audience-size-ascending",
                f"audienceSizeBins must be strictly ascending: {bins[index]} follows {bins[index - 1]}",
            )


def require_description(model: ModelSpec, enabled: bool) -> Iterator[Finding]:
    """description is set and not blank."""
    description = model.get("description")
    if enabled and (description is None or not description.strip()):
        path: DocPath = ("description",) if description is not None else ()
        yield _error(
            model,
            path,
            "require-description",
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
}


def apply_rules(model: ModelSpec, rules: Mapping[str, Any]) -> list[Finding]:
    """Run every configured rule on a model; a rule that crashes becomes a finding."""
    findings: list[Finding] = []
    for rule_id, value in rules.items():
        check = CHECKS.get(rule_id)
        if check is None:
            continue
        try:
            findings.extend(check(model, value))
        except Exception as exc:  # one buggy rule must not hide the other results
            findings.append(_error(model, (), rule_id, f"rule failed on this file ({type(exc).__name__}: {exc})"))
    return findings


def _error(model: ModelSpec, path: DocPath, rule: str, message: str) -> Finding:
    return error(model.path, model.source.locate(path), rule, message)
