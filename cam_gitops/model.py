"""Typed view of a schema-valid model file, and ARN parsing."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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


class Arn(NamedTuple):
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


@functools.cache
def _arn_pattern(service: str, kind: str) -> re.Pattern[str]:
    region, resource_id = _ARN_SHAPES[service]
    return re.compile(
        rf"arn:(aws(?:-[a-z]+)*):{re.escape(service)}:({region}):([0-9]{{12}}):{re.escape(kind)}/({resource_id})"
    )


def parse_arn(text: str, service: str, kind: str) -> Arn | None:
    """The ARN of a service's resource type, validated whole (partition, service, region,
    account, type and id), or None when text is not exactly one."""
    if len(text) > 2048:
        return None
    match = _arn_pattern(service, kind).fullmatch(text)
    if match is None:
        return None
    partition, region_found, account, _ = match.groups()
    return Arn(partition, service, region_found, account, f"{kind}/{match.group(4)}")


# Managed beside the update request, through their own operations: tags with
# Tag/UntagResource, the resource policy with Put/DeleteConfiguredAudienceModelPolicy.
BESIDE_FIELDS = ("tags", "resourcePolicy")


@dataclass(frozen=True)
class ModelSpec:
    """What one file wants a configured audience model to be.

    `desired` holds the update request's fields; `beside` the managed fields sent by other
    calls, only those the file sets (`resourcePolicy: None` means "no policy").
    """

    source: SourceDocument
    arn: str
    desired: dict[str, Any]
    beside: dict[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> dict[str, str] | None:
        """The tags the file sets, or None when it does not manage tags."""
        tags = self.beside.get("tags")
        return dict(tags) if isinstance(tags, dict) else None

    @property
    def manages_policy(self) -> bool:
        """Whether the file manages the resource policy (a document, or null for none)."""
        return "resourcePolicy" in self.beside

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
        """The value the file sets at a key path (update fields and beside fields alike), or
        None when the file does not set it."""
        value: Any = self.beside if keys and keys[0] in BESIDE_FIELDS else self.desired
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value


def model_from_document(document: SourceDocument) -> ModelSpec:
    """Build the typed view of a document that passed the schema."""
    data = document.data
    desired = {key: data[key] for key in UPDATABLE_FIELDS if key in data}
    beside = {key: data[key] for key in BESIDE_FIELDS if key in data}
    return ModelSpec(source=document, arn=str(data["configuredAudienceModelArn"]), desired=desired, beside=beside)
