"""The Chalice app: created here, with its middleware and blueprints, and nothing else."""
from chalice import Chalice

from chalicelib import config
from chalicelib.handlers import (
    abuse_desk,
    accounts,
    admin,
    api_keys,
    campaigns,
    domains,
    exports,
    imports,
    lists,
    openapi,
    privacy,
    public,
    reviews,
    schedules,
    segments,
    sessions,
    subscribers,
    suppressions,
    team,
    tracking,
    workers,
)
from chalicelib.handlers.entry import lambda_entry
from chalicelib.handlers.http import edge_middleware

config.check_at_start()
app = Chalice(app_name="mailroom", configure_logs=False)
app.register_middleware(edge_middleware, "http")
app.register_middleware(lambda_entry, "all")   # Powertools' logger, metrics and tracer on every entry point

for module in (accounts, exports, sessions, api_keys, admin, lists, subscribers, suppressions, public, privacy,
               schedules, domains, campaigns, reviews, tracking, workers, segments, imports, openapi, abuse_desk,
               team):
    app.register_blueprint(module.api.blueprint)
