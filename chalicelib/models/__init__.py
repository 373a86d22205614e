"""PynamoDB models: one module per aggregate, one table per model, and the queries on them."""
