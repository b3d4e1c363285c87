"""Teams: the Team type and its project roles, a member's effective project roles and their
sources (`access`), and the team mutations."""
