"""Collects concurrent calls for one model into batches for the runtime."""

from __future__ import annotations

import asyncio

from offchain.runtime import Runtime


class MicroBatcher:
    """Collects concurrent calls for one model into batches for the runtime."""

    def __init__(self, runtime: Runtime, max_batch: int = 64, max_wait: float = 0.002):
        self.runtime = runtime
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.queue: asyncio.Queue | None = None

    async def run(self, array) -> bytes:
        if self.queue is None:
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._loop())
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((array, future))
        return await future

    async def _loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            deadline = asyncio.get_running_loop().time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            try:
                results = await asyncio.to_thread(self.runtime.infer, [a for a, _ in batch])
                for (_, future), result in zip(batch, results, strict=True):
                    future.set_result(result)
            except Exception as exc:  # the callers get the error, the loop goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
