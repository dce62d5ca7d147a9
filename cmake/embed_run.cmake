# Script mode helper for embed_text: IN, OUT, SYMBOL. A line "--#include
# NAME" in IN is replaced by the text of NAME (relative to IN's folder), so
# one Redis script can be written as several files.
file(READ ${IN} content)
get_filename_component(dir ${IN} DIRECTORY)
string(REGEX MATCHALL "--#include [A-Za-z0-9_./-]+" includes "${content}")
foreach(line ${includes})
  string(REPLACE "--#include " "" name "${line}")
  file(READ ${dir}/${name} part)
  string(REPLACE "${line}" "${part}" content "${content}")
endforeach()
string(HEX "${content}" content)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\nconst char ${SYMBOL}[] = {${bytes}0x00};\n")
