"""radarcore: low-altitude radar track fusion."""
__version__ = "0.1.0"
