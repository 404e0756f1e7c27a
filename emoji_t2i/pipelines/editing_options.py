"""The editing methods' names and defaults, apart from the pipeline's TensorFlow code: the
editing CLIs' ``--help`` and the app's widgets show them before any model loads."""

MASHUP_METHODS = ("compose", "interpolate", "sdedit")
DEFAULT_MASHUP = "compose"
# Under the cosine schedule an image keeps most of its layout up to t ~ 0.8 (alpha 0.31); at
# 0.9 a portrait becomes a person emoji with the photo's hair and skin colours, for "person",
# "woman" and "smiling face" alike, where 0.85 still left blobs for some prompts (docs/app.md).
EMOJIFY_STRENGTH = 0.9
