"""Mutation score of the policy engine, per module and overall, from mutmut's results.

Reads the `.meta` files mutmut 3 writes next to each mutated module under mutants/. A mutant
counts as killed when a test failed on it, it timed out or it crashed; every other outcome (survived,
no test reached it, not run) counts against the score. Lists the mutants that did not die,
and exits 1 when the overall score is below the threshold, 2 when there is nothing to score.

    python mutation/score.py [--threshold 90] [--mutants mutants]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut/stats.py): a test failed (1, or 3 for an error inside pytest),
# or the mutant ran out of CPU time (SIGXCPU, then SIGKILL one second later: -9) or crashed
# the interpreter. An endless loop or a crash is as visible to a user as a failure.
KILLED = frozenset({1, 3, 24, -24, 36, 152, 255, -9, -11})
OUTCOME = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", None: "not run"}


def module_results(mutants: Path) -> dict[str, list[tuple[str, int | None]]]:
    """module path -> [(mutant name, exit code)] for every mutated module."""
    results: dict[str, list[tuple[str, int | None]]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        results[module] = sorted(codes.items())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=90.0, help="minimum overall score, in percent")
    parser.add_argument("--mutants", type=Path, default=Path("mutants"), help="mutmut's working copy")
    args = parser.parse_args(argv)
    results = module_results(args.mutants)
    if not results:
        print(f"no mutmut results under {args.mutants}/: run `make mutate`", file=sys.stderr)
        return 2
    total = killed = 0
    alive: list[tuple[str, str]] = []
    print(f"{'module':<32} {'killed':>7} {'total':>6} {'score':>7}")
    for module, codes in results.items():
        dead = sum(1 for _, code in codes if code in KILLED)
        alive += [(name, OUTCOME.get(code, f"exit {code}")) for name, code in codes if code not in KILLED]
        total += len(codes)
        killed += dead
        print(f"{module:<32} {dead:>7} {len(codes):>6} {_percent(dead, len(codes)):>7}")
    score = 100.0 * killed / total if total else 0.0
    print(f"{'overall':<32} {killed:>7} {total:>6} {_percent(killed, total):>7}")
    if alive:
        outcomes = Counter(outcome for _, outcome in alive)
        print(f"\n{len(alive)} not killed ({', '.join(f'{n} {o}' for o, n in sorted(outcomes.items()))}):")
        for name, outcome in alive:
            print(f"  {name}  [{outcome}]  (mutmut show {name})")
    if score < args.threshold:
        print(f"\nmutation score {score:.1f}% is below {args.threshold:g}%", file=sys.stderr)
        return 1
    return 0


def _percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


if __name__ == "__main__":
    sys.exit(main())
