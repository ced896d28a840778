"""The `lipsync` command line: engine commands, model commands, daemon client and editor tools."""
