"""Builders of model files, policies and repositories for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "111122223333"
ARN = f"arn:aws:cleanrooms-ml:us-east-1:{ACCOUNT}:configured-audience-model/demo-0001"
AUDIENCE_MODEL_ARN = f"arn:aws:cleanrooms-ml:us-east-1:{ACCOUNT}:audience-model/am-0001"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-audience-writer"

VALID_MODEL = textwrap.dedent(
    f"""\
    configuredAudienceModelArn: {ARN}
    description: Spring lookalikes
    audienceModelArn: {AUDIENCE_MODEL_ARN}
    minMatchingSeedSize: 1500
    sharedAudienceMetrics: [NONE]
    outputConfig:
      destination:
        s3Destination:
          s3Uri: s3://acme-aud/us/retail/
      roleArn: {ROLE_ARN}
    audienceSizeConfig:
      audienceSizeType: ABSOLUTE
      audienceSizeBins: [50000, 100000]
    """
)

STRICT_POLICY: dict[str, Any] = {
    "rules": {
        "min-matching-seed-size": 1000,
        "allowed-s3-prefixes": ["s3://acme-aud/us/"],
        "allowed-accounts": [ACCOUNT],
        "allowed-regions": ["us-east-1"],
        "allowed-role-arns": [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-*"],
        "allowed-shared-audience-metrics": ["NONE"],
        "audience-size": {
            "allowed-types": ["ABSOLUTE", "PERCENTAGE"],
            "max-bins": 5,
            "min-bin": 10000,
            "max-bin": 1000000,
            "max-percentage": 20,
        },
        "audience-size-ascending": True,
        "require-description": True,
    }
}


# The valid model with one key per line, so that tests can name the line of each key.
LAYOUT = (
    ("configuredAudienceModelArn", 0, ARN),  # line 1
    ("description", 0, "Spring lookalikes"),  # 2
    ("audienceModelArn", 0, AUDIENCE_MODEL_ARN),  # 3
    ("minMatchingSeedSize", 0, "1500"),  # 4
    ("sharedAudienceMetrics", 0, "[NONE]"),  # 5
    ("outputConfig", 0, ""),  # 6
    ("destination", 2, ""),  # 7
    ("s3Destination", 4, ""),  # 8
    ("s3Uri", 6, "s3://acme/aud/"),  # 9
    ("roleArn", 2, ROLE_ARN),  # 10
    ("audienceSizeConfig", 0, ""),  # 11
    ("audienceSizeType", 2, "ABSOLUTE"),  # 12
    ("audienceSizeBins", 2, "[50000, 100000]"),  # 13
)


def layout_model(**values: str | None) -> str:
    """The LAYOUT model with some values replaced as YAML text; None leaves a key out, with
    what it holds (later lines move up)."""
    unknown = set(values) - {key for key, _, _ in LAYOUT}
    assert not unknown, unknown
    lines = []
    dropped_at: int | None = None
    for key, indent, default in LAYOUT:
        if dropped_at is not None and indent > dropped_at:
            continue
        value = values.get(key, default)
        dropped_at = indent if value is None else None
        if value is not None:
            lines.append(f"{' ' * indent}{key}:{' ' + value if value else ''}")
    return "\n".join(lines) + "\n"


def model_text(arn: str = ARN, **changes: Any) -> str:
    """The valid model YAML with top-level keys replaced (None removes a key)."""
    data = yaml.safe_load(VALID_MODEL)
    data["configuredAudienceModelArn"] = arn
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yaml.safe_dump(data, sort_keys=False)


def write_repo(root: Path, models: dict[str, str | bytes], policy: dict[str, Any] | str | None = None) -> Path:
    """A repository folder with policy.yaml (STRICT_POLICY by default) and model files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)
    policy_text = yaml.safe_dump(STRICT_POLICY if policy is None else policy) if not isinstance(policy, str) else policy
    (root / "policy.yaml").write_text(policy_text)
    for name, content in models.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def schema_patterns(node: Any) -> list[str]:
    """Every `pattern` of a JSON Schema, at any depth."""
    if isinstance(node, dict):
        # a "pattern" keyword holds a string; a property called pattern (required-tags) a schema
        return [
            p
            for key, child in node.items()
            for p in ([child] if key == "pattern" and isinstance(child, str) else schema_patterns(child))
        ]
    if isinstance(node, list):
        return [p for child in node for p in schema_patterns(child)]
    return []
