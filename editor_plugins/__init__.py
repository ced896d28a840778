"""Editor integrations of lipsync: DaVinci Resolve (``resolve/``, stdlib only), OTIO (``otio/``) and the
watch folder (``watch/``). They translate an editor's world into daemon jobs and the takes back; they never
render themselves. See docs/editor_plugins.md.
"""
