# Writes OUT (a header defining SFC_REVISION) from REVISION, or else from
# `git describe` of SRC; "unknown" outside a git checkout. OUT is rewritten
# only when its text changes, so a build without a new commit compiles
# nothing again.  cmake -DSRC=... -DOUT=... [-DREVISION=...] -P revision.cmake
if(NOT REVISION)
    set(REVISION unknown)
    find_program(GIT git)
    if(GIT)
        execute_process(
            COMMAND ${GIT} -C ${SRC} describe --always --dirty --abbrev=12
                    --exclude=*
            OUTPUT_VARIABLE described
            RESULT_VARIABLE failed
            OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        if(NOT failed AND described)
            set(REVISION ${described})
        endif()
    endif()
endif()
set(text "#define SFC_REVISION \"${REVISION}\"\n")
if(EXISTS ${OUT})
    file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
    file(WRITE ${OUT} "${text}")
endif()
