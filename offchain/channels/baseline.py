"""The unpaid baseline of the channel benchmark: a plain FastAPI + ONNX Runtime server.

The same input document, parsing, runtime, micro-batching and answer (result bytes and decoded output)
as the paid API, minus everything about payment: no voucher, no books, no receipt. What the paid API
costs on top of serving a model is the difference between the two, measured by `ape run bench_channels`
in one run with the same clients.
"""

from __future__ import annotations

from pydantic import BaseModel

from offchain import canonical, inputs
from offchain.channels.batcher import MicroBatcher
from offchain.errors import BadInput
from offchain.runtime import Runtime


class UnpaidBody(BaseModel):
    input: str


def create_unpaid_app(runtimes: dict[int, Runtime]):
    """POST /v1/models/{model_id}/infer {"input": "..."} -> {"result": "0x..", "decoded": {...}}."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import JSONResponse

    app = FastAPI(title="Unpaid baseline: FastAPI + ONNX Runtime", version="1")
    batchers = {model_id: MicroBatcher(runtime) for model_id, runtime in runtimes.items()}

    @app.post("/v1/models/{model_id}/infer")
    async def infer(model_id: int, body: UnpaidBody):
        if model_id not in runtimes:
            raise HTTPException(404, f"no model {model_id} here")
        runtime = runtimes[model_id]
        try:
            array = inputs.parse(runtime.spec.input_schema, body.input.encode())
        except BadInput as exc:
            raise HTTPException(422, str(exc)) from exc
        result = await batchers[model_id].run(array)
        kind, scale = runtime.spec.encoding
        return JSONResponse({"result": "0x" + result.hex(), "decoded": canonical.decode(kind, scale, result)})

    return app
