"""Who is calling, and what a caller may touch: accounts, regions and resource policies.

AWS Clean Rooms ML is a regional service owned per account. The emulator
serves every region and account from one endpoint, so it applies the
boundaries a real regional endpoint has:

* The region is the caller's SigV4 credential scope. A regional endpoint only
  knows its own region's resources, so an ARN naming another region is simply
  not there: ``ResourceNotFoundException`` (404), the error every operation on
  an ARN declares for "The resource you are requesting does not exist". The
  service documentation says nothing more specific about foreign-region ARNs.
* The account is the one moto answers for the caller's credentials (see
  :func:`caller_account`), so STS ``GetCallerIdentity`` and CleanRoomsML agree,
  and credentials from ``sts:AssumeRole`` into another account act as that
  account. A resource of another account is reachable only when its resource
  policy allows the caller's account, as IAM evaluates cross-account access:
  otherwise ``AccessDeniedException`` (403), with the wording IAM uses ("...
  because no resource-based policy allows the ... action"). Authorisation comes
  before the lookup, so a missing resource of another account is also 403.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from .errors import NotFound, ServiceError

#: Account moto answers for credentials it does not know (``moto.core.DEFAULT_ACCOUNT_ID``).
DEFAULT_ACCOUNT = "123456789012"
ACCOUNT_RE = re.compile(r"[0-9]{12}")
SERVICE_PREFIX = "cleanrooms-ml"


def check_account(account: str) -> str:
    """Return ``account`` if it is a 12-digit AWS account id; raise ValueError otherwise."""
    if not isinstance(account, str) or ACCOUNT_RE.fullmatch(account) is None:
        raise ValueError(f"an AWS account id is 12 digits, got {account!r}")
    return account


def arn_region_account(arn: str) -> tuple[str, str]:
    """(region, account) fields of an ARN; empty strings where it has none."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "", ""
    return parts[3], parts[4]


def caller_account(environ: Mapping[str, Any], access_key: str | None, default: str) -> str:
    """The account moto answers for this request, with ``default`` for unknown credentials.

    Same order as moto's ``BaseResponse.get_current_account``: ``MOTO_ACCOUNT_ID``
    in the environment, an explicit ``x-moto-account-id`` header, the account
    that issued the access key (IAM user keys and ``AssumeRole`` credentials),
    and last the emulator's account where moto would answer its built-in one.
    """
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if header:
        return str(header)
    return issuing_account(access_key) or default


def issuing_account(access_key: str | None) -> str | None:
    """The account whose IAM (moto's) issued ``access_key``, or None for unknown keys.

    moto's own ``get_account_id_from`` answers its default account for unknown
    keys, which cannot be told apart from keys issued in 123456789012.
    """
    if not access_key:
        return None
    from moto.iam.models import iam_backends

    # list(): other threads may add accounts meanwhile. values() holds the backends that
    # exist (one per partition, created on first use), so none is created just to look.
    for account_id, backends in list(iam_backends.items()):
        for backend in list(backends.values()):
            if access_key in getattr(backend, "access_keys", {}):
                return str(account_id)
    return None


def check_reachable(kind: str, arn: str, region: str, account: str, operation: str, policy: str | None) -> None:
    """Raise unless a caller in ``region`` and ``account`` may call ``operation`` on ``arn``."""
    arn_region, arn_account = arn_region_account(arn)
    if arn_region != region:
        raise NotFound(kind, arn)
    if arn_account != account and not policy_allows(policy, account, f"{SERVICE_PREFIX}:{operation}"):
        raise ServiceError(
            "AccessDeniedException",
            f"User in account {account} is not authorized to perform: {SERVICE_PREFIX}:{operation} on resource: "
            f"{arn} because no resource-based policy allows the {SERVICE_PREFIX}:{operation} action",
        )


def policy_allows(document: str | None, account: str, action: str) -> bool:
    """Whether a resource policy grants ``action`` to principals of ``account``.

    An explicit Deny wins over any Allow. Statements with a ``Condition`` or
    with ``NotAction``/``NotPrincipal`` are not evaluated and grant nothing;
    principals match as the account id, its root ARN or ``*``.
    """
    if not document:
        return False
    try:
        parsed = json.loads(document)
    except ValueError:
        return False
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or not _applies(statement, account, action):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _applies(statement: dict[str, Any], account: str, action: str) -> bool:
    if {"Condition", "NotAction", "NotPrincipal"} & set(statement):
        return False
    actions = _as_list(statement.get("Action"))
    if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in actions):
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    aws = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    return any(p in ("*", account, f"arn:aws:iam::{account}:root") for p in aws)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
