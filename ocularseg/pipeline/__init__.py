"""The analysis pipeline: inputs -> frames -> face -> crops -> segmentation -> measurements
-> reports. ``ocularseg.analyze`` and ``ocularseg analyze`` both run :func:`run_analysis`.
"""
