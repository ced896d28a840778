"""`lipsync resolve-install`: per-OS Scripts folders, dry run, the written scripts work from their new home."""
from __future__ import annotations

import ast
import json
import runpy
from pathlib import Path

from editor_plugins.resolve_install import scripts_dir
from lipsync_cli.main import main


def test_scripts_folder_per_os():
    home = {"HOME": "/home/ed", "APPDATA": r"C:\Users\ed\AppData\Roaming", "PROGRAMDATA": r"C:\ProgramData"}
    assert scripts_dir("linux", env=home) == Path("/home/ed/.local/share/DaVinciResolve/Fusion/Scripts/Utility")
    assert scripts_dir("linux", all_users=True, env=home) == Path("/opt/resolve/Fusion/Scripts/Utility")
    assert scripts_dir("darwin", env=home) == Path(
        "/home/ed/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility")
    assert scripts_dir("win32", env=home).as_posix().endswith(
        "Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Utility")
    assert "ProgramData" in str(scripts_dir("win32", all_users=True, env=home))


def test_dry_run_writes_nothing_and_install_keeps_user_settings(tmp_path, capsys):
    target = tmp_path / "Scripts" / "Utility"
    assert main(["resolve-install", "--dry-run", "--scripts-dir", str(target)]) == 0
    assert "would write" in capsys.readouterr().out and not target.exists()
    target.mkdir(parents=True)
    (target / "LipSync.json").write_text(json.dumps({"mode": "takes", "dubs": {"DE": "/dubs/de.wav"}}))
    assert main(["resolve-install", "--scripts-dir", str(target), "--output-dir", str(tmp_path / "takes")]) == 0
    settings = json.loads((target / "LipSync.json").read_text())
    assert settings["mode"] == "takes" and settings["dubs"] == {"DE": "/dubs/de.wav"}  # kept
    assert settings["output_dir"] == str(tmp_path / "takes") and settings["lipsync_command"]
    script = (target / "LipSync.py").read_text()
    ast.parse(script, feature_version=(3, 6))
    installed = runpy.run_path(str(target / "LipSync.py"), run_name="installed")
    assert Path(installed["_support_dir"]()) / "lipsync_resolve" == Path(installed["SUPPORT_DIR"]) / "lipsync_resolve"
    assert (Path(installed["SUPPORT_DIR"]) / "lipsync_resolve" / "session.py").is_file()
    lua = (target / "LipSync.lua").read_text()
    assert "__LIPSYNC_COMMAND__" not in lua and str(tmp_path / "takes") in lua and "EXPORT_OTIO" in lua


def test_install_into_an_unwritable_place_is_one_clear_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["resolve-install", "--scripts-dir", str(blocker / "Utility")]) == 2
    assert "cannot write Resolve's scripts folder" in capsys.readouterr().err
