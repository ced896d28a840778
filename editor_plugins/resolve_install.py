"""``lipsync resolve-install``: put the LipSync menu scripts into Resolve's per-OS Scripts folder.

Writes into ``<Scripts>/Utility`` (listed on every page): ``LipSync.py`` (Studio; its SUPPORT_DIR pointing at
this installation's ``editor_plugins/resolve``), ``LipSync.lua`` (the free edition's OTIO route) and, when
absent, ``LipSync.json`` (settings: the lipsync command, where takes go). An existing LipSync.json is kept,
only its ``lipsync_command`` is refreshed. Resolve reads the Scripts folders at start-up: restart it.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from lipsync_daemon.inbox import write_atomically
from lipsync_engine.errors import OutputError

RESOLVE_DIR = Path(__file__).resolve().parent / "resolve"
_MAC = "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts"


def scripts_dir(platform: str = sys.platform, all_users: bool = False, env: dict | None = None) -> Path:
    """Resolve's menu-script folder ``.../Fusion/Scripts/Utility`` for ``platform``."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform == "darwin":
        base = Path("/") / _MAC if all_users else home / _MAC
    elif platform.startswith("win"):
        base = (Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "Blackmagic Design/DaVinci Resolve/Fusion/Scripts"
                if all_users else Path(env.get("APPDATA", home / "AppData/Roaming"))
                / "Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts")
    else:
        base = Path("/opt/resolve/Fusion/Scripts") if all_users else home / ".local/share/DaVinciResolve/Fusion/Scripts"
    return base / "Utility"


def lipsync_command() -> list[str]:
    """How Resolve's scripts start this installation's CLI (an absolute path: Resolve has its own PATH)."""
    found = shutil.which("lipsync")
    return [found] if found else [sys.executable, "-m", "lipsync_cli.main"]


def _lua_string(text: str) -> str:
    """``text`` escaped for the inside of a double-quoted Lua string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def planned_files(target: Path, output_dir: Path) -> dict[Path, str]:
    """Target path -> text of every file the install writes."""
    command = lipsync_command()
    script = (RESOLVE_DIR / "LipSync.py").read_text(encoding="utf-8")
    script = script.replace("SUPPORT_DIR = None", f"SUPPORT_DIR = {str(RESOLVE_DIR)!r}", 1)
    shell = " ".join(f'"{part}"' if " " in part else part for part in command)
    lua = (RESOLVE_DIR / "LipSync.lua").read_text(encoding="utf-8")
    lua = lua.replace("__LIPSYNC_COMMAND__", _lua_string(shell)).replace("__OUTPUT_DIR__", _lua_string(str(output_dir)))
    settings_path = target / "LipSync.json"
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8")) if settings_path.exists() else {}
    except (OSError, ValueError):
        settings = {}  # unreadable: rewritten with the defaults
    settings.setdefault("output_dir", str(output_dir))
    settings.setdefault("mode", "track")
    settings.setdefault("dubs", {})
    settings["lipsync_command"] = command
    return {target / "LipSync.py": script, target / "LipSync.lua": lua,
            settings_path: json.dumps(settings, indent=2) + "\n"}


def install(target: Path, output_dir: Path, dry_run: bool = False) -> list[Path]:
    """Write the scripts into ``target`` (created if needed); with ``dry_run`` only list them."""
    files = planned_files(target, output_dir)
    if dry_run:
        return list(files)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            write_atomically(path, text)
    except OSError as exc:
        raise OutputError(f"cannot write Resolve's scripts folder '{target}' ({exc}); pass --scripts-dir, or "
                          f"run as an administrator for --all-users") from exc
    return list(files)
