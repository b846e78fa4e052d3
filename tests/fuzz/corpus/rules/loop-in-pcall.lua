local function spin() while true do end end
for i = 1, 1e9 do pcall(spin) end
