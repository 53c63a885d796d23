"""Time limits of the commands that talk to AWS. No imports: `--help` and `check` read them
without loading boto3."""

from __future__ import annotations

CONNECT_TIMEOUT_S = 3.0  # per attempt
READ_TIMEOUT_S = 10.0  # per attempt
PLAN_DEADLINE_S = 300.0  # plan, drift, explain --live
APPLY_DEADLINE_S = 900.0
