"""InferenceMarket and its WorkerRegistry under random requests (single and batched), claims,
fulfilments, challenges with their resolution or expiry, finalizations
(batched), refunds, share transfers, withdrawals, and workers that unbond,
withdraw their stake and join again, checked against a model of what every
party is owed and staked.

After every step:
- the market's ETH equals open escrows + everything it owes, and the court's
  ETH equals the bonds of open disputes + everything it owes;
- ModelShares holds exactly the shareholders' cuts not yet withdrawn, and
  what holders can withdraw never exceeds it;
- what the market and the court owe each party equals the model (nobody paid twice);
- every request's on-chain state equals the model's;
- tokens are conserved: the registry holds exactly the modelled stakes, and
  every slashed or withdrawn token is where the model says (stake + slashed
  + withdrawn is constant; a lost challenge's slash goes half to the
  challenger, the rest to the treasury);
- the stake locked for each worker is exactly what its requests in flight may
  take (max(miss_slash, challenge_slash) each), and the free stake never
  counts locked tokens: a worker never withdraws stake a pending dispute may take;
- every request in flight is backed by stake: a claim needs stake for its lock
  beside the market's locks for the worker's other requests in flight, so a
  worker's lock never exceeds its stake, slashes included;
- every challenge ends: it can be ruled until its expiry and expired after.

The market here is a second deployment, with its own DisputeCourt, both
governed by a plain account (which is also their treasury), so challenges
can be ruled without a week of voting: the court's verifier pool is empty,
so every dispute escalates at its draw and the account rules it (the
committee path has its own machine, test_dispute_state_machine.py). The
escalation period is two days (the unbonding delay one) so that expiry and
a ruling after a runaway's withdrawal both happen within a run.
"""

import ape
import pytest
from ape import chain
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from offchain.deploy import MarketConfig
from tests.conftest import MIN_STAKE
from tests.utils.market import (CHALLENGED, CLAIMED, FINALIZED, FULFILLED, REFUNDED, REQUESTED, RESULT_HASH,
                                signature)
from tests.utils.constants import DAY, ETH
from tests.utils.payments import withdraw_checked

OPEN = (REQUESTED, CLAIMED, FULFILLED, CHALLENGED)
IN_FLIGHT = (CLAIMED, FULFILLED, CHALLENGED)
STAKE = 2 * MIN_STAKE
UNBONDING = DAY  # seconds
TIMEOUT = 2 * 86_400  # escalation period, seconds: longer than unbonding, so a runaway's dispute is still open
pick = st.integers(min_value=0, max_value=10**6)


@pytest.fixture(scope="module")
def lone_market(project, system, model_id, deployer, accounts):
    """A market, and its own worker registry, governed by accounts[9]."""
    gov = accounts[9]
    token = system.GovernanceToken
    config = MarketConfig(miss_slash=10 * ETH, challenge_slash=100 * ETH, escalation_period=TIMEOUT)
    registry = gov.deploy(project.WorkerRegistry, token, MIN_STAKE, UNBONDING)
    court = gov.deploy(project.DisputeCourt, system.ModelRegistry, registry, gov, config.court_params())
    market = gov.deploy(
        project.InferenceMarket, gov, system.ModelRegistry, registry, court, system.ModelShares, token,
        config.market_params(),
    )
    registry.set_permissions(market, True, True, sender=gov)
    registry.set_permissions(court, True, False, sender=gov)
    court.set_client(market, True, sender=gov)
    for w in (accounts[5], accounts[4]):
        token.transfer(w, 10 * STAKE, sender=deployer)
        token.approve(registry, 2**256 - 1, sender=w)
        registry.register(w, "", STAKE, sender=w)
    return market, court, registry, token, gov, [accounts[5], accounts[4]], [accounts[6], accounts[1]]


def test_market_state_machine(lone_market, model_id, shares, author, dave):
    market, court, registry, token, gov, workers, requesters = lone_market
    holders = [author, dave]
    params = market.params()
    lock = max(params.miss_slash, params.challenge_slash)  # locked per request in flight
    party_accounts = [*workers, *requesters, gov]
    parties = [a.address for a in party_accounts]
    token_holders = [w.address for w in workers] + [gov.address]

    class MarketMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.requests = {}  # id -> dict(state, payment, requester, worker, deadline, stamp, bond, challenger, expires_at)
            self.owed = dict.fromkeys(parties, 0)
            self.court_owed = dict.fromkeys(parties, 0)
            self.shares_eth = shares.balance  # ETH ModelShares should hold
            # worker -> dict(stake, unbonding_at (0: bonded), registered)
            self.stakes = {w.address: dict(stake=STAKE, withdrawable_at=0, registered=True) for w in workers}
            self.wallets = {a: token.balanceOf(a) for a in token_holders}  # tokens outside the registry
            self.tokens_total = token.balanceOf(registry) + sum(self.wallets.values())

        def teardown(self):
            chain.restore(self.snapshot)

        def _choose(self, n, states):
            ids = [i for i, r in self.requests.items() if r["state"] in states]
            return ids[n % len(ids)] if ids else None

        def _active(self, address):
            s = self.stakes[address]
            return s["registered"] and s["withdrawable_at"] == 0 and s["stake"] >= MIN_STAKE

        def _in_flight(self, address):
            return sum(1 for r in self.requests.values() if r["state"] in IN_FLIGHT and r["worker"] == address)

        def _has_room(self, address):
            """The worker's stake covers one more claim's lock beside the market's locks for its requests."""
            stake = self.stakes[address]["stake"]
            return stake - min(stake, lock * self._in_flight(address)) >= lock

        def _slash(self, worker, amount, recipient):
            taken = min(amount, self.stakes[worker]["stake"])
            self.stakes[worker]["stake"] -= taken
            self.wallets[recipient] += taken

        def _slash_split(self, worker, amount, challenger):
            """A lost challenge: half of what is taken (rounded down) to the challenger, the rest to the treasury."""
            taken = min(amount, self.stakes[worker]["stake"])
            self.stakes[worker]["stake"] -= taken
            self.wallets[challenger] += taken // 2
            self.wallets[gov.address] += taken - taken // 2

        def _settle(self, rid, now):
            """Finalizes a request in the model: the split, as the contract does."""
            req = self.requests[rid]
            p = req["payment"]
            worker_cut = p * params.worker_bps // 10_000
            share_cut = p * params.shareholders_bps // 10_000
            holder_cut = p * params.holders_bps // 10_000
            self.owed[req["worker"]] += worker_cut
            self.owed[gov.address] += p - worker_cut - share_cut - holder_cut
            self.shares_eth += share_cut
            req["state"] = FINALIZED

        @rule(r=st.integers(0, 1), ttl=st.integers(60, 7_200))
        def request(self, r, ttl):
            requester = requesters[r]
            payment = market.quote(model_id)
            deadline = chain.pending_timestamp + ttl
            market.request_inference(model_id, keccak(b"x"), "", deadline, sender=requester, value=payment)
            rid = market.request_count()
            self.requests[rid] = dict(state=REQUESTED, payment=payment, requester=requester.address, worker=None,
                                      deadline=deadline, stamp=0, bond=0, challenger=None, dispute_id=0,
                                      expires_at=0)

        @rule(r=st.integers(0, 1), ttl=st.integers(60, 7_200), count=st.integers(1, 4), excess=st.integers(0, 10**15))
        def request_batch(self, r, ttl, count, excess):
            """Several requests in one transaction, one payment for all (the excess comes back)."""
            requester = requesters[r]
            payment = market.quote(model_id)
            deadline = chain.pending_timestamp + ttl
            before = requester.balance
            tx = market.request_inference_batch(
                model_id, [keccak(b"x%d" % i) for i in range(count)], ["data:,x"] * count, deadline,
                sender=requester, value=payment * count + excess)
            assert requester.balance == before - payment * count - tx.total_fees_paid
            last = market.request_count()
            for rid in range(last - count + 1, last + 1):
                self.requests[rid] = dict(state=REQUESTED, payment=payment, requester=requester.address, worker=None,
                                          deadline=deadline, stamp=0, bond=0, challenger=None, dispute_id=0,
                                          expires_at=0)

        @rule(n=pick, w=st.integers(0, 1))
        def claim(self, n, w):
            rid = self._choose(n, (REQUESTED, CLAIMED))
            if rid is None:
                return
            req, now = self.requests[rid], chain.pending_timestamp
            if not self._active(workers[w].address):
                with ape.reverts("InferenceMarket: caller is not an active worker"):
                    market.claim(rid, sender=workers[w])
                return
            if not self._has_room(workers[w].address):
                with ape.reverts("InferenceMarket: stake below the claim's lock"):
                    market.claim(rid, sender=workers[w])
                return
            ok = now <= req["deadline"] and (
                req["state"] == REQUESTED or now > req["stamp"] + params.claim_timeout)
            if not ok:
                with ape.reverts():
                    market.claim(rid, sender=workers[w])
                return
            market.claim(rid, sender=workers[w])
            req.update(state=CLAIMED, worker=workers[w].address, stamp=chain.blocks.head.timestamp)

        @rule(r=st.integers(0, 1), w=st.integers(0, 1), disputed=st.booleans())
        def serve(self, r, w, disputed):
            """A worker's whole turn in one step (request, claim, fulfil, and perhaps
            a challenge by the other worker), so that short runs reach disputes."""
            if not self._active(workers[w].address) or not self._has_room(workers[w].address):
                return
            self.request(r, 3_600)
            rid = market.request_count()
            market.claim(rid, sender=workers[w])
            market.fulfill(rid, RESULT_HASH, "", signature(market, rid, workers[w].private_key), sender=workers[w])
            now = chain.blocks.head.timestamp
            self.requests[rid].update(state=FULFILLED, worker=workers[w].address, stamp=now)
            if disputed:
                self.challenge(len([i for i, q in self.requests.items() if q["state"] == FULFILLED]) - 1)

        @rule(n=pick)
        def fulfil(self, n):
            rid = self._choose(n, (CLAIMED,))
            if rid is None:
                return
            req = self.requests[rid]
            worker = next(w for w in workers if w.address == req["worker"])
            sig = signature(market, rid, worker.private_key)
            if chain.pending_timestamp > req["deadline"]:
                with ape.reverts("InferenceMarket: request expired"):
                    market.fulfill(rid, RESULT_HASH, "", sig, sender=worker)
                return
            if not self._active(worker.address):
                with ape.reverts("InferenceMarket: worker is not active"):
                    market.fulfill(rid, RESULT_HASH, "", sig, sender=worker)
                return
            market.fulfill(rid, RESULT_HASH, "", sig, sender=worker)
            req.update(state=FULFILLED, stamp=chain.blocks.head.timestamp)

        @rule(n=pick)
        def challenge(self, n):
            rid = self._choose(n, (FULFILLED,))
            if rid is None:
                return
            req = self.requests[rid]
            challenger = next(w for w in workers if w.address != req["worker"])
            if chain.pending_timestamp > req["stamp"] + params.challenge_window:
                return
            if not self._active(challenger.address):
                with ape.reverts("InferenceMarket: caller is not an active worker"):
                    market.challenge(rid, keccak(b"other"), sender=challenger, value=params.challenge_bond)
                return
            market.challenge(rid, keccak(b"other"), sender=challenger, value=params.challenge_bond)
            dispute_id = market.challenges(rid).dispute_id
            chain.mine(2)  # the draw block
            tx = court.draw(dispute_id, sender=requesters[0])  # no verifiers: escalated to the governing account
            assert tx.decode_logs(court.DisputeEscalated)[0].reason == "too few verifiers"
            req.update(state=CHALLENGED, bond=params.challenge_bond, challenger=challenger.address,
                       dispute_id=dispute_id, expires_at=tx.timestamp + TIMEOUT)

        @rule(n=pick, worker_right=st.booleans())
        def resolve(self, n, worker_right):
            rid = self._choose(n, (CHALLENGED,))
            if rid is None:
                return
            req = self.requests[rid]
            if chain.pending_timestamp > req["expires_at"]:
                with ape.reverts("DisputeCourt: escalation expired"):
                    court.rule(req["dispute_id"], worker_right, sender=gov)
                return
            court.rule(req["dispute_id"], worker_right, sender=gov)
            if worker_right:
                self.court_owed[req["worker"]] += req["bond"]
                req.update(state=FULFILLED, stamp=0, bond=0)
            else:
                self.court_owed[req["challenger"]] += req["bond"]
                self.owed[req["requester"]] += req["payment"]
                self._slash_split(req["worker"], min(params.challenge_slash, lock), req["challenger"])
                req.update(state=REFUNDED, bond=0)

        @rule(n=pick, wait_it_out=st.booleans())
        def expire(self, n, wait_it_out):
            rid = self._choose(n, (CHALLENGED,))
            if rid is None:
                return
            req = self.requests[rid]
            if wait_it_out:  # governance never acts
                chain.mine(timestamp=max(chain.pending_timestamp, req["expires_at"] + 1))
            if chain.pending_timestamp <= req["expires_at"]:
                with ape.reverts("DisputeCourt: escalation not expired"):
                    court.expire(req["dispute_id"], sender=requesters[0])
                return
            court.expire(req["dispute_id"], sender=requesters[0])
            self.court_owed[req["challenger"]] += req["bond"]
            req.update(state=FULFILLED, stamp=0, bond=0)  # the result stands: finalizable at once

        @rule(ns=st.lists(pick, min_size=1, max_size=5))
        def finalize_batch(self, ns):
            ids = [rid for rid in (self._choose(n, (FULFILLED,)) for n in ns) if rid is not None]
            ids = list(dict.fromkeys(ids))
            market.finalize_batch(ids, sender=gov)
            now = chain.blocks.head.timestamp
            for rid in ids:
                if now > self.requests[rid]["stamp"] + params.challenge_window:
                    self._settle(rid, now)

        @rule(n=pick)
        def refund(self, n):
            rid = self._choose(n, (REQUESTED, CLAIMED))
            if rid is None:
                return
            req = self.requests[rid]
            if chain.pending_timestamp <= req["deadline"]:
                with ape.reverts("InferenceMarket: deadline not passed"):
                    market.refund(rid, sender=gov)
                return
            market.refund(rid, sender=gov)
            self.owed[req["requester"]] += req["payment"]
            if req["state"] == CLAIMED:
                self._slash(req["worker"], min(params.miss_slash, lock), gov.address)
            req["state"] = REFUNDED

        @rule(i=st.integers(0, len(parties) - 1))
        def withdraw(self, i):
            account = parties[i]
            withdraw_checked(market, party_accounts[i], self.owed[account])
            self.owed[account] = 0

        @rule(i=st.integers(0, len(parties) - 1))
        def withdraw_from_court(self, i):
            account = parties[i]
            withdraw_checked(court, party_accounts[i], self.court_owed[account])
            self.court_owed[account] = 0

        @rule(w=st.integers(0, 1))
        def unbond(self, w):
            s = self.stakes[workers[w].address]
            if not s["registered"] or s["withdrawable_at"]:
                with ape.reverts():
                    registry.unbond(sender=workers[w])
                return
            registry.unbond(sender=workers[w])
            s["withdrawable_at"] = chain.blocks.head.timestamp + UNBONDING

        @rule(w=st.integers(0, 1))
        def withdraw_stake(self, w):
            """The attack of issue 11: whatever a worker tries, locked stake stays."""
            address = workers[w].address
            s = self.stakes[address]
            locked = lock * self._in_flight(address)
            if not s["registered"]:
                reason = "WorkerRegistry: not registered"
            elif not s["withdrawable_at"]:
                reason = "WorkerRegistry: not unbonding"
            elif chain.pending_timestamp < s["withdrawable_at"]:
                reason = "WorkerRegistry: unbonding delay not passed"
            elif locked and s["stake"] <= locked:
                reason = "WorkerRegistry: stake locked"
            else:
                reason = None
            if reason:
                with ape.reverts(reason):
                    registry.withdraw_stake(sender=workers[w])
                return
            tx = registry.withdraw_stake(sender=workers[w])
            amount = s["stake"] - locked
            assert tx.decode_logs(registry.StakeWithdrawn)[0].amount == amount
            self.wallets[address] += amount
            s["stake"] = locked
            if not locked:
                s.update(registered=False, withdrawable_at=0)

        @rule(w=st.integers(0, 1), serve_first=st.booleans())
        def run_away(self, w, serve_first):
            """Issue 11's attack in one step: (serve and get challenged,) unbond, wait
            out the delay, withdraw all that leaves."""
            if serve_first:
                self.serve(0, w, True)
            s = self.stakes[workers[w].address]
            if s["registered"] and not s["withdrawable_at"]:
                self.unbond(w)
            chain.mine(timestamp=chain.pending_timestamp + UNBONDING)
            self.withdraw_stake(w)

        @rule(w=st.integers(0, 1))
        def join_again(self, w):
            address = workers[w].address
            s = self.stakes[address]
            if s["registered"]:
                return
            registry.register(address, "", STAKE, sender=workers[w])
            self.wallets[address] -= STAKE
            s.update(stake=STAKE, withdrawable_at=0, registered=True)

        @rule(i=st.integers(0, 1), fraction=st.fractions(0, 1))
        def transfer_shares(self, i, fraction):
            sender, receiver = holders[i], holders[1 - i]
            amount = int(shares.balanceOf(sender, model_id) * fraction)
            shares.safeTransferFrom(sender, receiver, model_id, amount, b"", sender=sender)

        @rule(i=st.integers(0, 1))
        def withdraw_share_revenue(self, i):
            available = shares.withdrawable_revenue(holders[i], [model_id])
            if available == 0:
                return
            shares.withdraw_revenue([model_id], sender=holders[i])
            self.shares_eth -= available

        @rule(seconds=st.sampled_from([30, 601, 3_601, 7_201, UNBONDING, TIMEOUT + 1]))
        def wait(self, seconds):
            chain.mine(timestamp=chain.pending_timestamp + seconds)

        @invariant()
        def eth_is_conserved(self):
            escrow = sum(r["payment"] for r in self.requests.values() if r["state"] in OPEN)
            bonds = sum(r["bond"] for r in self.requests.values() if r["state"] == CHALLENGED)
            assert market.balance == escrow + sum(self.owed.values())
            assert court.balance == bonds + sum(self.court_owed.values())

        @invariant()
        def nobody_is_owed_more_or_less(self):
            for account in parties:
                assert market.owed(account) == self.owed[account]
                assert court.owed(account) == self.court_owed[account]

        @invariant()
        def share_revenue_is_conserved(self):
            assert shares.balance == self.shares_eth
            assert sum(shares.withdrawable_revenue(h, [model_id]) for h in holders) <= self.shares_eth

        @invariant()
        def states_match(self):
            for rid, req in self.requests.items():
                view = market.get_request(rid)
                assert (view.state, view.payment, view.requester, view.deadline) == (
                    req["state"], req["payment"], req["requester"], req["deadline"])
                if req["worker"] is not None:
                    assert view.worker == req["worker"]

        @invariant()
        def tokens_are_conserved(self):
            assert token.balanceOf(registry) == sum(s["stake"] for s in self.stakes.values())
            for address, balance in self.wallets.items():
                assert token.balanceOf(address) == balance
            assert token.balanceOf(registry) + sum(self.wallets.values()) == self.tokens_total

        @invariant()
        def stakes_and_locks_match(self):
            for address, s in self.stakes.items():
                onchain = registry.workers(address)
                assert (onchain.stake, onchain.withdrawable_at) == (s["stake"], s["withdrawable_at"])
                in_flight = self._in_flight(address)
                assert market.exposure(address) == (in_flight, lock * in_flight)
                assert registry.locked(address) == lock * in_flight
                assert registry.locked(address) <= onchain.stake  # every request in flight is backed
                assert registry.free_stake(address) == s["stake"] - min(s["stake"], lock * in_flight)

        @invariant()
        def every_challenge_ends(self):
            for rid, req in self.requests.items():
                if req["state"] == CHALLENGED:
                    dispute = court.disputes(req["dispute_id"])
                    assert dispute.phase == 4  # escalated: ruled until, expired by anyone after
                    assert dispute.escalated_until == req["expires_at"]
                    assert req["expires_at"] <= chain.blocks.head.timestamp + TIMEOUT

    run_state_machine_as_test(
        MarketMachine, settings=settings(max_examples=max(settings.default.max_examples // 3, 1))
    )
