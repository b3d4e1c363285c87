"""Ownership transfer: the OwnershipTransfer type and its mutations."""
