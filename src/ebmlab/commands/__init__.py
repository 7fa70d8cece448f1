"""One module per ``ebmlab train MODEL`` command.

A command module defines ``NAME`` (the CLI name), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> Path`` (trains, writes the run directory, returns its path). The CLI finds
the modules here by itself. Shared argument helpers live in :mod:`ebmlab.commands._common`.
"""
