"""``plan``: what a run will need and cost before it starts. The input root listed group by group
(``parallel_listing``), an I/O and price model (``cost_model``) whose figures carry their sources
(``cost_figures``, ``instance_types``), and the plan they make (``plan``). No SageMaker SDK."""
