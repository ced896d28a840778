"""Stdlib-only support code of the Resolve menu script (Python 3.6 syntax, no third-party imports).

Modules: ``calls`` (checked Resolve calls), ``timeline_reader`` (timeline -> clip jobs), ``transport``
(jobs -> rendered takes through the ``lipsync`` CLI), ``placement`` (takes -> bin, track or take selector),
``session`` (the whole run, with the report shown to the editor).
"""

PLUGIN_VERSION = "1"
