"""What import writes: the model file text, its name, and the proof that it reads back.

Every value comes from AWS and is treated as hostile: strings are written plain only when
they are unambiguous to every YAML reader (the strict loader, YAML 1.1 editors), otherwise
double-quoted with escapes; the text is then read back with the project's own loader and
schema before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cam_gitops.findings import Position
from cam_gitops.loader import MODEL_SUFFIXES, load_bytes
from cam_gitops.loader.document import Builder, Refused, resolve_plain
from cam_gitops.model import Arn, model_from_document

SCHEMA_FILE = Path("schemas") / "configured-audience-model.schema.json"

# The ARN, then the updatable request keys, in the order people read them.
IMPORT_ORDER = (
    "configuredAudienceModelArn",
    "description",
    "audienceModelArn",
    "minMatchingSeedSize",
    "sharedAudienceMetrics",
    "outputConfig",
    "audienceSizeConfig",
    "tags",
    "resourcePolicy",
)

# Conservative: a letter first, no spaces, no flow or comment indicators. Everything else
# is double-quoted, which every YAML reader reads back as exactly the same string.
_PLAIN_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9_./:@=+-]*\Z")
# YAML 1.1 booleans and nulls that some readers (editors, PyYAML) would not read as strings.
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_WIDTH = 1 << 16  # never fold a line: a model file value stays on one line
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)
_STR_TAG = "tag:yaml.org,2002:str"


def _strict_reading(value: str) -> Any:
    """What the project's strict reader makes of a plain scalar; None when it refuses it or
    notes it as number-like (both mean: quote it)."""
    builder = Builder()
    builder.value_positions[()] = Position(1, 1)
    try:
        read = resolve_plain(value, (), builder)
    except Refused:
        return None
    return None if builder.numberlike else read


def plain_is_safe(value: str) -> bool:
    """Whether value can be written as a plain scalar and read back as this same string."""
    if not _PLAIN_SAFE.match(value) or value.endswith(":") or value.lower() in _YAML11_WORDS:
        return False
    if _strict_reading(value) != value:
        return False
    resolver: Any = yaml.resolver.Resolver()
    return bool(resolver.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes every string not provably plain-safe."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(_STR_TAG, value, style=None if plain_is_safe(value) else '"')


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    scalars = bool(value) and all(isinstance(item, (str, int, float)) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=scalars)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def dump_yaml(data: Any) -> str:
    """Block mappings, lists of scalars on one line, every string safely written."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_WIDTH, default_flow_style=False)


def comment_text(value: Any) -> str:
    """A value as JSON on one comment line: line breaks, controls and invisible characters escaped."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "".join(ch if is_visible(ch) else comment_escape(ch) for ch in text)


def is_visible(ch: str) -> bool:
    """Whether ch shows as itself: not a control, format (bidi), surrogate or separator character."""
    if ch == " ":
        return True
    category = unicodedata.category(ch)
    return category[0] not in "CZ"  # controls, format (bidi), surrogates, unassigned, separators


def comment_escape(ch: str) -> str:
    """ch as a \\u or \\U escape."""
    code = ord(ch)
    if code > 0xFFFF:
        return f"\\U{code:08x}"
    return f"\\u{code:04x}"


def unwritable(value: Any, where: str = "") -> str | None:
    """The field holding a string that no UTF-8 file can hold (a lone surrogate), if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"{where or 'a value'} holds U+{ord(value[exc.start]):04X}, which no UTF-8 file can hold"
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = unwritable(item, f"{where}.{key}" if where else str(key))
            if problem:
                return problem
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = unwritable(item, f"{where}[{index}]")
            if problem:
                return problem
    return None


def _every_tag_but_aws(key: str) -> bool:
    return not key.lower().startswith("aws:")


def managed_fields(live: Mapping[str, Any], owns: Callable[[str], bool] = _every_tag_but_aws) -> dict[str, Any]:
    """The fields of a live model that a model file pins, in IMPORT_ORDER: the tags the file
    owns (not AWS's aws: tags, not those policy.yaml leaves to others)."""
    fields = {key: live[key] for key in IMPORT_ORDER if key in live and live[key] is not None}
    if isinstance(fields.get("tags"), Mapping):
        owned = {k: v for k, v in fields["tags"].items() if owns(k)}
        if writable_tags(owned):
            fields["tags"] = owned
        else:  # a file that manages tags owns them all: rather not manage them than drop one
            del fields["tags"]
    return fields


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def writable_tags(tags: Mapping[str, Any]) -> bool:
    """Whether every tag can be written in a model file as the schema allows it."""
    return len(tags) <= 50 and all(
        isinstance(k, str)
        and isinstance(v, str)
        and 1 <= len(k) <= 128
        and len(v) <= 256
        and not _CONTROL.search(k + v)
        and not k.lower().startswith("aws:")
        for k, v in tags.items()
    )


def model_text(
    live: Mapping[str, Any], schema_ref: str | None, owns: Callable[[str], bool] = _every_tag_but_aws
) -> str:
    """The model file for a live model: modeline, the name and tags it does not manage as
    comments, then the fields."""
    lines = []
    if schema_ref is not None:
        lines.append(f"# yaml-language-server: $schema={schema_ref}")
    lines.append("# Imported from AWS by cam-gitops import.")
    tags = live.get("tags") if isinstance(live.get("tags"), Mapping) else {}
    assert isinstance(tags, Mapping)
    managed = "tags" in managed_fields(live, owns)
    others = {k: v for k, v in tags.items() if not (managed and owns(k))}
    unmanaged = [(key, value) for key, value in (("name", live.get("name")), ("tags", others)) if value]
    if unmanaged:
        lines.append("# Live values this file does not manage (the name cannot change; these tags are not its own):")
        lines += [f"# {key}: {comment_text(value)}" for key, value in unmanaged]
    return "\n".join(lines) + "\n" + dump_yaml(managed_fields(live, owns))


def read_back_problem(text: str, display: str, live: Mapping[str, Any]) -> str | None:
    """Why text would not be a valid model file reading back to exactly the live values, if so."""
    from cam_gitops.check.schema import MODEL_SCHEMA, validate
    from cam_gitops.findings import Severity

    loaded = load_bytes(text.encode("utf-8"), display, ".yaml")
    if loaded.document is None or loaded.findings:
        return "; ".join(f.message for f in loaded.findings) or "the file does not read back"
    errors = [f for f in validate(loaded.document, MODEL_SCHEMA) if f.severity is Severity.ERROR]
    if errors:
        return "; ".join(f.message for f in errors)
    expected = managed_fields(live)
    spec = model_from_document(loaded.document)
    written = {**spec.desired, **spec.beside}
    expected.pop("tags", None) if "tags" not in spec.beside else None
    if spec.arn != expected.get("configuredAudienceModelArn") or written != {
        k: v for k, v in expected.items() if k != "configuredAudienceModelArn"
    }:
        return "the written values would not read back exactly as AWS returned them"
    return None


def schema_reference(root: Path, folder: Path) -> str | None:
    """The modeline's relative path to the model schema from folder, or None when the
    repository has no schema file (an editor could not resolve the reference)."""
    schema = root / SCHEMA_FILE
    if not schema.is_file():
        return None
    return Path(os.path.relpath(schema, folder)).as_posix()


def slug(text: str, limit: int = 60) -> str:
    """Lower case ASCII letters, digits and single dashes: safe on every file system."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")


@dataclass(frozen=True)
class Naming:
    """What a file name is made from: the model's name, region, account and id."""

    arn: str
    name: str

    @property
    def parts(self) -> Arn:
        parsed = Arn.parse(self.arn)
        assert parsed is not None  # only validated ARNs are named
        return parsed

    @property
    def model_id(self) -> str:
        return slug(self.parts.resource.split("/", 1)[-1], 80) or "model"

    @property
    def base(self) -> str:
        base = slug(self.name) or self.model_id
        return f"{base}-model" if base in _WINDOWS_RESERVED else base


def taken_stems(folder: Path) -> set[str]:
    """File stems already present in folder (any model suffix, case-insensitive)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return set()
    return {Path(n).stem.lower() for n in names if n.lower().endswith(MODEL_SUFFIXES)}


def choose_file_names(models: Sequence[Naming], taken: Iterable[str]) -> dict[str, str]:
    """ARN -> file name (`.yaml`), unique among the models and the files already there.

    The model's name alone when no other model of the run shares it; with the region when
    two share a name; with the region and the id when that is not enough or a file of that
    name exists; a counter as a last resort. Models sharing a name are all qualified, so
    none of them looks like "the" model of that name.
    """
    used = {stem.lower() for stem in taken}
    by_base: dict[str, list[Naming]] = {}
    for model in models:
        by_base.setdefault(model.base, []).append(model)
    chosen: dict[str, str] = {}
    for model in sorted(models, key=lambda m: m.arn):
        group = by_base[model.base]
        parts = model.parts
        regions = [m.parts.region for m in group]
        candidates = []
        if len(group) == 1:
            candidates.append(model.base)
        if regions.count(parts.region) == 1:
            candidates.append(f"{model.base}-{parts.region}")
        candidates += [
            f"{model.base}-{parts.region}-{model.model_id[:8]}".rstrip("-"),
            f"{model.base}-{parts.region}-{model.model_id}",
            f"{model.base}-{parts.region}-{parts.account}-{model.model_id}",
        ]
        stem = next((c for c in candidates if c not in used), None)
        counter = 2
        while stem is None:
            candidate = f"{candidates[-1]}-{counter}"
            stem = candidate if candidate not in used else None
            counter += 1
        used.add(stem)
        chosen[model.arn] = stem + ".yaml"
    return chosen
