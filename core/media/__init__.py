"""What a file is before any model: reading and checking it, its metadata, and the one rule that
turns a file of a kind into the model's input (`documents`)."""
