"""The compiled CORS policy: which origins get ``Access-Control-*`` headers, and which."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class CorsPolicy:
    """CORS settings parsed once per configuration version."""

    origins: frozenset[str]
    any_origin: bool
    methods: str
    headers: str | None  # None: echo Access-Control-Request-Headers (the "*" setting)
    expose: str
    credentials: bool
    max_age: str

    @classmethod
    def from_row(cls, row) -> CorsPolicy:
        """Compile a CorsConfig row."""
        origins = frozenset(o.rstrip("/") for o in row.allow_origins or ())
        headers = list(row.allow_headers or ())
        return cls(
            origins=origins - {"*"}, any_origin="*" in origins, methods=", ".join(row.allow_methods or ()),
            headers=None if "*" in headers else ", ".join(headers), expose=", ".join(row.expose_headers or ()),
            credentials=bool(row.allow_credentials), max_age=str(row.max_age),
        )

    @classmethod
    def disabled(cls) -> CorsPolicy:
        """A policy that allows no origin."""
        return cls(frozenset(), False, "", "", "", False, "0")

    @property
    def enabled(self) -> bool:
        return self.any_origin or bool(self.origins)

    def allows(self, origin: str | None) -> bool:
        """Return whether ``origin`` may read responses."""
        return bool(origin) and (self.any_origin or origin in self.origins)

    def _allow_origin(self, origin: str) -> list[tuple[str, str]]:
        if self.any_origin and not self.credentials:
            return [("Access-Control-Allow-Origin", "*")]
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def response_headers(self, origin: str) -> list[tuple[str, str]]:
        """Headers for an actual (non-preflight) response to an allowed origin."""
        headers = self._allow_origin(origin)
        if self.expose:
            headers.append(("Access-Control-Expose-Headers", self.expose))
        return headers

    def preflight_headers(self, origin: str, requested_headers: str | None) -> list[tuple[str, str]]:
        """Headers for the gateway's own answer to a preflight from an allowed origin."""
        headers = self._allow_origin(origin)
        headers.append(("Access-Control-Allow-Methods", self.methods))
        allow_headers = requested_headers if self.headers is None else self.headers
        if allow_headers:
            headers.append(("Access-Control-Allow-Headers", allow_headers))
        headers.append(("Access-Control-Max-Age", self.max_age))
        if self.headers is None and requested_headers:
            headers.append(("Vary", "Access-Control-Request-Headers"))
        return headers
