"""The README's main job, on the embedded chain, checked rather than printed."""

from offchain.demos import inference


def test_inference_demo__every_result_verified__every_party_paid(project, accounts, tmp_path):
    summary = inference.run(project, accounts, count=8, workdir=tmp_path)
    assert summary.verified == 8
    assert summary.correct >= 6
    received = summary.received
    payment = 8 * 10**15 * 105 // 100
    assert received["worker"] == payment * 70 // 100
    assert received["author (70 % of shares)"] + received["dave (30 % of shares)"] == payment * 20 // 100
    holders = received["token holder alice"] + received["token holder bob"] + received["token holder deployer"]
    assert payment * 5 // 100 - 3 <= holders <= payment * 5 // 100  # accumulator dust: at most a wei each
    assert received["treasury"] == payment - payment * 70 // 100 - payment * 20 // 100 - payment * 5 // 100
    assert summary.gas["claim + fulfil + finalize (worker)"] > 0
