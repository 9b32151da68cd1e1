"""JSON API under /api/v1, authenticated by bearer tokens from [[api.tokens]]."""
