"""The worker's HTTP API (FastAPI; OpenAPI at /openapi.json, docs at /docs).

It calls only the public methods of `ChannelWorker`. Malformed fields are
answered 422 with one reason, `{"detail": "<field>: <reason>"}`; refused
calls with the status `CallRejected` carries.

The paid call itself is served by `PaidCallLane`, a plain ASGI layer in front
of FastAPI's request machinery: routing, dependency solving and the
exception and telemetry middlewares cost the event loop more CPU per call
than checking the voucher against its signature and the books together
(`ape run bench_channels`, docs/channels.md). FastAPI keeps every other route and the OpenAPI schema;
both go through `answer_call`, the one place a call is validated and served.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from contextlib import asynccontextmanager, contextmanager

from pydantic import BaseModel, ValidationError, field_validator
from starlette.requests import Request  # at module level: FastAPI resolves the route's annotations here

from offchain import canonical, inputs
from offchain.channels.batcher import MicroBatcher
from offchain.channels.errors import CallRejected
from offchain.channels.worker import ChannelWorker, PendingCall
from offchain.errors import BadInput

log = logging.getLogger("offchain.channels")

MAX_BODY = 16 * 1024  # bytes of one call
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
_CHANNEL_ID = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_SESSION = re.compile(r"0x[0-9a-fA-F]{32}")


class VoucherBody(BaseModel):
    amount: int  # cumulative wei this channel may now pay
    signature: str  # 0x-hex, 65 bytes, by the channel's payer

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number of wei (a JSON integer)")
        if value < 0:
            raise ValueError("must not be negative")
        if value >= 2**256:
            raise ValueError("must be below 2**256")
        return value

    @field_validator("signature", mode="before")
    @classmethod
    def _signature(cls, value):
        if not isinstance(value, str) or not _SIGNATURE.fullmatch(value):
            raise ValueError("must be 0x and 130 hex digits (65 bytes)")
        return value


class CallBody(BaseModel):
    input: str  # the input document, e.g. {"pixels": [...]} for the digits model
    # Pays for this call (and, beyond it, for later calls: prepaid credit). Without one, the call is paid
    # from the credit of the channel's latest voucher and must carry that voucher's session token.
    voucher: VoucherBody | None = None
    session: str | None = None  # 0x-hex, 16 random bytes the payer chose: spends the credit

    @field_validator("session", mode="before")
    @classmethod
    def _session(cls, value):
        if value is not None and (not isinstance(value, str) or not _SESSION.fullmatch(value)):
            raise ValueError("must be 0x and 32 hex digits (16 bytes)")
        return value


class Answer(BaseModel):
    seq: int
    result: str  # 0x-hex canonical result bytes
    result_hash: str
    input_hash: str
    receipt: str  # the worker's InferenceReceipt signature
    credit: int  # wei of prepaid credit left after this call
    decoded: dict


def channel_id_of(text: str) -> bytes:
    """A channel id from its path segment (32 bytes of hex, 0x optional)."""
    if not _CHANNEL_ID.fullmatch(text):
        raise CallRejected(422, "channel_id: must be 0x and 64 hex digits (32 bytes)")
    return bytes.fromhex(text.removeprefix("0x"))


async def follow(worker: ChannelWorker) -> None:
    """The background task: the worker's tick, every tick interval, for as long as the app runs."""
    while True:
        try:
            interval = await asyncio.to_thread(worker.tick_interval)
            done = await asyncio.to_thread(worker.tick)
            if done.paid or done.dropped:
                log.info("settled %s wei on %d channels; dropped %d", done.total, len(done.paid), len(done.dropped))
        except asyncio.CancelledError:
            raise
        except Exception:  # the node hiccups: the next tick tries again
            log.exception("channel tick failed")
            interval = worker.tick_every or 15.0
        await asyncio.sleep(interval)


class LimitBody:
    """Answers 413 to a call whose declared body is over MAX_BODY bytes, before anything reads it. Plain
    ASGI: Starlette's `@app.middleware("http")` runs every request through a task group and memory
    streams, which cost the paid API as much CPU as checking the voucher's signature."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY):
                    from fastapi.responses import JSONResponse

                    response = JSONResponse({"detail": f"body over {MAX_BODY} bytes"}, status_code=413)
                    return await response(scope, receive, send)
        await self.app(scope, receive, send)


class PaidCallLane:
    """Serves `POST /v1/channels/{channel_id}/infer` straight from ASGI with `answer_call`, ahead of FastAPI's
    routing, dependency solving and middlewares (which passes every other request on). The body is read up
    to MAX_BODY bytes (413 beyond, declared or not); an error the call raises is FastAPI's: a 500, logged."""

    def __init__(self, app, answer_call):
        self.app = app
        self.answer_call = answer_call

    async def __call__(self, scope, receive, send):
        parts = scope["path"].split("/") if scope["type"] == "http" and scope["method"] == "POST" else ()
        if len(parts) != 5 or parts[:3] != ["", "v1", "channels"] or parts[4] != "infer" or not parts[3]:
            return await self.app(scope, receive, send)
        try:
            body = await read_body(receive)
        except CallRejected as exc:
            return await _send_json(send, exc.status, {"detail": str(exc)})
        if body is None:  # the client left mid-body: nothing to serve, nobody to charge
            return
        status, answer = await self.answer_call(parts[3], body)
        await _send_json(send, status, answer)


async def read_body(receive) -> bytes | None:
    """A request's body from ASGI `receive`, declared or streamed: None if the client left before it was
    complete; `CallRejected` 413 past MAX_BODY bytes (nothing more is read)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            raise CallRejected(413, f"body over {MAX_BODY} bytes")
        if not message.get("more_body"):
            return bytes(body)


async def _send_json(send, status: int, answer: dict) -> None:
    data = json.dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()  # as JSONResponse
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def _first_error(errors: list) -> str:
    """One line for a malformed body: the first field and its reason (`voucher.amount: must not be negative`)."""
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"] if part != "body") or "body"
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


def _declare_schema(app) -> None:
    """Puts CallBody (and the models it uses) in the OpenAPI components, for the call route's request body
    (declared by hand: the route reads raw bytes, validated with `CallBody.model_validate_json`)."""
    from fastapi.openapi.utils import get_openapi

    def openapi():
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            defs = CallBody.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(defs.pop("$defs", {}))
            components["CallBody"] = defs
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def create_app(worker: ChannelWorker):
    """The worker's HTTP API over `worker`; with `worker.tick_every` set, it follows the chain and settles
    in the background while it runs."""
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response

    @asynccontextmanager
    async def lifespan(app):
        app.state.follower = asyncio.create_task(follow(worker)) if worker.tick_every else None
        try:
            yield
        finally:
            if app.state.follower is not None:
                app.state.follower.cancel()
                try:
                    await app.state.follower
                except (asyncio.CancelledError, Exception):
                    pass

    app = FastAPI(title="Neural Commons worker: paid calls over channels", version="1", lifespan=lifespan)
    # The model's thread hand-off also signs the batch's receipts and commits its vouchers and receipts.
    batchers = {model_id: MicroBatcher(runtime, after=worker) for model_id, runtime in worker.runtimes.items()}

    app.add_middleware(LimitBody)

    @app.exception_handler(CallRejected)
    async def rejected(_: Request, exc: CallRejected):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(BadInput)
    async def bad_input(_: Request, exc: BadInput):
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _first_error(exc.errors())}, status_code=422)

    async def serve(channel_id: str, call: CallBody) -> dict:
        cid = channel_id_of(channel_id)
        session = bytes.fromhex(call.session[2:]) if call.session is not None else None
        book = worker.fresh_channel(cid) or await asyncio.to_thread(worker.channel, cid)
        runtime = worker.runtimes[book.model_id]
        document = call.input.encode()
        array = inputs.parse(runtime.spec.input_schema, document)  # before the voucher counts the call
        if isinstance(array, inputs.ContractRef):
            raise BadInput("contract models are served per request (the worker reads the code from its node), "
                           "not over channels")
        if call.voucher is None:
            book, seq, generation = worker.stage_prepaid(book, cid, session)
        else:
            amount, signature = call.voucher.amount, bytes.fromhex(call.voucher.signature[2:])
            worker.check_voucher(book, cid, amount, signature)
            if amount > book.deposit:  # perhaps funded since
                book = await asyncio.to_thread(worker.channel, cid, refresh=True)
            book, seq, generation = worker.stage_voucher(book, cid, amount, signature, session)
        credit = book.credit
        # Taken in memory (a concurrent or replayed voucher for as much is refused from here on); the answer
        # comes once the voucher, the seq and the receipt are on disk, in the batch's one commit.
        served = await batchers[book.model_id].run(array, PendingCall(cid, book.model_id, seq, generation, document))
        if worker.due_for_settlement():
            asyncio.get_running_loop().run_in_executor(None, lambda: worker.settle(wait=False))
        kind, scale = runtime.spec.encoding
        return {"seq": seq, "result": "0x" + served.result.hex(), "result_hash": "0x" + served.result_hash.hex(),
                "input_hash": "0x" + served.input_hash.hex(), "receipt": "0x" + served.receipt.hex(),
                "credit": credit, "decoded": canonical.decode(kind, scale, served.result)}

    async def answer_call(channel_id: str, body: bytes) -> tuple[int, dict]:
        """(status, JSON answer) of a paid call: the answer, or `{"detail": <one line>}`."""
        try:
            try:
                call = CallBody.model_validate_json(body)
            except ValidationError as exc:
                raise CallRejected(422, _first_error(exc.errors())) from None
            return 200, await serve(channel_id, call)
        except CallRejected as exc:
            return exc.status, {"detail": str(exc)}
        except BadInput as exc:
            return 422, {"detail": str(exc)}

    @app.post("/v1/channels/{channel_id}/infer", response_model=Answer,
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/CallBody"}}}}})
    async def infer(channel_id: str, request: Request):
        """A paid call: the input document and a voucher that pays for it; answers the output and a receipt
        signed by the worker's registered key."""
        # `PaidCallLane` serves this path ahead of FastAPI; this route declares it in the OpenAPI schema and
        # serves it the same way where the lane does not (an app without it, or a path the lane passes on that
        # the route's pattern still matches, such as one ending in an encoded newline): bounded the same way.
        body = await read_body(request.receive)  # a CallRejected 413 is answered by the handler above
        if body is None:
            return Response(status_code=400)  # the client left: nobody reads this
        status, answer = await answer_call(channel_id, body)
        return JSONResponse(answer, status_code=status)

    _declare_schema(app)

    @app.get("/v1/channels/{channel_id}")
    async def status(channel_id: str) -> dict:
        return await asyncio.to_thread(worker.status, channel_id_of(channel_id))

    @app.post("/v1/settle")
    async def settle_now() -> dict:
        """Settles every unsettled voucher now; answers what each channel was paid, and what failed."""
        return (await asyncio.to_thread(worker.settle)).as_json()

    app.add_middleware(PaidCallLane, answer_call=answer_call)
    return app


@contextmanager
def serving(app):
    """Serves `app` on 127.0.0.1 (a free port) in a background thread; yields its url."""
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        thread.name = f"serving {url}"  # the benchmark finds the event loop's thread by it
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving_locally(channels, worker, runtimes: dict, prices: dict, *, chain_id: int):
    """A channel API for `worker` on 127.0.0.1 (a free port) in a background thread, with
    throwaway books and no background settlement: for demos and benchmarks on a local chain.
    Yields (ChannelWorker, url); stops the server and removes the books on exit."""
    import tempfile

    books = tempfile.TemporaryDirectory()
    api = ChannelWorker(channels, worker, worker.private_key, runtimes, prices, chain_id=chain_id,
                        settle_threshold=10**30, state_dir=books.name, tick_every=None)
    try:
        with serving(create_app(api)) as url:
            yield api, url
    finally:
        api.close()
        books.cleanup()
