"""Long-term validity: "verifiable until" per stored signed PDF (``ltv``) and the archive re-time-stamping job
(``service``, PAdES B-LTA). Kept import-light: ``models`` is loaded by the model registry."""
