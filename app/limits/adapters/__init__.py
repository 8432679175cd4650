"""Storage adapters of the limits area."""
