"""Loading and validating seed files (initial emulator state).

Seed format (YAML or JSON)::

    audienceModels:            # audience model ARNs (or {audienceModelArn: ..., name: ...})
      - arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-model/am-1
    configuredAudienceModels:  # records in GetConfiguredAudienceModel shape
      - configuredAudienceModelArn: >-
          arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-audience-model/cam-1
        name: cam-1
        audienceModelArn: arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-model/am-1
        outputConfig: {destination: {s3Destination: {s3Uri: s3://bucket/out/}},
                       roleArn: arn:aws:iam::123456789012:role/cam}
        sharedAudienceMetrics: [ALL]
        tags: {team: ads}      # optional
        resourcePolicy:        # optional: a JSON string or a mapping (an IAM policy document)
          {Version: "2012-10-17", Statement: [...]}
        # optional: minMatchingSeedSize (500), audienceSizeConfig, description,
        # status (ACTIVE), createTime/updateTime (now)

An audience model referenced by a configured audience model is registered
automatically. ``resourcePolicy`` is what GetConfiguredAudienceModelPolicy
answers (a mapping is stored as its JSON text); it is not part of the model's
record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .constraints import check_policy_document
from .errors import ServiceError
from .store import Store
from .validation import ValidationFailure, validate

SEED_KEYS = frozenset({"audienceModels", "configuredAudienceModels"})
POLICY_KEY = "resourcePolicy"


class SeedError(Exception):
    """A seed file or mapping is unusable; the message is one line naming the source."""


def read_seed_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML or JSON seed file into a mapping (not yet validated)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {source}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise SeedError(f"invalid seed file {source}: not valid YAML/JSON: {detail}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SeedError(f"invalid seed file {source}: top level must be a mapping")
    return data


def apply_seed(store: Store, seed: Mapping[str, Any], source: str = "<seed>") -> None:
    """Validate ``seed`` completely, then load it into ``store``.

    Nothing is loaded when any entry is invalid, so a bad seed never leaves
    a half-populated store behind.
    """
    unknown = sorted(set(seed) - SEED_KEYS)
    if unknown:
        raise SeedError(f"invalid seed file {source}: unknown key(s) {', '.join(unknown)}")
    audience = _as_list(seed, "audienceModels", source)
    configured = _as_list(seed, "configuredAudienceModels", source)
    audience_fields = [_audience_fields(entry, i, source) for i, entry in enumerate(audience)]
    records = [_configured_record(store, entry, i, source) for i, entry in enumerate(configured)]
    policies = [_policy(store, entry, i, source) for i, entry in enumerate(configured)]
    _reject_duplicates(records, source)
    # A scratch store catches bad audience models before the real one changes.
    for target in (Store(store.model), store):
        for index, (arn, fields) in enumerate(audience_fields):
            try:
                target.add_audience_model(arn, **fields)
            except ValidationFailure as exc:
                raise SeedError(f"invalid seed file {source}: audienceModels[{index}]: {exc}") from exc
    for record, policy in zip(records, policies, strict=True):
        arn = store.put(record)
        if policy is not None:
            store.set_policy(arn, policy)


def _as_list(seed: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = seed.get(key) or []
    if not isinstance(value, list):
        raise SeedError(f"invalid seed file {source}: {key} must be a list")
    return value


def _audience_fields(entry: Any, index: int, source: str) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, Mapping) and isinstance(entry.get("audienceModelArn"), str):
        fields = {k: v for k, v in entry.items() if k != "audienceModelArn"}
        return entry["audienceModelArn"], fields
    raise SeedError(
        f"invalid seed file {source}: audienceModels[{index}] must be an ARN string or a mapping with audienceModelArn"
    )


def _configured_record(store: Store, entry: Any, index: int, source: str) -> dict[str, Any]:
    where = f"invalid seed file {source}: configuredAudienceModels[{index}]"
    if not isinstance(entry, Mapping):
        raise SeedError(f"{where} must be a mapping")
    try:
        return store.normalise({key: value for key, value in entry.items() if key != POLICY_KEY})
    except ValidationFailure as exc:
        raise SeedError(f"{where}: {exc}") from exc


def _policy(store: Store, entry: Mapping[str, Any], index: int, source: str) -> str | None:
    """The seeded resource policy as the text the service would store, or None."""
    value = entry.get(POLICY_KEY)
    if value is None:
        return None
    where = f"invalid seed file {source}: configuredAudienceModels[{index}].{POLICY_KEY}"
    if isinstance(value, Mapping):
        value = json.dumps(value, indent=2, default=str)  # YAML reads 2012-10-17 as a date
    if not isinstance(value, str):
        raise SeedError(f"{where} must be a JSON string or a mapping")
    errors = validate(store.model, "ResourcePolicy", value, POLICY_KEY)
    if errors:
        raise SeedError(f"{where}: {ValidationFailure(errors)}")
    try:
        check_policy_document(value)
    except ServiceError as exc:
        raise SeedError(f"{where}: {exc.message}") from exc
    return value


def _reject_duplicates(records: list[dict[str, Any]], source: str) -> None:
    seen: set[str] = set()
    for record in records:
        arn = record["configuredAudienceModelArn"]
        if arn in seen:
            raise SeedError(f"invalid seed file {source}: duplicate configuredAudienceModelArn {arn}")
        seen.add(arn)
