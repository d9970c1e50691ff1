"""Handlers of the ``waveform-pipeline`` commands, by what they work on: the pipeline as this checkout builds
it (``build``), its executions (``executions``), its schedule (``schedule``), a run here (``local``); and what
they share (``settings``, ``deployed``, ``placeholders``, ``json_output``).

Each handler resolves the configuration, acts, and returns an exit code; what fails raises one of
``pipeline.errors``' family. Each imports what it needs when it runs: the SageMaker SDK only for commands that
call AWS or build a definition, after the region is known (``aws_session``); the local runner only for
``run-local``. So importing these modules, as building the parser does, imports nothing heavy.
"""
