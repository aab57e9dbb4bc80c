# deb and rpm packages of vodd (included from the top-level CMakeLists.txt).
#
#   cmake -S . -B build-pkg -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
#         -DVODD_BUILD_TESTS=OFF
#   cmake --build build-pkg && (cd build-pkg && cpack -G DEB && cpack -G RPM)
#
# Installed layout (see docs/operations.md):
#   /usr/bin/vodd                          the daemon, CLI and worker
#   /etc/vodd/vodd.conf, /etc/vodd/conf.d/ conffile (data_dir = /var/lib/vodd)
#   <systemdsystemunitdir>/vodd.service    hardened Type=notify unit
#   /usr/lib/sysusers.d/vodd.conf          system user and group vodd
#   /usr/lib/tmpfiles.d/vodd.conf          /var/lib/vodd, /var/cache/vodd
#   /usr/share/doc/vodd/                   copyright, changelog.gz, examples/
#   /usr/share/man/man1/vodd.1.gz          man page
# Maintainer scripts: packaging/deb/ and packaging/rpm/.

set(VODD_PKG_DIR ${CMAKE_CURRENT_LIST_DIR})
set(VODD_PKG_OUT ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${VODD_PKG_OUT})

# Where the distribution keeps units: /lib/systemd/system on Debian 12,
# /usr/lib/systemd/system on Fedora/RHEL.
execute_process(
  COMMAND pkg-config --variable=systemdsystemunitdir systemd
  OUTPUT_VARIABLE VODD_UNIT_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET)
if(NOT VODD_UNIT_DIR)
  set(VODD_UNIT_DIR /lib/systemd/system)
endif()
execute_process(
  COMMAND pkg-config --variable=sysusersdir systemd
  OUTPUT_VARIABLE VODD_SYSUSERS_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET)
if(NOT VODD_SYSUSERS_DIR)
  set(VODD_SYSUSERS_DIR /usr/lib/sysusers.d)
endif()
execute_process(
  COMMAND pkg-config --variable=tmpfilesdir systemd
  OUTPUT_VARIABLE VODD_TMPFILES_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET)
if(NOT VODD_TMPFILES_DIR)
  set(VODD_TMPFILES_DIR /usr/lib/tmpfiles.d)
endif()

# The packaged /etc/vodd/vodd.conf is the generated sample (config/vodd.conf,
# tested to equal `vodd print-config --format sample`) with one change:
# data_dir points at /var/lib/vodd instead of the relative vodd-data.
file(READ ${PROJECT_SOURCE_DIR}/config/vodd.conf VODD_SAMPLE_CONF)
string(FIND "${VODD_SAMPLE_CONF}" "\ndata_dir = vodd-data\n" VODD_DATA_DIR_AT)
if(VODD_DATA_DIR_AT EQUAL -1)
  message(FATAL_ERROR "config/vodd.conf has no 'data_dir = vodd-data' line; "
                      "update packaging/CPackConfig.cmake")
endif()
string(REPLACE "\ndata_dir = vodd-data\n"
       "\n# Packaged: the service's StateDirectory (systemd creates it).\ndata_dir = /var/lib/vodd\n"
       VODD_PACKAGED_CONF "${VODD_SAMPLE_CONF}")
string(REPLACE "so\n# this file changes nothing until you edit it."
       "except\n# storage.data_dir, which the package sets to /var/lib/vodd."
       VODD_PACKAGED_CONF "${VODD_PACKAGED_CONF}")
file(WRITE ${VODD_PKG_OUT}/vodd.conf "${VODD_PACKAGED_CONF}")

file(STRINGS ${VODD_PKG_DIR}/changelog VODD_CHANGELOG_TOP LIMIT_COUNT 1)
if(NOT VODD_CHANGELOG_TOP MATCHES "^vodd \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/changelog starts with '${VODD_CHANGELOG_TOP}'; "
                      "add an entry for ${PROJECT_VERSION}")
endif()

# Documentation files: Debian wants them gzip -9n (no name, no timestamp, so
# rebuilds are reproducible).
find_program(VODD_GZIP gzip REQUIRED)
foreach(doc changelog vodd.1)
  execute_process(
    COMMAND ${VODD_GZIP} -9n -c ${VODD_PKG_DIR}/${doc}
    OUTPUT_FILE ${VODD_PKG_OUT}/${doc}.gz RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${doc} failed")
  endif()
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${VODD_PKG_DIR}/changelog ${VODD_PKG_DIR}/vodd.1
             ${PROJECT_SOURCE_DIR}/config/vodd.conf)

# Files outside /usr are given absolute destinations; GNUInstallDirs' relative
# "etc" would become /usr/etc under the /usr prefix.
install(FILES ${VODD_PKG_OUT}/vodd.conf DESTINATION /etc/vodd
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(DIRECTORY DESTINATION /etc/vodd/conf.d)
install(FILES ${VODD_PKG_DIR}/vodd.service DESTINATION ${VODD_UNIT_DIR})
install(FILES ${VODD_PKG_DIR}/sysusers.conf DESTINATION ${VODD_SYSUSERS_DIR}
        RENAME vodd.conf)
install(FILES ${VODD_PKG_DIR}/tmpfiles.conf DESTINATION ${VODD_TMPFILES_DIR}
        RENAME vodd.conf)
install(FILES ${VODD_PKG_DIR}/copyright ${VODD_PKG_OUT}/changelog.gz
        DESTINATION share/doc/vodd)
# nginx-vodd-site.conf (front door) and nginx-cdn-cache.conf (a CDN
# imitation, from the origin work) when present; the glob is re-checked at
# build time.
file(GLOB VODD_NGINX_EXAMPLES CONFIGURE_DEPENDS ${VODD_PKG_DIR}/nginx-*.conf)
install(FILES ${VODD_NGINX_EXAMPLES} DESTINATION share/doc/vodd/examples)
install(FILES ${VODD_PKG_OUT}/vodd.1.gz DESTINATION share/man/man1)

# Common.
set(CPACK_PACKAGE_NAME vodd)
set(CPACK_PACKAGE_VENDOR "vodd maintainers")
set(CPACK_PACKAGE_CONTACT
    "vodd maintainers <maintainers@users.noreply.b-seed-6434d147.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "on-premises video-on-demand server (tus uploads, HLS and DASH origin)")
set(VODD_LONG_DESCRIPTION
    "vodd takes resumable uploads over tus 1.0.0, keeps a durable job queue
and catalog in SQLite, transcodes each upload into an adaptive-bitrate
H.264/AAC ladder of CMAF segments with GStreamer, and serves it as HLS and
MPEG-DASH to a downstream CDN, with an admin page, a REST API and
Prometheus metrics. It runs as the hardened systemd service vodd.service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build.*/;/\\\\.git/;node_modules")
if(NOT CPACK_GENERATOR)
  set(CPACK_GENERATOR "DEB;RPM")
endif()

# DEB.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${PROJECT_HOMEPAGE_URL})
# CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY on the synopsis line itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${VODD_LONG_DESCRIPTION}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The binary links GStreamer's core libraries (found by shlibdeps); the
# elements it builds pipelines from come from plugin packages:
#   base:  videoconvert videoscale videorate audioconvert audioresample
#          decodebin typefind appsrc appsink
#   good:  qtdemux matroskademux mp4mux jpegenc
#   bad:   h264parse voaacenc (and openh264enc when pipeline.encoder=openh264)
#   ugly:  x264enc
#   libav: avdec_* decoders behind decodebin
# adduser: the fallback when systemd-sysusers is missing (postinst).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "adduser, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-plugins-ugly, gstreamer1.0-libav")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${VODD_PKG_DIR}/deb/conffiles ${VODD_PKG_DIR}/deb/postinst
    ${VODD_PKG_DIR}/deb/prerm ${VODD_PKG_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

# RPM. Built on Debian it is good for layout and scriptlet checks; shipping
# rpms must be built in a target-distribution build root (docs/operations.md).
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_RPM_PACKAGE_GROUP "Applications/Multimedia")
set(CPACK_RPM_PACKAGE_URL ${PROJECT_HOMEPAGE_URL})
set(CPACK_RPM_PACKAGE_DESCRIPTION "${VODD_LONG_DESCRIPTION}")
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
# Fedora/RHEL names of the plugin sets (x264enc is in RPM Fusion's ugly).
set(CPACK_RPM_PACKAGE_REQUIRES
    "gstreamer1-plugins-base, gstreamer1-plugins-good, gstreamer1-plugins-bad-free, gstreamer1-plugins-ugly, gstreamer1-libav")
set(CPACK_RPM_PACKAGE_REQUIRES_POST "systemd")
set(CPACK_RPM_PACKAGE_REQUIRES_PREUN "systemd")
set(CPACK_RPM_PACKAGE_REQUIRES_POSTUN "systemd")
# CPack marks every file installed to an absolute destination %config; only
# vodd.conf is configuration (noreplace). Listing the others here takes them
# out of that list again.
set(CPACK_RPM_USER_FILELIST
    "%config(noreplace) /etc/vodd/vodd.conf"
    "%dir /etc/vodd/conf.d"
    "%attr(0644,root,root) ${VODD_UNIT_DIR}/vodd.service"
    "%attr(0644,root,root) ${VODD_SYSUSERS_DIR}/vodd.conf"
    "%attr(0644,root,root) ${VODD_TMPFILES_DIR}/vodd.conf")
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${VODD_PKG_DIR}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${VODD_PKG_DIR}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${VODD_PKG_DIR}/rpm/postun.sh)
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
set(CPACK_RPM_CHANGELOG_FILE ${VODD_PKG_DIR}/rpm/changelog)
# Directories owned by the distribution, not by vodd.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /etc /lib /lib/systemd /lib/systemd/system /usr/lib/systemd
    /usr/lib/systemd/system /usr/lib/sysusers.d /usr/lib/tmpfiles.d
    /usr/share/doc /usr/share/man /usr/share/man/man1)

include(CPack)
