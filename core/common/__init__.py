"""Shared helpers of every room: typed errors, seeding, progress lines, device and precision, HTML pages."""
