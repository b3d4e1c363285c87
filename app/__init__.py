"""Roster: a GraphQL API server for organization membership."""
