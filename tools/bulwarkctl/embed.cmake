# Writes the file IN as a NUL-terminated C array named NAME into OUT, so that
# a binary carries a script of the repository as it is (bulwarkctl runs
# services/attestations/verify-export.sh this way).
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* Generated from ${IN} by embed.cmake; do not edit. */\n"
                  "const char ${NAME}[] = {${bytes} 0x00};\n")
