// The admin page's files, compiled into the binary by src/admin/CMakeLists.txt
// (esbuild bundles www/src with hls.js and tus-js-client; embed_assets.cmake
// writes them into a generated .cpp as byte arrays).
#pragma once

#include <cstddef>
#include <string_view>

namespace vodd::admin {

struct Asset {
  const char* path;  // relative to /admin/: "index.html", "app.js"
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

// nullptr when there is no such file.
const Asset* FindAsset(std::string_view path);

}  // namespace vodd::admin
