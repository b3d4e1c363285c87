"""Webhook endpoints and their deliveries: types and mutations."""
