"""PaymentChannels under random opens, fundings, settlements (with stale and
oversized vouchers), close requests, closes, receipt challenges and their
ruling or expiry (through a lone DisputeCourt with an empty verifier pool:
each dispute escalates at its draw to the governing account),
withdrawals, and a worker that unbonds and withdraws its stake.

After every step the channels' ETH equals the unspent deposits of open
channels + everything owed, the court's ETH equals the bonds of open
challenges + everything it owes, and what each owes each party equals the
model; the worker's stake locked in the registry is
exactly `challenge_slash` per open receipt challenge, its stake and the
tokens slashed from it add up (half of a lost challenge's slash to the
challenger, the rest to the treasury), and it can never withdraw locked stake.
"""

import ape
import pytest
from ape import chain
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from offchain.deploy import MarketConfig
from tests.conftest import MIN_STAKE, MODEL_PRICE
from tests.utils.channels import item, receipt
from tests.utils.payments import withdraw_checked

pick = st.integers(0, 10**6)
SLASH = 100 * 10**18  # receipt challenge_slash, locked per open challenge
UNBONDING = 86_400  # seconds
TIMEOUT = 14 * 86_400  # escalation period, seconds


@pytest.fixture(scope="module")
def lone_channels(project, system, model_id, deployer, accounts):
    """Channels, their own court and worker registry governed by accounts[9] (also the
    treasury), so disputes are ruled at once; accounts[5] is staked there."""
    gov = accounts[9]
    token = system.GovernanceToken
    registry = gov.deploy(project.WorkerRegistry, token, MIN_STAKE, UNBONDING)
    court = gov.deploy(project.DisputeCourt, system.ModelRegistry, registry, gov,
                       MarketConfig(escalation_period=TIMEOUT).court_params())
    channels = gov.deploy(project.PaymentChannels, gov, system.ModelRegistry, registry,
                          system.InferenceMarket, court, system.ModelShares, token, (600, 10**16, SLASH))
    registry.set_permissions(channels, True, False, sender=gov)
    registry.set_permissions(court, True, False, sender=gov)
    court.set_client(channels, True, sender=gov)
    token.transfer(accounts[5], 2 * MIN_STAKE, sender=deployer)
    token.approve(registry, 2 * MIN_STAKE, sender=accounts[5])
    registry.register(accounts[5], "", 2 * MIN_STAKE, sender=accounts[5])
    return channels, court, registry, token, gov


def test_channels_state_machine(lone_channels, model_id, system, accounts):
    channels, court, registry, token, gov = lone_channels
    staked_worker = accounts[5]
    timeout = TIMEOUT
    payers = [accounts[6], accounts[1]]
    worker = staked_worker
    parties = [p.address for p in payers] + [worker.address, gov.address, accounts[4].address]
    account_of = {a.address: a for a in [*payers, worker, gov, accounts[4]]}

    class ChannelMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.open = {}  # channel id -> dict(payer, deposit, settled, closes_at)
            self.owed = dict.fromkeys(parties, 0)
            self.court_owed = dict.fromkeys(parties, 0)
            self.disputes = {}  # open challenge id -> dispute id
            self.bonds = {}  # open challenge id -> bond
            self.expiry = {}  # open challenge id -> expires_at
            self.stake = registry.workers(worker).stake
            self.unbonding_at = 0  # when the worker may withdraw; zero while bonded
            self.registered = True
            self.tokens = {a: token.balanceOf(a) for a in (worker.address, *(p.address for p in payers), gov.address)}
            self.challenger = {}  # open challenge id -> the payer who challenged
            self.challenged = set()  # (channel id, seq): each receipt is challenged once

        def teardown(self):
            chain.restore(self.snapshot)

        def _channel(self, n):
            ids = list(self.open)
            return ids[n % len(ids)] if ids else None

        @rule(p=st.integers(0, 1), deposit=st.integers(1, 50).map(lambda k: k * MODEL_PRICE))
        def open_channel(self, p, deposit):
            payer = payers[p]
            if any(c["payer"] == payer.address for c in self.open.values()):
                return  # one channel per (payer, worker, model) at a time
            if self.unbonding_at or not self.registered:
                with ape.reverts("PaymentChannels: worker not active"):
                    channels.open_channel(worker, model_id, sender=payer, value=deposit)
                return
            tx = channels.open_channel(worker, model_id, sender=payer, value=deposit)
            cid = bytes(tx.decode_logs(channels.ChannelOpened)[0].channel_id)
            self.open[cid] = dict(payer=payer.address, deposit=deposit, settled=0, closes_at=0)

        @rule(n=pick, amount=st.integers(1, 10).map(lambda k: k * MODEL_PRICE))
        def fund(self, n, amount):
            cid = self._channel(n)
            if cid is None or self.open[cid]["closes_at"]:
                return
            c = self.open[cid]
            channels.fund(cid, sender=account_of[c["payer"]], value=amount)
            c["deposit"] += amount

        @rule(n=pick, calls=st.integers(-2, 30))
        def settle(self, n, calls):
            cid = self._channel(n)
            if cid is None:
                return
            c = self.open[cid]
            amount = c["settled"] + calls * MODEL_PRICE
            entry = item(channels, account_of[c["payer"]], cid, max(amount, 0))
            if amount <= c["settled"] or amount > c["deposit"]:
                with ape.reverts():
                    channels.settle([entry], sender=worker)
                return
            channels.settle([entry], sender=worker)
            paid = amount - c["settled"]
            c["settled"] = amount
            w = paid * 7_000 // 10_000
            s = paid * 2_000 // 10_000
            h = paid * 500 // 10_000
            self.owed[worker.address] += w
            self.owed[gov.address] += paid - w - s - h

        @rule(n=pick)
        def request_close(self, n):
            cid = self._channel(n)
            if cid is None or self.open[cid]["closes_at"]:
                return
            c = self.open[cid]
            channels.request_close(cid, sender=account_of[c["payer"]])
            c["closes_at"] = chain.blocks.head.timestamp + 600

        @rule(n=pick, by_worker=st.booleans())
        def close(self, n, by_worker):
            cid = self._channel(n)
            if cid is None:
                return
            c = self.open[cid]
            if not by_worker and not (c["closes_at"] and chain.pending_timestamp >= c["closes_at"]):
                with ape.reverts():
                    channels.close(cid, sender=accounts[4])
                return
            channels.close(cid, sender=worker if by_worker else accounts[4])
            self.owed[c["payer"]] += c["deposit"] - c["settled"]
            del self.open[cid]

        @rule(n=pick)
        def challenge(self, n):
            cid = self._channel(n)
            if cid is None:
                return
            sig = receipt(channels, worker, cid, n, keccak(b"in"), keccak(b"out"))
            args = (cid, n, keccak(b"in"), keccak(b"out"), sig, keccak(b"x"), "data:,in", "data:,out")
            payer = account_of[self.open[cid]["payer"]]
            with ape.reverts("PaymentChannels: caller is not the payer"):  # a copier of the payer's challenge
                channels.challenge_receipt(*args, sender=accounts[4], value=10**16)
            if (cid, n) in self.challenged:
                with ape.reverts("PaymentChannels: receipt already challenged"):
                    channels.challenge_receipt(*args, sender=payer, value=10**16)
                return
            if not self.registered:  # withdrew: nothing left to answer with
                with ape.reverts("PaymentChannels: receipt not signed by the worker"):
                    channels.challenge_receipt(*args, sender=payer, value=10**16)
                return
            tx = channels.challenge_receipt(*args, sender=payer, value=10**16)
            self.challenged.add((cid, n))
            challenge_id = tx.decode_logs(channels.ReceiptChallenged)[0].challenge_id
            dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
            chain.mine(2)  # the draw block
            tx = court.draw(dispute_id, sender=payers[0])  # no verifiers: escalated to the governing account
            self.bonds[challenge_id] = 10**16
            self.challenger[challenge_id] = payer.address
            self.disputes[challenge_id] = dispute_id
            self.expiry[challenge_id] = tx.timestamp + timeout

        @rule(n=pick, worker_right=st.booleans())
        def resolve(self, n, worker_right):
            if not self.bonds:
                return
            challenge_id = sorted(self.bonds)[n % len(self.bonds)]
            if chain.pending_timestamp > self.expiry[challenge_id]:
                with ape.reverts("DisputeCourt: escalation expired"):
                    court.rule(self.disputes[challenge_id], worker_right, sender=gov)
                return
            court.rule(self.disputes[challenge_id], worker_right, sender=gov)
            bond = self.bonds.pop(challenge_id)
            del self.expiry[challenge_id], self.disputes[challenge_id]
            challenger = self.challenger.pop(challenge_id)
            self.court_owed[worker.address if worker_right else challenger] += bond
            if not worker_right:
                taken = min(SLASH, self.stake)
                self.stake -= taken
                self.tokens[challenger] += taken // 2  # half to the challenger
                self.tokens[gov.address] += taken - taken // 2  # the rest to the treasury

        @rule(n=pick, wait_it_out=st.booleans())
        def expire(self, n, wait_it_out):
            if not self.bonds:
                return
            challenge_id = sorted(self.bonds)[n % len(self.bonds)]
            if wait_it_out:  # governance never acts
                chain.mine(timestamp=max(chain.pending_timestamp, self.expiry[challenge_id] + 1))
            if chain.pending_timestamp <= self.expiry[challenge_id]:
                with ape.reverts("DisputeCourt: escalation not expired"):
                    court.expire(self.disputes[challenge_id], sender=payers[0])
                return
            court.expire(self.disputes[challenge_id], sender=payers[0])
            self.court_owed[self.challenger.pop(challenge_id)] += self.bonds.pop(challenge_id)
            del self.expiry[challenge_id], self.disputes[challenge_id]

        @rule()
        def unbond(self):
            if self.unbonding_at or not self.registered:
                with ape.reverts():
                    registry.unbond(sender=worker)
                return
            self.unbonding_at = registry.unbond(sender=worker).timestamp + UNBONDING

        @rule(n=pick)
        def run_away(self, n):
            """Issue 11's attack in one step: get a receipt challenged, unbond, wait out
            the delay, withdraw all that leaves."""
            self.challenge(n)
            if self.registered and not self.unbonding_at:
                self.unbond()
            chain.mine(timestamp=chain.pending_timestamp + UNBONDING)
            self.withdraw_stake()

        @rule()
        def withdraw_stake(self):
            locked = SLASH * len(self.bonds)
            if not self.registered or not self.unbonding_at or chain.pending_timestamp < self.unbonding_at:
                with ape.reverts():
                    registry.withdraw_stake(sender=worker)
                return
            if locked and self.stake <= locked:
                with ape.reverts("WorkerRegistry: stake locked"):
                    registry.withdraw_stake(sender=worker)
                return
            registry.withdraw_stake(sender=worker)
            self.tokens[worker.address] += self.stake - locked
            self.stake = locked
            if not locked:
                self.registered = False

        @rule(i=st.integers(0, len(parties) - 1))
        def withdraw(self, i):
            account = parties[i]
            withdraw_checked(channels, account_of[account], self.owed[account])
            self.owed[account] = 0

        @rule(i=st.integers(0, len(parties) - 1))
        def withdraw_from_court(self, i):
            account = parties[i]
            withdraw_checked(court, account_of[account], self.court_owed[account])
            self.court_owed[account] = 0

        @rule(seconds=st.sampled_from([60, 601, UNBONDING, timeout + 1]))
        def wait(self, seconds):
            chain.mine(timestamp=chain.pending_timestamp + seconds)

        @invariant()
        def eth_is_conserved(self):
            unspent = sum(c["deposit"] - c["settled"] for c in self.open.values())
            assert channels.balance == unspent + sum(self.owed.values())
            assert court.balance == sum(self.bonds.values()) + sum(self.court_owed.values())

        @invariant()
        def owed_matches(self):
            for account in parties:
                assert channels.owed(account) == self.owed[account]
                assert court.owed(account) == self.court_owed[account]

        @invariant()
        def stake_and_locks_match(self):
            assert registry.workers(worker).stake == self.stake
            assert token.balanceOf(registry) == self.stake
            for address, balance in self.tokens.items():
                assert token.balanceOf(address) == balance
            assert registry.locked(worker) == SLASH * len(self.bonds)
            assert registry.free_stake(worker) == self.stake - min(self.stake, SLASH * len(self.bonds))

        @invariant()
        def challenges_match(self):
            for challenge_id, expires_at in self.expiry.items():
                onchain = channels.challenges(challenge_id)
                assert (onchain.resolved, onchain.locked, onchain.dispute_id) == (
                    False, SLASH, self.disputes[challenge_id])
                dispute = court.disputes(onchain.dispute_id)
                assert (dispute.phase, dispute.escalated_until) == (4, expires_at)  # escalated: ends by then

        @invariant()
        def channel_state_matches(self):
            for cid, c in self.open.items():
                onchain = channels.channels(cid)
                assert (onchain.deposit, onchain.settled, onchain.closed) == (c["deposit"], c["settled"], False)

    run_state_machine_as_test(
        ChannelMachine, settings=settings(max_examples=max(settings.default.max_examples // 3, 1))
    )
