"""The programme platform: persistence and use cases (the only layer that touches the database).

One folder per domain concept, each with ``models.py`` (tables), ``schemas.py`` (validated input)
and ``service.py`` (use cases that take an :class:`~alianza.platform.programmes.service.Actor`).
"""
