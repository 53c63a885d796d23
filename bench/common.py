"""Shared helpers of the benchmarks: realistic model files, a repository, timing, tables.

Only the standard library and PyYAML (a cam-gitops dependency) are used, so the benchmarks
run in the project's venv as they are.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CAM_GITOPS = str(VENV_BIN / "cam-gitops")
CHECK_JSONSCHEMA = str(VENV_BIN / "check-jsonschema")
SCHEMA = ROOT / "schemas" / "configured-audience-model.schema.json"
POLICY = ROOT / "policy.yaml"

ACCOUNT = "111122223333"
TEAMS = {
    "retail": ("us-east-1", "s3://acme-cleanrooms-audiences/us/retail/", ""),
    "travel": ("us-east-1", "s3://acme-cleanrooms-audiences/us/travel/", ""),
    "media": ("eu-west-1", "s3://acme-cleanrooms-audiences-eu/eu/media/", "-eu"),
    "finance": ("us-east-1", "s3://acme-cleanrooms-audiences/us/finance/", ""),
}
PURPOSES = (
    "lookalikes of high-value loyalty members",
    "win-back of lapsed customers",
    "seasonal campaign reach",
    "cross-sell to recent buyers",
    "newsletter subscribers expansion",
)
INVALID_SHARE = 0.05


def model_data(
    index: int, rng: random.Random, *, account: str = ACCOUNT, region: str | None = None, team: str | None = None
) -> tuple[str, dict[str, Any]]:
    """(team, model file content): a policy-valid model, ABSOLUTE or PERCENTAGE (about 1 in 3)."""
    team = team or rng.choice(sorted(TEAMS))
    team_region, prefix, role_suffix = TEAMS[team]
    region = region or team_region
    arn_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    am_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    if rng.random() < 0.35:
        bins = sorted(rng.sample(range(1, 21), rng.randint(1, 5)))
        size = {"audienceSizeType": "PERCENTAGE", "audienceSizeBins": bins}
    else:
        bins = sorted(rng.sample(range(10_000, 5_000_000, 5_000), rng.randint(1, 8)))
        size = {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": bins}
    data: dict[str, Any] = {
        "configuredAudienceModelArn": f"arn:aws:cleanrooms-ml:{region}:{account}:configured-audience-model/{arn_id}",
        "description": f"{team.title()} {rng.choice(PURPOSES)} #{index} (owner {team}-analytics)",
        "audienceModelArn": f"arn:aws:cleanrooms-ml:{region}:{account}:audience-model/{am_id}",
        "minMatchingSeedSize": rng.choice((2000, 2500, 5000, 10000)),
        "sharedAudienceMetrics": ["NONE"],
        "outputConfig": {
            "destination": {"s3Destination": {"s3Uri": f"{prefix}model-{index:05d}/"}},
            "roleArn": f"arn:aws:iam::{account}:role/cleanrooms-ml-audience-writer{role_suffix}",
        },
        "audienceSizeConfig": size,
        "tags": {"team": team},
    }
    return team, data


def break_model(data: dict[str, Any], rng: random.Random) -> None:
    """Make a model invalid: half schema errors, half policy errors."""
    kind = rng.randrange(6)
    if kind == 0:
        data["minMatchingSeedSize"] = "2000"  # schema: a string where an integer is due
    elif kind == 1:
        data["sharedAudienceMetric"] = data.pop("sharedAudienceMetrics")  # schema: unknown key (typo)
    elif kind == 2:
        data["audienceSizeConfig"] = {"audienceSizeType": "PERCENTAGE", "audienceSizeBins": [5, 150]}  # schema
    elif kind == 3:
        data["minMatchingSeedSize"] = 100  # policy: below the floor
    elif kind == 4:
        data["outputConfig"]["destination"]["s3Destination"]["s3Uri"] = "s3://someone-elses-bucket/x/"  # policy
    else:
        data["sharedAudienceMetrics"] = ["ALL"]  # policy


def render(data: dict[str, Any], suffix: str) -> str:
    if suffix == ".json":
        return json.dumps(data, indent=2) + "\n"
    header = "# yaml-language-server: $schema=../../schemas/configured-audience-model.schema.json\n"
    return header + yaml.safe_dump(data, sort_keys=False, width=200)


def write_models(
    models_dir: Path,
    count: int,
    *,
    seed: int = 1,
    invalid_share: float = INVALID_SHARE,
    json_share: float = 0.2,
    **kwargs: Any,
) -> list[tuple[Path, dict[str, Any]]]:
    """count model files under models_dir/<team>/, deterministic for a seed; returns (path, data)."""
    rng = random.Random(seed)
    written = []
    for index in range(count):
        team, data = model_data(index, rng, **kwargs)
        if rng.random() < invalid_share:
            break_model(data, rng)
        suffix = ".json" if rng.random() < json_share else ".yaml"
        path = models_dir / team / f"model-{index:05d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(data, suffix), encoding="utf-8")
        written.append((path, data))
    return written


def make_repo(root: Path, count: int, **kwargs: Any) -> list[tuple[Path, dict[str, Any]]]:
    """A repository at root: the shipped policy.yaml and schemas/, count models under models/."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(POLICY, root / "policy.yaml")
    shutil.copytree(ROOT / "schemas", root / "schemas", dirs_exist_ok=True)
    return write_models(root / "models", count, **kwargs)


def timed(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    ok: Callable[[int], bool] = lambda _: True,
) -> float:
    """Wall time of one whole process, in seconds."""
    start = time.perf_counter()
    completed = subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if not ok(completed.returncode):
        raise RuntimeError(f"{argv[0]} exited {completed.returncode}: {completed.stderr.decode()[-2000:]}")
    return elapsed


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt_seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (also readable as plain text)."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


PYCACHE = Path(tempfile.gettempdir()) / f"cam-gitops-bench-pycache-{os.getuid() if hasattr(os, 'getuid') else 0}"


def bench_env() -> dict[str, str]:
    """The environment of every timed process.

    Byte-code caching is on, in a private folder (PYTHONPYCACHEPREFIX), for both tools alike: an
    installed package has its .pyc files, but cam-gitops is installed editable here, and with
    PYTHONDONTWRITEBYTECODE set (as in some CI images) it would be recompiled on every run while
    check-jsonschema's site-packages keep theirs. The warm-up run of each measurement fills it.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["NO_COLOR"] = "1"
    return env


def isolated_aws_env(workdir: Path, endpoint: str | None = None, account: str = ACCOUNT) -> dict[str, str]:
    """Environment with fake credentials: nothing from ~/.aws is read, every call goes to loopback."""
    env = {k: v for k, v in bench_env().items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-creds"),
        AWS_EC2_METADATA_DISABLED="true",
        MOTO_ACCOUNT_ID=account,
        NO_COLOR="1",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env
