"""The one structured logger. Log ids as keys; never an email address or a message body."""
from aws_lambda_powertools import Logger

logger = Logger(service="mailroom")
