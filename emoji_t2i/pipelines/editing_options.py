"""The editing methods' names and defaults, apart from the pipeline's TensorFlow code: the
editing CLIs' ``--help`` and the app's widgets show them before any model loads."""

MASHUP_METHODS = ("compose", "interpolate", "sdedit")
DEFAULT_MASHUP = "compose"
# Under the cosine schedule an image keeps most of its layout up to t ~ 0.8 (alpha 0.31); at
# 0.9 a portrait becomes a person emoji with the photo's hair and skin colours, for "person",
# "woman" and "smiling face" alike, where 0.85 still left blobs for some prompts (docs/app.md).
EMOJIFY_STRENGTH = 0.9

# Regions ``inpaint`` redraws by name: bands of a 72x72 emoji face, (first row, last row + 1)
# or (first column, last column + 1), as the dataset's faces are laid out (eyes about rows
# 20-36, the mouth 40-58). Their edges are feathered over INPAINT_FEATHER pixels.
INPAINT_REGIONS = {"top": ("rows", 0, 26), "eyes": ("rows", 16, 40), "mouth": ("rows", 38, 64),
                   "bottom": ("rows", 46, 72), "left": ("columns", 0, 36), "right": ("columns", 36, 72)}
INPAINT_FEATHER = 4
