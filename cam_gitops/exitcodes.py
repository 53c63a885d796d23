"""Exit codes: each means one thing, for every command, so a script can act on the code alone."""

from __future__ import annotations

OK = 0
FINDINGS = 1  # check findings, plan errors, a model that failed or was refused
CHANGES = 2  # plan --detailed-exitcode: changes pending; drift: drift found
INTERNAL = 3  # a bug in cam-gitops: report it
USAGE = 4  # bad option, path or revision; invalid or missing policy; unsupported version
STALE = 5  # apply --require-tip: this commit is no longer the tip; nothing was sent
INTERRUPTED = 130  # Ctrl-C or SIGTERM

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "success: no findings, nothing to do, in sync, every model applied"),
    (FINDINGS, "findings or failures: check errors, plan errors, a model failed or was refused"),
    (CHANGES, "changes pending (plan --detailed-exitcode) or drift found (drift)"),
    (INTERNAL, "internal error in cam-gitops (rerun with CAM_GITOPS_DEBUG=1 and report it)"),
    (USAGE, "usage or configuration error: bad option, path or revision, invalid or missing policy"),
    (STALE, "apply --require-tip refused: the commit is no longer the tip; nothing was sent"),
    (INTERRUPTED, "interrupted (Ctrl-C or SIGTERM); what was already applied is reported"),
)


def help_text() -> str:
    """The exit code table as --help shows it (click keeps \\b paragraphs unwrapped)."""
    lines = ["\b", "Exit codes (every command):"]
    lines += [f"  {code:<4}{meaning}" for code, meaning in TABLE]
    return "\n".join(lines)
