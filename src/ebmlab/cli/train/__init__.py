"""One module per ``ebmlab train MODEL`` command: argv → the model's settings.

A module here defines ``NAME`` (the model, a key of :data:`ebmlab.recipes.RECIPES`), ``HELP`` (one
line), ``add_arguments(parser)`` (its flags, through :mod:`ebmlab.cli._args` for the shared ones) and
``make_config(args)`` (the settings dataclass). Training, checkpoints, resume, progress, errors and
figures come from the one driver in :mod:`ebmlab.cli._train`. These modules must not import torch at
import time (``ebmlab --help`` stays fast): import the recipe inside ``make_config``.
"""
