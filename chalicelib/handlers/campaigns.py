"""Routes: /v1/campaigns."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.campaigns import Campaign

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.campaigns import campaigns
else:
    campaigns = lazy_module("chalicelib.services.campaigns.campaigns")

api = Api(__name__)


def shape(item: Campaign) -> dict:
    review = item.review.as_dict() if item.review is not None and item.status == "in_review" else None
    return {
        "id": item.campaign_id,
        "list_id": item.list_id,
        "name": item.name,
        "subject": item.subject,
        "html": item.html,
        "text": item.text,
        "from_name": item.from_name,
        "from_email": item.from_email,
        "reply_to": item.reply_to,
        "segment_id": item.segment_id,
        "status": item.status,
        "status_reason": item.status_reason,
        "paused_reason": item.paused_reason if item.status == "paused" else None,
        "scheduled_at": clock.iso(item.scheduled_at),
        "created_at": clock.iso(item.created_at),
        "updated_at": clock.iso(item.updated_at),
        "started_at": clock.iso(item.started_at),
        "finished_at": clock.iso(item.finished_at),
        "recipients": int(item.recipients or 0),
        "sent": int(item.sent_count or 0),
        "review": review,
    }


@api.route("/v1/campaigns", methods=["POST"], answers={201: "OneCampaign"})
def create_campaign(call: Call):
    body = call.body(bodies.NewCampaign)
    item = campaigns.create(call.account_id, campaigns.CampaignInput(**body.model_dump()))
    return json_response({"campaign": shape(item)}, status=201)


@api.route("/v1/campaigns", answers={200: "Page[CampaignView]"})
def list_campaigns(call: Call):
    return page_response(campaigns.page(call.account_id, call.limit(), call.cursor()), shape)


@api.route("/v1/campaigns/{campaign_id}", answers={200: "OneCampaign"})
def get_campaign(call: Call, campaign_id: str):
    return json_response({"campaign": shape(campaigns.get(call.account_id, campaign_id))})


@api.route("/v1/campaigns/{campaign_id}", methods=["PATCH"], answers={200: "OneCampaign"})
def update_campaign(call: Call, campaign_id: str):
    changes = call.body(bodies.CampaignChanges).changes()
    return json_response({"campaign": shape(campaigns.update(call.account_id, campaign_id, changes))})


@api.route("/v1/campaigns/{campaign_id}", methods=["DELETE"], answers={204: None})
def delete_campaign(call: Call, campaign_id: str):
    campaigns.delete(call.account_id, campaign_id)
    return no_content()


@api.route("/v1/campaigns/{campaign_id}/test", methods=["POST"], answers={202: "Sent"})
def send_test(call: Call, campaign_id: str):
    from chalicelib.ses import CampaignMailer

    emails = call.body(bodies.TestCopies).emails
    sent = campaigns.send_test(call.account_id, campaign_id, emails, CampaignMailer())
    return json_response({"sent": sent}, status=202)


@api.route("/v1/campaigns/{campaign_id}/send", methods=["POST"], answers={202: "OneCampaign"})
def send_campaign(call: Call, campaign_id: str):
    when = campaigns.parse_time(call.body(bodies.SendOrder).scheduled_at)
    return json_response({"campaign": shape(campaigns.send(call.account_id, campaign_id, when))}, status=202)


@api.route("/v1/campaigns/{campaign_id}/pause", methods=["POST"], answers={200: "OneCampaign"})
def pause_campaign(call: Call, campaign_id: str):
    return json_response({"campaign": shape(campaigns.pause(call.account_id, campaign_id))})


@api.route("/v1/campaigns/{campaign_id}/resume", methods=["POST"], answers={200: "OneCampaign"})
def resume_campaign(call: Call, campaign_id: str):
    return json_response({"campaign": shape(campaigns.resume(call.account_id, campaign_id))})


@api.route("/v1/campaigns/{campaign_id}/cancel", methods=["POST"], answers={200: "OneCampaign"})
def cancel_campaign(call: Call, campaign_id: str):
    return json_response({"campaign": shape(campaigns.cancel(call.account_id, campaign_id))})
