"""Typed view of a schema-valid model file, and ARN parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cam_gitops.loader import SourceDocument

# The request keys of UpdateConfiguredAudienceModel that a file may set, besides the ARN.
UPDATABLE_FIELDS = (
    "outputConfig",
    "audienceModelArn",
    "sharedAudienceMetrics",
    "minMatchingSeedSize",
    "audienceSizeConfig",
    "description",
)


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN this tool cares about."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn | None:
        """Split an ARN, or None when it is not one."""
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return None
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])


_ARN_SHAPES = {
    # service: (region pattern, resource id pattern); from botocore's ARN shapes, anchored
    "cleanrooms-ml": (r"[a-z]{2}(?:-[a-z]+)+-[0-9]+", r"[-a-zA-Z0-9_/.]+"),
    "iam": (r"", r"[\w+=,.@/-]+"),
}


def parse_arn(text: str, service: str, kind: str) -> Arn | None:
    """The ARN of a service's resource type, validated whole (partition, service, region,
    account, type and id), or None when text is not exactly one."""
    region, resource_id = _ARN_SHAPES[service]
    pattern = rf"arn:(aws(?:-[a-z]+)*):{re.escape(service)}:({region}):([0-9]{{12}}):{re.escape(kind)}/({resource_id})"
    match = re.fullmatch(pattern, text)
    if match is None or len(text) > 2048:
        return None
    partition, region_found, account, _ = match.groups()
    return Arn(partition, service, region_found, account, f"{kind}/{match.group(4)}")


@dataclass(frozen=True)
class ModelSpec:
    """What one file wants a configured audience model to be."""

    source: SourceDocument
    arn: str
    desired: dict[str, Any]

    @property
    def path(self) -> str:
        """Repository-relative path of the file."""
        return self.source.path

    @property
    def region(self) -> str:
        """Region the model lives in, taken from its ARN ("" when it is not a valid ARN)."""
        parsed = Arn.parse(self.arn)
        return parsed.region if parsed else ""

    @property
    def account(self) -> str:
        """Account that owns the model, taken from its ARN ("" when it is not a valid ARN)."""
        parsed = Arn.parse(self.arn)
        return parsed.account if parsed else ""

    def get(self, *keys: str | int) -> Any:
        """The desired value at a key path, or None when the file does not set it."""
        value: Any = self.desired
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value


def model_from_document(document: SourceDocument) -> ModelSpec:
    """Build the typed view of a document that passed the schema."""
    data = document.data
    desired = {key: data[key] for key in UPDATABLE_FIELDS if key in data}
    return ModelSpec(source=document, arn=str(data["configuredAudienceModelArn"]), desired=desired)
