"""The micro-batcher both the paid API and the unpaid baseline run the model through."""

import asyncio

from offchain import inputs
from offchain.channels import MicroBatcher


class CountingRuntime:
    """The real runtime, with the size of each batch it was given recorded."""

    def __init__(self, runtime):
        self.runtime, self.spec, self.sizes = runtime, runtime.spec, []

    def infer(self, arrays):
        self.sizes.append(len(arrays))
        return self.runtime.infer(arrays)


def test_run__lone_call_runs_alone_at_once__concurrent_calls_share_one_batch(runtime, spec, digits):
    arrays = [inputs.parse(spec.input_schema, d) for d in digits[:8]]
    counting = CountingRuntime(runtime)

    async def scenario():
        batcher = MicroBatcher(counting)
        alone = await batcher.run(arrays[0])
        together = await asyncio.gather(*(batcher.run(a) for a in arrays))
        return alone, together

    alone, together = asyncio.run(scenario())
    assert counting.sizes == [1, 8]  # no waiting for company, and no call left out of the next batch
    assert [alone, *together] == runtime.infer(arrays[:1]) + runtime.infer(arrays)


def test_run__batch_too_big__split_at_max_batch(runtime, spec, digits):
    arrays = [inputs.parse(spec.input_schema, d) for d in digits[:8]]
    counting = CountingRuntime(runtime)

    async def scenario():
        batcher = MicroBatcher(counting, max_batch=3)
        return await asyncio.gather(*(batcher.run(a) for a in arrays))

    assert asyncio.run(scenario()) == runtime.infer(arrays)
    assert counting.sizes == [3, 3, 2]
