"""Canary decisions: SLO checks, team-draft interleaving, two-proportion tests, and simulated shoppers."""
