"""Real faces for development and training: sources with licences, the MediaPipe teacher,
silver labels, the data-set builder and real-context phantoms (training side, ``[train]``).

Layer: like ``pipeline``, it may import ``stages`` (the crops must be exactly analyze's),
``data``, ``io`` and ``core``; nothing on the inference path imports it.
"""
