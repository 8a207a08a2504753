"""The commons loop end to end on the embedded chain: revenue reaches the
backers and the data contributors of a model trained in the loop."""

from offchain.demos import commons


def test_commons__backers_and_data_contributors_earn_from_the_trained_model(project, accounts, tmp_path):
    summary = commons.run(project, accounts, requests=6, workdir=tmp_path)
    assert summary.verified == 6
    assert summary.accuracy > 0.9
    by_role = {}
    for who, role, data_reward, owned, withdrawn in summary.rows:
        by_role.setdefault(role, []).append((float(data_reward.replace(",", "")), int(owned.replace(",", "")),
                                             float(withdrawn)))
    assert sum(owned for rows in by_role.values() for _, owned, _ in rows) == 1_000_000
    for role in ("backer (2 ETH)", "backer (1 ETH)", "data contributor"):
        assert all(withdrawn > 0 for _, _, withdrawn in by_role[role])
    assert all(reward > 0 for reward, _, _ in by_role["data contributor"])
    assert by_role["backer (2 ETH)"][0][1] == 2 * by_role["backer (1 ETH)"][0][1] + 1  # pro rata, floor
