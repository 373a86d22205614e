"""Routes: public."""
from chalicelib.handlers.http import Api

api = Api(__name__)
