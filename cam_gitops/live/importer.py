"""import: write model files for live models, never overwriting one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cam_gitops.live.accounts import Accounts
from cam_gitops.workspace.files import write_file
from cam_gitops.workspace.layout import display_path


@dataclass(frozen=True)
class ImportResult:
    """What import did for one live model."""

    arn: str
    path: str | None
    error: str | None = None


# The ARN, then the updatable request keys, in the order people read them.
IMPORT_ORDER = (
    "configuredAudienceModelArn",
    "description",
    "audienceModelArn",
    "minMatchingSeedSize",
    "sharedAudienceMetrics",
    "outputConfig",
    "audienceSizeConfig",
)
IMPORT_HEADER = "# yaml-language-server: $schema={schema}\n# Imported from AWS by cam-gitops import.\n"


def file_name_for(name: str, arn: str) -> str:
    """A file name from the model's name: lower case, dashes, safe on every file system."""
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return (slug or arn.rsplit("/", 1)[-1]) + ".yaml"


def model_yaml(live: Mapping[str, Any], schema_ref: str) -> str:
    """The model file text for a live model: the updatable fields, in a readable order."""
    import yaml

    data = {key: live[key] for key in IMPORT_ORDER if key in live}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return IMPORT_HEADER.format(schema=schema_ref) + text


def managed_arns(root: Path) -> dict[str, str]:
    """ARN -> file of every readable model file in the repository."""
    from cam_gitops.loader import load_file
    from cam_gitops.workspace.layout import all_model_files

    found: dict[str, str] = {}
    for model_file in all_model_files(root):
        document = load_file(model_file.fs_path, model_file.display_path).document
        arn = document.data.get("configuredAudienceModelArn") if document else None
        if isinstance(arn, str):
            found.setdefault(arn, model_file.display_path)
    return found


def import_models(accounts: Accounts, arns: Sequence[str], folder: Path, root: Path) -> list[ImportResult]:
    """Write a model file for each live model not yet managed; never overwrite a file."""
    import os

    from cam_gitops.live.aws import AwsError
    from cam_gitops.model import Arn

    already = managed_arns(root)
    results: list[ImportResult] = []
    for arn in arns:
        if arn in already:
            results.append(ImportResult(arn, already[arn], "already managed by this file; nothing written"))
            continue
        parsed = Arn.parse(arn)
        if parsed is None or parsed.service != "cleanrooms-ml":
            results.append(ImportResult(arn, None, "not a configured audience model ARN"))
            continue
        try:
            live = accounts.for_account(parsed.account).get_model(arn, parsed.region)
        except AwsError as exc:
            results.append(ImportResult(arn, None, f"{exc.code}: {exc.message}"))
            continue
        target = folder / file_name_for(str(live.get("name", "")), arn)
        schema_ref = os.path.relpath(root / "schemas" / "configured-audience-model.schema.json", target.parent)
        shown = display_path(root, target)
        if write_file(target, model_yaml(live, Path(schema_ref).as_posix()), overwrite=False):
            results.append(ImportResult(arn, shown))
        else:
            results.append(ImportResult(arn, shown, "file exists; not overwritten (rename it or import elsewhere)"))
    return results
