"""Every rule id the tool can report, with what it means and how to configure or fix it.

For --help, SARIF rule descriptions and the README. Policy rule ids are also the keys that
enable them in policy.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        RuleInfo(
            "required-tags",
            "The model must carry these tags, with values as the rule says.",
            "required-tags: {team: {}, owner: {pattern: '^[a-z][a-z0-9-]*$'}, env: {values: [prod, test]}}",
        ),
        RuleInfo(
            "allowed-principals",
            "A resource policy may grant only these principals; a wildcard principal is refused unless listed.",
            "allowed-principals: ['111122223333', 'arn:aws:iam::111122223333:role/partner-*']",
        ),
        RuleInfo(
            "allowed-actions",
            "A resource policy may allow only these actions.",
            "allowed-actions: ['cleanrooms-ml:GetConfiguredAudienceModel', 'cleanrooms-ml:StartAudience*']",
        ),
        RuleInfo(
            "require-resource-policy",
            "The model must have a resource policy.",
            "require-resource-policy: true",
        ),
    )
}
