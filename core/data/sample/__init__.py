"""The built-in sample shop: a deterministic generator and the vocabulary it draws from."""
