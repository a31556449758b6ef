"""Test support: a tiny random model and toy pairs, fast stand-ins for the real encoder."""
