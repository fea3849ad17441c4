"""WSGI entry point for gunicorn (``gunicorn wsgi:app``): the node app configured from DOCEXCHANGE_* variables."""

from docexchange.app import create_app

app = create_app()
