"""SQS consumers: campaign fan-out and sending (being built)."""
from chalicelib.handlers.http import Api

api = Api(__name__)
