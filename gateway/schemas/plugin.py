"""Plugin and consumer schemas of the admin API (a plugin's own ``config`` is checked by its schema)."""

from marshmallow import Schema, ValidationError, fields, post_load, validate

from gateway.schemas.common import (
    NAME_FORM,
    RULE_NAME_FORM,
    Boolean,
    GatewaySchema,
    InputSchema,
    PathPattern,
    unique_list,
    validate_name,
    validate_rule_name,
)
from gateway.schemas.pages import ListSchema, PageQuerySchema
from gateway.services import services


def plugin_config(name: str, config: dict) -> dict:
    """Return ``config`` as the installed plugin ``name`` loads it (with its defaults), ready to store.

    :raise ValidationError: ``{"name": ...}`` when no such plugin is installed, ``{"config": ...}``
        (the plugin schema's messages) when its schema or ``compile`` refuses the config.
    """
    plugin = services().plugins.get(name)
    if plugin is None:
        raise ValidationError({"name": [f"No installed plugin is named {name!r} "
                                        "(GET /api/v1/gateway/plugins/available lists them)."]})
    schema = plugin.Config()
    try:
        loaded = schema.load(config)
        plugin.compile(loaded)
        return schema.dump(loaded)
    except ValidationError as exc:
        raise ValidationError({"config": exc.messages}) from None
    except (TypeError, ValueError) as exc:
        raise ValidationError({"config": [str(exc)]}) from None


class PluginSchema(InputSchema):
    """A configured plugin: global, or scoped to a route, a consumer, or a consumer on a route."""

    id = fields.UUID(dump_only=True)
    name = fields.String(required=True, validate=validate_name, metadata={
        "description": "An installed plugin (GET /plugins/available).", "example": "key-auth", **NAME_FORM})
    config = fields.Dict(keys=fields.String(), metadata={
        "description": "Checked by the plugin's own schema (GET /plugins/available); default {}."})
    enabled = Boolean(metadata={"description": "Default true."})
    route_id = fields.UUID(allow_none=True, metadata={"description": "Only on this route; null: every route."})
    consumer_id = fields.UUID(allow_none=True, metadata={"description": "Only for this consumer; null: anyone."})
    scope = fields.String(dump_only=True, validate=validate.OneOf(("global", "route", "consumer", "route+consumer")),
                          metadata={"description": "The narrower scope wins for one plugin name: "
                                                   "route+consumer > consumer > route > global."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PluginEntrySchema(GatewaySchema):
    """A plugin in the declarative configuration file: its scope named by natural keys."""

    name = fields.String(required=True, validate=validate_name)
    route = PathPattern(for_route=True, allow_none=True)  # a route's path_pattern; null: every route
    consumer = fields.String(allow_none=True, validate=validate_rule_name)  # a consumer's username; null: anyone
    config = fields.Dict(keys=fields.String())
    enabled = Boolean()

    @post_load
    def loaded_config(self, data, **_kwargs):
        """Check the config with the plugin's own schema; keep it as stored (defaults filled)."""
        data["config"] = plugin_config(data["name"], data.get("config", {}))
        return data


class PluginQuerySchema(PageQuerySchema):
    name = fields.String(validate=validate.Length(1, 100))
    route_id = fields.UUID()
    consumer_id = fields.UUID()
    enabled = fields.Boolean()


class PluginListSchema(ListSchema):
    items = fields.List(fields.Nested(PluginSchema))


class AvailablePluginSchema(Schema):
    """An installed plugin and the JSON schema of its configuration."""

    name = fields.String()
    priority = fields.Integer(metadata={"description": "Higher runs first."})
    phases = fields.List(fields.String(), metadata={"description": "access, header_filter, log"})
    builtin = fields.Boolean(metadata={"description": "Ships with the gateway (false: an installed entry point)."})
    authenticates = fields.Boolean(metadata={"description": "Identifies callers (the route's JWT becomes optional)."})
    config_schema = fields.Dict(metadata={"description": "JSON schema of the plugin's config."})


class AvailablePluginListSchema(ListSchema):
    items = fields.List(fields.Nested(AvailablePluginSchema))


class ConsumerSchema(InputSchema):
    """Who calls with an API key (key-auth); ``groups`` are what the acl plugin checks."""

    id = fields.UUID(dump_only=True)
    username = fields.String(required=True, validate=validate_rule_name,
                             metadata={"example": "partner-app", **RULE_NAME_FORM})
    custom_id = fields.String(allow_none=True, validate=validate.Length(1, 255),
                              metadata={"description": "An id of your own (sent upstream as X-Consumer-Custom-ID)."})
    groups = fields.List(fields.String(validate=validate_rule_name, metadata=RULE_NAME_FORM),
                         validate=[validate.Length(max=100), unique_list],
                         metadata={"description": "Default []. Sent upstream as X-Consumer-Groups."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ConsumerListSchema(ListSchema):
    items = fields.List(fields.Nested(ConsumerSchema))


class ConsumerKeySchema(Schema):
    """A consumer's API key as stored: its first characters, never the key."""

    id = fields.UUID(dump_only=True)
    consumer_id = fields.UUID(dump_only=True)
    prefix = fields.String(dump_only=True, metadata={"description": "The key's first 8 characters."})
    created_at = fields.DateTime(dump_only=True)


class NewConsumerKeySchema(ConsumerKeySchema):
    """A key just made: the only time the key itself is shown."""

    key = fields.String(dump_only=True, metadata={"description": "Shown once; only its SHA-256 is stored."})


class ConsumerKeyListSchema(ListSchema):
    items = fields.List(fields.Nested(ConsumerKeySchema))
