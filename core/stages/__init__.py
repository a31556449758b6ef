"""One function per pipeline stage: the only place in core that reads and writes files."""
