def test_smoke(cli_system, run_cli, accounts):
    w = accounts[5].address
    for args in [
                 
                 ("dao","propose","bad","--action","Governor.setVotingPeriod(0)"),
                 ("dao","propose","x","--send-eth",w,"5"),
                 ("dao","propose","ok","--action","ModelRegistry.set_open_listing(true)"),
                 ("dao","status"),("dao","advance","1d"),
                 ("infer","--model","digits","--input","models/digits/sample.json","--no-wait","--ttl","1m"),
                 
                 
                 ("model","price","1","2 gwei"),("model","price","1","2 gwei","--account","TEST::8"),
                 ("worker","start","--dry-run","--account","TEST::5"),
                 ]:
        r = run_cli(*args)
        print(">>>", args, r.code); print(r.out)
        if r.exception and not isinstance(r.exception, SystemExit):
            import traceback; traceback.print_exception(r.exception)
