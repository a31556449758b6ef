"""Great Expectations suites (data files) and the runner that applies them."""
