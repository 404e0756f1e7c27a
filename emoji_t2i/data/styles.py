"""The emoji sets the embedded dataset draws from: one *style* each, pinned and licensed.

Every set here is free to redistribute and full-colour. Left out on purpose: Apple's and
Facebook's sets (not licensed for redistribution), JoyPixels / EmojiOne 3 and later (their
licence forbids it), Mutant Standard (non-commercial only), and Blobmoji's npm package
(``@svgmoji/blob`` carries no drawings, only a loader for a CDN).
"""

from __future__ import annotations

import dataclasses

# emoji.json (names, categories, skin variations) is the same in every emoji-datasource-* package
METADATA_PACKAGE = "emoji-datasource-google@16.0.0"
KEYWORDS_PACKAGE = "openmoji@17.0.0"


@dataclasses.dataclass(frozen=True)
class Style:
    """One emoji set: where its drawings are and how they join to code points.

    ``layout``: "datasource-png" (emoji-datasource-<vendor>'s 64 px PNGs), "iconify" (an
    ``@iconify-json`` package) or "svg-folder" (``<HEXCODE>.svg`` files in ``svg_folder``).
    ``join``: "sequence" (code points: file names or ``chars.json``), "name" (CLDR names)
    or "squashed-name" (names with the spaces dropped, as Firefox OS writes them).
    """

    name: str
    title: str
    package: str
    layout: str
    join: str
    licence: str
    copyright: str
    vendor: str = ""  # emoji-datasource's img/<vendor>/ folder
    svg_folder: str = ""
    chars_from: str = ""  # a package whose chars.json names the same icons
    note: str = ""


STYLES = (
    Style("google", "Noto Color Emoji (Google)", "emoji-datasource-google@16.0.0", "datasource-png",
          "sequence", "Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0)",
          "Copyright Google Inc.", vendor="google"),
    Style("twitter", "Twemoji (Twitter)", "emoji-datasource-twitter@16.0.0", "datasource-png",
          "sequence", "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
          "Copyright Twitter, Inc. and other contributors", vendor="twitter"),
    Style("fluent_flat", "Fluent Emoji, flat (Microsoft)", "@iconify-json/fluent-emoji-flat@1.2.6",
          "iconify", "sequence", "MIT License (https://github.com/microsoft/fluentui-emoji/blob/main/LICENSE)",
          "Copyright (c) Microsoft Corporation"),
    Style("fluent_color", "Fluent Emoji, colour (Microsoft)", "@iconify-json/fluent-emoji@1.2.7",
          "iconify", "sequence", "MIT License (https://github.com/microsoft/fluentui-emoji/blob/main/LICENSE)",
          "Copyright (c) Microsoft Corporation", chars_from="@iconify-json/fluent-emoji-flat@1.2.6"),
    Style("openmoji", "OpenMoji", "openmoji@17.0.0", "svg-folder", "sequence",
          "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)",
          "Copyright OpenMoji contributors (https://openmoji.org)", svg_folder="color/svg",
          note="Share-alike: these images, and images adapted from them, may be shared only under "
               "CC BY-SA 4.0. OpenMoji's extra drawings without a Unicode code point are not included."),
    Style("emojione", "EmojiOne 2 (Emoji One, via EmojiTwo)", "@iconify-json/emojione@1.2.3", "iconify",
          "name", "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)", "Copyright Emoji One"),
    Style("noto_v1", "Noto Emoji, earlier design (Google)", "@iconify-json/noto-v1@1.2.5", "iconify",
          "name", "Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0)", "Copyright Google Inc."),
    Style("fxemoji", "Firefox OS Emoji (Mozilla)", "@iconify-json/fxemoji@1.2.2", "iconify",
          "squashed-name", "Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0)",
          "Copyright Mozilla Foundation"),
)
STYLE_NAMES = tuple(s.name for s in STYLES)
# The evaluation's reference and ceiling styles: FID/KID/R-precision stay comparable with the
# figures measured when the dataset had only these two.
REFERENCE_STYLE, PARTNER_STYLE = "google", "twitter"


def notice_text(styles) -> str:
    lines = [
        "emoji72 — the embedded dataset of emoji_t2i (data/emoji72/)",
        "",
        "Built by `python -m emoji_t2i.data build` from these npm packages (versions in",
        "data/emoji72/spec.json). Each image's style is the `style` column of manifest.csv;",
        "each style keeps its own licence.",
        "",
        "Images",
    ]
    for s in styles:
        lines.append(f"- {s.name}: {s.title}, from {s.package}.")
        lines.append(f"  {s.copyright}. Licensed under the {s.licence}.")
        if s.note:
            lines.append(f"  {s.note}")
    lines += [
        "  PNG sets were resized from 64 px and SVG sets rendered at 288 px (resvg), both brought to",
        "  72 px on premultiplied alpha; no other change.",
        "",
        "Metadata",
        f"- emoji names, short names, categories and skin-tone variations: {METADATA_PACKAGE}",
        "  (iamcal/emoji-data), Copyright (c) 2013 Cal Henderson, MIT License.",
        f"- keywords (\"tags\" column of {KEYWORDS_PACKAGE} data/openmoji.csv): Unicode CLDR annotations,",
        "  Copyright © 1991-2026 Unicode, Inc. Licensed under the Unicode License v3",
        "  (https://www.unicode.org/license.txt). OpenMoji's own tags are not used.",
        "",
    ]
    return "\n".join(lines)
