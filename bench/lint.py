"""Benchmark: `cam-gitops check` versus `check-jsonschema` on the same model files.

For each N it writes N realistic model files (ABSOLUTE and PERCENTAGE, 80% YAML and 20%
JSON, ~5% invalid: half schema errors, half policy errors) into a temporary repository with
the shipped policy.yaml, then times both tools as whole processes, interleaved A/B, and
prints the median wall time of each and their ratio. Both get the same explicit file list,
as pre-commit passes it.

    python bench/lint.py            # N = 1, 100, 1000, 10000; 5 runs each (~5 min)
    python bench/lint.py --quick    # N = 1, 100, 1000; 3 runs (smoke test, ~30 s)

Then the pre-commit case in a large repository: one changed file checked in a repository of
10,000 model files (duplicate-arn compares it with every other file), against the same file
in a repository of one file, and against check-jsonschema on that one file.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CAM_GITOPS,
    CHECK_JSONSCHEMA,
    SCHEMA,
    bench_env,
    fmt_seconds,
    make_repo,
    median,
    table,
    timed,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, N up to 1,000 (smoke test)")
    parser.add_argument("--runs", type=int, default=None, help="runs per tool and N (default 5, --quick 3)")
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None, help="comma-separated N values"
    )
    args = parser.parse_args()
    sizes = args.sizes or ([1, 100, 1000] if args.quick else [1, 100, 1000, 10000])
    runs = max(1, args.runs or (3 if args.quick else 5))
    if not Path(CHECK_JSONSCHEMA).exists():
        print(f"check-jsonschema not found at {CHECK_JSONSCHEMA}: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    env = bench_env()
    rows = []
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="cam-bench-lint-") as temporary:
            root = Path(temporary)
            written = make_repo(root, count)
            files = sorted(str(path.relative_to(root)) for path, _ in written)
            ours_cmd = [CAM_GITOPS, "check", "--format", "json", *files]
            theirs_cmd = [CHECK_JSONSCHEMA, "--schemafile", str(SCHEMA), *files]
            # Exit 1 is expected: ~5% of the files are invalid (none at N=1).
            expect = lambda code: code in (0, 1)  # noqa: E731
            timed(ours_cmd, root, env, ok=expect)  # warm the page cache and .pyc files for both
            timed(theirs_cmd, root, env, ok=expect)
            ours, theirs = [], []
            for _ in range(runs):
                ours.append(timed(ours_cmd, root, env, ok=expect))
                theirs.append(timed(theirs_cmd, root, env, ok=expect))
            a, b = median(ours), median(theirs)
            rows.append([f"{count:,}", fmt_seconds(a), fmt_seconds(b), f"{a / b:.3f} (1/{b / a:.1f})"])
            print(f"N={count:,}: cam-gitops {fmt_seconds(a)}, check-jsonschema {fmt_seconds(b)}", file=sys.stderr)
    print(
        f"cam-gitops check vs check-jsonschema: median wall time of {runs} interleaved runs per tool, whole "
        f"processes, both given the same explicit file list (as pre-commit passes them), .pyc caching on for both; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(table(["N files", "cam-gitops check", "check-jsonschema", "ratio (ours/theirs)"], rows))
    print()
    print(hook_in_a_large_repository(env, runs, 1000 if args.quick else 10000))
    return 0


def hook_in_a_large_repository(env: dict[str, str], runs: int, size: int) -> str:
    """One changed file, as pre-commit passes it, in a repository of `size` model files and of one."""
    expect = lambda code: code in (0, 1)  # noqa: E731
    times: dict[str, list[float]] = {"large": [], "small": [], "theirs": []}
    with tempfile.TemporaryDirectory(prefix="cam-bench-hook-") as large, tempfile.TemporaryDirectory() as small:
        large_root, small_root = Path(large), Path(small)
        written = make_repo(large_root, size, invalid_share=0.0)
        changed = str(sorted(path for path, _ in written)[size // 2].relative_to(large_root))
        (small_root / "models").mkdir()
        (small_root / "policy.yaml").write_bytes((large_root / "policy.yaml").read_bytes())
        (small_root / changed).parent.mkdir(parents=True, exist_ok=True)
        (small_root / changed).write_bytes((large_root / changed).read_bytes())
        commands = {
            "large": ([CAM_GITOPS, "check", changed], large_root),
            "small": ([CAM_GITOPS, "check", changed], small_root),
            "theirs": ([CHECK_JSONSCHEMA, "--schemafile", str(SCHEMA), changed], large_root),
        }
        for command, root in commands.values():
            timed(command, root, env, ok=expect)
        for _ in range(runs):
            for name, (command, root) in commands.items():
                times[name].append(timed(command, root, env, ok=expect))
    large_s, small_s, theirs_s = (median(times[k]) for k in ("large", "small", "theirs"))
    title = (
        f"pre-commit in a large repository: 1 changed file, median of {runs} interleaved runs; "
        f"cam-gitops compares its ARN with every other model file (duplicate-arn)"
    )
    rows = [
        [f"cam-gitops check, 1 of {size:,} files", fmt_seconds(large_s), "1.00"],
        ["cam-gitops check, 1-file repository", fmt_seconds(small_s), f"{small_s / large_s:.2f}"],
        ["check-jsonschema, the same file", fmt_seconds(theirs_s), f"{theirs_s / large_s:.2f}"],
    ]
    return title + "\n" + table(["run", "wall", "ratio to the first row"], rows)


if __name__ == "__main__":
    sys.exit(main())
