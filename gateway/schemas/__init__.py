"""Request and response schemas: validation and the OpenAPI document from one declaration."""

from gateway.schemas.cors import CorsSchema
from gateway.schemas.rate_limit_rule import RateLimitRuleListSchema, RateLimitRuleSchema
from gateway.schemas.route import RouteListSchema, RouteQuerySchema, RouteSchema
from gateway.schemas.service import AggregateHealthSchema, ServiceListSchema, ServiceSchema

__all__ = [
    "AggregateHealthSchema", "CorsSchema", "RateLimitRuleListSchema", "RateLimitRuleSchema",
    "RouteListSchema", "RouteQuerySchema", "RouteSchema", "ServiceListSchema", "ServiceSchema",
]
