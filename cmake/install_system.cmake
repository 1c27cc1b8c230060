# Installs what lives outside the prefix's usual tree: the configuration
# (sysconfdir), the environment file and the systemd unit, which names the
# installed program and configuration. Run by `cmake --install` and cpack,
# so the paths are those of the prefix being installed to, not the one of
# the configure step: --prefix /opt/x gives a unit that runs /opt/x/bin.
# Set by the caller: SFC_SOURCE_DIR, SFC_BINDIR, SFC_SYSCONFDIR (as
# GNUInstallDirs has them, relative or absolute), SFC_UNITDIR, SFC_CONFIGS,
# SFC_BUILD_DIR.

# GNUInstallDirs' rule, applied to the prefix being installed to.
function(sfc_full_dir dir out)
    if(IS_ABSOLUTE "${dir}")
        set(full "${dir}")
    elseif(dir STREQUAL "etc" AND CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
        set(full "/etc")
    else()
        set(full "${CMAKE_INSTALL_PREFIX}/${dir}")
    endif()
    set(${out} "${full}" PARENT_SCOPE)
endfunction()

sfc_full_dir("${SFC_SYSCONFDIR}" sysconfdir)
sfc_full_dir("${SFC_BINDIR}" bindir)
sfc_full_dir("${SFC_UNITDIR}" unitdir)

file(INSTALL ${SFC_CONFIGS} DESTINATION "${sysconfdir}/sfconnector")
file(INSTALL "${SFC_SOURCE_DIR}/etc/default/sfconnector"
     DESTINATION "${sysconfdir}/default"
     PERMISSIONS OWNER_READ OWNER_WRITE)

set(SFC_UNIT_BINDIR "${bindir}")
set(SFC_UNIT_SYSCONFDIR "${sysconfdir}")
set(unit "${SFC_BUILD_DIR}/sfconnector.service")
configure_file("${SFC_SOURCE_DIR}/etc/sfconnector.service.in" "${unit}" @ONLY)
file(INSTALL "${unit}" DESTINATION "${unitdir}")
