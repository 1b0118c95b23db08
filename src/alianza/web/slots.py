"""A worker process serves at most ``settings.threads`` requests at once; the others wait their
turn on the event loop, in arrival order.

Why: a request holds one database connection from its first query to its commit, and hops
between the event loop and the thread pool several times on the way (the session, the user,
the actor, the endpoint). With more requests in flight than connections, the requests holding
a connection can wait for a thread while every thread waits for a connection: a deadlock
that the pool's timeout turns into errors. With the requests in flight bounded by the pool,
every thread that asks for a connection gets one; and fewer threads contend for Python's lock.
"""

from __future__ import annotations

import asyncio
import weakref

from starlette.types import ASGIApp, Receive, Scope, Send


class RequestSlots:
    """ASGI middleware: at most ``slots`` HTTP requests inside ``app`` at once."""

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = slots
        # One semaphore per event loop (a test client may run the app on several in turn).
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores.setdefault(loop, asyncio.Semaphore(self.slots))
        async with semaphore:
            await self.app(scope, receive, send)
