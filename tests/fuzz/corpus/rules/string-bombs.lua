local s = string.rep("ab", 1e9)
local t = string.format("%099d", 1)
local u = ("a"):rep(60000):gsub("a", "%0%0")
local v = string.find(string.rep("a", 5000), ".-.-.-.-.-.-.-.-b")
