"""``python -m alianza ...``: the `alianza` command, for a process that starts another (the web
server starting its worker) with the same interpreter, whatever the PATH."""

from alianza.cli import app

app()
