"""Routes: api_keys."""
from chalicelib.handlers.http import Api

api = Api(__name__)
