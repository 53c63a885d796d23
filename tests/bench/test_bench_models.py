"""The benchmarks' generated repositories must mean what bench/README.md says they mean.

bench/apply.py times updates of valid models, and bench/lint.py relies on ~5% invalid files:
if the shipped policy gains a rule the generator does not satisfy, every model is refused
and the numbers measure a refusal, not an apply.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from common import make_repo  # noqa: E402


def test_generated_valid_models_pass_the_shipped_policy(tmp_path, run):
    make_repo(tmp_path, 60, invalid_share=0.0, seed=3)

    result = run(tmp_path, "check", "--format", "json")

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_generated_invalid_models_are_the_only_ones_with_findings(tmp_path, run):
    written = make_repo(tmp_path, 200, invalid_share=0.2, seed=4)

    result = run(tmp_path, "check", "--format", "json")

    assert result.returncode == 1
    report = json.loads(result.stdout)
    flagged = {Path(finding["path"]).name for finding in report["violations"] if finding["severity"] == "error"}
    broken = {path.name for path, data in written if _is_broken(data)}
    assert broken and flagged == broken


def _is_broken(data: dict) -> bool:
    return (
        data.get("minMatchingSeedSize") in ("2000", 100)
        or "sharedAudienceMetric" in data
        or data["audienceSizeConfig"]["audienceSizeBins"] == [5, 150]
        or data["outputConfig"]["destination"]["s3Destination"]["s3Uri"].startswith("s3://someone-elses-bucket/")
        or data.get("sharedAudienceMetrics") == ["ALL"]
    )
