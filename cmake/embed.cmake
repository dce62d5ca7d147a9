# embed_text(OUT_C SYMBOL FILE [DEPENDS...]): generates OUT_C defining
# `const char SYMBOL[]` with FILE's text ("--#include NAME" lines replaced by
# the named file's text), so Lua scripts ship inside the binaries (the
# product never reads its source tree at run time).
function(embed_text out_c symbol file)
  add_custom_command(
    OUTPUT ${out_c}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out_c} -DSYMBOL=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake ${ARGN}
    COMMENT "Embedding ${file}")
endfunction()
