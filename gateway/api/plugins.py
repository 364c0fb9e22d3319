"""Plugins API: configured plugins, the installed ones with their config schemas, consumers and their keys."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask.views import MethodView
from marshmallow import ValidationError

from gateway.api.blueprint import AdminBlueprint
from gateway.config.runtime import configuration_changed
from gateway.config.store import commit, create_row, delete_row, get_or_404, update_row
from gateway.errors import Conflict, NotFound, ValidationFailed
from gateway.extensions import db
from gateway.models import Consumer, ConsumerKey, PluginConfig, RouteConfig
from gateway.models.pages import page_of
from gateway.plugins.consumers import new_key
from gateway.schemas.pages import PageQuerySchema
from gateway.schemas.plugin import (
    AvailablePluginListSchema,
    ConsumerKeyListSchema,
    ConsumerListSchema,
    ConsumerSchema,
    NewConsumerKeySchema,
    PluginListSchema,
    PluginQuerySchema,
    PluginSchema,
    plugin_config,
)
from gateway.services import services
from gateway.specs.prefixes import ADMIN_API

bp = AdminBlueprint("plugins", __name__, url_prefix=ADMIN_API,
                    description="Plugins (key-auth, acl, installed ones) and the consumers of API keys.")


def invalid(fields: dict):
    """Return the 422 naming ``fields`` (field -> problems)."""
    return ValidationFailed("Invalid input: " + ", ".join(sorted(fields)), fields=fields)


def flat_messages(messages, where: str) -> dict:
    """Turn marshmallow's nested messages into ``config.key_names.0 -> [problems]``."""
    if isinstance(messages, dict):
        found = {}
        for key, value in messages.items():
            inner = where if key == "_schema" else f"{where}.{key}" if where else str(key)
            found.update(flat_messages(value, inner))
        return found
    return {where: messages if isinstance(messages, list) else [messages]}


def checked_config(name: str, config: dict) -> dict:
    """Return ``config`` as the plugin ``name`` loads it (with its defaults), ready to store.

    :raise ValidationFailed: unknown plugin (``name``), or a config its schema refuses (``config.<field>``).
    """
    try:
        return plugin_config(name, config)
    except ValidationError as exc:
        raise invalid(flat_messages(exc.messages, "")) from None


def check_scope(route_id, consumer_id) -> None:
    """Refuse a scope naming a route or consumer that does not exist (422 naming the field)."""
    for field, model, value in (("route_id", RouteConfig, route_id), ("consumer_id", Consumer, consumer_id)):
        if value is not None and db.session.get(model, value) is None:
            raise invalid({field: [f"No {field.removesuffix('_id')} with id {value}."]})


def ensure_single(name: str, route_id, consumer_id, exclude=None) -> None:
    """Refuse a second row of one plugin in one scope (409)."""
    query = db.session.query(PluginConfig.id).filter_by(name=name, route_id=route_id, consumer_id=consumer_id)
    if exclude is not None:
        query = query.filter(PluginConfig.id != exclude)
    if db.session.query(query.exists()).scalar():
        raise Conflict(f"Plugin {name!r} is already configured in this scope.", field="name")


@bp.route("/plugins")
class Plugins(MethodView):
    @bp.arguments(PluginQuerySchema, location="query")
    @bp.response(200, PluginListSchema)
    def get(self, query):
        """List configured plugins (filters: name, route_id, consumer_id, enabled; a page with limit and offset)."""
        filters = {name: value for name, value in query.items() if name not in ("limit", "offset")}
        statement = sa.select(PluginConfig).filter_by(**filters).order_by(PluginConfig.name, PluginConfig.created_at)
        return page_of(db.session, statement, query)

    @bp.arguments(PluginSchema)
    @bp.response(201, PluginSchema)
    @bp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Configure a plugin; 422 naming the field when the plugin is unknown or its config invalid."""
        values = {"config": {}, "enabled": True, "route_id": None, "consumer_id": None, **data}
        values["config"] = checked_config(values["name"], values["config"])
        check_scope(values["route_id"], values["consumer_id"])
        ensure_single(values["name"], values["route_id"], values["consumer_id"])
        row = PluginConfig(**values)
        db.session.add(row)
        commit("name")
        configuration_changed()
        return row


@bp.get("/plugins/available")
@bp.response(200, AvailablePluginListSchema)
def list_available_plugins():
    """List the installed plugins with the JSON schemas of their configurations."""
    registry = services().plugins
    items = [{"name": plugin.name, "priority": plugin.priority, "phases": list(plugin.phases()),
              "builtin": plugin.name in registry.builtin, "authenticates": plugin.authenticates,
              "config_schema": json_schema(type(plugin))} for plugin in registry]
    return {"items": items, "total": len(items)}


@functools.cache
def json_schema(plugin_class) -> dict:
    """Return the JSON schema of a plugin's config, as the OpenAPI document writes schemas (apispec)."""
    converter = MarshmallowPlugin()
    APISpec("plugin", "1", "3.0.3", plugins=[converter])
    return converter.converter.schema2jsonschema(plugin_class.Config())


@bp.route("/plugins/<plugin_id:plugin_id>")
class PluginById(MethodView):
    @bp.response(200, PluginSchema)
    def get(self, plugin_id):
        """Return one configured plugin."""
        return get_or_404(PluginConfig, plugin_id, "plugin")

    @bp.partial_update(PluginSchema)
    def patch(self, data, plugin_id):
        """Update a configured plugin; fields left out stay as they were (a config sent replaces the whole config)."""
        return update_plugin(data, plugin_id)

    @bp.partial_update(PluginSchema)
    def put(self, data, plugin_id):
        """Update a configured plugin as PATCH does (prefer PATCH)."""
        return update_plugin(data, plugin_id)

    @bp.response(204)
    def delete(self, plugin_id):
        """Delete a configured plugin."""
        delete_row(get_or_404(PluginConfig, plugin_id, "plugin"))


def update_plugin(data: dict, plugin_id):
    """Apply a partial update to a configured plugin and return it."""
    row = get_or_404(PluginConfig, plugin_id, "plugin")
    merged = {name: data.get(name, getattr(row, name)) for name in ("name", "config", "route_id", "consumer_id")}
    if "name" in data or "config" in data:
        data["config"] = checked_config(merged["name"], merged["config"])
    check_scope(merged["route_id"], merged["consumer_id"])
    ensure_single(merged["name"], merged["route_id"], merged["consumer_id"], exclude=row.id)
    update_row(row, data)
    return row


@bp.route("/consumers")
class Consumers(MethodView):
    @bp.arguments(PageQuerySchema, location="query")
    @bp.response(200, ConsumerListSchema)
    def get(self, page):
        """List consumers, by username (a page with limit and offset)."""
        return page_of(db.session, sa.select(Consumer).order_by(Consumer.username), page)

    @bp.arguments(ConsumerSchema)
    @bp.response(201, ConsumerSchema)
    @bp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create a consumer; 409 if the username exists."""
        return create_row(Consumer, {"groups": [], "custom_id": None, **data}, "username", "consumer")


@bp.route("/consumers/<id:consumer_id>")
class ConsumerById(MethodView):
    @bp.response(200, ConsumerSchema)
    def get(self, consumer_id):
        """Return one consumer."""
        return get_or_404(Consumer, consumer_id, "consumer")

    @bp.partial_update(ConsumerSchema)
    def patch(self, data, consumer_id):
        """Update a consumer; fields left out stay as they were."""
        return update_consumer(data, consumer_id)

    @bp.partial_update(ConsumerSchema)
    def put(self, data, consumer_id):
        """Update a consumer as PATCH does (prefer PATCH)."""
        return update_consumer(data, consumer_id)

    @bp.response(204)
    def delete(self, consumer_id):
        """Delete a consumer, its keys and its plugins."""
        consumer = get_or_404(Consumer, consumer_id, "consumer")
        for model in (PluginConfig, ConsumerKey):  # SQLite does not enforce ON DELETE CASCADE
            db.session.query(model).filter_by(consumer_id=consumer.id).delete()
        delete_row(consumer)


def update_consumer(data: dict, consumer_id):
    """Apply a partial update to a consumer and return it."""
    consumer = get_or_404(Consumer, consumer_id, "consumer")
    update_row(consumer, data, "username", "consumer")
    return consumer


@bp.route("/consumers/<id:consumer_id>/keys")
class ConsumerKeys(MethodView):
    @bp.arguments(PageQuerySchema, location="query")
    @bp.response(200, ConsumerKeyListSchema)
    def get(self, page, consumer_id):
        """List a consumer's keys (their prefixes: the keys themselves are not stored; a page with limit and offset)."""
        get_or_404(Consumer, consumer_id, "consumer")
        statement = sa.select(ConsumerKey).filter_by(consumer_id=consumer_id).order_by(ConsumerKey.created_at)
        return page_of(db.session, statement, page)

    @bp.response(201, NewConsumerKeySchema)
    def post(self, consumer_id):
        """Make a new key for the consumer; the answer is the only place the key is ever shown."""
        get_or_404(Consumer, consumer_id, "consumer")
        key, key_hash, prefix = new_key()
        row = ConsumerKey(consumer_id=consumer_id, key_hash=key_hash, prefix=prefix)
        db.session.add(row)
        commit("key")
        configuration_changed()
        return {"id": row.id, "consumer_id": row.consumer_id, "prefix": prefix, "created_at": row.created_at,
                "key": key}


@bp.delete("/consumers/<id:consumer_id>/keys/<id:key_id>")
@bp.response(204)
def delete_consumer_key(consumer_id, key_id):
    """Revoke a consumer's key (every worker refuses it within 2 s)."""
    key = get_or_404(ConsumerKey, key_id, "key")
    if key.consumer_id != consumer_id:
        raise NotFound(f"No key with id {key_id} for this consumer.")
    delete_row(key)
