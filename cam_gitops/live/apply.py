"""Reading live state and applying changes: the only module that drives AWS calls.

It works through the narrow adapter in cam_gitops.live.aws, one model per worker thread, and
returns plain results in the order the models were given, whatever order they finish in.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cam_gitops.live.aws import AwsError, CleanRoomsML
from cam_gitops.live.plan import (
    NO_OP,
    UNMANAGED,
    UPDATE,
    Change,
    FieldChange,
    diff_fields,
    error_change,
    plan_model,
)
from cam_gitops.model import Arn

APPLIED = "applied"
FAILED = "failed"
REFUSED = "refused"
WOULD_UPDATE = "would-update"

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Target:
    """A model file to plan or apply: what it wants, and what it no longer sets."""

    path: str
    arn: str
    desired: dict[str, Any]
    removed_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyResult:
    """What apply did for one model."""

    path: str
    arn: str
    result: str
    diff: tuple[FieldChange, ...] = ()
    error: str | None = None
    attempts: int = 0

    @property
    def failed(self) -> bool:
        """Whether this model makes the run fail."""
        return self.result in (FAILED, REFUSED)


class AccountRefused(Exception):
    """A model in another account than the credentials, with no role to reach it."""


class Accounts:
    """The AWS identity to use per account: the caller's, or a role assumed per account."""

    def __init__(self, base: CleanRoomsML, role_arn_template: str | None) -> None:
        self._base = base
        self._template = role_arn_template
        self._caller: str | None = None
        self._assumed: dict[str, CleanRoomsML] = {}
        self._lock = threading.Lock()

    @property
    def caller(self) -> str:
        """The caller's account (STS GetCallerIdentity, asked once); AwsError without an identity."""
        with self._lock:
            if self._caller is None:
                self._caller = self._base.caller_account()
            return self._caller

    def for_account(self, account: str) -> CleanRoomsML:
        """The adapter that may act in account, or AccountRefused."""
        if account == self.caller:
            return self._base
        if self._template is None:
            raise AccountRefused(
                f"model is in account {account} but the credentials are for account {self.caller}; "
                "use credentials of that account or --role-arn-template 'arn:aws:iam::{account}:role/NAME'"
            )
        with self._lock:
            if account not in self._assumed:
                self._assumed[account] = self._base.assume(self._template.format(account=account))
            return self._assumed[account]


def run_parallel(
    items: Sequence[T], work: Callable[[T], R], concurrency: int, on_done: Callable[[R], None] | None = None
) -> list[R]:
    """work(item) for each item on a bounded thread pool; results in input order."""
    results: list[R | None] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="cam-gitops") as pool:
        futures = {pool.submit(work, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_done is not None:
                on_done(result)
    return [r for r in results if r is not None]


def _region(arn: str) -> str:
    parsed = Arn.parse(arn)
    return parsed.region if parsed else ""


def _account(arn: str) -> str:
    parsed = Arn.parse(arn)
    return parsed.account if parsed else ""


def plan_target(target: Target, accounts: Accounts) -> Change:
    """Read one live model and plan the file's change to it."""
    try:
        client = accounts.for_account(_account(target.arn))
        live = client.get_model(target.arn, _region(target.arn))
    except AccountRefused as exc:
        return error_change(target.path, target.arn, str(exc))
    except AwsError as exc:
        return error_change(target.path, target.arn, f"{exc.code}: {exc.message}")
    return plan_model(target.path, target.arn, target.desired, live, target.removed_fields)


def deleted_change(path: str, arn: str) -> Change:
    """A file deleted from the repository: reported, never deleted in AWS."""
    return Change(
        path,
        arn,
        UNMANAGED,
        error="file deleted: the model stays in AWS (cam-gitops never deletes); delete it there if intended",
    )


@dataclass
class Applier:
    """Applies planned changes: update, read back, verify; retries conflicts a few times."""

    accounts: Accounts
    dry_run: bool = False
    conflict_retries: int = 3
    conflict_backoff_s: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep)

    def apply(self, target: Target) -> ApplyResult:
        """Bring one model to the file's state and verify it; never raises."""
        try:
            self.accounts.for_account(_account(target.arn))
        except AccountRefused as exc:
            return ApplyResult(target.path, target.arn, REFUSED, (), str(exc))
        except AwsError as exc:
            return ApplyResult(target.path, target.arn, FAILED, (), f"{exc.code}: {exc.message}")
        change = plan_target(target, self.accounts)
        if change.action == NO_OP:
            return ApplyResult(target.path, target.arn, NO_OP)
        if change.action != UPDATE:
            return ApplyResult(target.path, target.arn, FAILED, change.diff, change.error)
        if self.dry_run:
            return ApplyResult(target.path, target.arn, WOULD_UPDATE, change.diff)
        return self._update(target, change)

    def _update(self, target: Target, change: Change) -> ApplyResult:
        client = self.accounts.for_account(_account(target.arn))
        region = _region(target.arn)
        attempts = 0
        while True:
            attempts += 1
            try:
                client.update_model(target.arn, region, dict(target.desired))
                live = client.get_model(target.arn, region)
                break
            except AwsError as exc:
                if exc.code == "ConflictException" and attempts <= self.conflict_retries:
                    self.sleep(self.conflict_backoff_s * (2 ** (attempts - 1)) * random.uniform(0.5, 1.5))
                    continue
                return ApplyResult(target.path, target.arn, FAILED, change.diff, f"{exc.code}: {exc.message}", attempts)
        left = diff_fields(target.desired, live)
        if left:
            fields = ", ".join(c.field for c in left)
            return ApplyResult(
                target.path,
                target.arn,
                FAILED,
                change.diff,
                f"update accepted but read-back differs in {fields}",
                attempts,
            )
        return ApplyResult(target.path, target.arn, APPLIED, change.diff, None, attempts)


def unmanaged_result(change: Change) -> ApplyResult:
    """The apply result of a deleted file: nothing done, reported."""
    return ApplyResult(change.path, change.arn, UNMANAGED, (), change.error)
