"""Transactional mail: templates, the outbox, the worker and the SMTP sender."""
