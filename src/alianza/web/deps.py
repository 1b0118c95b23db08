"""What a route may ask for, as typed dependencies (FastAPI's full-stack template's pattern):

    def route(session: SessionDep, settings: SettingsDep) -> ...

``SessionDep`` is one SQLAlchemy session per request, committed when the route returns and
rolled back when it raises (a refused request changes nothing), before the response is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from alianza.platform.db import Database
from alianza.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was made with (``create_app(settings)``)."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database, opened (and checked to be migrated) on first use."""
    database: Database = request.app.state.open_database()
    return database


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    # Database.session commits on success and rolls back on any error, in one place (db.py).
    with database.session() as session:
        try:
            yield session
        except BaseException:
            # Detached before the rollback expires them: the error page still reads what the
            # request loaded (the signed-in user's name in the menu).
            session.expunge_all()
            raise


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": the commit happens before the response leaves, so a failed commit is an
# error response and never a success the database does not hold.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# --- who is asking ------------------------------------------------------------------------------
# CurrentUser and CurrentActor (auth.py) go here:
#   CurrentUser = Annotated[User, Depends(get_current_user)]
#   CurrentActor = Annotated[Actor, Depends(get_current_actor)]
