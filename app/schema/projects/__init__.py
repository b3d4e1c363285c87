"""Projects: the Project and project-assignment types and the project mutations."""
