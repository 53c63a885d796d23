"""Benchmark: `cam-gitops apply` throughput against the emulator, and cost of --changed-since.

1. Throughput: N models (N = 100, 1000) that all need an update, against the emulator
   started as a subprocess with --latency-ms 50; `cam-gitops apply --concurrency C` for
   C = 1, 8, 16, 32, timed as a whole process. The emulator is restarted (reseeded) before
   every run, so every run updates all N. Efficiency = (N x ideal per-model time / C) /
   measured, where the ideal per-model time is 4 calls (Get, GetPolicy, Update, Get) x 50 ms:
   the shipped policy judges resource policies (allowed-principals), so the live policy of
   every model is read too. C = 1 at N = 1000 takes ~200 s and is skipped unless --full.
2. Reconcile (what the merge job runs): N = 1,000 and 10,000 model files, live state equal to
   the files but for one model; `cam-gitops apply --concurrency 16` reads every model (its Get
   and, because the shipped policy judges resource policies, its GetPolicy) and updates the one.
   Ideal = N x 2 reads x 50 ms / 16, plus the update and its read-back (2 x 50 ms);
   efficiency = ideal / measured.
3. Cost grows with the change: a git repository of 10,000 model files, one changed in the
   last commit; `apply --changed-since HEAD~1` there versus `apply models/<that file>` in a
   repository holding only that file. API calls are counted by the emulator
   (GET /_emulator/requests).

    python bench/apply.py            # ~10 min
    python bench/apply.py --quick    # N = 100 only, one run each, reconcile and changed-since on 1,000 files
    python bench/apply.py --full     # also C = 1 at N = 1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ACCOUNT,
    CAM_GITOPS,
    fmt_seconds,
    isolated_aws_env,
    make_repo,
    median,
    render,
    table,
)

LATENCY_MS = 50
# GetConfiguredAudienceModel, GetConfiguredAudienceModelPolicy (the shipped policy's allowed-principals
# judges the live resource policy), UpdateConfiguredAudienceModel, GetConfiguredAudienceModel (read-back)
CALLS_PER_MODEL = 4
READS_PER_MODEL = 2  # a reconcile of an unchanged model: its Get and its GetPolicy
IDEAL_PER_MODEL_S = CALLS_PER_MODEL * LATENCY_MS / 1000
STARTUP_TIMEOUT_S = 60


def live_record(data: dict[str, Any]) -> dict[str, Any]:
    """The live state of a model file's model: differs in minMatchingSeedSize and sharedAudienceMetrics."""
    arn = data["configuredAudienceModelArn"]
    record = {key: value for key, value in data.items() if key != "description"}
    record.update(
        name=arn.rsplit("/", 1)[-1][:20],
        minMatchingSeedSize=500,
        sharedAudienceMetrics=["ALL"],
        description="stale description",
    )
    return record


def write_seed(path: Path, models: list[dict[str, Any]]) -> None:
    records = [live_record(data) for data in models]
    audience = sorted({data["audienceModelArn"] for data in models})
    path.write_text(json.dumps({"audienceModels": audience, "configuredAudienceModels": records}), encoding="utf-8")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Emulator:
    """The emulator as a subprocess on loopback; stopped with SIGTERM (then killed) on exit."""

    def __init__(self, seed: Path, workdir: Path) -> None:
        self.log = workdir / f"emulator-{time.monotonic_ns()}.log"
        argv = [
            sys.executable,
            "-m",
            "cam_gitops.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--latency-ms",
            str(LATENCY_MS),
        ]
        env = isolated_aws_env(workdir)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        self.url = ""
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if "listening on" in text:
                self.url = text.split("listening on", 1)[1].split()[0]
                break
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator exited {self.process.returncode}: {text[-2000:]}")
            time.sleep(0.05)
        if not self.url:
            self.stop()
            raise RuntimeError("emulator did not start in time")

    def counts(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_emulator/requests", timeout=10) as response:  # loopback only
            counts: dict[str, Any] = json.load(response)
        return counts

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def emulator(seed: Path, workdir: Path) -> Iterator[Emulator]:
    server = Emulator(seed, workdir)
    try:
        yield server
    finally:
        server.stop()


def run_apply(repo: Path, server: Emulator, workdir: Path, *args: str) -> dict[str, float]:
    """One `cam-gitops apply` process: wall time, its CPU time, the emulator's CPU time, calls."""
    env = isolated_aws_env(workdir, server.url)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_emulator = server.cpu_seconds()
    start = time.perf_counter()
    completed = subprocess.run(
        [CAM_GITOPS, "apply", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
        check=False,
    )
    wall = time.perf_counter() - start
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"apply exited {completed.returncode}: {completed.stderr.decode()[-3000:]}")
    counts = server.counts()
    cleanrooms = sum(n for key, n in counts["operations"].items() if key.startswith("cleanrooms-ml:"))
    return {
        "wall": wall,
        "cpu": (after_children.ru_utime - before_children.ru_utime)
        + (after_children.ru_stime - before_children.ru_stime),
        "emulator_cpu": server.cpu_seconds() - before_emulator,
        "calls": float(cleanrooms),
        "total_calls": float(counts["total"]),
    }


def throughput(sizes: list[int], concurrencies: list[int], runs: int, full: bool, workdir: Path) -> str:
    rows = []
    notes = []
    for count in sizes:
        repo = workdir / f"repo-{count}"
        written = make_repo(repo, count, invalid_share=0.0, seed=7)
        seed = workdir / f"seed-{count}.json"
        write_seed(seed, [data for _, data in written])
        for concurrency in concurrencies:
            if concurrency == 1 and count >= 1000 and not full:
                notes.append(f"C=1 at N={count:,} skipped (~{count * IDEAL_PER_MODEL_S:.0f} s; run with --full)")
                continue
            samples = []
            for _ in range(runs):
                with emulator(seed, workdir) as server:
                    samples.append(run_apply(repo, server, workdir, "--concurrency", str(concurrency)))
                if samples[-1]["calls"] != CALLS_PER_MODEL * count:
                    raise RuntimeError(
                        f"expected {CALLS_PER_MODEL * count} CleanRoomsML calls, "
                        f"the emulator served {samples[-1]['calls']:.0f}"
                    )
            wall = median([s["wall"] for s in samples])
            ideal = count * IDEAL_PER_MODEL_S / concurrency
            cpu = median([s["cpu"] for s in samples])
            emulator_cpu = median([s["emulator_cpu"] for s in samples])
            rows.append(
                [
                    f"{count:,}",
                    str(concurrency),
                    fmt_seconds(wall),
                    f"{count / wall:.1f}",
                    fmt_seconds(ideal),
                    f"{ideal / wall:.2f}",
                    f"{cpu / wall:.0%}",
                    f"{emulator_cpu / wall:.0%}",
                ]
            )
            print(f"N={count:,} C={concurrency}: {fmt_seconds(wall)}, efficiency {ideal / wall:.2f}", file=sys.stderr)
    text = table(
        ["N", "concurrency", "wall", "models/s", "ideal", "efficiency", "cam-gitops CPU", "emulator CPU"], rows
    )
    header = (
        f"cam-gitops apply against the emulator (--latency-ms {LATENCY_MS}), every model needing an update; "
        f"median of {runs} run(s), whole process; ideal = N x {CALLS_PER_MODEL} calls x {LATENCY_MS} ms / "
        "concurrency; CPU columns are CPU seconds / wall (100% = one core)"
    )
    return "\n".join([header, text, *notes])


RECONCILE_CONCURRENCY = 16


def reconcile(sizes: list[int], runs: int, workdir: Path) -> str:
    """apply (no paths) over N model files whose live state matches, but for one model."""
    rows = []
    for count in sizes:
        repo = workdir / f"repo-reconcile-{count}"
        written = make_repo(repo, count, invalid_share=0.0, seed=13)
        live = [dict(data, name=data["configuredAudienceModelArn"].rsplit("/", 1)[-1][:20]) for _, data in written]
        changed = random.Random(5).randrange(count)
        live[changed]["minMatchingSeedSize"] += 1000  # someone changed it in the console: the merge restores it
        seed = workdir / f"seed-reconcile-{count}.json"
        audience = sorted({data["audienceModelArn"] for data in live})
        seed.write_text(json.dumps({"audienceModels": audience, "configuredAudienceModels": live}), encoding="utf-8")
        samples = []
        for _ in range(runs):
            with emulator(seed, workdir) as server:
                samples.append(run_apply(repo, server, workdir, "--concurrency", str(RECONCILE_CONCURRENCY)))
            if samples[-1]["calls"] != READS_PER_MODEL * count + 2:
                raise RuntimeError(
                    f"expected {READS_PER_MODEL * count + 2} CleanRoomsML calls, "
                    f"the emulator served {samples[-1]['calls']:.0f}"
                )
        wall = median([s["wall"] for s in samples])
        ideal = count * READS_PER_MODEL * LATENCY_MS / 1000 / RECONCILE_CONCURRENCY + 2 * LATENCY_MS / 1000
        rows.append(
            [
                f"{count:,}",
                fmt_seconds(wall),
                f"{max(s['total_calls'] for s in samples):.0f}",
                fmt_seconds(ideal),
                f"{ideal / wall:.2f}",
            ]
        )
        print(f"reconcile N={count:,}: {fmt_seconds(wall)}, efficiency {ideal / wall:.2f}", file=sys.stderr)
    header = (
        f"Reconcile on merge: `cam-gitops apply --concurrency {RECONCILE_CONCURRENCY}` over N files, 1 model "
        f"differing, emulator --latency-ms {LATENCY_MS}; median of {runs} run(s), whole process; ideal = "
        f"N x {READS_PER_MODEL} reads x {LATENCY_MS} ms / {RECONCILE_CONCURRENCY} + 2 x {LATENCY_MS} ms "
        "(the update and its read-back); API calls = every request served "
        "(N Gets, N GetPolicy, 1 Update, 1 Get, STS)"
    )
    return "\n".join([header, table(["N", "wall", "API calls", "ideal", "efficiency"], rows)])


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, stdin=subprocess.DEVNULL)


def changed_since(total: int, runs: int, workdir: Path) -> str:
    """apply --changed-since HEAD~1 with 1 changed model among `total` versus apply of that one file alone."""
    big = workdir / f"repo-changed-{total}"
    written = make_repo(big, total, invalid_share=0.0, seed=11)
    git(big, "init", "-q", "-b", "main")
    for key, value in (("user.email", "bench@example.com"), ("user.name", "bench"), ("commit.gpgsign", "false")):
        git(big, "config", key, value)
    git(big, "add", "-A")
    git(big, "commit", "-qm", "models")
    index = random.Random(3).randrange(total)
    path, data = written[index]
    data = dict(data, minMatchingSeedSize=data["minMatchingSeedSize"] + 1000)  # the change of the last commit
    path.write_text(render(data, path.suffix), encoding="utf-8")
    git(big, "commit", "-qam", "raise the seed floor of one model")
    relative = str(path.relative_to(big))
    small = workdir / "repo-changed-1"
    make_repo(small, 0)
    (small / relative).parent.mkdir(parents=True, exist_ok=True)
    (small / relative).write_bytes(path.read_bytes())
    seed = workdir / f"seed-changed-{total}.json"
    write_seed(seed, [d for _, d in written[:index]] + [data] + [d for _, d in written[index + 1 :]])
    many, one, calls_many, calls_one = [], [], [], []
    for _ in range(runs):  # interleaved, a fresh emulator each time: the model always needs its update
        with emulator(seed, workdir) as server:
            result = run_apply(big, server, workdir, "--changed-since", "HEAD~1")
        many.append(result["wall"])
        calls_many.append(result["total_calls"])
        with emulator(seed, workdir) as server:
            result = run_apply(small, server, workdir, relative)
        one.append(result["wall"])
        calls_one.append(result["total_calls"])
    a, b = median(many), median(one)
    rows = [
        [f"apply --changed-since HEAD~1 ({total:,} files, 1 changed)", fmt_seconds(a), f"{max(calls_many):.0f}"],
        [f"apply {relative} (1-file repo)", fmt_seconds(b), f"{max(calls_one):.0f}"],
    ]
    header = (
        f"Cost grows with the change: median of {runs} interleaved runs; API calls = every request the "
        "emulator served (CleanRoomsML + STS)"
    )
    return "\n".join([header, table(["run", "wall", "API calls"], rows), f"ratio: {a / b:.2f}x the 1-model time"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 only, one run, changed-since on 1,000 files")
    parser.add_argument("--full", action="store_true", help="also concurrency 1 at N = 1,000 (~150 s)")
    parser.add_argument("--runs", type=int, default=None, help="runs per configuration (default 3, --quick 1)")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=None,
        help="comma-separated N values (default 100,1000)",
    )
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 8, 16, 32],
        help="comma-separated concurrency values (default 1,8,16,32)",
    )
    parser.add_argument(
        "--reconcile-sizes",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=None,
        help="comma-separated N values of the reconcile run (default 1000,10000, --quick 1000; empty skips)",
    )
    parser.add_argument(
        "--changed-total",
        type=int,
        default=None,
        help="files in the --changed-since repository (default 10000, --quick 1000; 0 skips)",
    )
    args = parser.parse_args()
    runs = max(1, args.runs or (1 if args.quick else 3))
    sizes = args.sizes if args.sizes is not None else ([100] if args.quick else [100, 1000])
    changed_total = args.changed_total if args.changed_total is not None else (1000 if args.quick else 10_000)
    reconcile_sizes = (
        args.reconcile_sizes if args.reconcile_sizes is not None else ([1000] if args.quick else [1000, 10_000])
    )
    with tempfile.TemporaryDirectory(prefix="cam-bench-apply-") as temporary:
        workdir = Path(temporary)
        sections = [throughput(sizes, args.concurrency, runs, args.full, workdir) if sizes else ""]
        sections.append(reconcile(reconcile_sizes, runs, workdir) if reconcile_sizes else "")
        sections.append(changed_since(changed_total, runs, workdir) if changed_total else "")
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}, account {ACCOUNT}, emulator on loopback")
    print("\n\n".join(section for section in sections if section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
