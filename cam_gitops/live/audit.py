"""The audit trail of apply: one JSON line per model touched, kept beyond CI's artifacts.

`apply --audit FILE` appends the lines to FILE; `--audit s3://bucket/prefix/` writes them as one
new object per run (PutObject with If-None-Match: never over an existing object; the key
carries the time and the commit). A model is touched when apply sent it anything.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cam_gitops.live.apply import ApplyResult
from cam_gitops.workspace.git import head_commit

S3 = "s3://"


@dataclass(frozen=True)
class AuditContext:
    """Who and what an apply run was: the time, the commit, the CI actor and run."""

    time: str
    commit: str | None
    actor: str | None
    run: str | None


def audit_context(root: Path, environ: Mapping[str, str] | None = None, now: dt.datetime | None = None) -> AuditContext:
    """The run's context, from the CI's environment when present (GitHub Actions, GitLab CI),
    else from git and the user."""
    env = os.environ if environ is None else environ
    time = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    commit = env.get("GITHUB_SHA") or env.get("CI_COMMIT_SHA") or head_commit(root)
    actor = env.get("GITHUB_ACTOR") or env.get("GITLAB_USER_LOGIN") or env.get("USER") or env.get("USERNAME")
    run = None
    if env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        run = f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env['GITHUB_RUN_ID']}"
        if env.get("GITHUB_RUN_ATTEMPT"):
            run += f"/attempts/{env['GITHUB_RUN_ATTEMPT']}"
    elif env.get("CI_PIPELINE_URL"):
        run = env["CI_PIPELINE_URL"]
    return AuditContext(time, commit, actor, run)


def audit_lines(results: Sequence[ApplyResult], context: AuditContext) -> list[str]:
    """One JSON line per model apply sent anything, with each field's before and after."""
    lines = []
    for result in results:
        if not result.sent:
            continue
        entry: dict[str, Any] = {
            "time": context.time,
            "commit": context.commit,
            "actor": context.actor,
            "run": context.run,
            "path": result.path,
            "arn": result.arn,
            "result": result.result,
            "error": result.error,
            "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in result.diff],
        }
        lines.append(json.dumps(entry, ensure_ascii=True, sort_keys=False))
    return lines


def object_key(prefix: str, context: AuditContext) -> str:
    """A new object's key for one run: time, commit and a random part, under the prefix."""
    stamp = context.time.replace(":", "").replace("-", "")
    commit = (context.commit or "no-commit")[:12]
    return f"{prefix}{stamp}-{commit}-{uuid.uuid4().hex[:8]}.jsonl"


def split_s3(destination: str) -> tuple[str, str]:
    """(bucket, key prefix ending in / or empty) of an s3://bucket/prefix/ destination."""
    bucket, _, prefix = destination[len(S3) :].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def write_audit(
    destination: str,
    lines: Sequence[str],
    context: AuditContext,
    put_object: Callable[[str, str, bytes], None],
) -> str | None:
    """Write the lines; what was written (a file, an object key), or None when nothing was due.
    Raises OSError or the AWS error when it cannot be written."""
    if not lines:
        return None
    body = "".join(line + "\n" for line in lines)
    if destination.startswith(S3):
        bucket, prefix = split_s3(destination)
        key = object_key(prefix, context)
        put_object(bucket, key, body.encode("utf-8"))
        return f"{S3}{bucket}/{key}"
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(body)
    return str(path)


def audit_destination_problem(destination: str) -> str | None:
    """Why an --audit value cannot be used, or None."""
    if destination.startswith(S3):
        bucket, _ = split_s3(destination)
        if not bucket or not all(c.isalnum() or c in ".-" for c in bucket):
            return f"--audit {destination}: not an s3://bucket/prefix/ location"
    elif not destination:
        return "--audit needs a file or an s3://bucket/prefix/ location"
    return None
