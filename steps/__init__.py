"""Code that runs inside the SageMaker Processing containers (and, unchanged, on this machine).

One room a step: ``extract`` (every record of a patient group summarised) and ``combine`` (the groups merged
into the dataset and reports), each with its command and its container's ``requirements.txt``; and
``contract``, what one writes and the other reads. A step's code package is its room plus the contract.
Nothing under ``steps/`` imports the SageMaker SDK: the container side only computes.
"""
