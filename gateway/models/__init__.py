"""The gateway's tables, one module each."""

from gateway.models import config_version
from gateway.models.audit_record import AuditRecord
from gateway.models.config_history import ConfigHistory
from gateway.models.config_version import ConfigVersion, bump_version, read_version
from gateway.models.consumer import Consumer, ConsumerKey
from gateway.models.cors_config import CORS_ROW_ID, DEFAULT_CORS, CorsConfig
from gateway.models.deployment import Deployment, deployment_id
from gateway.models.gateway_log import GatewayLog
from gateway.models.log_rollup import LatencyRollup, LogRollup
from gateway.models.log_series import LogSeries, SeriesMark
from gateway.models.login_link import LoginLinkUse, use_login_link
from gateway.models.plugin_config import PluginConfig
from gateway.models.rate_limit_rule import LIMIT_TYPES, RateLimitRule
from gateway.models.route_config import ALL_METHODS, RouteConfig
from gateway.models.service_health import CIRCUIT_STATES, HEALTH_STATUSES, ServiceHealth

config_version.CONFIG_MODELS.update({
    RouteConfig: None,
    RateLimitRule: None,
    CorsConfig: None,
    PluginConfig: None,
    Consumer: None,
    ConsumerKey: None,
    ServiceHealth: frozenset({"service_name", "service_url", "health_path"}),
})

__all__ = [
    "ALL_METHODS", "CIRCUIT_STATES", "CORS_ROW_ID", "DEFAULT_CORS", "HEALTH_STATUSES", "LIMIT_TYPES",
    "AuditRecord", "ConfigHistory", "ConfigVersion", "Consumer", "ConsumerKey", "CorsConfig", "Deployment", "GatewayLog",
    "LatencyRollup", "LogRollup", "LogSeries", "LoginLinkUse", "PluginConfig", "RateLimitRule", "RouteConfig", "SeriesMark",
    "ServiceHealth", "bump_version", "deployment_id", "read_version", "use_login_link",
]
