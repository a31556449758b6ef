"""Learning from shoppers: position propensities, debiased click labels and shopper history from the interactions table."""
