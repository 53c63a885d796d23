"""Thread-safe in-memory state of the emulated CleanRoomsML account(s).

One store holds every region and account, keyed by ARN; which of them a
caller may see is decided by :mod:`.access` (the service layer). Records are
kept in the shape ``GetConfiguredAudienceModel`` returns, with timestamps as
aware UTC datetimes; every read and write copies, so callers never share
state with the request threads. Resource policies are kept as the text the
caller sent, with the SHA-256 hex digest of that text as their ``policyHash``.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from .access import DEFAULT_ACCOUNT, arn_region_account
from .constraints import (
    POLICY_MUST_EXIST,
    POLICY_MUST_NOT_EXIST,
    check_policy_document,
    check_tag_count,
    check_tag_keys,
    policy_hash,
)
from .errors import NotFound, validation_error
from .model import ServiceModel, load_model
from .validation import to_datetime, validate_or_raise

CAM_SHAPE = "GetConfiguredAudienceModelResponse"
SUMMARY_SHAPE = "ConfiguredAudienceModelSummary"
DEFAULT_MIN_MATCHING_SEED_SIZE = 500
DEFAULT_REGION = "us-east-1"

Record = dict[str, Any]

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "InvalidToken", "NotFound", "Store"]


class InvalidToken(Exception):
    """A pagination token this store did not issue (-> ValidationException)."""


def utcnow() -> dt.datetime:
    """Current UTC time at the millisecond resolution the API transmits."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def arn_parts(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN, with defaults when it is malformed."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return DEFAULT_REGION, DEFAULT_ACCOUNT
    return parts[3] or DEFAULT_REGION, parts[4] or DEFAULT_ACCOUNT


def new_cam_arn(region: str, account: str) -> str:
    """Mint a configured audience model ARN the way the service does."""
    return f"arn:aws:cleanrooms-ml:{region}:{account}:configured-audience-model/{uuid.uuid4()}"


def _summary_members(model: ServiceModel) -> tuple[str, ...]:
    return tuple(model.shape(SUMMARY_SHAPE)["members"])


class Store:
    """Configured audience models, audience models and their tags."""

    def __init__(self, model: ServiceModel | None = None) -> None:
        self.model = model or load_model()
        self._lock = threading.RLock()
        self._cams: dict[str, Record] = {}
        self._order: dict[str, int] = {}
        self._audience: dict[str, Record] = {}
        self._policies: dict[str, str] = {}
        self._counter = 0

    # ----- Python API (tests, seeding) ---------------------------------------------------

    def get(self, arn: str) -> Record | None:
        """The configured audience model ``arn`` in GetConfiguredAudienceModel shape, or None."""
        with self._lock:
            record = self._cams.get(arn)
            return copy.deepcopy(record) if record is not None else None

    def put(self, record: Mapping[str, Any]) -> str:
        """Insert or replace a configured audience model; returns its ARN.

        Missing ``configuredAudienceModelArn``/``status``/timestamps/
        ``minMatchingSeedSize`` get the defaults Create would apply. The
        record's ``audienceModelArn`` is registered as an audience model.
        Raises :class:`ValidationFailure` when the record breaks the model.
        """
        normal = self.normalise(record)
        arn = str(normal["configuredAudienceModelArn"])
        with self._lock:
            self._audience.setdefault(normal["audienceModelArn"], self._audience_record(normal["audienceModelArn"]))
            self._insert(arn, normal)
        return arn

    def add_audience_model(self, arn: str, **fields: Any) -> None:
        """Register an audience model so GetAudienceModel and Create/Update accept ``arn``."""
        record = self._audience_record(arn)
        record.update(fields)
        for key, value in fields.items():
            stamp = to_datetime(value) if key.endswith("Time") else None
            if stamp is not None:
                record[key] = stamp
        validate_or_raise(self.model, "GetAudienceModelResponse", record)
        with self._lock:
            self._audience[arn] = record

    def get_audience_model(self, arn: str) -> Record | None:
        """The audience model ``arn`` in GetAudienceModel shape, or None."""
        with self._lock:
            record = self._audience.get(arn)
            return copy.deepcopy(record) if record is not None else None

    def delete(self, arn: str) -> bool:
        """Remove a configured audience model; True if it existed."""
        with self._lock:
            self._order.pop(arn, None)
            self._policies.pop(arn, None)
            return self._cams.pop(arn, None) is not None

    def models(self) -> builtins.list[Record]:
        """Every configured audience model, oldest first (full records)."""
        with self._lock:
            return [copy.deepcopy(self._cams[arn]) for arn in self._cams]

    def list(self) -> builtins.list[Record]:
        """Alias of :meth:`models`."""
        return self.models()

    def audience_model_arns(self) -> builtins.list[str]:
        """ARNs of every registered audience model."""
        with self._lock:
            return list(self._audience)

    def clear(self) -> None:
        """Forget every resource."""
        with self._lock:
            self._cams.clear()
            self._order.clear()
            self._audience.clear()
            self._policies.clear()

    def policy(self, arn: str) -> str | None:
        """The resource policy text of configured audience model ``arn``, or None."""
        with self._lock:
            return self._policies.get(arn)

    def set_policy(self, arn: str, policy: str | None) -> None:
        """Set (or with None remove) the resource policy of an existing configured audience model."""
        with self._lock:
            self._require_cam(arn)
            if policy is None:
                self._policies.pop(arn, None)
            else:
                self._policies[arn] = policy

    def accounts(self) -> set[str]:
        """Accounts named by the ARNs of every configured and audience model held."""
        with self._lock:
            arns = [*self._cams, *self._audience]
        return {arn_region_account(arn)[1] for arn in arns}

    def __len__(self) -> int:
        with self._lock:
            return len(self._cams)

    def __contains__(self, arn: object) -> bool:
        with self._lock:
            return arn in self._cams

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._cams))

    def normalise(self, record: Mapping[str, Any], now: dt.datetime | None = None) -> Record:
        """Apply Create's defaults, coerce timestamps and validate against the Get shape."""
        normal: Record = copy.deepcopy(dict(record))
        stamp = now or utcnow()
        if not normal.get("configuredAudienceModelArn"):
            region, account = arn_parts(str(normal.get("audienceModelArn", "")))
            normal["configuredAudienceModelArn"] = new_cam_arn(region, account)
        normal.setdefault("status", "ACTIVE")
        normal.setdefault("minMatchingSeedSize", DEFAULT_MIN_MATCHING_SEED_SIZE)
        for key in ("createTime", "updateTime"):
            if key not in normal:
                normal[key] = stamp
            else:
                # Keep an unparseable value as is, so validation names the field.
                normal[key] = to_datetime(normal[key]) or normal[key]
        validate_or_raise(self.model, CAM_SHAPE, normal)
        return normal

    # ----- service operations (called by the HTTP layer) -------------------------------

    def create(self, request: Mapping[str, Any], region: str, account: str) -> str:
        """CreateConfiguredAudienceModel on an already validated request."""
        now = utcnow()
        record: Record = {
            key: copy.deepcopy(value) for key, value in request.items() if key in self.model.shape(CAM_SHAPE)["members"]
        }
        record.update(
            configuredAudienceModelArn=new_cam_arn(region, account),
            status="ACTIVE",
            createTime=now,
            updateTime=now,
        )
        record.setdefault("minMatchingSeedSize", DEFAULT_MIN_MATCHING_SEED_SIZE)
        if "tags" in record:
            check_tag_keys(list(record["tags"]), "set")
            check_tag_count(record["tags"])
        with self._lock:
            self._require_audience_model(record["audienceModelArn"])
            self._insert(record["configuredAudienceModelArn"], record)
        return str(record["configuredAudienceModelArn"])

    def update(self, arn: str, changes: Mapping[str, Any]) -> None:
        """UpdateConfiguredAudienceModel: PATCH semantics, ``updateTime`` strictly moves."""
        with self._lock:
            record = self._require_cam(arn)
            if "audienceModelArn" in changes:
                self._require_audience_model(changes["audienceModelArn"])
            for key, value in changes.items():
                record[key] = copy.deepcopy(value)
            # Millisecond timestamps could otherwise tie for back-to-back updates.
            later = record["updateTime"] + dt.timedelta(milliseconds=1)
            record["updateTime"] = max(utcnow(), later)

    def remove(self, arn: str) -> None:
        """DeleteConfiguredAudienceModel."""
        with self._lock:
            self._require_cam(arn)
            self.delete(arn)

    def describe(self, arn: str) -> Record:
        """GetConfiguredAudienceModel."""
        with self._lock:
            return copy.deepcopy(self._require_cam(arn))

    def describe_audience_model(self, arn: str) -> Record:
        """GetAudienceModel."""
        with self._lock:
            return copy.deepcopy(self._require_audience_model(arn))

    def page(
        self,
        max_results: int | None,
        token: str | None,
        region: str | None = None,
        account: str | None = None,
    ) -> tuple[builtins.list[Record], str | None]:
        """ListConfiguredAudienceModels: one page of summaries and the next token.

        ``region`` and ``account``, when given, keep only the models whose ARN names them.
        """
        after = _decode_token(token) if token else -1
        limit = max_results or 100
        members = _summary_members(self.model)

        def listed(arn: str) -> bool:
            arn_region, arn_account = arn_region_account(arn)
            return region in (None, arn_region) and account in (None, arn_account)

        with self._lock:
            ordered = sorted((seq, arn) for arn, seq in self._order.items() if seq > after and listed(arn))
            chunk = ordered[:limit]
            items = [{k: copy.deepcopy(v) for k, v in self._cams[arn].items() if k in members} for _, arn in chunk]
        more = len(ordered) > limit
        return items, (_encode_token(chunk[-1][0]) if more and chunk else None)

    def tags(self, arn: str) -> dict[str, str]:
        """ListTagsForResource."""
        with self._lock:
            return dict(self._taggable(arn).get("tags") or {})

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: merge ``tags`` into the resource's tags; ``aws:`` keys and over 50 tags refused."""
        check_tag_keys(list(tags), "set")
        with self._lock:
            record = self._taggable(arn)
            merged = {**(record.get("tags") or {}), **tags}
            check_tag_count(merged)
            record["tags"] = merged

    def untag(self, arn: str, keys: builtins.list[str]) -> None:
        """UntagResource: drop ``keys``; absent keys are ignored, like the service; ``aws:`` keys refused."""
        check_tag_keys(keys, "removed")
        with self._lock:
            record = self._taggable(arn)
            record["tags"] = {k: v for k, v in (record.get("tags") or {}).items() if k not in keys}

    def get_policy(self, arn: str) -> tuple[str, str]:
        """GetConfiguredAudienceModelPolicy: (policy text, policy hash).

        A model without a policy answers ResourceNotFoundException: the policy is
        the requested resource, and the operation declares no other fitting error.
        """
        with self._lock:
            self._require_cam(arn)
            policy = self._policies.get(arn)
        if policy is None:
            raise NotFound("Configured audience model policy", arn)
        return policy, policy_hash(policy)

    def put_policy(self, arn: str, policy: str, previous_hash: str | None, condition: str | None) -> str:
        """PutConfiguredAudienceModelPolicy with its optimistic concurrency; returns the new hash.

        A failed ``policyExistenceCondition`` or ``previousPolicyHash`` answers
        ValidationException (400). Evidence: the operation declares only
        ValidationException, AccessDeniedException, ResourceNotFoundException and
        ThrottlingException (botocore's model and the API reference alike), the
        service model has no condition-failure error (Glue's equivalent API has
        ConditionCheckFailureException; Clean Rooms ML has none), and of the
        declared ones only ValidationException ("The request parameters for this
        request are incorrect") describes a precondition the request got wrong.
        """
        check_policy_document(policy)
        with self._lock:
            self._require_cam(arn)
            current = self._policies.get(arn)
            if condition == POLICY_MUST_EXIST and current is None:
                raise validation_error(f"policyExistenceCondition {POLICY_MUST_EXIST} failed: {arn} has no policy")
            if condition == POLICY_MUST_NOT_EXIST and current is not None:
                raise validation_error(f"policyExistenceCondition {POLICY_MUST_NOT_EXIST} failed: {arn} has a policy")
            if previous_hash is not None and (current is None or policy_hash(current) != previous_hash):
                raise validation_error(
                    f"previousPolicyHash {previous_hash} does not match the current policy of {arn}: "
                    "it was changed or removed since it was read"
                )
            self._policies[arn] = policy
        return policy_hash(policy)

    def delete_policy(self, arn: str) -> None:
        """DeleteConfiguredAudienceModelPolicy; ResourceNotFoundException when there is none."""
        with self._lock:
            self._require_cam(arn)
            if self._policies.pop(arn, None) is None:
                raise NotFound("Configured audience model policy", arn)

    # ----- internals ---------------------------------------------------------------------

    def _insert(self, arn: str, record: Record) -> None:
        if arn not in self._order:
            self._counter += 1
            self._order[arn] = self._counter
        self._cams[arn] = record

    def _require_cam(self, arn: str) -> Record:
        record = self._cams.get(arn)
        if record is None:
            raise NotFound("Configured audience model", arn)
        return record

    def _require_audience_model(self, arn: str) -> Record:
        record = self._audience.get(arn)
        if record is None:
            raise NotFound("Audience model", arn)
        return record

    def _taggable(self, arn: str) -> Record:
        record = self._cams.get(arn) or self._audience.get(arn)
        if record is None:
            raise NotFound("Resource", arn)
        return record

    def _audience_record(self, arn: str) -> Record:
        region, account = arn_parts(arn)
        now = utcnow()
        return {
            "audienceModelArn": arn,
            "name": (arn.rsplit("/", 1)[-1] or "audience-model")[:63],
            "trainingDatasetArn": (f"arn:aws:cleanrooms-ml:{region}:{account}:training-dataset/{uuid.uuid4()}"),
            "status": "ACTIVE",
            "createTime": now,
            "updateTime": now,
        }


def _encode_token(seq: int) -> str:
    raw = json.dumps({"after": seq}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = data["after"]
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise InvalidToken(token) from exc
    if not isinstance(after, int) or isinstance(after, bool):
        raise InvalidToken(token)
    return after
