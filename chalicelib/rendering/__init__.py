"""Campaign email rendering: sandboxed templates, CSS inlining, tracking, footer and raw MIME.

Save time:  campaign.compile_campaign(subject, html, text, field_keys) -> CompiledCampaign (store .links)
Send time:  compose.compose(compiled, Recipient, SendContext) -> ComposedEmail (.as_bytes(), .tags)
Test send:  compose.compose_test(compiled, address, SendContext)
Public pages: tracking.verify_click(token), tracking.verify_open(token)
"""
