"""Typed view of a schema-valid model file, and ARN parsing."""

from __future__ import annotations

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
    def parsed_arn(self) -> Arn:
        """The configured audience model's ARN, split (the schema guarantees its form)."""
        parsed = Arn.parse(self.arn)
        assert parsed is not None
        return parsed

    @property
    def region(self) -> str:
        """Region the model lives in, taken from its ARN."""
        return self.parsed_arn.region

    @property
    def account(self) -> str:
        """Account that owns the model, taken from its ARN."""
        return self.parsed_arn.account

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
