"""Routes: campaigns (being built)."""
from chalicelib.handlers.http import Api

api = Api(__name__)
