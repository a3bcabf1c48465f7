# cmake -DIN=file -DOUT=header -DNAME=symbol -P embed.cmake
# Writes `static const unsigned char NAME[] = {...};` holding IN's bytes.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}.tmp" "/* generated from ${IN} by tools/embed.cmake */\nstatic const unsigned char ${NAME}[] = {${bytes}};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
