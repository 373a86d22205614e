"""mailroom's code, deployed as the Lambda functions of one Chalice app (app.py registers the handlers).

Imports point one way (.importlinter, checked in `make test`; docs/architecture.md):
handlers -> services -> models, rendering and the adapters (ses, queues, storage, identities)
-> aws, outbound, security -> config, errors, clock, ids, log.
"""
