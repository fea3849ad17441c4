"""WSGI entry point for gunicorn: ``gunicorn -w 4 wsgi:app`` (configuration from DOCEXCHANGE_* variables)."""

from docexchange.app import create_app

app = create_app()
