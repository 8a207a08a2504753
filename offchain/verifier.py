"""The verifier: re-executes a governed share of fulfilled requests of the
models it serves, challenges a result its policy says is wrong, and serves on
dispute committees (commit, reveal, and calls draw/settle when due).

Sampling. Each fulfilled request of a served model is re-executed when
`keccak256(secret || request_id) mod 10_000 < sample_bps` (the court's
governed `params().sample_bps`). `secret` is 32 random bytes the verifier
draws once and keeps in its state file: a worker cannot tell which of its
results will be checked (every verifier has its own secret), so it must treat
every result as checked with probability p = sample_bps / 10_000 per verifier.

Judging. The worker's full result is fetched by hash from the URI it posted
(`InferenceFulfilled.result_uri`) and checked against the attested hash; the
input is fetched from the request's URI and checked against its hash; the
verifier runs the model itself and compares under the model's policy
(`offchain.verification`). A result that cannot be fetched, or whose bytes do
not hash to the attested hash, does not agree (a worker must serve what it
attested). When it does not agree and the challenge window is open, the
verifier stores its own result in its result store (served by hash from its
result server) and calls `InferenceMarket.challenge` with that hash and the
governed bond.

Committees. It follows every `DisputeOpened` of its models. It calls `draw`
once the draw block has passed; when the court's `ballots(id, me)` says it
was drawn it re-executes the disputed request (the market's subject),
computes `worker_was_right`, draws a salt and *saves verdict and salt before
sending the commit*; it reveals once the reveal phase begins, and calls
`settle` (or `expire`) when due, so disputes do not wait for a particular
party.

Receipt disputes. A dispute whose client is PaymentChannels has a channel
receipt as its subject (the challenge id). Only the receipt's hashes are on
the chain; the challenger published the evidence with its challenge
(`ReceiptChallenged.input_uri` and `result_uri`). The member fetches both
(`data:` or http(s) only: a challenger never makes a verifier read its local
files), checks each against the hash the worker signed, re-executes with the
channel's model runtime and judges under the model's policy, then commits and
reveals as for a market dispute. Burden of proof: evidence that cannot be
fetched, or whose bytes do not hash to the signed hashes, does not
substantiate the challenge, so the member votes "worker was right" (it still
votes: never a no-show).

Crash safety. The state file (JSON, replaced atomically after every change)
holds the cursor, the secret, the sampled checks and, per dispute, the verdict,
salt and what was sent. After a restart the chain is read before any send: a
commit or reveal that already landed (its event is on-chain) is not sent
again; one that did not is sent with the saved salt and verdict, so the
commitment never changes and a reveal is never lost.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from offchain import court as court_api
from offchain import inputs
from offchain.court import Ballot, Phase
from offchain.errors import BadInput, NeuralCommonsError
from offchain.market import RequestState
from offchain.runtime import Runtime
from offchain.settings import write_state
from offchain.store import ContentStore
from offchain.worker import code_from_node

log = logging.getLogger("neural_commons.verifier")

BPS = 10_000
RESULT_DEADLINE = 20.0  # seconds to fetch a worker's result
EVIDENCE_MAX_BYTES = 1 << 20  # bytes of a receipt challenge's result evidence fetched at most
JUDGED_KEPT = 10_000  # verdicts kept in the state file (a log; the chain holds what matters)


def sampled(secret: bytes, request_id: int, sample_bps: int) -> bool:
    """Whether a verifier holding `secret` re-executes `request_id` at `sample_bps`."""
    digest = keccak(bytes(secret) + int(request_id).to_bytes(32, "big"))
    return int.from_bytes(digest[:8], "big") % BPS < int(sample_bps)


@dataclass
class VerifierState:
    """What survives a restart (written atomically after every change)."""

    cursor: int = 0
    secret: str = ""  # hex; drawn on first start
    requests: dict[str, dict] = field(default_factory=dict)  # request id -> input uri, hash, model (served models)
    checks: dict[str, dict] = field(default_factory=dict)  # sampled fulfilled requests still to judge
    judged: dict[str, dict] = field(default_factory=dict)  # request id -> verdict, distance, challenged
    disputes: dict[str, dict] = field(default_factory=dict)  # dispute id -> what this verifier did in it

    @classmethod
    def load(cls, path: Path) -> "VerifierState":
        if not path.exists():
            return cls(secret=secrets.token_bytes(32).hex())
        data = json.loads(path.read_text())
        return cls(**data)

    def save(self, path: Path) -> None:
        write_state(path, {"cursor": self.cursor, "secret": self.secret, "requests": self.requests,
                           "checks": self.checks, "judged": self.judged, "disputes": self.disputes})


@dataclass
class VerifierReport:
    sampled: int = 0
    judged: int = 0
    challenged: int = 0
    drawn: int = 0
    committed: int = 0
    revealed: int = 0
    settled: int = 0
    gas: int = 0

    def __bool__(self) -> bool:
        return any((self.sampled, self.judged, self.challenged, self.drawn, self.committed, self.revealed,
                    self.settled))


class Verifier:
    """One verifier: an ape account (an active worker) that challenges and sits on committees."""

    def __init__(self, market, court, account, runtimes: dict[int, Runtime], results: ContentStore,
                 state_path: Path, *, file_root: Path | None = None, result_deadline_s: float = RESULT_DEADLINE,
                 channels=None):
        self.market = market
        self.channels = channels  # PaymentChannels: its receipt disputes are judged from the published evidence
        self.court = court
        self.account = account
        self.runtimes = runtimes
        self.results = results
        self.state_path = Path(state_path)
        self.state = VerifierState.load(self.state_path)
        self.state.save(self.state_path)  # the secret is kept from the first start
        self.file_root = file_root
        self.result_deadline_s = result_deadline_s

    @property
    def secret(self) -> bytes:
        return bytes.fromhex(self.state.secret)

    def step(self) -> VerifierReport:
        """Everything there is to do now; returns what was done."""
        report = VerifierReport()
        self._discover(report)
        self._check(report)
        self._duties(report)
        return report

    def withdraw(self) -> int:
        """Collects what the market and the court owe this verifier (bonds, fees, slashes paid out)."""
        total = 0
        for contract in (self.market, self.court):
            owed = contract.owed(self.account)
            if owed:
                contract.withdraw(sender=self.account)
                total += owed
        return total

    # ------------------------------------------------------------ discovery

    def _discover(self, report: VerifierReport) -> None:
        from ape import chain

        head = chain.blocks.head.number
        start = self.state.cursor
        if start > head:
            return
        me = self.account.address
        sample_bps = self.court.params().sample_bps
        for event in self.market.InferenceRequested.range(start, head + 1):
            if event.model_id in self.runtimes:
                self.state.requests[str(event.request_id)] = {
                    "uri": event.input_uri, "hash": bytes(event.input_hash).hex(), "model": event.model_id}
        for event in self.market.InferenceFulfilled.range(start, head + 1):
            key = str(event.request_id)
            if key not in self.state.requests or event.worker == me or key in self.state.judged:
                continue
            if sampled(self.secret, event.request_id, sample_bps):
                self.state.checks[key] = {"worker": event.worker, "result_hash": bytes(event.result_hash).hex(),
                                          "result_uri": event.result_uri}
                report.sampled += 1
            else:
                self.state.requests.pop(key, None)
        for event in self.market.InferenceRefunded.range(start, head + 1):
            self.state.requests.pop(str(event.request_id), None)  # never fulfilled: nothing to judge
        for event in self.court.DisputeOpened.range(start, head + 1):
            if event.model_id in self.runtimes:
                self.state.disputes.setdefault(str(event.dispute_id), {
                    "subject": event.subject_id, "model": event.model_id, "client": event.client,
                    "worker_hash": bytes(event.worker_hash).hex()})
        self.state.cursor = head + 1
        self.state.save(self.state_path)

    # ------------------------------------------------------------ sampling

    def _check(self, report: VerifierReport) -> None:
        from ape import chain

        if not self.state.checks:
            return
        params = self.market.params()
        for key in list(self.state.checks):
            check = self.state.checks[key]
            request_id = int(key)
            view = self.market.get_request(request_id)
            if view.state != RequestState.FULFILLED or chain.pending_timestamp > view.stamp + params.challenge_window:
                self._done(key, {"skipped": f"state {RequestState(view.state).name}"})
                continue
            agrees, gap, mine = self._judge(request_id, check["result_uri"], bytes.fromhex(check["result_hash"]))
            report.judged += 1
            outcome = {"agrees": agrees, "distance": gap if gap != float("inf") else "inf"}
            if not agrees and mine is not None:
                digest = self.results.put(mine)  # served by hash before the challenge names it
                if self._challenge(request_id, digest, params.challenge_bond, report):
                    outcome["challenged"] = digest
                    log.warning("request %s: worker %s's result is wrong (distance %s); challenged", request_id,
                                check["worker"], gap)
            self._done(key, outcome)

    def _challenge(self, request_id: int, digest: str, bond: int, report: VerifierReport) -> bool:
        """Challenges `request_id` with this verifier's result; False when another verifier was
        first (the request is no longer fulfilled) or the window just closed."""
        from ape.exceptions import ContractLogicError

        try:
            receipt = self.market.challenge(request_id, bytes.fromhex(digest[2:]), value=bond, sender=self.account)
        except ContractLogicError as exc:
            log.info("request %s: challenge not taken (%s)", request_id, exc)
            return False
        report.gas += receipt.gas_used
        report.challenged += 1
        return True

    def _done(self, key: str, outcome: dict) -> None:
        self.state.checks.pop(key, None)
        self.state.requests.pop(key, None)
        self.state.judged[key] = outcome
        while len(self.state.judged) > JUDGED_KEPT:  # the oldest first (insertion order)
            del self.state.judged[next(iter(self.state.judged))]
        self.state.save(self.state_path)

    def _request_input(self, request_id: int) -> dict:
        known = self.state.requests.get(str(request_id))
        if known is not None:
            return known
        for event in self.market.InferenceRequested.range(0, None, search_topics={"request_id": request_id}):
            return {"uri": event.input_uri, "hash": bytes(event.input_hash).hex(), "model": event.model_id}
        raise NeuralCommonsError(f"request {request_id} has no InferenceRequested event")

    def _judge(self, request_id: int, result_uri: str, result_hash: bytes) -> tuple[bool, float, bytes | None]:
        """(agrees, distance, my result) for the worker's result of `request_id`; my result is None when
        the input could not be fetched (then nothing can be said and the verdict is 'agrees')."""
        info = self._request_input(request_id)
        runtime = self.runtimes[info["model"]]
        try:
            data = inputs.fetch(info["uri"], bytes.fromhex(info["hash"]), runtime.spec.input_schema["max_bytes"],
                                self.file_root)
            parsed = inputs.parse(runtime.spec.input_schema, data)
            if isinstance(parsed, inputs.ContractRef):  # the code it names, checked against its hash
                parsed = code_from_node(parsed, runtime.spec.input_schema)
        except BadInput as exc:  # the worker could not have served it either; not the worker's fault
            log.warning("request %s: input unusable (%s); not judged", request_id, exc)
            return True, 0.0, None
        mine = self._run(runtime, parsed)
        try:
            theirs = inputs.fetch(result_uri, result_hash, self.market.params().max_result_size or 1 << 20,
                                  None, deadline_s=self.result_deadline_s)
        except BadInput as exc:
            log.warning("request %s: worker's result not served as attested (%s)", request_id, exc)
            return False, float("inf"), mine
        agrees, gap = runtime.policy.judge(theirs, mine)
        return agrees, gap, mine

    @staticmethod
    def _run(runtime: Runtime, parsed) -> bytes:
        if isinstance(parsed, inputs.ContractRef):  # the code it names, checked against its hash
            parsed = code_from_node(parsed, runtime.spec.input_schema)
        (mine,) = runtime.infer([parsed])
        return mine

    def _judge_receipt(self, challenge_id: int, model_id: int, opened_block: int) -> tuple[bool, float]:
        """(worker was right, distance) for a channel receipt challenge, from the evidence its challenger
        published. The burden of proof is the challenger's: evidence missing, unfetchable or not hashing to
        the signed hashes leaves the receipt standing (True)."""
        challenge = self.channels.challenges(challenge_id)
        runtime = self.runtimes[model_id]
        # The challenge and its dispute are one transaction: the event is in the dispute's opening block.
        published = list(self.channels.ReceiptChallenged.range(opened_block, opened_block + 1,
                                                               search_topics={"challenge_id": challenge_id}))
        if not published:
            log.warning("receipt challenge %s: no ReceiptChallenged event; unsubstantiated", challenge_id)
            return True, 0.0
        evidence = published[-1]
        try:  # file_root None: a challenger's URI never reads this verifier's files
            data = inputs.fetch(evidence.input_uri, bytes(challenge.input_hash),
                                runtime.spec.input_schema["max_bytes"], None, deadline_s=self.result_deadline_s)
            theirs = inputs.fetch(evidence.result_uri, bytes(challenge.result_hash), EVIDENCE_MAX_BYTES, None,
                                  deadline_s=self.result_deadline_s)
            mine = self._run(runtime, inputs.parse(runtime.spec.input_schema, data))
        except BadInput as exc:
            log.warning("receipt challenge %s: evidence does not substantiate it (%s); the worker stands",
                        challenge_id, exc)
            return True, 0.0
        agrees, gap = runtime.policy.judge(theirs, mine)
        return agrees, gap

    # ------------------------------------------------------------ committees

    def _duties(self, report: VerifierReport) -> None:
        """For each dispute of a served model: draw, commit, reveal, settle or expire when due.
        What this account already did is read from the chain (`ballots`), never assumed."""
        from ape import chain

        if not self.state.disputes:
            return
        head = chain.blocks.head.number
        now = chain.pending_timestamp
        me = self.account.address
        for key in list(self.state.disputes):
            entry = self.state.disputes[key]
            dispute_id = int(key)
            dispute = court_api.read_dispute(self.court, dispute_id)
            if dispute.can_draw(head) and self._send(self.court.draw, dispute_id, report):
                report.drawn += 1
                dispute = court_api.read_dispute(self.court, dispute_id)
            phase = dispute.effective_phase(now)
            mine = court_api.ballot(self.court, dispute_id, me)
            if phase == Phase.COMMITTING and mine == Ballot.DRAWN:
                self._commit(key, entry, dispute, report)
            elif phase == Phase.REVEALING and mine == Ballot.COMMITTED:
                self._reveal(key, entry, report)
            dispute = court_api.read_dispute(self.court, dispute_id)
            step = dispute.next_step(now, head)
            if step in ("settle", "expire") and self._send(getattr(self.court, step), dispute_id, report):
                report.settled += 1
                dispute = court_api.read_dispute(self.court, dispute_id)
            if dispute.effective_phase(now).ended:
                del self.state.disputes[key]
                self.state.save(self.state_path)

    def _commit(self, key: str, entry: dict, dispute, report: VerifierReport) -> None:
        dispute_id = int(key)
        if "salt" not in entry:
            subject = dispute.subject_id
            if self.channels is not None and dispute.client == self.channels.address:
                agrees, gap = self._judge_receipt(subject, entry["model"], dispute.opened_block)
            elif dispute.client == self.market.address:
                fulfilled = list(self.market.InferenceFulfilled.range(0, None, search_topics={"request_id": subject}))
                uri = fulfilled[-1].result_uri if fulfilled else ""
                agrees, gap, _ = self._judge(subject, uri, dispute.worker_hash)
            else:
                log.warning("dispute %s: its client %s is neither the market nor the channels this verifier "
                            "knows; it does not vote", dispute_id, dispute.client)
                return
            entry.update(verdict=bool(agrees), distance=gap if gap != float("inf") else "inf",
                         salt=court_api.new_salt().hex())
            self.state.save(self.state_path)  # before the commit is sent: a restart commits and reveals the same
        digest = court_api.commitment(dispute_id, self.account.address, entry["verdict"], bytes.fromhex(entry["salt"]))
        if self._send(self.court.commit, dispute_id, digest, report):
            entry["committed"] = True
            report.committed += 1
            log.info("dispute %s: committed (worker was %s)", dispute_id, "right" if entry["verdict"] else "wrong")
        self.state.save(self.state_path)

    def _reveal(self, key: str, entry: dict, report: VerifierReport) -> None:
        dispute_id = int(key)
        if "salt" not in entry:
            log.error("dispute %s: committed but the salt is not in %s (state lost?): cannot reveal",
                      dispute_id, self.state_path)
            return
        if self._send(self.court.reveal, dispute_id, entry["verdict"], bytes.fromhex(entry["salt"]), report):
            entry["revealed"] = True
            report.revealed += 1
        self.state.save(self.state_path)

    def _send(self, method, *args) -> bool:
        """Sends a court call; a revert (someone else drew or settled first, a deadline just passed)
        is logged and the chain re-read on the next step."""
        from ape.exceptions import ContractLogicError

        *call_args, report = args
        try:
            receipt = method(*call_args, sender=self.account)
        except ContractLogicError as exc:
            log.info("%s(%s) reverted: %s", getattr(method, "name", "call"), call_args[0], exc)
            return False
        report.gas += receipt.gas_used
        return True
