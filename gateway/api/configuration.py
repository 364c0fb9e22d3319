"""Configuration API: rate-limit rules and CORS settings."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView

from gateway.api.blueprint import AdminBlueprint
from gateway.config.store import create_row, delete_row, get_or_404, update_row
from gateway.extensions import db
from gateway.models import RateLimitRule
from gateway.models.cors_config import load_cors
from gateway.models.pages import page_of
from gateway.schemas import CorsSchema, RateLimitRuleListSchema, RateLimitRuleSchema
from gateway.schemas.cors import check_credentials
from gateway.schemas.pages import PageQuerySchema
from gateway.specs.prefixes import ADMIN_API

bp = AdminBlueprint("configuration", __name__, url_prefix=ADMIN_API + "/config",
                    description="Rate-limit rules and CORS settings.")


@bp.route("/rate-limits")
class RateLimitRules(MethodView):
    @bp.arguments(PageQuerySchema, location="query")
    @bp.response(200, RateLimitRuleListSchema)
    def get(self, page):
        """List rate-limit rules by name (a page of them with limit and offset)."""
        return page_of(db.session, sa.select(RateLimitRule).order_by(RateLimitRule.rule_name), page)

    @bp.arguments(RateLimitRuleSchema)
    @bp.response(201, RateLimitRuleSchema)
    @bp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create a rate-limit rule; 409 if the name exists."""
        return create_row(RateLimitRule, data, "rule_name", "rule")


@bp.route("/rate-limits/<id:rule_id>")
class RateLimitRuleById(MethodView):
    @bp.response(200, RateLimitRuleSchema)
    def get(self, rule_id):
        """Return one rate-limit rule."""
        return get_or_404(RateLimitRule, rule_id, "rate-limit rule")

    @bp.partial_update(RateLimitRuleSchema)
    def patch(self, data, rule_id):
        """Update a rate-limit rule: the fields given change, those left out stay as they were."""
        return update_rule(data, rule_id)

    @bp.partial_update(RateLimitRuleSchema)
    def put(self, data, rule_id):
        """Update a rate-limit rule as PATCH does (PUT stays a partial update for compatibility; prefer PATCH)."""
        return update_rule(data, rule_id)

    @bp.response(204)
    def delete(self, rule_id):
        """Delete a rate-limit rule."""
        delete_row(get_or_404(RateLimitRule, rule_id, "rate-limit rule"))


@bp.route("/cors")
class Cors(MethodView):
    @bp.response(200, CorsSchema)
    def get(self):
        """Return the CORS settings."""
        return load_cors(db.session)

    @bp.partial_update(CorsSchema, conflict=False)
    def patch(self, data):
        """Update the CORS settings: the fields given change, those left out stay as they were."""
        return update_cors(data)

    @bp.partial_update(CorsSchema, conflict=False)
    def put(self, data):
        """Update the CORS settings as PATCH does (PUT stays a partial update for compatibility; prefer PATCH)."""
        return update_cors(data)


def update_rule(data: dict, rule_id):
    """Apply a partial update to a rate-limit rule and return it."""
    rule = get_or_404(RateLimitRule, rule_id, "rate-limit rule")
    update_row(rule, data, "rule_name", "rule")
    return rule


def update_cors(data: dict):
    """Apply a partial update to the CORS settings and return them.

    :raise ValidationFailed: when credentials would be allowed with the ``*`` origin.
    """
    cors = load_cors(db.session, create=True)
    credentials = data.get("allow_credentials", cors.allow_credentials)
    check_credentials(data.get("allow_origins", cors.allow_origins), credentials)
    update_row(cors, data)
    return cors
