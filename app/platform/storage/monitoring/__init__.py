"""Stores of the monitoring event log and the active-users count: in-process and Redis."""
