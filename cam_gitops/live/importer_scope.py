"""import --all: which accounts and regions to list, and why; checked before any AWS call."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cam_gitops.model import Arn
from cam_gitops.report.escape import terminal
from cam_gitops.workspace.layout import UsageError

if TYPE_CHECKING:
    from cam_gitops.live.accounts import Accounts

_REGION = re.compile(r"[a-z]{2}(?:-[a-z0-9]+)+-[0-9]+\Z")
_ACCOUNT = re.compile(r"[0-9]{12}\Z")


class ScopeOptions(Protocol):
    """The options of an import run that decide what is listed."""

    @property
    def arns(self) -> Sequence[str]: ...
    @property
    def import_all(self) -> bool: ...
    @property
    def regions(self) -> Sequence[str]: ...
    @property
    def all_regions(self) -> bool: ...
    @property
    def accounts(self) -> Sequence[str]: ...
    @property
    def role_arn_template(self) -> str | None: ...


class RegionSource(Protocol):
    """What the AWS adapter says about regions."""

    def default_region(self) -> str | None: ...
    def service_regions(self) -> tuple[list[str], str]: ...


@dataclass(frozen=True)
class Scope:
    """The accounts and regions import --all lists, and where they came from."""

    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    region_source: str
    notes: list[str] = field(default_factory=list)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Every (account, region) to list."""
        return [(account, region) for account in self.accounts for region in self.regions]

    def describe(self) -> str:
        """One line for the reader: what was listed and why those regions."""
        accounts = ", ".join(self.accounts)
        regions = ", ".join(self.regions)
        return f"account{'s' if len(self.accounts) > 1 else ''} {accounts} in {regions} ({self.region_source})."


def validate_options(options: ScopeOptions) -> None:
    """Refuse combinations that cannot work, before anything is read or sent."""
    if bool(options.arns) == options.import_all:
        raise UsageError("give ARNs or --all (not both)")
    if not options.import_all and (options.regions or options.all_regions or options.accounts):
        raise UsageError("--region, --all-regions and --account choose what --all lists; give them with --all")
    if options.regions and options.all_regions:
        raise UsageError("give --region or --all-regions, not both")
    for region in options.regions:
        if not _REGION.match(region):
            raise UsageError(f"--region {printable(region)}: not a region name (like us-east-1)")
    for account in options.accounts:
        if not _ACCOUNT.match(account):
            raise UsageError(f"--account {printable(account)}: not a 12-digit AWS account id")
    if options.accounts and not options.role_arn_template:
        raise UsageError(
            "--account lists another account through a role: give --role-arn-template "
            "'arn:aws:iam::{account}:role/NAME' too (the credentials' own account is always listed)"
        )


def resolve_scope(options: ScopeOptions, accounts: Accounts, adapter: RegionSource, managed: Sequence[str]) -> Scope:
    """Regions: --region, --all-regions, the repository's, else the default region. Accounts:
    the caller's, plus with --role-arn-template those of the repository's ARNs and --account."""
    parsed = [p for p in (Arn.parse(arn) for arn in managed) if p is not None and _REGION.match(p.region)]
    if options.regions:
        regions, source = sorted(set(options.regions)), "--region"
    elif options.all_regions:
        regions, service = adapter.service_regions()
        if not regions:
            raise UsageError("--all-regions: botocore's endpoint data lists no region for Clean Rooms ML; use --region")
        source = f"--all-regions: every region botocore's endpoint data lists for {service}"
    elif parsed:
        regions, source = sorted({p.region for p in parsed}), "the regions of the repository's model files"
    else:
        default = adapter.default_region()
        if not default or not _REGION.match(default):
            raise UsageError(
                "no region to list: the repository has no model files and no default region is set; "
                "set AWS_REGION (or a profile's region), or give --region REGION or --all-regions"
            )
        origin = "AWS_REGION" if os.environ.get("AWS_REGION") else "AWS_DEFAULT_REGION or the profile"
        regions, source = [default], f"the default region, from {origin}; the repository has no model files"
    caller = accounts.caller
    repository = sorted({p.account for p in parsed} - {caller})
    notes: list[str] = []
    if options.role_arn_template:
        listed = [caller, *sorted(set(repository) | set(options.accounts) - {caller})]
    else:
        listed = [caller]
        if repository:
            notes.append(
                f"not listed: account(s) {', '.join(repository)} of the repository's model files; "
                "give --role-arn-template 'arn:aws:iam::{account}:role/NAME' to list them"
            )
    return Scope(tuple(listed), tuple(regions), source, notes)


def printable(text: str, keep_newlines: bool = False) -> str:
    """Text safe for a terminal or a CI log: control, format and separator characters escaped
    (the one rule of cam_gitops.report.escape.terminal)."""
    return terminal(text, keep_newlines)
