"""Which AWS identity acts on which model: the caller's, or a role assumed per account."""

from __future__ import annotations

import threading

from cam_gitops.live.aws import CleanRoomsML
from cam_gitops.model import Arn


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


def region_of(arn: str) -> str:
    """The region of an ARN ("" when it is not one)."""
    parsed = Arn.parse(arn)
    return parsed.region if parsed else ""


def account_of(arn: str) -> str:
    """The account of an ARN ("" when it is not one)."""
    parsed = Arn.parse(arn)
    return parsed.account if parsed else ""
