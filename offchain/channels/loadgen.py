"""Clients for the channel benchmark, each in its own process, so that the server's process spends its
time on serving alone (a client's signing and checking would otherwise share its interpreter lock).

    python -m offchain.channels.loadgen < job.json

The job (JSON): {"url", "documents": [str], "paid": null or PaidCaller fields (channel_id, session, key hex),
"model_id"}. The process makes one warm-up call, prints "ready", waits for a line on stdin, makes one
call per document in turn and prints {"latencies": [seconds], "caller": the paid caller's state after them
(spent, used, signed, unanswered, session hex) or null, "cpu": CPU seconds over the calls} as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time


def run(job: dict, go) -> dict:
    import httpx

    from offchain.channels.client import PaidCaller

    documents = [d.encode() for d in job["documents"]]
    with httpx.Client(timeout=30) as http:
        if job.get("paid"):
            paid = dict(job["paid"], channel_id=bytes.fromhex(job["paid"]["channel_id"]),
                        session=bytes.fromhex(job["paid"]["session"]))
            caller = PaidCaller(**paid)

            def call(document):
                caller.call(document, http)
        else:
            url = httpx.URL(f"{job['url']}/v1/models/{job['model_id']}/infer")  # parsed once, as PaidCaller does

            def call(document):
                response = http.post(url, json={"input": document.decode()})
                response.raise_for_status()
                response.json()

        call(documents[0])  # warm-up: connection, and the worker loads the channel
        go()
        latencies, cpu = [], time.process_time()
        for document in documents:
            start = time.perf_counter()
            call(document)
            latencies.append(time.perf_counter() - start)
        cpu = time.process_time() - cpu
    state = None
    if job.get("paid"):
        state = {"spent": caller.spent, "used": caller.used, "signed": caller.signed,
                 "unanswered": caller.unanswered, "session": caller.session.hex()}
    return {"latencies": latencies, "caller": state, "cpu": cpu}


def main() -> None:
    job = json.loads(sys.stdin.readline())

    def go():
        print("ready", flush=True)
        sys.stdin.readline()

    print(json.dumps(run(job, go)), flush=True)


if __name__ == "__main__":
    main()
