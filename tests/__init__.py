"""The suite `make test` runs: unit/ (services and rules, no AWS), integration/ (moto in-process and Chalice's
test client), e2e/ (the local runtime over HTTP); events/ holds AWS's documented SES event records."""
