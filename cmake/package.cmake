# `cpack -G DEB` in a build tree: sfconnector_<version>_<arch>.deb with the
# programs, the man pages, the configuration in /etc/sfconnector (conffiles),
# /etc/default/sfconnector, the systemd unit, the plugin headers and the
# documents. Its maintainer scripts (packaging/deb/) make the sfconnector
# system user and /var/lib/sfconnector, and take them away on purge.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sfconnector)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Salesforce to RabbitMQ connector speaking Nameko's events and RPC")
set(CPACK_PACKAGE_DESCRIPTION
    "sfconnector publishes every change of a Salesforce record (PushTopics, \
generic channels, Platform Events, Change Data Capture) as a Nameko event on \
RabbitMQ, and serves Salesforce's REST API to Nameko RPC callers. A replay \
id is committed only after the broker confirmed the event. Includes sfsim, \
a Salesforce simulator for tests.")
set(SFC_PACKAGE_MAINTAINER "sfconnector developers <sfconnector@localhost>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGE_CONTACT "${SFC_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # name_version_arch.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from the binaries (dpkg-shlibdeps); adduser for the
# maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "rabbitmq-server, redis-server")
set(CPACK_STRIP_FILES ON)
# Installed as into / (DESTDIR): the configuration goes to /etc, not
# /usr/etc (cmake/install_system.cmake applies GNUInstallDirs' rule).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)

set(deb_dir ${PROJECT_BINARY_DIR}/deb-control)
file(MAKE_DIRECTORY ${deb_dir})
set(conffiles "/etc/default/sfconnector\n")
foreach(c ${SFC_CONFIGS})
    get_filename_component(n ${c} NAME)
    string(APPEND conffiles "/etc/sfconnector/${n}\n")
endforeach()
file(WRITE ${deb_dir}/conffiles "${conffiles}")
foreach(s postinst prerm postrm)
    file(COPY ${PROJECT_SOURCE_DIR}/packaging/deb/${s} DESTINATION ${deb_dir}
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                          GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${deb_dir}/conffiles ${deb_dir}/postinst ${deb_dir}/prerm
    ${deb_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
