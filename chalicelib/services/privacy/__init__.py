"""Privacy: the rights of the people in the data, customers and their recipients alike (R28, R33).

Recipients' access and erasure requests and the erasure itself; what the service holds about an address;
a customer's export of their whole account; closing an account, which stops its sending at once and
leaves its data readable until the purge.

The top of the capabilities, beside retention: it may use campaigns (closing cancels them), feedback,
audience and accounts, besides models and adapters.
"""
