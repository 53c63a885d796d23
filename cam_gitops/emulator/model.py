"""Access to botocore's CleanRoomsML service model, the emulator's source of truth.

Routes, shapes, constraints and error shapes are all read from the JSON model
that ships with the installed botocore, so the emulator follows botocore
upgrades without hand-maintained copies of the API.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SERVICE_NAME = "cleanroomsml"

#: Operations the emulator serves; everything else in the model answers 404.
SERVED_OPERATIONS: tuple[str, ...] = (
    "CreateConfiguredAudienceModel",
    "GetConfiguredAudienceModel",
    "ListConfiguredAudienceModels",
    "UpdateConfiguredAudienceModel",
    "DeleteConfiguredAudienceModel",
    "GetAudienceModel",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "GetConfiguredAudienceModelPolicy",
    "PutConfiguredAudienceModelPolicy",
    "DeleteConfiguredAudienceModelPolicy",
)

Shape = dict[str, Any]


@dataclass(frozen=True)
class Route:
    """One served operation's HTTP binding as declared in the model."""

    operation: str
    method: str
    # Literal path segments, or None where a ``{label}`` captures one segment.
    segments: tuple[str | None, ...]
    labels: tuple[str, ...]
    input_shape: str | None
    output_shape: str | None
    response_code: int


class ServiceModel:
    """Thin typed view over the raw botocore JSON model."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.metadata: dict[str, Any] = raw["metadata"]
        self.shapes: dict[str, Shape] = raw["shapes"]
        self.operations: dict[str, dict[str, Any]] = raw["operations"]
        self.signing_name: str = self.metadata.get("signingName", self.metadata["endpointPrefix"])
        self.routes: tuple[Route, ...] = tuple(self._route(op) for op in SERVED_OPERATIONS)

    def shape(self, name: str) -> Shape:
        """Return the raw shape definition called ``name``."""
        return self.shapes[name]

    def error_status(self, code: str) -> int | None:
        """HTTP status of the error shape ``code``, or None if it is not an error shape."""
        shape = self.shapes.get(code)
        if shape is None or not shape.get("exception"):
            return None
        status = shape.get("error", {}).get("httpStatusCode")
        return int(status) if status is not None else 400

    def error_codes(self) -> frozenset[str]:
        """Names of every error shape in the model."""
        return frozenset(name for name, shape in self.shapes.items() if shape.get("exception"))

    def match(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]] | None:
        """Find the route for a request; ``segments`` are already percent-decoded."""
        for route in self.routes:
            if route.method != method or len(route.segments) != len(segments):
                continue
            values: list[str] = []
            for want, got in zip(route.segments, segments, strict=True):
                if want is None:
                    values.append(got)
                elif want != got:
                    break
            else:
                return route, dict(zip(route.labels, values, strict=True))
        return None

    def _route(self, name: str) -> Route:
        op = self.operations[name]
        http = op["http"]
        # A requestUri may carry a fixed query part ("/x/{y}?z"); it is not part of the path.
        path = http["requestUri"].split("?", 1)[0]
        segments: list[str | None] = []
        labels: list[str] = []
        for part in path.strip("/").split("/"):
            label = re.fullmatch(r"\{([^}+]+)\+?\}", part)
            if label:
                segments.append(None)
                labels.append(label.group(1))
            elif part:
                segments.append(part)
        return Route(
            operation=name,
            method=http["method"].upper(),
            segments=tuple(segments),
            labels=tuple(labels),
            input_shape=op.get("input", {}).get("shape"),
            output_shape=op.get("output", {}).get("shape"),
            response_code=int(http.get("responseCode", 200)),
        )


def _model_path() -> Path:
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        raise RuntimeError("botocore is not installed; the emulator reads its service model")
    service_dir = Path(spec.origin).parent / "data" / SERVICE_NAME
    # API versions are ISO dates, so the lexically greatest is the newest.
    versions = sorted(p for p in service_dir.iterdir() if p.is_dir())
    for version in reversed(versions):
        for candidate in ("service-2.json.gz", "service-2.json"):
            path = version / candidate
            if path.exists():
                return path
    raise RuntimeError(f"no {SERVICE_NAME} service model under {service_dir}")


@cache
def load_model() -> ServiceModel:
    """Load (once per process) botocore's CleanRoomsML model."""
    path = _model_path()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        raw = json.load(handle)
    return ServiceModel(raw)
