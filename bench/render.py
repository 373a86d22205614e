"""Render throughput: personalised campaign emails per second on one core, full pipeline to MIME bytes.

Run: .venv/bin/python bench/render.py [recipients]
The fixture is a 30 KB newsletter with 20 distinct links, a <style> block and personalisation.
CSS is inlined and links are found once per campaign (compile_campaign, cached by content hash);
each recipient then costs a template render (values, 20 signed click links, unsubscribe link,
open pixel, footer), the text part and the MIME bytes. It also prints what one recipient's signed links cost
alone (the same calls compose makes), and whether Python writes bytecode caches in this run.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MAILROOM_STAGE", "bench")
os.environ.setdefault("AWS_REGION", "eu-west-1")
os.environ.setdefault("MAILROOM_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("MAILROOM_PUBLIC_URL", "https://mailroom.example.eu")

from chalicelib.rendering import campaign as campaigns
from chalicelib.rendering import tracking
from chalicelib.rendering.compose import ListDetails, Recipient, SendContext, compose

STYLE = """<style>
body { margin: 0; padding: 0; background: #f4f1ea; }
.wrapper { width: 100%; background: #f4f1ea; }
.container { width: 600px; margin: 0 auto; background: #ffffff; }
h1 { font-family: Georgia, serif; font-size: 28px; color: #3b2f2f; margin: 0 0 12px; }
h2 { font-family: Georgia, serif; font-size: 20px; color: #3b2f2f; }
p { font-family: Arial, sans-serif; font-size: 15px; line-height: 22px; color: #444444; }
a { color: #b5562b; }
.button { background: #b5562b; color: #ffffff; padding: 12px 20px; border-radius: 4px; text-decoration: none; }
.muted { color: #888888; font-size: 12px; }
@media (max-width: 620px) { .container { width: 100% !important; } h1 { font-size: 24px !important; } }
</style>"""


def fixture() -> str:
    sections = [f"""
<tr><td class="section" style="padding: 24px 32px;">
  <h2>Story {i + 1}: seasonal bakes from our ovens</h2>
  <p>Every morning our bakers start at four to shape the dough for the day. This week we are
  trying a rye sourdough with caraway, a cardamom bun that sells out by ten, and a rhubarb tart
  for the weekend. {{{{ first_name | default("Friend") }}}}, here is what goes into each of them,
  from the flour we mill ourselves to the butter from the farm down the road. Stop by the shop
  and ask for a taste; the first slice is always on us, and we love to talk about bread.</p>
  <p>We also answer your questions: how long to proof, how hot the oven should be, and why a
  little steam makes the crust crackle. Send us yours and we will pick one for next week.</p>
  <p>From the kitchen: soak the seeds overnight, keep the dough at 24 degrees, fold it three times
  in the first two hours and bake it in a heavy pot with the lid on for the first twenty minutes.
  Let it cool for an hour before you cut it, however hard that is; the crumb is still setting.</p>
  <p class="muted">Allergens: wheat, rye, milk, egg, sesame. Baked in a kitchen that also handles nuts.
  Prices include VAT. Orders placed before 18:00 are ready for pick-up the next morning from 7:00,
  and deliveries within the city go out twice a day.</p>
  <p><a class="button" href="https://bakery.example/stories/{i}?utm_source=newsletter&amp;utm_medium=email">
  Read story {i + 1}</a></p>
</td></tr>""" for i in range(20)]
    body = "".join(sections)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Bakery news</title>{STYLE}</head>
<body><div style="display:none">This week: rye, cardamom and rhubarb.</div>
<table class="wrapper" role="presentation"><tr><td>
<table class="container" role="presentation">
<tr><td style="padding: 32px;"><h1>Hello {{{{ first_name | default("there") }}}}!</h1>
{{% if city %}}<p>News from our {{{{ city }}}} shop is below.</p>{{% endif %}}</td></tr>
{body}
<tr><td class="muted" style="padding: 16px 32px;">You are on this list as {{{{ email }}}}.</td></tr>
</table></td></tr></table></body></html>"""


def main(recipients: int) -> None:
    html = fixture()
    started = time.perf_counter()
    compiled = campaigns.compile_campaign("{{ first_name | default('Hi') }}, fresh from the oven",
                                          html, None, ["first_name", "city"])
    compile_ms = (time.perf_counter() - started) * 1000
    context = SendContext("acc_01jd0c5v6k9x8h2m3n4p5q6r7s", "cmp_01jd0c5v6k9x8h2m3n4p5q6r7t",
                          ListDetails("lst_01jd0c5v6k9x8h2m3n4p5q6r7u", "Bakery News", "Anna's Bakery",
                                      "news@bakery.example", "Main Street 1\nRiga LV-1010\nLatvia"))
    people = [Recipient(f"sub_{i:032x}", f"reader{i}@example.com",
                        {"first_name": f"Reader{i}", "city": "Riga" if i % 2 else ""})
              for i in range(recipients)]
    for person in people[:50]:   # warm-up
        compose(compiled, person, context).as_bytes()
    rounds, cpu_rounds = [], []
    size = 0
    for _ in range(3):
        started, cpu_started = time.perf_counter(), time.process_time()
        for person in people:
            size = len(compose(compiled, person, context).as_bytes())
        rounds.append(recipients / (time.perf_counter() - started))
        cpu_rounds.append(recipients / (time.process_time() - cpu_started))
    print(f"fixture: {len(html.encode()) / 1024:.1f} KB HTML, {len(compiled.links)} links; "
          f"inlined+tracked HTML {compiled.html_bytes / 1024:.1f} KB; MIME {size / 1024:.1f} KB per email")
    print(f"compile (once per campaign): {compile_ms:.0f} ms")
    cpu = statistics.median(cpu_rounds)
    print(f"render: {cpu:.0f} messages/s per core of CPU time ({1000 / cpu:.2f} ms each); "
          f"{statistics.median(rounds):.0f} messages/s wall clock on this machine "
          f"(median of 3 rounds of {recipients}, one process)")
    links_cpu = statistics.median(signed_links(people, context, len(compiled.links)) for _ in range(3))
    print(f"signed links alone: {links_cpu * 1e6:.0f} us per email ({len(compiled.links)} clicks, unsubscribe, "
          f"preferences, open pixel), {links_cpu * cpu:.0%} of a render; "
          f"bytecode caching {'off' if sys.dont_write_bytecode else 'on'}")


def signed_links(people: list[Recipient], context: SendContext, links: int) -> float:
    """CPU seconds per recipient to sign the links of one email, as compose does."""
    list_id = context.mailing_list.list_id
    started = time.process_time()
    for person in people:
        ids = (context.account_id, context.campaign_id, person.subscriber_id)
        tracking.unsubscribe_url(context.account_id, list_id, person.subscriber_id, context.campaign_id)
        tracking.preferences_url(context.account_id, list_id, person.subscriber_id, context.campaign_id)
        tracking.open_url(*ids)
        clicks = tracking.ClickUrls(*ids)
        for index in range(links):
            clicks[index]
    return (time.process_time() - started) / len(people)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
