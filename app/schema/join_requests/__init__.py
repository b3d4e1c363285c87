"""Join requests by verified domain: the JoinRequest type and its mutations."""
