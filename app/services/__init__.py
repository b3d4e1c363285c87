"""Domain rules: plain async functions over the models, no GraphQL here."""
