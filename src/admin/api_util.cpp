#include "api_util.h"

#include <fmt/format.h>

#include "vodd/core/ids.h"
#include "vodd/upload/tus.h"

namespace vodd::admin {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kGone:
      return 410;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kUnsupported:
      return 415;
    case ErrorCode::kMedia:
      return 422;
    case ErrorCode::kLocked:
      return 429;
    case ErrorCode::kCancelled:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kNoSpace:
      return 507;
    case ErrorCode::kIo:
    case ErrorCode::kDataLoss:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

bool ErrorDetailIsPublic(ErrorCode code) { return HttpStatusFor(code) < 500; }

Error FieldError(const std::string& field, const std::string& reason) {
  return Error{ErrorCode::kInvalidArgument, field + ": " + reason};
}

std::pair<std::string, std::string> SplitFieldError(const std::string& msg) {
  auto pos = msg.find(": ");
  if (pos == std::string::npos || msg.find(' ') < pos) return {"", msg};
  return {msg.substr(0, pos), msg.substr(pos + 2)};
}

Result<Page> ParsePage(const std::map<std::string, std::string>& query) {
  Page p;
  p.limit = kDefaultPageLimit;
  if (auto it = query.find("limit"); it != query.end()) {
    auto v = ParseNonNegativeInt(it->second);
    if (!v || *v < 1 || *v > kMaxPageLimit) {
      return tl::unexpected(FieldError(
          "limit", fmt::format("must be an integer in 1..{}", kMaxPageLimit)));
    }
    p.limit = static_cast<int>(*v);
  }
  if (auto it = query.find("offset"); it != query.end()) {
    auto v = ParseNonNegativeInt(it->second);
    if (!v) {
      return tl::unexpected(
          FieldError("offset", "must be a non-negative integer"));
    }
    p.offset = *v;
  }
  return p;
}

nlohmann::json PageJson(nlohmann::json items, const Page& p,
                        std::optional<int64_t> total) {
  nlohmann::json j;
  size_t n = items.size();
  j["items"] = std::move(items);
  j["limit"] = p.limit;
  j["offset"] = p.offset;
  if (total) {
    j["total"] = *total;
    int64_t next = p.offset + static_cast<int64_t>(n);
    j["next_offset"] = next < *total ? nlohmann::json(next) : nullptr;
  } else {
    j["next_offset"] = static_cast<int>(n) == p.limit
                           ? nlohmann::json(p.offset + p.limit)
                           : nullptr;
  }
  return j;
}

namespace {
template <typename T>
nlohmann::json Opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// The fields of a job that every rendering of it shows.
nlohmann::json JobCommonJson(const catalog::Job& j) {
  return {{"id", j.id},
          {"kind", j.kind},
          {"video_id", j.video_id},
          {"state", j.state},
          {"attempts", j.attempts},
          {"max_attempts", j.max_attempts},
          {"progress", j.progress},
          {"fps", Opt(j.fps)},
          {"eta_ms", Opt(j.eta_ms)},
          {"last_error", Opt(j.last_error)},
          {"created_at", j.created_at},
          {"updated_at", j.updated_at},
          {"started_at", Opt(j.started_at)},
          {"finished_at", Opt(j.finished_at)}};
}
}  // namespace

nlohmann::json VideoJson(const catalog::Video& v, const std::string& base) {
  nlohmann::json j{{"id", v.id},
                   {"title", v.title},
                   {"description", v.description},
                   {"state", v.state},
                   {"filename", v.filename},
                   {"source_size", v.source_size},
                   {"duration_ms", Opt(v.duration_ms)},
                   {"width", Opt(v.width)},
                   {"height", Opt(v.height)},
                   {"version", v.version},
                   {"playback_policy", v.playback_policy},
                   {"error", Opt(v.error)},
                   {"created_at", v.created_at},
                   {"updated_at", v.updated_at},
                   {"ready_at", Opt(v.ready_at)}};
  if (v.version > 0) {
    std::string p = fmt::format("{}/v/{}", base, v.id);
    std::string pv = fmt::format("{}/{}", p, v.version);
    j["urls"] = {{"hls", p + "/master.m3u8"},
                 {"dash", p + "/manifest.mpd"},
                 {"hls_version", pv + "/master.m3u8"},
                 {"dash_version", pv + "/manifest.mpd"},
                 {"poster", p + "/poster.jpg"},
                 {"poster_version", pv + "/poster.jpg"},
                 {"sprite", pv + "/sprite.jpg"},
                 {"thumbnails_vtt", pv + "/thumbs.vtt"}};
  } else {
    j["urls"] = nullptr;
  }
  return j;
}

nlohmann::json RenditionJson(const catalog::Rendition& r) {
  int64_t bytes = r.init_size;
  for (const auto& s : r.segments) bytes += s.size;
  nlohmann::json j{{"name", r.name},
                   {"kind", r.kind},
                   {"codecs", r.codecs},
                   {"bandwidth_peak", r.bandwidth_peak},
                   {"bandwidth_avg", r.bandwidth_avg},
                   {"segments", r.segments.size()},
                   {"bytes", bytes}};
  if (r.kind == "video") {
    j["width"] = r.width;
    j["height"] = r.height;
    j["frame_rate"] = r.frame_rate_den
                          ? static_cast<double>(r.frame_rate_num) /
                                static_cast<double>(r.frame_rate_den)
                          : 0.0;
  } else {
    j["sample_rate"] = r.sample_rate;
    j["channels"] = r.channels;
    j["language"] = r.language;
  }
  return j;
}

nlohmann::json JobJson(const catalog::Job& j) {
  nlohmann::json out = JobCommonJson(j);
  out["priority"] = j.priority;
  out["parent_id"] = Opt(j.parent_id);
  out["run_after"] = j.run_after;
  return out;
}

nlohmann::json JobBriefJson(const catalog::JobWithTitle& j) {
  nlohmann::json out = JobCommonJson(j.job);
  out["video_title"] = j.video_title;
  return out;
}

nlohmann::json TokenJson(const catalog::ApiToken& t, int64_t now_ms) {
  std::string state = t.revoked_at                                ? "revoked"
                      : (t.expires_at && *t.expires_at <= now_ms) ? "expired"
                                                                  : "active";
  return {{"id", t.id},
          {"name", t.name},
          {"scopes", SplitOn(t.scopes, ' ')},
          {"state", state},
          {"created_at", t.created_at},
          {"expires_at", Opt(t.expires_at)},
          {"last_used_at", Opt(t.last_used_at)},
          {"revoked_at", Opt(t.revoked_at)}};
}

nlohmann::json WebhookJson(const catalog::Webhook& w) {
  return {{"id", w.id},
          {"url", w.url},
          {"events", SplitOn(w.events, ' ')},
          {"description", w.description},
          {"created_at", w.created_at}};
}

nlohmann::json DeliveryJson(const catalog::WebhookDelivery& d) {
  return {{"id", d.id},
          {"webhook_id", d.webhook_id},
          {"event_id", d.event_id},
          {"event_type", d.event_type},
          {"state", d.state},
          {"attempts", d.attempts},
          {"next_attempt_at", d.state == "pending"
                                  ? nlohmann::json(d.next_attempt_at)
                                  : nlohmann::json(nullptr)},
          {"last_status", Opt(d.last_status)},
          {"last_error", Opt(d.last_error)},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at},
          {"body", nlohmann::json::parse(d.body, nullptr, false)}};
}

nlohmann::json UploadJson(const catalog::UploadRow& u) {
  nlohmann::json meta = nlohmann::json::object();
  upload::Metadata m;
  if (!upload::ParseMetadata(u.metadata, u.metadata.size() + 1, &m)) {
    for (const auto& p : m) {
      // Display data only; invalid UTF-8 is replaced when dumped.
      meta[p.key] = p.value;
    }
  }
  return {{"id", u.id},
          {"state", u.state},
          {"offset", u.offset},
          {"length", Opt(u.length)},
          {"metadata", meta},
          {"video_id", Opt(u.video_id)},
          {"created_at", u.created_at},
          {"updated_at", u.updated_at},
          {"expires_at", Opt(u.expires_at)}};
}

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool ValidScope(const std::string& s) {
  return s == "upload" || s == "catalog:read" || s == "admin";
}

bool HasScope(const std::string& scopes, const std::string& want) {
  size_t start = 0;
  while (start <= scopes.size()) {
    size_t sp = scopes.find(' ', start);
    std::string s = scopes.substr(
        start, (sp == std::string::npos ? scopes.size() : sp) - start);
    if (s == want || s == "admin") return true;
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  return false;
}

}  // namespace vodd::admin
