"""Human review as evidence: ``opsbench review sample``, ``review add`` and ``review report``.

The seed deliverables grade quality with a human rubric, local model against the hosted
baseline. This package is the I/O around it:

- :mod:`generator.review.sample` draws a stratified, seeded sample of a workload's results
  and writes a *blind* file for a reviewer (no model, run or key in it) beside a key file
  that maps each opaque item id back to its result;
- :mod:`generator.review.sheet` writes and reads that file (CSV or YAML), locating every
  bad grade as ``file:line``;
- :mod:`generator.review.store` checks a filled file against its key and stores the grades
  as a human-review folder in the run store, and reads those folders back.

The numbers (means, gaps, agreement) are computed without I/O in
:mod:`generator.analysis.review`.
"""
