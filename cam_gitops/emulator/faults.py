"""Fault injection for CleanRoomsML requests (never for STS/IAM/S3).

Random faults draw exactly one number per CleanRoomsML request from a
``random.Random(seed)``, so a fixed seed and a fixed request order give the
same faults every run. Scripted faults (``fail_next``, ``deny_arns``,
``conflict_arns``) are deterministic and take precedence.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import InitVar, dataclass, field
from typing import Any

from .model import load_model

#: Pseudo error code for ``fail_next``: close the connection without answering.
DROP = "drop"

THROTTLE_CODE = "ThrottlingException"
INTERNAL_CODE = "InternalServiceException"
CONFLICT_CODE = "ConflictException"
DENIED_CODE = "AccessDeniedException"

#: Operations that answer ConflictException for ``conflict_arns``.
CONFLICT_OPERATIONS = frozenset({"UpdateConfiguredAudienceModel", "DeleteConfiguredAudienceModel"})

_RATE_FIELDS = frozenset({"throttle_rate", "error_rate", "drop_rate"})

_MESSAGES = {
    THROTTLE_CODE: "Rate exceeded",
    INTERNAL_CODE: "An internal service error occurred. Retry your request.",
    CONFLICT_CODE: "A conflicting operation is in progress for {arn}",
    DENIED_CODE: "User is not authorized to perform this operation on {arn}",
}


def can_raise(operation: str, code: str) -> bool:
    """Whether ``operation`` may answer ``code``: declared in the model, a 5xx, or a drop.

    So ``fail_next(arn, "ConflictException")`` skips the Get that precedes an
    Update and fires on the Update, as the real service would.
    """
    if code == DROP:
        return True
    model = load_model()
    status = model.error_status(code)
    if status is not None and status >= 500:
        return True
    declared = model.operations.get(operation, {}).get("errors", [])
    return any(error.get("shape") == code for error in declared)


@dataclass(frozen=True)
class FaultAction:
    """What to do instead of serving a request: drop it, or answer error ``code``."""

    code: str
    message: str = ""

    @property
    def drop(self) -> bool:
        """True when the connection must be closed without any response."""
        return self.code == DROP


def _message(code: str, arn: str | None) -> str:
    template = _MESSAGES.get(code, f"Injected {code}")
    return template.format(arn=arn or "the resource")


@dataclass
class Faults:
    """Mutable fault settings; change attributes at any time, from any thread.

    Rates are shares in [0, 1] of CleanRoomsML requests; their sum above 1
    is effectively capped (one draw decides drop, then throttle, then error).
    """

    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    conflict_arns: set[str] = field(default_factory=set)
    deny_arns: set[str] = field(default_factory=set)
    seed: int | None = None
    #: Alias of ``seed`` matching the ``--fault-seed`` flag.
    fault_seed: InitVar[int | None] = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _rng: random.Random = field(default_factory=random.Random, init=False, repr=False, compare=False)
    _scripted: dict[str | None, deque[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self, fault_seed: int | None) -> None:
        if fault_seed is not None:
            self.seed = fault_seed
        self.conflict_arns = set(self.conflict_arns)
        self.deny_arns = set(self.deny_arns)
        self._rng.seed(self.seed)

    def __setattr__(self, name: str, value: Any) -> None:
        # Reject bad rates at assignment time rather than at the next request.
        if name in _RATE_FIELDS and not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if name == "latency_ms" and float(value) < 0:
            raise ValueError(f"latency_ms must not be negative, got {value!r}")
        super().__setattr__(name, value)

    def reseed(self, seed: int | None) -> None:
        """Restart the random fault sequence from ``seed``."""
        with self._lock:
            self.seed = seed
            self._rng.seed(seed)

    def fail_next(self, arn: str | None, error_code: str, times: int = 1) -> None:
        """Answer the next ``times`` requests about ``arn`` with ``error_code``.

        ``arn=None`` matches any CleanRoomsML request (also Create and List,
        which carry no ARN). ``error_code`` is an error shape of the service
        model (e.g. ``"ThrottlingException"``) or ``"drop"``. Only requests
        whose operation declares that error in the model (or any request, for
        5xx errors and drops) consume the queued fault; see :func:`can_raise`.
        """
        valid = load_model().error_codes() | {DROP}
        if error_code not in valid:
            raise ValueError(f"unknown error code {error_code!r}; expected one of {sorted(valid)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._scripted.setdefault(arn, deque()).extend([error_code] * times)

    def clear(self) -> None:
        """Switch every fault off (random, scripted and per-ARN)."""
        with self._lock:
            self._scripted.clear()
        self.latency_ms = 0.0
        self.throttle_rate = self.error_rate = self.drop_rate = 0.0
        self.conflict_arns = set()
        self.deny_arns = set()

    def decide(self, operation: str, arn: str | None) -> FaultAction | None:
        """Pick the fault (if any) for one request; called once per CleanRoomsML request."""
        with self._lock:
            draw = self._rng.random()
            scripted = self._pop_scripted(operation, arn)
        if scripted is not None:
            return FaultAction(scripted, _message(scripted, arn))
        if arn is not None and arn in self.deny_arns:
            return FaultAction(DENIED_CODE, _message(DENIED_CODE, arn))
        if arn is not None and operation in CONFLICT_OPERATIONS and arn in self.conflict_arns:
            return FaultAction(CONFLICT_CODE, _message(CONFLICT_CODE, arn))
        return self._random_fault(draw)

    def _pop_scripted(self, operation: str, arn: str | None) -> str | None:
        for key in (arn, None) if arn is not None else (None,):
            queue = self._scripted.get(key)
            # A queued error waits for an operation that can really raise it.
            if queue and can_raise(operation, queue[0]):
                return queue.popleft()
        return None

    def _random_fault(self, draw: float) -> FaultAction | None:
        threshold = self.drop_rate
        if draw < threshold:
            return FaultAction(DROP)
        threshold += self.throttle_rate
        if draw < threshold:
            return FaultAction(THROTTLE_CODE, _message(THROTTLE_CODE, None))
        threshold += self.error_rate
        if draw < threshold:
            return FaultAction(INTERNAL_CODE, _message(INTERNAL_CODE, None))
        return None
