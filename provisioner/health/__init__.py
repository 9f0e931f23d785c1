"""The nightly health check over SNMP: profiles, facts, states."""
