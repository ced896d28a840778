"""DaVinci Resolve integration: the menu script ``LipSync.py`` and its stdlib-only support package.

Everything under this folder runs inside Resolve's own Python (possibly 3.6): standard library only,
Python 3.6 syntax (tests check it with ``ast.parse(src, feature_version=(3, 6))``).
"""
