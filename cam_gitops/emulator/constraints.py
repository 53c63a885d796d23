"""Service rules that botocore's shapes do not carry: tag keys and counts, resource policies.

Sources: TagResource's documentation in the service model (at most 50 tags per
resource, keys with the ``aws:`` prefix in any case reserved for AWS use and
not counted) and the Hash shape (a policy hash is 64..128 lowercase hex
characters, here the SHA-256 digest of the policy text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from .errors import validation_error

#: Tags a resource may carry; keys with the reserved prefix do not count
#: (the TagMap shape itself allows 200 per request).
MAX_TAGS_PER_RESOURCE = 50
RESERVED_TAG_PREFIX = "aws:"
POLICY_MUST_EXIST = "POLICY_MUST_EXIST"
POLICY_MUST_NOT_EXIST = "POLICY_MUST_NOT_EXIST"


def policy_hash(policy: str) -> str:
    """The ``policyHash`` of a resource policy: SHA-256 of its text, in hex (the Hash shape)."""
    return hashlib.sha256(policy.encode("utf-8")).hexdigest()


def check_policy_document(policy: str) -> None:
    """Refuse a resource policy that is not a JSON IAM policy document (ValidationException)."""
    try:
        document = json.loads(policy)
    except ValueError as exc:
        raise validation_error(f"Invalid resource policy: not valid JSON: {exc}") from exc
    statements = document.get("Statement") if isinstance(document, dict) else None
    if not isinstance(statements, list | dict) or not statements:
        raise validation_error("Invalid resource policy: a policy document needs a non-empty Statement")


def is_reserved(key: str) -> bool:
    """Whether a tag key carries the reserved prefix (``aws:``, ``AWS:``, ``Aws:`` ...)."""
    return key[: len(RESERVED_TAG_PREFIX)].lower() == RESERVED_TAG_PREFIX


def check_tag_keys(keys: Iterable[str], action: str) -> None:
    """Refuse keys with the reserved prefix: callers can neither set nor remove them."""
    reserved = sorted(key for key in keys if is_reserved(key))
    if reserved:
        raise validation_error(
            f"Tag keys starting with '{RESERVED_TAG_PREFIX}' are reserved for AWS use and cannot be {action}: "
            + ", ".join(reserved)
        )


def check_tag_count(tags: Mapping[str, str]) -> None:
    """Refuse a resource's tags beyond the per-resource limit (reserved keys do not count)."""
    count = sum(1 for key in tags if not is_reserved(key))
    if count > MAX_TAGS_PER_RESOURCE:
        raise validation_error(
            f"Tag limit exceeded: a resource can have at most {MAX_TAGS_PER_RESOURCE} tags, this request leaves {count}"
        )
