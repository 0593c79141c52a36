"""Datasets on disk: one format (images/, masks/, meta/, manifest.csv) plus importers/exporters."""
