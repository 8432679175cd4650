"""Rate-limit administration: automatic blocks (list, lift) and per-user quotas (SQL)."""
