"""import: write model files for live models, never overwriting one.

`import ARN...` imports the models named; `import --all` lists the live models of the
accounts and regions in scope and imports every one no file manages yet. Every live model
ends in one of three states, and the run says which: written, already managed (by a named
file), or an error with the reason (exit 1). Nothing is skipped silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cam_gitops.exitcodes import FINDINGS, OK
from cam_gitops.live.accounts import AccountRefused, Accounts
from cam_gitops.live.aws import AwsError, CleanRoomsML, RetrySettings, make_session
from cam_gitops.live.beside import parse_policy
from cam_gitops.live.importer_files import (
    Naming,
    choose_file_names,
    model_text,
    read_back_problem,
    schema_reference,
    taken_stems,
    unwritable,
)
from cam_gitops.live.importer_scope import Scope, resolve_scope, validate_options
from cam_gitops.live.parallel import run_parallel
from cam_gitops.model import Arn
from cam_gitops.report.escape import capped
from cam_gitops.workspace.files import write_file
from cam_gitops.workspace.layout import (
    MODELS_DIR,
    POLICY_FILE,
    ModelFile,
    UsageError,
    all_model_files,
    display_path,
    find_project,
)

BASELINE_LISTED = 20  # waivers named in the --baseline note; policy.yaml has them all

WRITTEN = "written"
MANAGED = "already managed"
FAILED = "error"

# The whole value, as botocore's service model states it: anything else is not sent to AWS.
_CAM_ARN = re.compile(r"arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:configured-audience-model/[-a-zA-Z0-9_/.]+\Z")

NOT_AN_ARN = "not a configured audience model ARN (arn:aws:cleanrooms-ml:REGION:ACCOUNT:configured-audience-model/ID)"
NOT_FOUND_HINT = (
    "cam-gitops does not create models: create it in the AWS Clean Rooms ML console or with "
    "`aws cleanroomsml create-configured-audience-model --name NAME --audience-model-arn ARN "
    "--output-config '{...}' --shared-audience-metrics NONE`, then `cam-gitops import <its ARN>`"
)


@dataclass(frozen=True)
class ImportOptions:
    """The inputs of an import run."""

    arns: Sequence[str] = ()
    import_all: bool = False
    regions: Sequence[str] = ()
    all_regions: bool = False
    accounts: Sequence[str] = ()
    folder: str = MODELS_DIR
    baseline: bool = False
    baseline_days: int = 90
    policy_file: str | None = None
    concurrency: int = 8
    max_attempts: int = 8
    retry_mode: str = "standard"
    role_arn_template: str | None = None
    today: dt.date | None = None


@dataclass(frozen=True)
class ImportResult:
    """What import did for one live model."""

    arn: str
    status: str
    path: str | None = None
    reason: str | None = None


@dataclass
class ImportOutcome:
    """A finished import: per-model results, notes for the reader, and the exit code."""

    results: list[ImportResult] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exit_code: int = OK


@dataclass(frozen=True)
class _Fetched:
    arn: str
    live: dict[str, Any] | None
    reason: str | None


def execute_import(options: ImportOptions, adapter: CleanRoomsML | None = None) -> ImportOutcome:
    """Run an import; raises UsageError for options that cannot work. Per-model problems are
    results, never exceptions; so is an AWS identity that cannot be used at all."""
    validate_options(options)
    root = find_project(Path.cwd(), (), options.policy_file)[0].root
    folder = _target_folder(root, options.folder)
    policy = _policy_for(root, options)
    managed = managed_arns(root)
    if adapter is None:
        adapter = CleanRoomsML(
            make_session(), RetrySettings(options.retry_mode, options.max_attempts, max(10, options.concurrency))
        )
    accounts = Accounts(adapter, options.role_arn_template)
    try:
        return _run(options, root, folder, policy, managed, accounts, adapter)
    except AwsError as exc:  # no identity: one error for the run, not one per model
        return ImportOutcome(errors=[f"{exc.code}: {exc.message}"], exit_code=FINDINGS)


def _run(
    options: ImportOptions,
    root: Path,
    folder: Path,
    policy: Any,
    managed: dict[str, str],
    accounts: Accounts,
    adapter: CleanRoomsML,
) -> ImportOutcome:
    outcome = ImportOutcome()
    if options.import_all:
        scope = resolve_scope(options, accounts, adapter, sorted(managed))
        outcome.listed.append(scope.describe())
        outcome.notes += scope.notes
        arns = _list_models(scope, accounts, options.concurrency, outcome)
    else:
        arns = list(dict.fromkeys(options.arns))
    wanted: list[str] = []
    for arn in arns:
        if arn in managed:
            outcome.results.append(ImportResult(arn, MANAGED, managed[arn]))
        elif not _CAM_ARN.match(arn):
            outcome.results.append(ImportResult(arn, FAILED, None, NOT_AN_ARN))
        else:
            wanted.append(arn)
    if wanted:
        _ = accounts.caller  # one clear error for the run when there is no usable identity
    fetched = run_parallel(wanted, lambda arn: _fetch(arn, accounts), options.concurrency)
    outcome.results += _write(root, folder, fetched, _tag_owner(root, options))
    outcome.results.sort(key=lambda r: r.arn)
    if schema_reference(root, folder) is None and any(r.status == WRITTEN for r in outcome.results):
        outcome.notes.append(
            "no schemas/configured-audience-model.schema.json in the repository: the files carry no "
            "$schema modeline; `cam-gitops init` writes the schemas"
        )
    _judge_policy(root, options, policy, outcome)
    failed = any(r.status == FAILED for r in outcome.results) or outcome.errors
    outcome.exit_code = FINDINGS if failed else OK
    return outcome


def _target_folder(root: Path, given: str) -> Path:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in given):
        raise UsageError("--dir holds a control character")
    folder = (root / given).resolve()
    models = (root / MODELS_DIR).resolve()
    if folder != models and models not in folder.parents:
        shown = display_path(root, folder)
        raise UsageError(
            f"--dir {given}: {shown} is not inside {MODELS_DIR}/ (relative to the repository root {root}); "
            f"check, plan and apply read model files from {MODELS_DIR}/, e.g. --dir {MODELS_DIR}/retail"
        )
    return folder


def managed_arns(root: Path) -> dict[str, str]:
    """ARN -> file of every readable model file in the repository."""
    from cam_gitops.loader import load_file

    found: dict[str, str] = {}
    for model_file in all_model_files(root):
        document = load_file(model_file.fs_path, model_file.display_path).document
        arn = document.data.get("configuredAudienceModelArn") if document else None
        if isinstance(arn, str):
            found.setdefault(arn, model_file.display_path)
    return found


def _list_models(scope: Scope, accounts: Accounts, concurrency: int, outcome: ImportOutcome) -> list[str]:
    """Every live model ARN in scope; a listing that fails is an error of the run."""

    def listing(pair: tuple[str, str]) -> tuple[list[str], int, str | None]:
        account, region = pair
        try:
            summaries = list(accounts.for_account(account).list_models(region))
        except (AccountRefused, AwsError) as exc:
            return [], 0, f"listing account {account} in {region} failed: {exc}"
        inside, outside = [], 0
        for summary in summaries:
            arn = str(summary.get("configuredAudienceModelArn", ""))
            parsed = Arn.parse(arn)
            if parsed is not None and (parsed.account, parsed.region) == (account, region):
                inside.append(arn)
            else:
                outside += 1
        return inside, outside, None

    found: dict[str, None] = {}
    outside = 0
    for arns, ignored, error in run_parallel(scope.pairs, listing, concurrency):
        found.update(dict.fromkeys(arns))
        outside += ignored
        if error:
            outcome.errors.append(error)
    if outside:
        outcome.notes.append(
            f"ignored {outside} listed model(s) whose ARN is outside the account and region listed "
            "(the service lists only its own account and region)"
        )
    return list(found)


def _fetch(arn: str, accounts: Accounts) -> _Fetched:
    parsed = Arn.parse(arn)
    assert parsed is not None  # matched _CAM_ARN
    try:
        client = accounts.for_account(parsed.account)
        live = client.get_model(arn, parsed.region)
        policy = client.get_policy(arn, parsed.region)
    except AccountRefused as exc:
        return _Fetched(arn, None, str(exc))
    except AwsError as exc:
        reason = f"{exc.code}: {exc.message}"
        if exc.code == "ResourceNotFoundException":
            reason += f"; {NOT_FOUND_HINT}"
        return _Fetched(arn, None, reason)
    if live.get("configuredAudienceModelArn") != arn:
        return _Fetched(arn, None, "AWS answered with another model's ARN; nothing written")
    if policy is not None:
        # the file manages the policy from now on; a policy that is not a JSON document is kept
        # out of the file (it could not be reviewed as one) and plan shows it
        document = parse_policy(policy[0])
        if isinstance(document, dict):
            live["resourcePolicy"] = document
    return _Fetched(arn, live, None)


def _write(root: Path, folder: Path, fetched: Sequence[_Fetched], owns: Callable[[str], bool]) -> list[ImportResult]:
    results: list[ImportResult] = []
    ready: list[_Fetched] = []
    for item in fetched:
        problem = item.reason or unwritable(item.live)
        if problem:
            results.append(ImportResult(item.arn, FAILED, None, problem))
        else:
            ready.append(item)
    names = choose_file_names(
        [Naming(f.arn, str((f.live or {}).get("name") or "")) for f in ready], taken_stems(folder)
    )
    schema_ref = schema_reference(root, folder)
    for item in ready:
        assert item.live is not None
        target = folder / names[item.arn]
        shown = display_path(root, target)
        text = model_text(item.live, schema_ref, owns)
        problem = read_back_problem(text, shown, item.live)
        if problem:
            reason = f"the live values cannot be written as a valid model file ({problem}); nothing written"
            results.append(ImportResult(item.arn, FAILED, None, reason))
        elif write_file(target, text, overwrite=False):
            results.append(ImportResult(item.arn, WRITTEN, shown))
        else:
            reason = f"{shown} appeared while importing; not overwritten: run the import again"
            results.append(ImportResult(item.arn, FAILED, None, reason))
    return results


def _tag_owner(root: Path, options: ImportOptions) -> Callable[[str], bool]:
    """Which tag keys an imported file manages: every key but AWS's own (aws:) and those
    policy.yaml leaves to others (unmanaged-tag-keys)."""
    from cam_gitops.check.policy import load_policy

    path, _ = _policy_path(root, options.policy_file)
    policy = load_policy(path, display_path(root, path)).policy if path.is_file() else None
    if policy is not None:
        return policy.owns_tag
    return lambda key: not key.lower().startswith("aws:")


def _policy_path(root: Path, policy_file: str | None) -> tuple[Path, bool]:
    """The policy file, and whether the user named it."""
    if policy_file is not None:
        return Path(policy_file).absolute(), True
    return root / POLICY_FILE, False


def _policy_for(root: Path, options: ImportOptions) -> Any:
    """The policy --baseline edits, loaded before any AWS call; UsageError when it is invalid
    or when an explicit --policy file does not exist."""
    from cam_gitops.check.policy import load_policy

    path, explicit = _policy_path(root, options.policy_file)
    if explicit and not path.is_file():
        raise UsageError(f"{options.policy_file}: policy file not found")
    if not path.is_file() or not options.baseline:
        return None
    loaded = load_policy(path, display_path(root, path))
    if loaded.policy is None:
        raise UsageError(f"{display_path(root, path)} is invalid (`cam-gitops check` says why); --baseline edits it")
    return loaded.policy


def _judge_policy(root: Path, options: ImportOptions, policy: Any, outcome: ImportOutcome) -> None:
    """Say which imported files break the policy; with --baseline, waive them in policy.yaml."""
    from cam_gitops.check.policy import load_policy
    from cam_gitops.live.importer_baseline import (
        BaselineRefused,
        add_waivers,
        baseline_waivers,
        policy_violations,
        waivers_snippet,
    )

    statuses = (WRITTEN, MANAGED) if options.baseline else (WRITTEN,)
    paths = sorted({r.path for r in outcome.results if r.status in statuses and r.path})
    path, _ = _policy_path(root, options.policy_file)
    shown = display_path(root, path)
    if options.baseline and not path.is_file():
        outcome.notes.append(f"--baseline: no {shown}, so no rule to waive")
    if not paths or not path.is_file():
        return
    if policy is None:
        policy = load_policy(path, shown).policy
        if policy is None:
            outcome.notes.append(f"{shown} is invalid: the imported files were not checked against it")
            return
    today = options.today or dt.date.today()
    files = [ModelFile(root / p, p) for p in paths]
    violations = policy_violations(files, policy, today)
    if not violations.pairs:
        return
    if not options.baseline:
        outcome.notes.append(
            f"{len(violations.paths)} imported file(s) break the policy: `cam-gitops check` lists why. Fix them, "
            "or waive them for now: `cam-gitops import --all --baseline` (or with the same ARNs) adds "
            f"waivers with an expiry to {shown}"
        )
        return
    waivers = baseline_waivers(violations, today, options.baseline_days)
    try:
        add_waivers(path, shown, waivers)
    except BaselineRefused as exc:
        outcome.errors.append(
            f"--baseline: {exc}; nothing changed in {shown}. Add these waivers to it yourself:\n"
            + waivers_snippet(waivers).rstrip("\n")
        )
        return
    expires = waivers[0].expires.isoformat()
    outcome.notes.append(
        f"--baseline: added {len(waivers)} waiver(s) to {shown} for {len(violations.paths)} file(s), "
        f"expiring {expires}: " + capped([f"{w.path} [{w.rule}]" for w in waivers], BASELINE_LISTED)
    )


def report_lines(outcome: ImportOutcome) -> tuple[list[str], list[str]]:
    """(standard output lines, standard error lines): every AWS string made safe to print
    (cam_gitops.report.escape.terminal), every line unable to act as a CI log command."""
    from cam_gitops.report.escape import log_text, terminal

    out = [f"Listed {terminal(text)}" for text in outcome.listed]
    err: list[str] = []
    for result in outcome.results:
        arn = terminal(result.arn)
        if result.status == WRITTEN:
            out.append(f"wrote {terminal(result.path or '')}  {arn}")
        elif result.status == MANAGED:
            out.append(f"already managed by {terminal(result.path or '')}  {arn}")
        else:
            err.append(f"error: {arn}: {terminal(result.reason or '')}")
    err += [f"error: {terminal(text, keep_newlines=True)}" for text in outcome.errors]
    out += [f"note: {terminal(text)}" for text in outcome.notes]
    counts = {s: sum(1 for r in outcome.results if r.status == s) for s in (WRITTEN, MANAGED, FAILED)}
    summary = f"Import: {counts[WRITTEN]} written, {counts[MANAGED]} already managed, {counts[FAILED]} failed"
    out.append(summary + (f", {len(outcome.errors)} other error(s)." if outcome.errors else "."))
    return [log_text(line) for line in out], [log_text(line) for line in err]
