"""The governance demo and the gas benchmark run end to end on the embedded chain."""

from offchain.demos import bench, governance


def test_governance_demo__executes_both_proposals(project, accounts):
    summary = governance.run(project, accounts)
    assert summary.states == [("routine", "Executed"), ("critical rules", "Executed"), ("critical grant", "Executed")]
    changes = {what: (before, after) for what, before, after in summary.changes}
    assert changes["open listing"] == ("False", "True")
    assert changes["votingPeriod (s)"] == ("432000", "259200")
    assert changes["quorum (bps)"] == ("400", "500")
    assert changes["treasury ETH"] == ("10.000000", "8.000000")
    assert summary.revenue == {"alice": 3 * 10**17, "bob": 2 * 10**17, "carol": 5 * 10**16, "treasury": 4 * 10**17}


def test_governance_bench__measures_every_operation(project, accounts):
    rows = dict(bench.governance_gas(project, accounts))
    operations = ("propose (1 routine action)", "propose (1 critical action)", "castVote", "queue (1 action)")
    for operation in (*operations, "execute (1 action)"):
        assert rows[operation] > 21_000
