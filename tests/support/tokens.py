"""An in-memory TokenStore for client tests that need no database (the real one: services/tokens.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hookline.integrations.auth import TokenSet
from hookline.integrations.errors import AuthExpired


@dataclass
class MemoryTokenStore:
    tokens: TokenSet
    needs_reauth: str | None = None
    saved: list[TokenSet] = field(default_factory=list)

    def load(self) -> TokenSet:
        if self.needs_reauth:
            raise AuthExpired(self.needs_reauth)
        return self.tokens

    def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens
        self.saved.append(tokens)

    def mark_needs_reauth(self, reason: str) -> None:
        self.needs_reauth = reason
