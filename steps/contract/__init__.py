"""The contract between the two steps: what the extract step writes for each group and the combine step reads.

The output files and their names, the features schema, the summary counts both sides check, the failure
record, how every output is written (whole or not at all), and what each step records of the job that ran
it (``job_config``, with the code package's key, ``code_package``). Both steps' code packages hold this
folder and nothing else in common, so a change to one step's own code never changes the other's cache key.
"""
