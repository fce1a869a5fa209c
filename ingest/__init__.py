"""Plot sources: file readers, wire codecs, recordings and sockets.

``ingest`` never imports the engine; it produces plot batches (NumPy
structured arrays of :data:`ingest.schema.PLOT_DTYPE`).
"""
