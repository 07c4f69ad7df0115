"""The only entry point gunicorn and flask use."""

from app import create_app

app = create_app()
