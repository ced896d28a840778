"""`lipsync watch`: shot + dub pairs dropped into a folder become takes."""
