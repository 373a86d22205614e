"""PynamoDB models: one module per aggregate, one table per model, and the queries on them.

Only models and the adapters talk to AWS. Models use config, errors, clock and ids, never a service,
handler or adapter.
"""
