"""Code that runs inside the SageMaker Processing containers (and, unchanged, on this machine).

Nothing under ``steps/`` imports the SageMaker SDK: the container side only computes.
"""
