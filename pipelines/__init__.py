"""Pipeline definitions and the helpers that compile, submit and run them locally."""
