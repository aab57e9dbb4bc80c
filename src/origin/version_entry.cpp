#include "origin/version_entry.h"

#include <sodium.h>
#include <zlib.h>

#include <fmt/format.h>

#include "vodd/catalog/media.h"
#include "vodd/core/ids.h"
#include "vodd/origin/dash.h"
#include "vodd/origin/hls.h"

namespace vodd::origin {
namespace {

glib::BytesPtr ToBytes(const std::string& s) {
  return glib::BytesPtr(g_bytes_new(s.data(), s.size()));
}

}  // namespace

std::string Gzip(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper rather than zlib's.
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32,
                  '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

Doc MakeDoc(const std::string& text) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  // 128 bits of the content hash are plenty for a validator.
  std::string hex =
      ToHex(std::string_view(reinterpret_cast<const char*>(hash), 16));
  Doc d;
  d.body = ToBytes(text);
  d.gz = ToBytes(Gzip(text));
  d.etag = fmt::format("\"{}\"", hex);
  d.etag_gz = fmt::format("\"{}-gz\"", hex);
  return d;
}

Result<std::shared_ptr<const VersionEntry>> BuildVersionEntry(
    catalog::Db& db, const storage::Layout& layout, const std::string& video,
    int64_t version, int64_t now_ms, int64_t grace_ms) {
  TRY_ASSIGN(auto published,
             catalog::LoadPublished(db, video, version, now_ms, grace_ms));
  if (!published) return std::shared_ptr<const VersionEntry>();
  auto e = std::make_shared<VersionEntry>();
  e->v = std::move(*published);
  e->last_modified_s = e->v.published_at / 1000;
  std::string root = layout.MediaRoot() + "/";
  std::string dir = layout.MediaDir(video, e->v.version);
  if (dir.compare(0, root.size(), root) != 0) {
    return MakeError(ErrorCode::kInternal,
                     "media folder outside the media root");
  }
  e->dir = dir.substr(root.size());
  std::string prefix = fmt::format("{}/", e->v.version);
  e->master = MakeDoc(RenderMultivariant(e->v));
  e->stable_master = MakeDoc(RenderMultivariant(e->v, prefix));
  e->mpd = MakeDoc(RenderMpd(e->v));
  e->stable_mpd = MakeDoc(RenderMpd(e->v, prefix));
  if (e->v.thumbnails) e->thumbs_vtt = MakeDoc(RenderThumbnailsVtt(e->v));
  for (size_t i = 0; i < e->v.renditions.size(); ++i) {
    const auto& r = e->v.renditions[i];
    e->by_name[r.name] = i;
    e->media.push_back(MakeDoc(RenderMediaPlaylist(e->v, r)));
    if (r.kind == "video" && !r.keyframes.empty()) {
      e->iframes.push_back(MakeDoc(RenderIFramePlaylist(r)));
    } else {
      e->iframes.push_back(std::nullopt);
    }
  }
  return std::shared_ptr<const VersionEntry>(std::move(e));
}

}  // namespace vodd::origin
