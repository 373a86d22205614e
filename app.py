"""The Chalice app: created here, with its middleware and blueprints, and nothing else."""
from chalice import Chalice

from chalicelib.handlers import (
    accounts, admin, api_keys, lists, public, schedules, sessions, subscribers, suppressions,
)
from chalicelib.handlers.http import edge_middleware

app = Chalice(app_name="mailroom", configure_logs=False)
app.register_middleware(edge_middleware, "http")

for module in (accounts, sessions, api_keys, admin, lists, subscribers, suppressions, public, schedules):
    app.register_blueprint(module.api.blueprint)
