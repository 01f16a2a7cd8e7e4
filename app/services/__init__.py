"""The gateway's own logic. No Flask imports: blueprints call these with plain values."""
