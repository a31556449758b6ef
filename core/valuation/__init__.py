"""Data valuation of training pairs (KNN-Shapley, Data-OOB, confident learning), the weight policy, its page."""
