"""DisputeCourt under random challenges, draws, commits, reveals (honest, wrong
salt, twice, without commit), settlements, rulings, expiries, withdrawals and
verifiers that leave the pool, unbond and withdraw, and come back (register again
or top up their stake while still listed in the pool), checked against a model.

After every step:
- the court's ETH equals the bonds of disputes not ended + everything it owes,
  and what it owes each party equals the model (nobody paid twice);
- tokens are conserved: the registry holds exactly the modelled stakes, and
  every slashed or withdrawn token is in the wallet the model says (a lost
  challenge's slash: half to the challenger, the rest to the treasury);
- each verifier's stake locked by the court is `no_show_slash` per dispute it
  was drawn into that has not yet been counted, and it never withdraws it;
- every committee is the one the future blockhash picks from the members
  eligible at the opening (in the pool and active since before it: one that
  came back after the opening is not drawn), and the market's request states follow the verdicts;
- every open dispute has a deadline within the governed periods.
At the end of each run every open dispute is driven to its end by the
permissionless calls alone (draw, settle, expire), and then nothing is locked
and the court holds only what it owes.

The court and the market here are a second deployment governed by a plain
account (also their treasury), so rulings need no week of voting.
"""

import ape
import pytest
from ape import chain
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from offchain.court import Ballot, Phase, commitment, expected_committee
from offchain.deploy import MarketConfig
from tests.conftest import MIN_STAKE
from tests.utils.constants import ETH
from tests.utils.market import CHALLENGED, FULFILLED, REFUNDED, RESULT_HASH, signature
from tests.utils.payments import withdraw_checked

STAKE = 2 * MIN_STAKE
VERIFIER_STAKE = MIN_STAKE + 200 * ETH  # survives four no-show slashes before it falls below the minimum
UNBONDING = 86_400  # seconds
ESCALATION = 2 * 86_400  # seconds
BOND = 10**16
VERIFIERS = 5
OPEN_PHASES = (Phase.DRAWING, Phase.COMMITTING, Phase.REVEALING, Phase.ESCALATED)
pick = st.integers(0, 10**6)


@pytest.fixture(scope="module")
def lone_court(project, system, model_id, deployer, accounts):
    """A court, a market and their worker registry governed by accounts[9]; accounts[5] works,
    accounts[4] challenges, five fresh accounts verify."""
    gov = accounts[9]
    token = system.GovernanceToken
    config = MarketConfig(escalation_period=ESCALATION)
    registry = gov.deploy(project.WorkerRegistry, token, MIN_STAKE, UNBONDING)
    court = gov.deploy(project.DisputeCourt, system.ModelRegistry, registry, gov, config.court_params())
    market = gov.deploy(project.InferenceMarket, gov, system.ModelRegistry, registry, court, system.ModelShares,
                        token, config.market_params())
    registry.set_permissions(market, True, True, sender=gov)
    registry.set_permissions(court, True, False, sender=gov)
    court.set_client(market, True, sender=gov)
    verifiers = [accounts.generate_test_account() for _ in range(VERIFIERS)]
    for account, stake in [(accounts[5], STAKE), (accounts[4], STAKE)] + [(v, VERIFIER_STAKE) for v in verifiers]:
        if account in verifiers:
            deployer.transfer(account, 10 * ETH)
        token.transfer(account, stake, sender=deployer)
        token.approve(registry, 2**256 - 1, sender=account)
        registry.register(account, "", stake, sender=account)
    for v in verifiers:
        court.join(model_id, sender=v)
    return court, market, registry, token, gov, accounts[5], accounts[4], accounts[6], verifiers


def test_dispute_state_machine(lone_court, model_id):
    court, market, registry, token, gov, worker, challenger, requester, verifiers = lone_court
    p = court.params()
    fee, no_show = p.member_fee, p.no_show_slash
    challenge_slash = market.params().challenge_slash
    market_lock = max(market.params().miss_slash, challenge_slash)
    people = [worker, challenger, *verifiers]
    parties = [a.address for a in (*people, requester, gov)]
    account_of = {a.address: a for a in (*people, requester, gov)}
    vaddr = [v.address for v in verifiers]
    joined_at = {a: int(chain.blocks.head.number) - 1 for a in vaddr}  # joined in the fixture

    class DisputeMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.disputes = {}  # id -> dict(phase, rid, opened_block, members, ballots, verdicts, ...)
            self.court_owed = dict.fromkeys(parties, 0)
            self.stakes = {a.address: registry.workers(a).stake for a in people}
            self.unbonding = dict.fromkeys(self.stakes, 0)  # withdrawable_at; 0 while bonded
            self.registered = dict.fromkeys(self.stakes, True)
            self.active_from = dict.fromkeys(self.stakes, 0)  # block it last became active (0: in the fixture)
            self.in_pool = {a: True for a in vaddr}
            self.joined_at = dict(joined_at)
            self.wallets = {a: token.balanceOf(a) for a in (*self.stakes, gov.address)}
            self.requests = {}  # rid -> state
            self.worker_in_flight = 0  # the worker's requests the market still locks stake for

        def teardown(self):
            try:
                self._drive_everything_to_the_end()
            finally:
                chain.restore(self.snapshot)

        # ------------------------------------------------------------ helpers

        def _active(self, address):
            return self.registered[address] and not self.unbonding[address] and self.stakes[address] >= MIN_STAKE

        def _pick(self, n, phases):
            ids = [i for i, d in self.disputes.items() if self._phase(d) in phases]
            return ids[n % len(ids)] if ids else None

        def _phase(self, d):
            if d["phase"] == Phase.COMMITTING and chain.pending_timestamp > d["commit_deadline"]:
                return Phase.REVEALING
            return d["phase"]

        def _court_locked(self, address):
            return no_show * sum(1 for d in self.disputes.values()
                                 if d["phase"] in (Phase.COMMITTING, Phase.REVEALING) and address in d["members"])

        def _locked(self, address):
            market_part = market_lock * self.worker_in_flight if address == worker.address else 0
            return self._court_locked(address) + market_part

        def _slash(self, address, amount, recipient):
            taken = min(amount, self.stakes[address])
            self.stakes[address] -= taken
            self.wallets[recipient] += taken

        def _slash_split(self, address, amount, challenger_, treasury):
            """A lost challenge: half of what is taken (rounded down) to the challenger, the rest to the treasury."""
            taken = min(amount, self.stakes[address])
            self.stakes[address] -= taken
            self.wallets[challenger_] += taken // 2
            self.wallets[treasury] += taken - taken // 2

        def _escalated(self, d, timestamp):
            d.update(phase=Phase.ESCALATED, escalated_until=timestamp + ESCALATION)

        def _verdict_to_market(self, d, worker_was_right):
            rid = d["rid"]
            if worker_was_right:
                self.requests[rid] = FULFILLED
            else:
                self.requests[rid] = REFUNDED
                self.worker_in_flight -= 1
                self._slash_split(worker.address, challenge_slash, challenger.address, gov.address)

        # ------------------------------------------------------------ rules

        @rule()
        def challenge(self):
            """The worker serves a request and the challenger disputes it (one step, so runs reach disputes)."""
            if not self._active(worker.address) or not self._active(challenger.address):
                return
            stake = self.stakes[worker.address]  # the market counts its own locks only (not the court's)
            if stake - min(stake, market_lock * self.worker_in_flight) < market_lock:  # it refuses the claim
                return
            market.request_inference(model_id, keccak(b"x"), "", chain.pending_timestamp + 3_600,
                                     sender=requester, value=market.quote(model_id))
            rid = market.request_count()
            market.claim(rid, sender=worker)
            market.fulfill(rid, RESULT_HASH, "", signature(market, rid, worker.private_key), sender=worker)
            self.worker_in_flight += 1
            tx = market.challenge(rid, keccak(b"other"), sender=challenger, value=BOND)
            dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
            self.requests[rid] = CHALLENGED
            self.disputes[dispute_id] = dict(phase=Phase.DRAWING, rid=rid, opened_block=tx.block_number,
                                             draw_block=tx.block_number + p.draw_delay, members=[], ballots={},
                                             verdicts={}, salts={}, commit_deadline=0, reveal_deadline=0,
                                             escalated_until=0, bond=BOND)

        @rule(n=pick, stale=st.booleans())
        def draw(self, n, stale):
            dispute_id = self._pick(n, (Phase.DRAWING,))
            if dispute_id is None:
                return
            d = self.disputes[dispute_id]
            if chain.blocks.head.number + 1 <= d["draw_block"]:
                with ape.reverts("DisputeCourt: draw block not mined"):
                    court.draw(dispute_id, sender=requester)
                chain.mine(d["draw_block"] - chain.blocks.head.number + (257 if stale else 0))
            tx = court.draw(dispute_id, sender=requester)
            if tx.block_number - d["draw_block"] > 256:
                assert tx.decode_logs(court.DrawReanchored)[0].draw_block == tx.block_number + p.draw_delay
                d["draw_block"] = tx.block_number + p.draw_delay
                return
            eligible = [a for a in vaddr if self.in_pool[a] and self._active(a)
                        and self.joined_at[a] < d["opened_block"] and self.active_from[a] < d["opened_block"]]
            expected = expected_committee(bytes(chain.blocks[d["draw_block"]].hash), dispute_id, eligible,
                                          p.committee_size)
            drawn = [str(a) for a in court.committee(dispute_id)]
            assert set(drawn) == expected
            if not expected:
                assert tx.decode_logs(court.DisputeEscalated)[0].reason == "too few verifiers"
                self._escalated(d, tx.timestamp)
                return
            d.update(phase=Phase.COMMITTING, members=drawn, ballots=dict.fromkeys(drawn, Ballot.DRAWN),
                     commit_deadline=tx.timestamp + p.commit_period,
                     reveal_deadline=tx.timestamp + p.commit_period + p.reveal_period)

        @rule(n=pick, m=st.integers(0, 2), verdict=st.booleans())
        def commit(self, n, m, verdict):
            dispute_id = self._pick(n, (Phase.COMMITTING, Phase.REVEALING))
            if dispute_id is None:
                return
            d = self.disputes[dispute_id]
            member = account_of[d["members"][m]]
            salt = keccak(text=f"{dispute_id} {member.address} {verdict}")
            sealed = commitment(dispute_id, member.address, verdict, salt)
            if d["phase"] != Phase.COMMITTING:
                reason = "DisputeCourt: dispute not committing"
            elif chain.pending_timestamp > d["commit_deadline"]:
                reason = "DisputeCourt: commit deadline passed"
            elif d["ballots"][member.address] != Ballot.DRAWN:
                reason = "DisputeCourt: already committed"
            else:
                reason = None
            if reason:
                with ape.reverts(reason):
                    court.commit(dispute_id, sealed, sender=member)
                return
            tx = court.commit(dispute_id, sealed, sender=member)
            d["ballots"][member.address] = Ballot.COMMITTED
            d["verdicts"][member.address], d["salts"][member.address] = verdict, salt
            if all(b == Ballot.COMMITTED for b in d["ballots"].values()):
                d.update(phase=Phase.REVEALING, reveal_deadline=tx.timestamp + p.reveal_period)

        @rule(n=pick, m=st.integers(0, 2), honest=st.booleans())
        def reveal(self, n, m, honest):
            dispute_id = self._pick(n, (Phase.COMMITTING, Phase.REVEALING))
            if dispute_id is None:
                return
            d = self.disputes[dispute_id]
            member = account_of[d["members"][m]]
            ballot = d["ballots"][member.address]
            verdict = d["verdicts"].get(member.address, True)
            salt = d["salts"].get(member.address, b"\x00" * 32) if honest else b"\x01" * 32
            if self._phase(d) != Phase.REVEALING:
                reason = "DisputeCourt: dispute not revealing"
            elif chain.pending_timestamp > d["reveal_deadline"]:
                reason = "DisputeCourt: reveal deadline passed"
            elif ballot == Ballot.DRAWN:
                reason = "DisputeCourt: not committed"
            elif ballot != Ballot.COMMITTED:
                reason = "DisputeCourt: already revealed"
            elif not honest:
                reason = "DisputeCourt: reveal does not match commitment"
            else:
                reason = None
            if reason:
                with ape.reverts(reason):
                    court.reveal(dispute_id, verdict, salt, sender=member)
                return
            court.reveal(dispute_id, verdict, salt, sender=member)
            d["ballots"][member.address] = Ballot.REVEALED_RIGHT if verdict else Ballot.REVEALED_WRONG

        @rule(n=pick)
        def settle(self, n):
            dispute_id = self._pick(n, (Phase.COMMITTING, Phase.REVEALING))
            if dispute_id is None:
                return
            self._settle(dispute_id)

        def _settle(self, dispute_id):
            d = self.disputes[dispute_id]
            now = chain.pending_timestamp
            ballots = d["ballots"]
            right = sum(1 for b in ballots.values() if b == Ballot.REVEALED_RIGHT)
            wrong = sum(1 for b in ballots.values() if b == Ballot.REVEALED_WRONG)
            commits = sum(1 for b in ballots.values() if b != Ballot.DRAWN)
            done = (right + wrong == len(ballots) or now > d["reveal_deadline"]
                    or (now > d["commit_deadline"] and right + wrong == commits))
            if not done:
                with ape.reverts("DisputeCourt: votes still open"):
                    court.settle(dispute_id, sender=requester)
                return
            tx = court.settle(dispute_id, sender=requester)
            majority = len(ballots) // 2 + 1
            for member, ballot in ballots.items():
                if ballot in (Ballot.DRAWN, Ballot.COMMITTED):
                    self._slash(member, no_show, gov.address)
            if right >= majority or wrong >= majority:
                worker_was_right = right >= majority
                winning = Ballot.REVEALED_RIGHT if worker_was_right else Ballot.REVEALED_WRONG
                paid = 0
                for member, ballot in ballots.items():
                    if ballot == winning:
                        self.court_owed[member] += fee
                        paid += fee
                winner = worker if worker_was_right else challenger
                self.court_owed[winner.address] += d["bond"] - paid
                d["phase"] = Phase.SETTLED
                self._verdict_to_market(d, worker_was_right)
                log = tx.decode_logs(court.DisputeSettled)[0]
                assert (log.worker_was_right, log.for_worker, log.for_challenger) == (worker_was_right, right, wrong)
            else:
                assert tx.decode_logs(court.DisputeEscalated)[0].reason == "no majority"
                self._escalated(d, tx.timestamp)

        @rule(n=pick, worker_was_right=st.booleans())
        def rule_escalated(self, n, worker_was_right):
            dispute_id = self._pick(n, (Phase.ESCALATED,))
            if dispute_id is None:
                return
            d = self.disputes[dispute_id]
            if chain.pending_timestamp > d["escalated_until"]:
                with ape.reverts("DisputeCourt: escalation expired"):
                    court.rule(dispute_id, worker_was_right, sender=gov)
                return
            court.rule(dispute_id, worker_was_right, sender=gov)
            winner = worker if worker_was_right else challenger
            self.court_owed[winner.address] += d["bond"]
            d["phase"] = Phase.RULED
            self._verdict_to_market(d, worker_was_right)

        @rule(n=pick, wait_it_out=st.booleans())
        def expire(self, n, wait_it_out):
            dispute_id = self._pick(n, (Phase.ESCALATED,))
            if dispute_id is None:
                return
            self._expire(dispute_id, wait_it_out)

        def _expire(self, dispute_id, wait_it_out):
            d = self.disputes[dispute_id]
            if wait_it_out:
                chain.mine(timestamp=max(chain.pending_timestamp, d["escalated_until"] + 1))
            if chain.pending_timestamp <= d["escalated_until"]:
                with ape.reverts("DisputeCourt: escalation not expired"):
                    court.expire(dispute_id, sender=requester)
                return
            court.expire(dispute_id, sender=requester)
            self.court_owed[challenger.address] += d["bond"]
            d["phase"] = Phase.EXPIRED
            self._verdict_to_market(d, True)

        @rule(i=st.integers(0, len(parties) - 1))
        def withdraw(self, i):
            account = parties[i]
            withdraw_checked(court, account_of[account], self.court_owed[account])
            self.court_owed[account] = 0

        @rule(v=st.integers(0, VERIFIERS - 1))
        def leave_or_join(self, v):
            address = vaddr[v]
            if self.in_pool[address]:
                court.leave(model_id, sender=verifiers[v])
                self.in_pool[address] = False
            elif self._active(address):
                tx = court.join(model_id, sender=verifiers[v])
                self.in_pool[address], self.joined_at[address] = True, tx.block_number
            else:
                with ape.reverts("DisputeCourt: caller is not an active worker"):
                    court.join(model_id, sender=verifiers[v])

        @rule(v=st.integers(0, VERIFIERS - 1))
        def run_away(self, v):
            """A verifier drawn into committees unbonds, waits out the delay and withdraws all it can."""
            address = vaddr[v]
            if not self.registered[address]:
                return
            if not self.unbonding[address]:
                self.unbonding[address] = registry.unbond(sender=verifiers[v]).timestamp + UNBONDING
            chain.mine(timestamp=max(chain.pending_timestamp, self.unbonding[address]))
            locked = self._locked(address)
            stake = self.stakes[address]
            if locked and stake <= locked:
                with ape.reverts("WorkerRegistry: stake locked"):
                    registry.withdraw_stake(sender=verifiers[v])
                return
            registry.withdraw_stake(sender=verifiers[v])
            self.wallets[address] += stake - locked
            self.stakes[address] = locked
            if not locked:
                self.registered[address], self.unbonding[address] = False, 0

        @rule(v=st.integers(0, VERIFIERS - 1))
        def come_back(self, v):
            """A verifier that withdrew registers again, or one slashed below the minimum tops up: active
            again, still listed in the pool, but drawn only for disputes opened after it came back."""
            address = vaddr[v]
            if not self.registered[address]:
                amount = MIN_STAKE
                if self.wallets[address] < amount:
                    return
                tx = registry.register(verifiers[v], "", amount, sender=verifiers[v])
                self.registered[address], self.unbonding[address] = True, 0
            elif not self.unbonding[address] and self.stakes[address] < MIN_STAKE:
                amount = MIN_STAKE - self.stakes[address]
                if self.wallets[address] < amount:
                    return
                tx = registry.add_stake(amount, sender=verifiers[v])
            else:
                return
            self.stakes[address] += amount
            self.wallets[address] -= amount
            self.active_from[address] = tx.block_number
            assert registry.active_since(verifiers[v]) == tx.block_number

        @rule(seconds=st.sampled_from([60, 1_801, 3_601, 5_401, ESCALATION + 1]))
        def wait(self, seconds):
            chain.mine(timestamp=chain.pending_timestamp + seconds)

        # ------------------------------------------------------------ invariants

        @invariant()
        def eth_is_conserved_and_nobody_paid_twice(self):
            bonds = sum(d["bond"] for d in self.disputes.values() if d["phase"] in OPEN_PHASES)
            assert court.balance == bonds + sum(self.court_owed.values())
            for account in parties:
                assert court.owed(account) == self.court_owed[account]

        @invariant()
        def tokens_are_conserved(self):
            assert token.balanceOf(registry) == sum(self.stakes.values())
            for address, balance in self.wallets.items():
                assert token.balanceOf(address) == balance

        @invariant()
        def stakes_and_locks_match(self):
            for address, stake in self.stakes.items():
                assert registry.workers(address).stake == stake
                assert registry.locked_by(court, address) == self._court_locked(address)
                assert registry.locked(address) == self._locked(address)

        @invariant()
        def phases_and_requests_match(self):
            drawing = sum(1 for d in self.disputes.values() if d["phase"] == Phase.DRAWING)
            assert court.awaiting_draw(model_id) == drawing  # what holds a full pool's displacement back
            for dispute_id, d in self.disputes.items():
                onchain = court.disputes(dispute_id)
                assert onchain.phase == d["phase"]
                if d["members"]:
                    for member, ballot in d["ballots"].items():
                        assert court.ballots(dispute_id, member) == ballot
            for rid, state in self.requests.items():
                assert market.get_request(rid).state == state

        @invariant()
        def every_open_dispute_has_a_deadline(self):
            now = chain.blocks.head.timestamp
            for d in self.disputes.values():
                if d["phase"] in (Phase.COMMITTING, Phase.REVEALING):
                    assert d["reveal_deadline"] <= now + p.commit_period + p.reveal_period
                elif d["phase"] == Phase.ESCALATED:
                    assert d["escalated_until"] <= now + ESCALATION

        # ------------------------------------------------------------ every dispute ends

        def _drive_everything_to_the_end(self):
            for _ in range(4):  # draw -> (commit window) -> settle -> (escalation) -> expire
                for dispute_id, d in self.disputes.items():
                    if d["phase"] == Phase.DRAWING:
                        self._draw_now(dispute_id)
                for dispute_id, d in self.disputes.items():
                    if d["phase"] in (Phase.COMMITTING, Phase.REVEALING):
                        chain.mine(timestamp=max(chain.pending_timestamp, d["reveal_deadline"] + 1))
                        self._settle(dispute_id)
                for dispute_id, d in self.disputes.items():
                    if d["phase"] == Phase.ESCALATED:
                        self._expire(dispute_id, True)
            assert all(d["phase"] not in OPEN_PHASES for d in self.disputes.values())
            for address in vaddr:
                assert registry.locked_by(court, address) == 0
            self.eth_is_conserved_and_nobody_paid_twice()
            assert court.balance == sum(self.court_owed.values())
            self.tokens_are_conserved()

        def _draw_now(self, dispute_id):
            ids = [i for i, d in self.disputes.items() if d["phase"] == Phase.DRAWING]
            self.draw(ids.index(dispute_id), False)

    run_state_machine_as_test(
        DisputeMachine, settings=settings(max_examples=max(settings.default.max_examples // 5, 1))
    )
