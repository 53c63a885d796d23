"""Work on many models at once, on a bounded thread pool, results in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_parallel(
    items: Sequence[T], work: Callable[[T], R], concurrency: int, on_done: Callable[[R], None] | None = None
) -> list[R]:
    """work(item) for each item on a bounded thread pool; results in input order."""
    results: list[R | None] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="cam-gitops") as pool:
        futures = {pool.submit(work, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_done is not None:
                on_done(result)
    return [r for r in results if r is not None]
