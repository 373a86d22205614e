"""Routes: accounts."""
from chalicelib.handlers.http import Api

api = Api(__name__)
