"""The web app: ``python -m emoji_t2i.app`` (needs the ``app`` extra: streamlit)."""
