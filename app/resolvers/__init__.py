"""Thin resolvers: read the input, call a service, shape the payload."""
