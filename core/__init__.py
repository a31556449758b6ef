"""Pure logic: data contracts, sample data, features, models, metrics. No kfp or kubernetes imports."""
