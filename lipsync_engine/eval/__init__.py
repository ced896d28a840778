"""`lipsync eval`: measures of lip-sync quality on held-out speakers (``runner``), the run over generators
(``suite``), the report (``report``).

Import the modules themselves: the package imports nothing, so a training module that only needs a
measure (``image_metrics``, ``geometry``) does not pull in the suite, which imports training code back."""
