"""Campaign email rendering: sandboxed templates, CSS inlining, tracking, footer and raw MIME.

Save time:  campaign.compile_campaign(subject, html, text, field_keys) -> CompiledCampaign (store .links)
Send time:  compose.compose(compiled, Recipient, SendContext) -> ComposedEmail (.as_bytes(), .tags)
Test send:  compose.compose_test(compiled, address, SendContext)
Public pages: tracking.verify_click(token), tracking.verify_open(token)

Inside: template (the Jinja sandbox), masking (template constructs hidden from the HTML tools), markup (CSS
inlined, links rewritten), plaintext (the text part), footer, tracking (signed links), mime.
Beside the adapters, below services: it uses only settings, errors, security and the clock, never a service.
"""
