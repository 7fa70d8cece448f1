"""The lecture's models, each an :class:`ebmlab.Energy` with its training procedure."""
