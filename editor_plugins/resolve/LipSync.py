"""LipSync for DaVinci Resolve: Workspace > Scripts > LipSync.

Renders lip-synced takes of the current timeline (or of the clips between the in and out marks) for
every dub language, through the local lipsync daemon, and places them on a "LipSync XX" video track at the
same record frames (or as takes on the original clips). Dubs: audio tracks named "Dub XX", or "dubs" in
LipSync.json beside this script. Runs in Resolve's own Python (3.6+), standard library only.
Installed by ``lipsync resolve-install``, which fills in SUPPORT_DIR below.
"""
import os
import sys
import tempfile

SUPPORT_DIR = None  # folder holding the lipsync_resolve package; filled in by `lipsync resolve-install`


def _script_dir():
    try:
        return os.path.dirname(os.path.abspath(__file__))
    except NameError:  # some Resolve versions run menu scripts without __file__
        return os.getcwd()


def _support_dir():
    for folder in (SUPPORT_DIR, os.environ.get("LIPSYNC_RESOLVE_SUPPORT"), _script_dir()):
        if folder and os.path.isdir(os.path.join(folder, "lipsync_resolve")):
            return folder
    return None


def _resolve_app(names):
    """The ``resolve`` object: injected by the menu, or reached through bmd/app/DaVinciResolveScript."""
    if names.get("resolve") is not None:
        return names["resolve"]
    if names.get("bmd") is not None:
        return names["bmd"].scriptapp("Resolve")
    if names.get("app") is not None:
        return names["app"].GetResolve()
    try:
        import DaVinciResolveScript
    except ImportError:
        return None
    return DaVinciResolveScript.scriptapp("Resolve")


def main(names):
    """Run once; every problem is printed as a sentence for the editor (Workspace > Console)."""
    support = _support_dir()
    if support is None:
        print("LipSync: cannot find its support files; run `lipsync resolve-install` again")
        return 2
    if support not in sys.path:
        sys.path.insert(0, support)
    from lipsync_resolve.calls import PluginError
    from lipsync_resolve.session import load_settings, run

    resolve = _resolve_app(names)
    if resolve is None:
        print("LipSync: not running inside DaVinci Resolve (no `resolve` object); start it from "
              "Workspace > Scripts")
        return 2
    settings_path = os.environ.get("LIPSYNC_RESOLVE_SETTINGS") or os.path.join(_script_dir(), "LipSync.json")
    try:
        outcome = run(resolve, load_settings(settings_path), tempfile.gettempdir())
    except PluginError as exc:
        print("LipSync: %s" % exc)
        return 2
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    main(globals())
