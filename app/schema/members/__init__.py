"""Members: the Member type and the member-management mutations."""
