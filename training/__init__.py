"""Training and export of the model (torch; run by hand, never by the app): data preparation,
feature cache, heads, losses, training, exports into resources/model/. Imports core to share
preprocessing; nothing in core/ or app/ imports this package."""
