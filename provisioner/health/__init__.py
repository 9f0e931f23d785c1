"""The nightly health check over SNMP: profiles, facts, rules, states, dependencies.

`run.run_health` is the use case: `targets` (who and how to poll), one
`SnmpBackend.poll` with `profiles` chosen per device (`collect`), `facts` parsed,
`rules` and `judge` give each device a `model.HealthState` with reasons, `dependency`
finds devices behind a silent upstream and dead sites; samples are stored with
retention (`provisioner.db.health`); `prometheus` writes the textfile; `lock` keeps
one run at a time.
"""
