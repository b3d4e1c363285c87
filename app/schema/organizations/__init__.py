"""Organizations: the Organization type, `organization`, `organizations`, settings mutations."""
