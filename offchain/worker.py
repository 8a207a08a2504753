"""The off-chain worker: discovers paid requests from chain events, claims,
fetches and checks inputs, runs the model in batches, signs EIP-712
attestations, fulfils in batches, finalizes when windows pass, withdraws.

Crash safety: the chain is the source of truth. The persisted state holds a
cursor (the next block to scan) and the requests seen but not yet settled
for this worker; every step re-reads their chain state, so a restart
resumes where the chain says, duplicated events are harmless, and nothing
is paid twice (the market would refuse it). An input that cannot be
processed is recorded as rejected with its reason and never retried: the
request takes the refund path after its deadline. So is a callback request
whose model's results are longer than a callback may receive.

Inputs are fetched in the background (`inputs.InputFetcher`), each with an
overall deadline and a byte budget; a step waits a moment for the inputs it
has just asked for and then goes on with those that arrived. An input still
on its way is picked up by a later step; one that misses its deadline is
rejected like any other bad input.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import wait
from dataclasses import dataclass, field
from pathlib import Path

from offchain import inputs
from offchain.attestation import InferenceResult
from offchain.errors import BadInput, transient
from offchain.market import RequestState, claim_room, request_views
from offchain.runtime import Runtime
from offchain.settings import write_state
from offchain.store import ContentStore

log = logging.getLogger("neural_commons.worker")
# Seconds before its claim times out that a request waits to be claimed again instead of fulfilled: the time a
# fulfilment may take to be mined (at most a quarter of the market's claim timeout).
CLAIM_MARGIN_S = 60


def exclusive_until(view, timeout: int) -> int:
    """The last timestamp at which a fulfilment of a request claimed as in `view` is sure to land while the claim
    is still exclusive (`timeout`: the market's claim timeout)."""
    return view.stamp + timeout - min(CLAIM_MARGIN_S, timeout // 4)

REQUESTED, CLAIMED, FULFILLED, CHALLENGED, FINALIZED, REFUNDED = (
    RequestState.REQUESTED, RequestState.CLAIMED, RequestState.FULFILLED, RequestState.CHALLENGED,
    RequestState.FINALIZED, RequestState.REFUNDED)


@dataclass
class WorkerState:
    """What survives a restart (written atomically after every change)."""

    cursor: int = 0
    open: dict[str, dict] = field(default_factory=dict)  # request id -> input uri, hash, model id, callback
    rejected: dict[str, str] = field(default_factory=dict)  # request id -> reason
    chain: str = ""  # which chain and market this state belongs to (see `chain_fingerprint`)

    @classmethod
    def load(cls, path: Path, chain: str = "") -> "WorkerState":
        """The saved state, or a fresh one when there is none or it belongs to another chain or
        market (a reset dev node can reuse addresses and request ids: resuming its requests would
        claim and sign for requests that are not the ones remembered). A foreign file is kept
        beside, as `<name>.stale`, not deleted."""
        if not path.exists():
            return cls(chain=chain)
        data = json.loads(path.read_text())
        if chain and data.get("chain", "") != chain:
            log.warning("worker state %s belongs to another chain or market (%s); starting fresh",
                        path, data.get("chain") or "unrecorded")
            path.replace(path.with_suffix(path.suffix + ".stale"))
            return cls(chain=chain)
        return cls(cursor=data["cursor"], open=data["open"], rejected=data["rejected"], chain=chain)

    def save(self, path: Path) -> None:
        write_state(path, {"cursor": self.cursor, "open": self.open, "rejected": self.rejected, "chain": self.chain})


def chain_fingerprint(market) -> str:
    """chain id, market address and the genesis block's hash: what a worker's saved state is valid for
    (a restarted dev node has a new genesis hash even when the addresses come out the same)."""
    from ape import chain

    return f"{chain.chain_id}:{market.address}:{chain.blocks[0].hash.hex()}"


@dataclass
class StepReport:
    discovered: int = 0
    claimed: int = 0
    fulfilled: int = 0
    rejected: int = 0
    finalized: int = 0
    fetching: int = 0  # inputs still on their way at the end of the step
    gas: int = 0

    def __bool__(self) -> bool:
        return any((self.discovered, self.claimed, self.fulfilled, self.rejected, self.finalized))

    def line(self, block: int) -> str:
        """'block 12: claimed 3, fulfilled 3' for a step that did something on chain; '' for an idle one
        (the bot logs one line per step that matters)."""
        done = [f"{name} {getattr(self, name)}" for name in ("claimed", "fulfilled", "finalized", "rejected")
                if getattr(self, name)]
        return f"block {block}: {', '.join(done)}" if done else ""


def code_from_node(ref: inputs.ContractRef, schema: dict) -> bytes:
    """The runtime code a contract model's input names, from this process's own node at the
    named block; BadInput unless it hashes to the input's code hash (and is on this chain).
    Workers and verifiers both read it here, so both judge the same bytes."""
    from ape import chain
    from eth_utils import to_checksum_address

    if ref.block > chain.blocks.head.number:
        raise BadInput(f"block {ref.block} of the input is not mined yet")
    return inputs.contract_code(
        ref, chain.chain_id,
        lambda address, block: chain.provider.get_code(to_checksum_address(address), block_id=block),
        int(schema["max_code_bytes"]))


class InferenceWorker:
    """One worker: an ape account that sends transactions, a key that signs results."""

    def __init__(
        self,
        market,
        account,
        signer_key,
        runtimes: dict[int, Runtime],
        results: ContentStore,
        state_path: Path,
        result_url,
        *,
        batch_size: int = 32,
        file_root: Path | None = None,
        input_deadline_s: float = inputs.INPUT_DEADLINE,
        input_wait_s: float = 1.0,
        tamper=None,
    ):
        self.market = market
        self.account = account
        self.signer_key = signer_key
        self.runtimes = runtimes
        self.results = results
        self.state_path = Path(state_path)
        self.state = WorkerState.load(self.state_path, chain_fingerprint(market))
        self.result_url = result_url  # digest -> URL where clients fetch the result
        self.batch_size = batch_size
        self.file_root = file_root
        self._inputs: dict[int, object] = {}  # parsed inputs, kept between claim and fulfil
        self.fetcher = inputs.InputFetcher(deadline_s=input_deadline_s)
        self.input_wait_s = input_wait_s  # how long a step waits for the inputs it has just asked for
        self.tamper = tamper  # offchain.tamper.Tamper: a cheating worker, in tests and benchmarks only
        self._registry = None  # the market's WorkerRegistry, bound on first use
        self._stake_bound = False  # the last claim step left requests unclaimed for want of stake

    # ------------------------------------------------------------ the loop

    def step(self) -> StepReport:
        """Everything there is to do now; returns what was done."""
        report = StepReport()
        report.discovered = self._discover()
        self._claim(report)
        self._fulfil(report)
        self._finalize(report)
        return report

    def withdraw(self) -> int:
        """Collects what the market owes this worker."""
        owed = self.market.owed(self.account)
        if owed:
            self.market.withdraw(sender=self.account)
        return owed

    def close(self) -> None:
        """Stops the background input fetches (at shutdown); the persisted state is already saved."""
        self.fetcher.close()

    # ------------------------------------------------------------ steps

    def _discover(self) -> int:
        from ape import chain

        head = chain.blocks.head.number
        if self.state.cursor > head:
            return 0
        found = 0
        for event in self.market.InferenceRequested.range(self.state.cursor, head + 1):
            key = str(event.request_id)
            if event.model_id not in self.runtimes or key in self.state.open or key in self.state.rejected:
                continue
            self.state.open[key] = {
                "uri": event.input_uri,
                "hash": bytes(event.input_hash).hex(),
                "model": event.model_id,
                "callback": event.callback_gas_limit > 0,
            }
            found += 1
        self.state.cursor = head + 1
        self.state.save(self.state_path)
        return found

    def _chain_states(self) -> dict[int, object]:
        # Batched: per-request reads made every step cost one RPC round trip
        # per open request, three times a step, and that dominated latency.
        return request_views(self.market, self.state.open)

    def _claim(self, report: StepReport) -> None:
        """Claims what it can serve; an input is fetched and checked *before*
        claiming, so a bad input is rejected without a claim (and without
        the miss a claimed-then-abandoned request would cost)."""
        from ape import chain

        now = chain.pending_timestamp
        params = self.market.params()
        timeout = params.claim_timeout
        candidates, lapsing = [], 0
        for request_id, view in self._chain_states().items():
            if view.deadline < now:
                continue
            if view.state == CLAIMED and view.worker == self.account.address:
                if now > exclusive_until(view, timeout):
                    lapsing += 1  # `_fulfil` claims it again, which needs room in the stake: kept for it
            elif view.state == REQUESTED or (view.state == CLAIMED and now > view.stamp + timeout):
                if not self._unfulfillable(request_id, params.max_result_size, report):
                    candidates.append(request_id)
        ready = self._load_inputs(candidates, report)
        claimable = self._within_stake([rid for rid in candidates if rid in ready], params, reserve=lapsing)
        self.state.save(self.state_path)
        for start in range(0, len(claimable), self.batch_size):
            batch = claimable[start : start + self.batch_size]
            receipt = self.market.claim_batch(batch, sender=self.account)
            report.gas += receipt.gas_used
            report.claimed += len(receipt.decode_logs(self.market.InferenceClaimed))

    def _within_stake(self, claimable: list[int], params, *, reserve: int = 0) -> list[int]:
        """As many of `claimable` as this worker's stake covers the locks of, beside the market's locks for its
        requests in flight (the market claims no more: a request in flight is backed by the stake its slash
        would take). The rest stay open for other workers, or for this one once settled requests free its
        stake. `reserve`: room kept for claiming this worker's own lapsing claims again."""
        if not claimable:
            return claimable
        if self._registry is None:
            from ape import project

            self._registry = project.WorkerRegistry.at(self.market.workers())
        room = claim_room(self.market, self._registry, self.account.address, params)
        if room is not None:
            room = max(room - reserve, 0)
        # An inactive worker (never staked, unbonding, slashed below the minimum) is not held back here: the
        # market refuses its claims, and the step fails loudly instead of the bot idling as if merely full.
        bound = room is not None and room < len(claimable) and self._registry.is_active(self.account.address)
        if bound and not self._stake_bound:
            log.info("stake covers %d more claims: %d requests left to other workers for now (add stake "
                     "with `ape run worker stake` to claim more at once)", room, len(claimable) - room)
        self._stake_bound = bound
        return claimable[:room] if bound else claimable

    def _unfulfillable(self, request_id: int, max_result_size: int, report: StepReport) -> bool:
        """A callback request whose model's results are longer than the market lets a callback receive: its
        fulfilment would always revert, so a claim would only end in a miss and a slash. Rejected unclaimed
        (anyone can ask a callback of any model, e.g. to have workers slashed)."""
        info = self.state.open[str(request_id)]
        if not info["callback"]:
            return False
        size = self.runtimes[info["model"]].spec.result_size
        if size <= max_result_size:
            return False
        reason = (f"a callback request of model {info['model']}, whose {size}-byte results exceed the "
                  f"{max_result_size} bytes the market lets a callback receive: it could never be fulfilled")
        log.warning("request %s rejected: %s", request_id, reason)
        self.state.rejected[str(request_id)] = reason
        del self.state.open[str(request_id)]
        report.rejected += 1
        return True

    def _load_inputs(self, request_ids: list[int], report: StepReport) -> set[int]:
        """The requests among `request_ids` whose input is fetched, checked and parsed (cached).

        Fetches run in the background; the step waits at most `input_wait_s` for
        those it starts now. A failed input is recorded as rejected, with one log line."""
        started = []
        for rid in request_ids:
            if rid not in self._inputs and not self.fetcher.pending(rid):
                info = self.state.open[str(rid)]
                max_bytes = self.runtimes[info["model"]].spec.input_schema["max_bytes"]
                started.append(self.fetcher.submit(rid, info["uri"], bytes.fromhex(info["hash"]), max_bytes,
                                                   self.file_root))
        if started:
            wait(started, timeout=self.input_wait_s)
        ready = set()
        for rid in request_ids:
            if rid in self._inputs:
                ready.add(rid)
                continue
            info = self.state.open[str(rid)]
            try:
                data = self.fetcher.result(rid)
                if data is None:
                    report.fetching += 1
                    continue
                parsed = inputs.parse(self.runtimes[info["model"]].spec.input_schema, data)
                if isinstance(parsed, inputs.ContractRef):  # the code it names, checked against its hash
                    parsed = code_from_node(parsed, self.runtimes[info["model"]].spec.input_schema)
                self._inputs[rid] = parsed
                ready.add(rid)
            except BadInput as exc:
                log.warning("request %s rejected: %s", rid, exc)
                self.state.rejected[str(rid)] = str(exc)
                del self.state.open[str(rid)]
                report.rejected += 1
        return ready

    def _fulfil(self, report: StepReport) -> None:
        from ape import chain

        now = chain.pending_timestamp
        views = self._chain_states()
        mine = [
            rid for rid, view in views.items()
            if view.state == CLAIMED and view.worker == self.account.address and view.deadline >= now
        ]
        mine = self._exclusive(mine, views, now, report)
        by_model: dict[int, list[tuple[int, object]]] = {}
        ready = self._load_inputs(mine, report)  # cached since the claim, or refetched after a restart
        for rid in mine:
            if rid in ready:
                by_model.setdefault(self.state.open[str(rid)]["model"], []).append((rid, self._inputs[rid]))
        self.state.save(self.state_path)

        for model_id, items in by_model.items():
            for start in range(0, len(items), self.batch_size):
                chunk = items[start : start + self.batch_size]
                outputs = self.runtimes[model_id].infer([array for _, array in chunk])
                if self.tamper is not None:
                    encoding = self.runtimes[model_id].spec.encoding
                    outputs = [self.tamper.apply(encoding, out, rid) for (rid, _), out in zip(chunk, outputs,
                                                                                              strict=True)]
                self._post(model_id, [rid for rid, _ in chunk], outputs, report)

    def _exclusive(self, claimed: list[int], views: dict, now: int, report: StepReport) -> list[int]:
        """The requests of `claimed` to fulfil now. Once a claim times out any worker may take the request over,
        and a fulfilment in the mempool shows the result hash that worker would sign and post as its own (the
        pay goes to the claimant): so a lapsed claim is claimed again first (the market records the lapse as a
        miss, unslashed), and one about to lapse waits for that. A lapsed claim the stake has no room to claim
        again is fulfilled as it is: a takeover may happen, a refund at the deadline would slash for sure."""
        if not claimed:
            return claimed
        timeout = self.market.params().claim_timeout
        lapsed = [rid for rid in claimed if now > views[rid].stamp + timeout]
        reclaimed: set[int] = set()
        for start in range(0, len(lapsed), self.batch_size):
            batch = lapsed[start : start + self.batch_size]
            log.info("claims of request %s lapsed: claimed again before fulfilling", ", ".join(map(str, batch)))
            receipt = self.market.claim_batch(batch, sender=self.account)
            report.gas += receipt.gas_used
            taken = {event.request_id for event in receipt.decode_logs(self.market.InferenceClaimed)}
            report.claimed += len(taken)
            reclaimed |= taken
        left = [rid for rid in lapsed if rid not in reclaimed]
        if left:  # no room in the stake to claim them again (`_claim` keeps it): a takeover risked, not a miss
            log.warning("requests %s fulfilled on lapsed claims: the stake has no room to claim them again",
                        ", ".join(map(str, left)))
        # Lapsed (claimed again, or not) or still exclusive: only those lapsing within the margin wait.
        return [rid for rid in claimed
                if now > views[rid].stamp + timeout or now <= exclusive_until(views[rid], timeout)]

    def _post(self, model_id: int, request_ids: list[int], outputs: list[bytes], report: StepReport) -> None:
        from ape import chain

        plain, with_result = [], []
        for rid, result in zip(request_ids, outputs, strict=True):
            digest = self.results.put(result)
            info = self.state.open[str(rid)]
            attestation = InferenceResult.bound(chain_id=chain.chain_id, contract=self.market.address, requestId=rid,
                                                modelId=model_id, inputHash=bytes.fromhex(info["hash"]),
                                                resultHash=bytes.fromhex(digest[2:]))
            item = (rid, bytes(attestation.resultHash), self.result_url(digest), attestation.sign(self.signer_key))
            (with_result if info["callback"] else plain).append((item, result))
        if plain:
            self._fulfil_batch([item for item, _ in plain], report)
        for item, result in with_result:
            receipt = self._send("fulfilling", [item[0]], lambda: self.market.fulfill(*item, result, sender=self.account))
            if receipt is not None:
                report.gas += receipt.gas_used
                report.fulfilled += 1

    def _fulfil_batch(self, items: list, report: StepReport) -> None:
        """Posts `items` in one `fulfill_batch`; it reverts as a whole on one bad item, so when the chain refuses
        it each goes alone: one refused request holds back no other."""
        receipt = self._send("fulfilling", [item[0] for item in items],
                             lambda: self.market.fulfill_batch(items, sender=self.account))
        if receipt is not None:
            report.gas += receipt.gas_used
            report.fulfilled += len(items)
        elif len(items) > 1:
            for one in items:
                self._fulfil_batch([one], report)

    def _finalize_batch(self, batch: list[int], report: StepReport) -> list[int]:
        """Finalizes `batch` in one transaction; returns the requests settled. When the chain refuses it (its
        callbacks together may need more gas than a block holds: each may ask for up to 2,000,000), each goes
        alone: one refused request holds back no other."""
        receipt = self._send("finalizing", batch, lambda: self.market.finalize_batch(batch, sender=self.account))
        if receipt is None:
            return [rid for one in batch for rid in self._finalize_batch([one], report)] if len(batch) > 1 else []
        report.gas += receipt.gas_used
        report.finalized += len(receipt.decode_logs(self.market.InferenceFinalized))
        return batch

    def _send(self, what: str, request_ids: list[int], send):
        """`send()`'s receipt, or None when the chain refuses the transaction (logged; a request refused alone
        stays open and is tried again next step while its deadline allows). A node that cannot be reached
        raises, even when ape wraps that in a transaction error: that stops the step, and the bot waits it
        out."""
        from ape.exceptions import TransactionError, VirtualMachineError

        try:
            return send()
        except (VirtualMachineError, TransactionError) as exc:
            if transient(exc):
                raise
            log.warning("%s request %s refused by the chain: %s", what, ", ".join(map(str, request_ids)), exc)
            return None

    def _finalize(self, report: StepReport) -> None:
        from ape import chain

        now = chain.pending_timestamp
        window = self.market.params().challenge_window
        ready, done = [], []
        for rid, view in self._chain_states().items():
            mine = view.worker == self.account.address
            if view.state in (FINALIZED, REFUNDED):
                done.append(rid)
            elif view.state == FULFILLED and mine and now > view.stamp + window:
                ready.append(rid)
            elif not mine and view.state in (FULFILLED, CHALLENGED):
                done.append(rid)  # another worker's result
            elif view.state in (REQUESTED, CLAIMED) and view.deadline < now:
                done.append(rid)  # nobody delivered in time: the refund path
        for start in range(0, len(ready), self.batch_size):
            done.extend(self._finalize_batch(ready[start : start + self.batch_size], report))
        for rid in done:
            self.state.open.pop(str(rid), None)
            self._inputs.pop(rid, None)
            self.fetcher.discard(rid)
        if done:
            self.state.save(self.state_path)

