# Turns a text file into a C++ source defining lockstep::embedded_default_config().
file(READ ${IN} CONTENT)
set(DELIM "LSCFG")
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\nnamespace lockstep {\nconst char* embedded_default_config() {\n  return R\"${DELIM}(${CONTENT})${DELIM}\";\n}\n}  // namespace lockstep\n")
