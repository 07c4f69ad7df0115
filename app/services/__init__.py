"""Use cases of the platform; no HTTP here, shared by views, API and CLI."""
