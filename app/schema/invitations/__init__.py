"""Invitations: the Invitation type, the token preview, and the lifecycle mutations."""
