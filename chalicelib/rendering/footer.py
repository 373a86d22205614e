"""The footer every campaign email ends with (R19, R20): why the reader gets it, the unsubscribe link and the
preference centre's beside it, the sender's postal address, the service's credit unless the account is PRO,
and the open pixel."""
from __future__ import annotations

from html import escape


def footer_html(list_name: str, company_address: str, pro: bool) -> tuple[str, str, str, str]:
    """The footer block as four pieces around the unsubscribe URL, the preference-centre URL and the
    open-pixel URL."""
    reset = ("display:block !important;visibility:visible !important;opacity:1 !important;"
             "font-family:Arial,Helvetica,sans-serif !important;font-size:12px !important;"
             "line-height:18px !important;color:#666666 !important;margin:0 0 8px 0 !important;"
             "text-align:center !important;max-height:none !important;overflow:visible !important;")
    address = "<br>".join(escape(line.strip()) for line in company_address.splitlines() if line.strip())
    credit = "" if pro else f'<p style="{reset}">Email marketing by mailroom</p>'
    head = (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="display:table !important;visibility:visible !important;opacity:1 !important;'
        'width:100% !important;max-height:none !important;margin:0 !important;'
        'border-collapse:collapse !important;background-color:#ffffff !important;">'
        '<tr style="display:table-row !important;visibility:visible !important;">'
        '<td align="center" style="display:table-cell !important;visibility:visible !important;'
        'padding:24px 16px !important;text-align:center !important;background-color:#ffffff !important;">'
        f'<p style="{reset}">You receive this email because you subscribed to {escape(list_name)}. '
        f'<a href="'
    )
    link_style = ('" style="color:#666666 !important;text-decoration:underline !important;'
                  'font-size:12px !important;visibility:visible !important;">')
    between = f'{link_style}Unsubscribe</a> · <a href="'
    middle = (
        f'{link_style}Manage preferences</a></p>'
        f'<p style="{reset}">{address}</p>{credit}</td></tr></table>'
        '<img src="'
    )
    tail = '" width="1" height="1" alt="">'
    return head, between, middle, tail


def footer_text(list_name: str, company_address: str, pro: bool, unsubscribe_url: str,
                preferences_url: str) -> str:
    """The plain-text footer: unsubscribe and preference links, postal address and (unless PRO) the credit."""
    lines = ["", "-- ", f"You receive this email because you subscribed to {list_name}.",
             f"Unsubscribe: {unsubscribe_url}", f"Manage preferences: {preferences_url}"]
    lines += [line.strip() for line in company_address.splitlines() if line.strip()]
    if not pro:
        lines.append("Email marketing by mailroom")
    return "\n".join(lines) + "\n"
