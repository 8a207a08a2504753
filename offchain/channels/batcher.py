"""Collects concurrent calls for one model into batches for the runtime."""

from __future__ import annotations

import asyncio

from offchain.runtime import Runtime


class MicroBatcher:
    """Collects concurrent calls for one model into batches for the runtime.

    It never waits for company: a call that finds the runtime idle runs at once (alone, or with whatever
    queued meanwhile); calls that arrive while a batch runs form the next batch (up to `max_batch`). A
    lone client pays no batching delay, concurrent ones share one graph call per batch."""

    def __init__(self, runtime: Runtime, max_batch: int = 64):
        self.runtime = runtime
        self.max_batch = max_batch
        self.queue: asyncio.Queue | None = None

    async def run(self, array) -> bytes:
        if self.queue is None:
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._loop())
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((array, future))
        return await future

    async def _loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                results = await asyncio.to_thread(self.runtime.infer, [a for a, _ in batch])
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            except Exception as exc:  # the callers get the error, the loop goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
