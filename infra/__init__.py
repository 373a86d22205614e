"""The AWS resources as code: one definition (definition.py), provisioned into the local emulator
(provision.py) and packaged for CloudFormation (package.py). Deployed code never imports it."""
