"""Execution nodes: provisioning and health checks run near the schools; one controller
keeps the record."""
