"""Collects concurrent calls for one model into batches for the runtime."""

from __future__ import annotations

import asyncio
from typing import Protocol

from offchain.runtime import Runtime


class AfterBatch(Protocol):
    """What runs in the runtime's thread right after a batch (the paid API: receipts and their commit)."""

    def answer(self, contexts: list, results: list[bytes]) -> list:
        """Each call's answer (or the exception it gets) from its context and result bytes."""

    def refuse(self, contexts: list, error: Exception) -> None:
        """The runtime raised `error` on the batch; raises."""


class MicroBatcher:
    """Collects concurrent calls for one model into batches for the runtime.

    It never waits for company: a call that finds the runtime idle runs at once (alone, or with whatever
    queued meanwhile); calls that arrive while a batch runs form the next batch (up to `max_batch`). A
    lone client pays no batching delay, concurrent ones share one graph call per batch. With `after`,
    a call's `run` answers `after.answer(...)`'s item for it, computed in the same thread hand-off as the
    batch's graph call (the paid API signs and commits there: one hand-off per batch, not three)."""

    def __init__(self, runtime: Runtime, max_batch: int = 64, after: AfterBatch | None = None):
        self.runtime = runtime
        self.max_batch = max_batch
        self.after = after
        self.queue: asyncio.Queue | None = None

    async def run(self, array, context=None):
        if self.queue is None:
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._loop())
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((array, context, future))
        return await future

    async def _loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                results = await asyncio.to_thread(self._work, [a for a, _, _ in batch], [c for _, c, _ in batch])
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
            except Exception as exc:  # the callers get the error, the loop goes on
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)

    def _work(self, arrays: list, contexts: list) -> list:
        try:
            results = self.runtime.infer(arrays)
        except Exception as exc:
            if self.after is None:
                raise
            self.after.refuse(contexts, exc)
            raise
        return results if self.after is None else self.after.answer(contexts, results)
