"""Report: tidy tables, per-eye summary with screening indicators, XLSX, overlays.

Modules (import from the module; this package imports nothing at load time so that
``ocularseg --help`` stays fast):

* ``tables``  — :func:`~ocularseg.report.tables.measurements_frame` (one row per eye per
  analysed frame), :func:`~ocularseg.report.tables.errors_frame` and
  :func:`~ocularseg.report.tables.write_tables` (``measurements.csv``, ``summary.csv``,
  ``errors.csv``).
* ``summary`` — :func:`~ocularseg.report.summary.summarise`: medians / IQR per input and
  eye, MRD1 slope, right − left differences and the screening indicators (indicators,
  not diagnoses), with thresholds in :class:`~ocularseg.report.summary.ReportParams`.
* ``xlsx``    — :func:`~ocularseg.report.xlsx.write_xlsx`: ``report.xlsx`` with the sheets
  ``summary``, ``measurements``, ``errors`` and ``run``.
* ``overlay`` — :func:`~ocularseg.report.overlay.render_overlay` (one eye crop with its
  segmentation, iris circle and MRD1/MRD2 lines), :func:`~ocularseg.report.overlay.contact_sheet`
  and :func:`~ocularseg.report.overlay.write_png`.

Layering: imports ``ocularseg.io`` and ``ocularseg.core`` only (never cli, stages, torch).
Every file is written atomically (temporary file, then rename).
"""
