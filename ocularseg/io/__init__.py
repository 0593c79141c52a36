"""Input/output: atomic writes, images, the landmark model, (later) video and model store."""
