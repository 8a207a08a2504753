"""TrainingFund and DataBounties under random campaigns, backing, funding
closes, refunds, training claims, releases, deliveries, misses, rejections,
cancellations, expiries, acceptances, share claims, model revenue,
contributions (with repeated content), votes, contribution expiries, reward
claims and withdrawals.

After every step:
- the fund's ETH equals the escrow of live campaigns + unrefunded backing of
  failed ones + everything owed + share revenue held for unclaimed shares,
  and that held revenue covers every unclaimed share's claim (never more
  forwarded than received);
- every trained model has exactly 1,000,000 shares: held by the fund for
  whoever has not claimed, the rest with those who did; a claim never
  repeats;
- the tokens the bounties minted equal the rewards of rewarded
  contributions, no bounty reserves more than its budget, and a content
  hash is held by at most one live contribution;
- no contribution is pending that neither side can still decide, and one
  left undecided past the review period can always be ended.
"""

import ape
import pytest
from ape import chain
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from offchain import contributions
from offchain.trainer import CampaignState
from tests.conftest import stake_worker
from tests.utils.constants import DAY, ETH
from tests.utils.payments import withdraw_checked

TOTAL = 1_000_000
FUNDING, FAILED, QUEUED, TRAINING, DELIVERED, ACCEPTED = CampaignState
PENDING, C_ACCEPTED, REJECTED, CHALLENGED, REWARDED = range(1, 6)
QUEUE_TIMEOUT, REVIEW_PERIOD, VOTE_PERIOD = 3 * DAY, 2 * DAY, 3 * DAY
BUDGET = 50 * ETH
CONTENT = [bytes([i + 1]) * 32 for i in range(6)]  # a small pool, so repeats happen
pick = st.integers(0, 10**6)


@pytest.fixture(scope="module")
def lone(project, system, govern, deployer, accounts, worker):
    """A fund and a bounty contract governed by accounts[9], wired by real proposals."""
    gov = accounts[9]
    bounties = gov.deploy(project.DataBounties, gov, system.GovernanceToken, 10**16, VOTE_PERIOD)
    fund = gov.deploy(project.TrainingFund, gov, system.ModelRegistry, system.ModelShares, system.WorkerRegistry,
                      bounties, (5_000, 3_000, 10 * ETH), (10**17, QUEUE_TIMEOUT, REVIEW_PERIOD))
    govern((system.GovernanceToken, "set_minter", bounties.address, True),
           (system.ModelShares, "set_minter", fund.address, True),
           (system.WorkerRegistry, "set_permissions", fund.address, True, True))
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker, amount=10_000 * ETH)
    # Quorum 2 of 2: a split vote can leave neither side able to decide.
    gov_tx = bounties.open_bounty("", ETH, BUDGET, chain.pending_timestamp + 365 * DAY,
                                  [accounts[3], accounts[4]], 2, DAY, sender=gov)
    assert gov_tx.decode_logs(bounties.BountyOpened)[0].bounty_id == 1
    return fund, bounties, gov


def test_commons_state_machine(lone, system, accounts, worker):
    fund, bounties, gov = lone
    token, shares = system.GovernanceToken, system.ModelShares
    backers = [accounts[6], accounts[1], accounts[2]]
    contributors = [accounts[1], accounts[2]]
    validators = [accounts[3], accounts[4]]
    everyone = [*backers, worker, gov]
    payer = accounts[8]

    class CommonsMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.supply0 = token.totalSupply()
            self.campaigns = {}  # id -> dict(state, raised, backed{addr: wei}, model, entitled{addr: shares})
            self.owed = {a.address: 0 for a in everyone}
            self.contributions = {}  # id -> dict(status, items, owner, content, votes{validator: bool})
            self.minted = 0
            self.credited = 0  # revenue credited to trained models
            self.forwarded = 0  # revenue the fund credited to claimers

        def teardown(self):
            chain.restore(self.snapshot)

        @initialize(items=st.integers(1, 20), first=st.integers(1, 3), second=st.integers(1, 3))
        def an_accepted_and_a_delivered_campaign(self, items, first, second):
            """Starts from an accepted campaign and a delivered one, on a dataset with one rewarded
            contribution, so that claims, revenue and judgements happen in most examples."""
            self.submit(0, items, 0)
            cid = max(self.contributions)
            for v in (0, 1):
                self.vote(cid, v, True)
            self.wait(DAY + 1)
            self.claim_reward(0)
            for _ in range(2):
                self.open_campaign(1)
                campaign = max(self.campaigns)
                self.back(campaign, 1, first)
                self.back(campaign, 2, second)
                self.wait(DAY + 1)
                self.close_funding(campaign)
                self.claim_head()
                self.deliver(campaign)
                assert self.campaigns[campaign]["state"] == DELIVERED
                if len(self.campaigns) == 1:
                    self.judge(campaign, True)
                    assert self.campaigns[campaign]["state"] == ACCEPTED

        def _pick(self, n, states):
            ids = [i for i, c in self.campaigns.items() if c["state"] in states]
            return ids[n % len(ids)] if ids else None

        # ------------------------------------------------------------ campaigns

        @rule(goal=st.integers(1, 4))
        def open_campaign(self, goal):
            tx = fund.open_campaign("", [1], goal * ETH, chain.pending_timestamp + DAY, DAY, sender=backers[0])
            cid = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
            self.campaigns[cid] = dict(state=FUNDING, raised=0, backed={}, model=0, entitled={})

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
            fund.close_funding(cid, sender=gov)  # never "queue full": the queue holds at most a few here
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
            if self.campaigns[queue[0]].get("misses"):  # the one trainer missed it: never its to claim again
                with ape.reverts("TrainingFund: trainer missed this campaign before"):
                    fund.claim_head(sender=worker)
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

        @rule(n=pick, early=st.booleans())
        def miss_or_release(self, n, early):
            cid = self._pick(n, (TRAINING,))
            if cid is None:
                return
            if early:
                fund.release(cid, sender=worker)
            elif chain.pending_timestamp <= fund.campaigns(cid).delivery_deadline:
                return
            else:
                fund.report_missed(cid, sender=gov)
            self._missed(cid)

        @rule(n=pick, accept=st.booleans())
        def judge(self, n, accept):
            cid = self._pick(n, (DELIVERED,))
            if cid is None:
                return
            c = self.campaigns[cid]
            if accept:
                tx = fund.accept(cid, 1, sender=gov)
                log = tx.decode_logs(fund.ModelTrained)[0]
                c["model"] = log.model_id
                c["state"] = ACCEPTED
                self.owed[worker.address] += c["raised"]
                for who in {*c["backed"], *bounties.dataset_contributors(1), worker.address}:
                    c["entitled"][who] = fund.shares_owed(cid, who)
                # the split: backers pro rata, data by weight, the trainer the rest; exact in total
                pool = TOTAL * 5_000 // 10_000
                for who, paid in c["backed"].items():
                    data = c["entitled"][who] - (pool * paid // c["raised"])
                    assert data >= 0
                assert sum(c["entitled"].values()) == TOTAL
            else:
                fund.reject(cid, sender=gov)
                self._missed(cid)

        def _missed(self, cid):
            """A trainer's miss (missed, released, rejected): back to the queue, or failed at the third."""
            c = self.campaigns[cid]
            c["misses"] = c.get("misses", 0) + 1
            c["state"] = QUEUED if c["misses"] < 3 else FAILED
            assert fund.misses(cid) == c["misses"]

        @rule(n=pick)
        def cancel(self, n):
            cid = self._pick(n, (QUEUED, TRAINING, DELIVERED))
            if cid is None:
                return
            fund.cancel(cid, sender=gov)
            self.campaigns[cid]["state"] = FAILED

        @rule(n=pick)
        def expire_campaign(self, n):
            cid = self._pick(n, (QUEUED, DELIVERED))
            if cid is None:
                return
            c = fund.campaigns(cid)
            timeout = QUEUE_TIMEOUT if c.state == QUEUED else REVIEW_PERIOD
            if chain.pending_timestamp <= c.state_since + timeout:
                with ape.reverts("TrainingFund: not expired yet"):
                    fund.expire(cid, sender=gov)
                return
            fund.expire(cid, sender=gov)
            self.campaigns[cid]["state"] = FAILED

        @rule(n=pick, amount=st.integers(1, 10**18))
        def credit_revenue(self, n, amount):
            cid = self._pick(n, (ACCEPTED,))
            if cid is None:
                return
            shares.credit_revenue(self.campaigns[cid]["model"], sender=payer, value=amount)
            self.credited += amount

        @rule(n=pick, i=st.integers(0, len(everyone) - 1))
        def claim_shares(self, n, i):
            cid = self._pick(n, (ACCEPTED,))
            if cid is None:
                return
            c, who = self.campaigns[cid], everyone[i]
            amount = c["entitled"].get(who.address, 0)
            if amount == 0:  # never entitled, or already claimed
                with ape.reverts("TrainingFund: no shares to claim"):
                    fund.claim_shares(cid, who, sender=who)
                return
            before = shares.balanceOf(who, c["model"])
            revenue = fund.claimable_revenue(cid, who)
            tx = fund.claim_shares(cid, who, sender=who)
            log = tx.decode_logs(fund.SharesClaimed)[0]
            assert (log.amount, log.revenue) == (amount, revenue)
            assert shares.balanceOf(who, c["model"]) == before + amount
            c["entitled"][who.address] = 0
            self.owed[who.address] += revenue
            self.forwarded += revenue

        # ------------------------------------------------------------ data bounties

        @rule(c=st.integers(0, 1), items=st.integers(1, 20), k=st.integers(0, len(CONTENT) - 1))
        def submit(self, c, items, k):
            content = CONTENT[k]
            held = [i for i, x in self.contributions.items()
                    if x["content"] == content and x["status"] != REJECTED]
            if held:
                with ape.reverts("DataBounties: content already submitted"):
                    bounties.submit(1, content, "", items, sender=contributors[c])
                return
            first = [x["owner"] for x in self.contributions.values() if x["content"] == content]
            if first and first[0] != contributors[c].address:  # rejected content stays with its contributor
                value = contributions.commitment(content, contributors[c].address)
                if bounties.commitments(value) == 0:
                    bounties.commit(value, sender=contributors[c])
                with ape.reverts("DataBounties: content held by its contributor"):
                    bounties.submit(1, content, "", items, sender=contributors[c])
                return
            cid, _ = contributions.submit(bounties, 1, content, "", items, sender=contributors[c])
            self.contributions[cid] = dict(status=PENDING, items=items, owner=contributors[c].address,
                                           content=content, votes={})

        @rule(n=pick, v=st.integers(0, 1), accept=st.booleans())
        def vote(self, n, v, accept):
            pending = [i for i, x in self.contributions.items() if x["status"] == PENDING]
            if not pending:
                return
            cid = pending[n % len(pending)]
            x, validator = self.contributions[cid], validators[v]
            if validator.address in x["votes"]:
                with ape.reverts("DataBounties: already voted"):
                    bounties.vote(cid, accept, sender=validator)
                return
            bounties.vote(cid, accept, sender=validator)
            x["votes"][validator.address] = accept
            accepts = sum(x["votes"].values())
            rejects = len(x["votes"]) - accepts
            if accepts == 2:
                over = bounties.bounties(1).reserved + x["items"] * ETH > BUDGET
                if not over:
                    x["status"] = C_ACCEPTED
            if accepts == 2 or rejects == 2 or (accepts, rejects) == (1, 1):
                x["status"] = x["status"] if x["status"] == C_ACCEPTED else REJECTED
            assert bounties.contributions(cid).status == x["status"]

        @rule(n=pick)
        def expire_contribution(self, n):
            pending = [i for i, x in self.contributions.items() if x["status"] == PENDING]
            if not pending:
                return
            cid = pending[n % len(pending)]
            if chain.pending_timestamp <= bounties.contributions(cid).submitted_at + VOTE_PERIOD:
                with ape.reverts("DataBounties: review period not over"):
                    bounties.expire(cid, sender=gov)
                return
            bounties.expire(cid, sender=gov)
            self.contributions[cid]["status"] = REJECTED

        @rule(n=pick)
        def claim_reward(self, n):
            ready = [i for i, x in self.contributions.items() if x["status"] == C_ACCEPTED]
            if not ready:
                return
            cid = ready[n % len(ready)]
            if chain.pending_timestamp <= bounties.contributions(cid).accepted_at + DAY:
                return
            bounties.claim_reward(cid, sender=gov)
            self.contributions[cid]["status"] = REWARDED
            self.minted += self.contributions[cid]["items"] * ETH

        # ------------------------------------------------------------ both

        @rule(i=st.integers(0, len(everyone) - 1))
        def withdraw(self, i):
            who = everyone[i]
            withdraw_checked(fund, who, self.owed[who.address])
            self.owed[who.address] = 0

        @rule(seconds=st.sampled_from([3_600, DAY + 1]))
        def wait(self, seconds):
            chain.mine(timestamp=chain.pending_timestamp + seconds)

        @invariant()
        def escrow_is_conserved(self):
            live = sum(c["raised"] for c in self.campaigns.values()
                       if c["state"] in (FUNDING, QUEUED, TRAINING, DELIVERED))
            unrefunded = sum(sum(c["backed"].values()) for c in self.campaigns.values() if c["state"] == FAILED)
            assert fund.balance == live + unrefunded + sum(self.owed.values()) + fund.revenue_held()
            for who in everyone:
                assert fund.owed(who) == self.owed[who.address]

        @invariant()
        def revenue_is_never_overpaid(self):
            accepted = [c for c in self.campaigns.values() if c["state"] == ACCEPTED]
            unclaimed = sum(fund.claimable_revenue(cid, who) for cid, c in self.campaigns.items()
                            if c["state"] == ACCEPTED for who, amount in c["entitled"].items() if amount)
            # what the fund holds, plus what its unclaimed shares earned and it has not collected yet
            pending = sum(shares.withdrawable_revenue(fund, [c["model"]]) for c in accepted)
            assert unclaimed <= fund.revenue_held() + pending
            assert self.forwarded + fund.revenue_held() + pending <= self.credited

        @invariant()
        def states_match_and_shares_add_up(self):
            for cid, c in self.campaigns.items():
                assert fund.campaigns(cid).state == c["state"]
                if c["state"] == ACCEPTED:
                    model = c["model"]
                    assert shares.total_supply(model) == TOTAL
                    assert shares.balanceOf(fund, model) == sum(c["entitled"].values())
                    for who, amount in c["entitled"].items():
                        assert fund.shares_owed(cid, who) == amount

        @invariant()
        def rewards_match_mints(self):
            assert token.totalSupply() - self.supply0 == self.minted
            assert bounties.bounties(1).reserved <= BUDGET

        @invariant()
        def every_contribution_can_end(self):
            for cid, x in self.contributions.items():
                assert bounties.contributions(cid).status == x["status"]
                holder = bounties.content_holder(x["content"])
                if x["status"] == REJECTED:  # still its contributor's, perhaps through a later submission of it
                    assert holder >= cid and bounties.contributions(holder).contributor == x["owner"]
                else:
                    assert holder == cid
                if x["status"] == PENDING:
                    # someone can still decide: a validator has not voted (and the review period ends it anyway)
                    assert len(x["votes"]) < 2

    run_state_machine_as_test(
        CommonsMachine, settings=settings(max_examples=max(settings.default.max_examples // 3, 1))
    )
