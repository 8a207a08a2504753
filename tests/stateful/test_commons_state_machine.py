"""TrainingFund and DataBounties under random campaigns, backing, funding
closes, refunds, training claims, deliveries, misses, rejections,
acceptances, contributions, votes, challenges, reward claims and
withdrawals.

After every step:
- the fund's ETH equals the escrow of live campaigns + unrefunded backing of
  failed ones + everything owed;
- the tokens the bounties minted equal the rewards of rewarded
  contributions, and no bounty reserves more than its budget;
- every trained model has exactly 1,000,000 shares.
"""

import ape
import pytest
from ape import chain
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.conftest import stake_worker

ETH = 10**18
DAY = 86_400
FUNDING, FAILED, QUEUED, TRAINING, DELIVERED, ACCEPTED = range(1, 7)
pick = st.integers(0, 10**6)


@pytest.fixture(scope="module")
def lone(project, system, govern, deployer, accounts, worker):
    """A fund and a bounty contract governed by accounts[9], wired by real proposals."""
    gov = accounts[9]
    bounties = gov.deploy(project.DataBounties, gov, system.GovernanceToken, 10**16)
    fund = gov.deploy(project.TrainingFund, gov, system.ModelRegistry, system.ModelShares, system.WorkerRegistry,
                      bounties, (5_000, 3_000, 10 * ETH))
    govern((system.GovernanceToken, "set_minter", bounties.address, True),
           (system.ModelShares, "set_minter", fund.address, True),
           (system.WorkerRegistry, "set_authorised", fund.address, True))
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker, amount=10_000 * ETH)
    gov_tx = bounties.open_bounty("", ETH, 50 * ETH, chain.pending_timestamp + 365 * DAY,
                                  [accounts[3], accounts[4]], 1, DAY, sender=gov)
    assert gov_tx.decode_logs(bounties.BountyOpened)[0].bounty_id == 1
    return fund, bounties, gov


def test_commons_state_machine(lone, system, accounts, worker):
    fund, bounties, gov = lone
    token, shares = system.GovernanceToken, system.ModelShares
    backers = [accounts[6], accounts[1], accounts[2]]
    contributors = [accounts[1], accounts[2]]
    validators = [accounts[3], accounts[4]]
    everyone = [*backers, worker, gov]

    class CommonsMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.supply0 = token.totalSupply()
            self.campaigns = {}  # id -> dict(state, raised, backed{addr: wei}, model)
            self.owed = {a.address: 0 for a in everyone}
            self.contributions = {}  # id -> dict(status, items, owner)
            self.minted = 0

        def teardown(self):
            chain.restore(self.snapshot)

        def _pick(self, n, states):
            ids = [i for i, c in self.campaigns.items() if c["state"] in states]
            return ids[n % len(ids)] if ids else None

        @rule(goal=st.integers(1, 4))
        def open_campaign(self, goal):
            tx = fund.open_campaign("", [1], goal * ETH, chain.pending_timestamp + DAY, DAY, sender=backers[0])
            cid = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
            self.campaigns[cid] = dict(state=FUNDING, raised=0, backed={}, model=0)

        @rule(n=pick, b=st.integers(0, 2), amount=st.integers(1, 3))
        def back(self, n, b, amount):
            cid = self._pick(n, (FUNDING,))
            if cid is None or chain.pending_timestamp > fund.campaigns(cid).funding_deadline:
                return
            fund.back(cid, sender=backers[b], value=amount * ETH)
            c = self.campaigns[cid]
            c["raised"] += amount * ETH
            c["backed"][backers[b].address] = c["backed"].get(backers[b].address, 0) + amount * ETH

        @rule(n=pick)
        def close_funding(self, n):
            cid = self._pick(n, (FUNDING,))
            if cid is None:
                return
            c = self.campaigns[cid]
            if chain.pending_timestamp <= fund.campaigns(cid).funding_deadline:
                with ape.reverts("TrainingFund: funding still open"):
                    fund.close_funding(cid, sender=gov)
                return
            fund.close_funding(cid, sender=gov)
            c["state"] = QUEUED if c["raised"] >= fund.campaigns(cid).goal else FAILED

        @rule(n=pick, b=st.integers(0, 2))
        def refund(self, n, b):
            cid = self._pick(n, (FAILED,))
            if cid is None:
                return
            who = backers[b].address
            amount = self.campaigns[cid]["backed"].get(who, 0)
            if amount == 0:
                with ape.reverts("TrainingFund: nothing to refund"):
                    fund.refund(cid, sender=backers[b])
                return
            fund.refund(cid, sender=backers[b])
            self.campaigns[cid]["backed"][who] = 0
            self.owed[who] += amount

        @rule()
        def claim_head(self):
            queue = list(fund.queue())
            if not queue:
                return
            fund.claim_head(sender=worker)
            self.campaigns[queue[0]]["state"] = TRAINING

        @rule(n=pick)
        def deliver(self, n):
            cid = self._pick(n, (TRAINING,))
            if cid is None or chain.pending_timestamp > fund.campaigns(cid).delivery_deadline:
                return
            fund.deliver(cid, b"\x01" * 32, b"\x02" * 32, "", "", sender=worker)
            self.campaigns[cid]["state"] = DELIVERED

        @rule(n=pick)
        def report_missed(self, n):
            cid = self._pick(n, (TRAINING,))
            if cid is None or chain.pending_timestamp <= fund.campaigns(cid).delivery_deadline:
                return
            fund.report_missed(cid, sender=gov)
            self.campaigns[cid]["state"] = QUEUED

        @rule(n=pick, accept=st.booleans())
        def judge(self, n, accept):
            cid = self._pick(n, (DELIVERED,))
            if cid is None:
                return
            c = self.campaigns[cid]
            if accept:
                tx = fund.accept(cid, 1, sender=gov)
                c["model"] = tx.decode_logs(fund.ModelTrained)[0].model_id
                c["state"] = ACCEPTED
                self.owed[worker.address] += c["raised"]
            else:
                fund.reject(cid, sender=gov)
                c["state"] = QUEUED

        @rule(c=st.integers(0, 1), items=st.integers(1, 20))
        def submit(self, c, items):
            tx = bounties.submit(1, b"\x05" * 32, "", items, sender=contributors[c])
            cid = tx.decode_logs(bounties.ContributionSubmitted)[0].contribution_id
            self.contributions[cid] = dict(status=1, items=items, owner=contributors[c].address)

        @rule(n=pick, accept=st.booleans())
        def vote(self, n, accept):
            pending = [i for i, x in self.contributions.items() if x["status"] == 1]
            if not pending:
                return
            cid = pending[n % len(pending)]
            reserved = bounties.bounties(1).reserved
            if accept and reserved + self.contributions[cid]["items"] * ETH > 50 * ETH:
                with ape.reverts("DataBounties: bounty budget exhausted"):
                    bounties.vote(cid, True, sender=validators[0])
                return
            bounties.vote(cid, accept, sender=validators[0])
            self.contributions[cid]["status"] = 2 if accept else 3

        @rule(n=pick)
        def claim_reward(self, n):
            ready = [i for i, x in self.contributions.items() if x["status"] == 2]
            if not ready:
                return
            cid = ready[n % len(ready)]
            if chain.pending_timestamp <= bounties.contributions(cid).accepted_at + DAY:
                return
            bounties.claim_reward(cid, sender=gov)
            self.contributions[cid]["status"] = 5
            self.minted += self.contributions[cid]["items"] * ETH

        @rule(i=st.integers(0, len(everyone) - 1))
        def withdraw(self, i):
            who = everyone[i]
            if self.owed[who.address] == 0:
                return
            fund.withdraw(sender=who)
            self.owed[who.address] = 0

        @rule(seconds=st.sampled_from([3_600, DAY + 1]))
        def wait(self, seconds):
            chain.mine(timestamp=chain.pending_timestamp + seconds)

        @invariant()
        def escrow_is_conserved(self):
            live = sum(c["raised"] for c in self.campaigns.values()
                       if c["state"] in (FUNDING, QUEUED, TRAINING, DELIVERED))
            unrefunded = sum(sum(c["backed"].values()) for c in self.campaigns.values() if c["state"] == FAILED)
            assert fund.balance == live + unrefunded + sum(self.owed.values())
            for who in everyone:
                assert fund.owed(who) == self.owed[who.address]

        @invariant()
        def rewards_match_mints(self):
            assert token.totalSupply() - self.supply0 == self.minted
            assert bounties.bounties(1).reserved <= 50 * ETH

        @invariant()
        def states_match_and_shares_add_up(self):
            for cid, c in self.campaigns.items():
                assert fund.campaigns(cid).state == c["state"]
                if c["state"] == ACCEPTED:
                    assert shares.total_supply(c["model"]) == 1_000_000

    run_state_machine_as_test(
        CommonsMachine, settings=settings(max_examples=max(settings.default.max_examples // 3, 1))
    )
