"""Entry points: a blueprint of HTTP routes per resource, the SQS consumers and the schedules.

A handler parses the request or event, calls one service and shapes the answer; http.py maps every domain
error to the API's error shape. Handlers may use services, models (to shape answers) and adapters; nothing
imports a handler. Services are loaded on first use (lazy.py), and named under `if TYPE_CHECKING:` so that
readers, mypy and the import contracts follow each handler into them.
"""
