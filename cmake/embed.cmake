# Writes the bytes of IN as a C array named SYMBOL (NUL-terminated, with
# SYMBOL_len the length without the NUL) into OUT. Run at build time:
#   cmake -DIN=file -DOUT=file.c -DSYMBOL=name -P cmake/embed.cmake
# engine/daemon/openapi.json becomes obligo_openapi_json (openapi_doc.h).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
# 0xNN, per byte, 16 to a line
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n    " bytes "${bytes}")
get_filename_component(name "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "/* Generated from ${name} by cmake/embed.cmake at build time: do not edit. */\n"
  "#include <stddef.h>\n\n"
  "const char ${SYMBOL}[] = {\n    ${bytes}0x00};\n"
  "const size_t ${SYMBOL}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
