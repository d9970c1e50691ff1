"""The local run: the very pipeline definition that is deployed, executed on this machine.

The definition is built by ``get_pipeline`` (with a local stand-in for role and bucket; ``definition``) and
evaluated as the service evaluates it (``pipeline.definition_eval``): parameters ``InputRoot`` and
``OutputRoot`` point at local folders, so the ``Join`` expressions resolve to local paths, and the combine
step's inputs resolve to the group steps' outputs. Each step runs its code from the checkout it was packed
from, as a process (``processes``; what the forked process does: ``step_process``), in a staging folder laid
out like ``/opt/ml/processing``: its inputs linked in, its output moved to the resolved destination once the
step succeeds. Caching follows the service's rules and is stricter in one way (``cache``): a local input
folder's files are part of the key. ``run`` ties them together, with a progress bar a stage (``progress``).
"""
