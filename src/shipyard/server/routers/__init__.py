"""One router per resource; every route lives under ``/api/v1``."""
