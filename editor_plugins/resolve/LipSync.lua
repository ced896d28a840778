-- LipSync launcher for DaVinci Resolve, for the free edition (21.1+ lists only Lua menu scripts).
-- Workspace > Scripts > LipSync (Lua): exports the current timeline as OTIO, runs `lipsync otio` on it
-- (dub audio on tracks named "Dub DE", one per language), and imports the result as a new timeline with
-- a "LipSync XX" video track per language. The original timeline is left as it was.
-- `lipsync resolve-install` fills in the two settings below.
local LIPSYNC = "__LIPSYNC_COMMAND__"
local OUTPUT_DIR = "__OUTPUT_DIR__"

local function say(text) print("LipSync: " .. text) end

local resolve = Resolve()
local project = resolve and resolve:GetProjectManager():GetCurrentProject()
if not project then say("open a project first") return end
local timeline = project:GetCurrentTimeline()
if not timeline then say("open a timeline in the Edit page first") return end

local windows = package.config:sub(1, 1) == "\\"
local tmp = os.getenv("TMPDIR") or os.getenv("TEMP") or "/tmp"
local stamp = os.date("%Y%m%d-%H%M%S")
local exported = tmp .. package.config:sub(1, 1) .. "lipsync-" .. stamp .. ".otio"
local converted = tmp .. package.config:sub(1, 1) .. "lipsync-" .. stamp .. "-takes.otio"

if not timeline:Export(exported, resolve.EXPORT_OTIO) then
  say("Resolve could not export the timeline as OTIO (Resolve 18.5 or later is needed)")
  return
end
local command = string.format('%s otio "%s" --out "%s" --output-dir "%s" 2>&1', LIPSYNC, exported, converted, OUTPUT_DIR)
if windows then command = '"' .. command .. '"' end  -- cmd.exe strips one pair of outer quotes
say("running " .. command)
local pipe = io.popen(command)
for line in pipe:lines() do print(line) end
local ok, _, code = pipe:close()
if not ok then
  say("lipsync otio failed (exit " .. tostring(code) .. "); nothing was imported, the timeline is unchanged")
  return
end
local name = timeline:GetName() .. " LipSync " .. stamp
local imported = project:GetMediaPool():ImportTimelineFromFile(converted, {timelineName = name, importSourceClips = true})
if not imported then
  say("Resolve did not import " .. converted .. "; import it with File > Import > Timeline")
  return
end
say("imported the timeline '" .. name .. "' with the LipSync tracks")
