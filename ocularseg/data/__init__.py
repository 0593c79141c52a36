"""Datasets on disk: one format (images/, masks/, meta/, manifest.csv) plus importers/exporters.

Modules (import them directly; this package imports nothing so ``--help`` stays fast):

* ``manifest``      the format: ``ManifestRow``, ``read_manifest``, ``write_manifest``.
* ``labelme``       ``import_labelme``, ``read_labelme``, ``labelme_to_mask``,
                    ``mask_to_labelme`` (also for model predictions), ``export_labelme``.
* ``masks_import``  ``import_masks``, ``decode_mask``, ``pair_images_and_masks``.
* ``split``         ``split_dataset``, ``split_rows``, ``parse_fractions``.
* ``check``         ``check_dataset`` -> ``CheckReport`` of ``Problem``s.
* ``labelnames``    label aliases, paint priority, colour mappings.
* ``raster``, ``writer``, ``importing``: shared building blocks.
"""
