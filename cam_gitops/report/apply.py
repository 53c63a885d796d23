"""Reporters for apply results: a per-model table and the JSON report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from cam_gitops.live.apply import ApplyResult
from cam_gitops.report.check import Style
from cam_gitops.report.escape import capped, json_text, lines_text, log_line, terminal
from cam_gitops.report.plan import MESSAGE_FIELDS, diff_dict

PATH_COLUMN = 60  # widest padding of the model file column; a longer path overflows its row only


def _detail(result: ApplyResult) -> str:
    if result.error:
        return terminal(result.error)
    return terminal(capped([d.field for d in result.diff], MESSAGE_FIELDS))


def apply_line(result: ApplyResult) -> str:
    """One model's outcome, as progress lines and the table show it; values escaped (terminal)."""
    detail = _detail(result)
    line = f"{terminal(result.path) or '(no file)'}: {result.result}" + (f" ({detail})" if detail else "")
    return log_line(line)


def apply_text(results: Sequence[ApplyResult], style: Style) -> str:
    """A per-model table and a summary line."""
    paths = [terminal(r.path) or "(no file)" for r in results]
    width = min(max([len(p) for p in paths] + [10]), PATH_COLUMN)
    lines = [f"{'model file':<{width}}  {'result':<12}  detail", f"{'-' * width}  {'-' * 12}  ------"]
    colors = {"applied": "green", "failed": "red", "refused": "red", "unknown": "red", "no-op": None}
    for path, r in zip(paths, results, strict=True):
        painted = style.paint(f"{r.result:<12}", colors.get(r.result))
        lines.append(f"{path:<{width}}  {painted}  {_detail(r)}".rstrip())
    lines.append("")
    lines.append(apply_summary_line(results))
    return lines_text(lines)


def apply_summary_line(results: Sequence[ApplyResult]) -> str:
    """`Apply: 2 applied, 3 unchanged, 1 failed.`"""
    counts = Counter(r.result for r in results)
    order = ["applied", "would-update", "no-op", "unmanaged", "refused", "failed", "unknown", "not-started"]
    names = {"no-op": "unchanged"}
    parts = [f"{counts[k]} {names.get(k, k)}" for k in order if counts.get(k)]
    return "Apply: " + (", ".join(parts) if parts else "nothing to do") + "."


ATTEMPTS_MEANING = (
    "HTTP requests sent for UpdateConfiguredAudienceModel, botocore's retries (throttling, 5xx, "
    "dropped connections) and ConflictException retries included; 0 when no update was sent"
)


def result_json(r: ApplyResult) -> dict[str, Any]:
    """One model's entry in the JSON report (and a line of the apply journal)."""
    return {
        "path": r.path or None,
        "arn": r.arn,
        "result": r.result,
        "diff": diff_dict(r.diff),
        "error": r.error,
        "attempts": r.attempts,
    }


def apply_json(results: Sequence[ApplyResult], style: Style, stopped: str | None = None) -> str:
    """The per-model JSON report: {"results": [...], "summary": {...}, "failed", "stopped"}, values as
    they are (json_text)."""
    counts = dict(Counter(r.result for r in results))
    payload = {
        "results": [result_json(r) for r in results],
        "summary": counts,
        "failed": any(r.failed for r in results),
        "stopped": stopped,
        "legend": {"attempts": ATTEMPTS_MEANING},
    }
    return json_text(payload)


ApplyReporter = Callable[[Sequence[ApplyResult], Style], str]

APPLY_REPORTERS: dict[str, ApplyReporter] = {"text": apply_text, "json": apply_json}
