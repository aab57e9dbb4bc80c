// Internal helpers of the admin API: the error → HTTP status table, request
// parsing, pagination and JSON renderers of catalog rows.
#pragma once

#include <libsoup/soup.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vodd/catalog/admin.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/media_types.h"
#include "vodd/catalog/tokens.h"
#include "vodd/catalog/uploads.h"
#include "vodd/catalog/videos.h"
#include "vodd/catalog/webhooks.h"
#include "vodd/core/result.h"

namespace vodd::admin {

// The one table from internal errors to HTTP statuses (nginx-vod's
// error_map). Unmapped codes and kInternal/kIo/kDataLoss are 500 with a
// generic message; the detail is logged, not sent.
int HttpStatusFor(ErrorCode code);
bool ErrorDetailIsPublic(ErrorCode code);

// An error carrying the request field it is about.
Error FieldError(const std::string& field, const std::string& reason);
// Splits "field: reason" made by FieldError; field empty when absent.
std::pair<std::string, std::string> SplitFieldError(const std::string& msg);

struct Page {
  int limit = 50;
  int64_t offset = 0;
};
inline constexpr int kDefaultPageLimit = 50;
inline constexpr int kMaxPageLimit = 1000;
// limit (1..1000) and offset (≥ 0) from the query.
Result<Page> ParsePage(const std::map<std::string, std::string>& query);
nlohmann::json PageJson(nlohmann::json items, const Page& p,
                        std::optional<int64_t> total);

nlohmann::json VideoJson(const catalog::Video& v, const std::string& base);
nlohmann::json RenditionJson(const catalog::Rendition& r);
// A job in full (GET /jobs/{id} and the job actions).
nlohmann::json JobJson(const catalog::Job& j);
// A job in a listing (GET /jobs, a video's jobs, /stats): its video's title
// instead of priority, parent_id and run_after.
nlohmann::json JobBriefJson(const catalog::JobWithTitle& j);
nlohmann::json TokenJson(const catalog::ApiToken& t, int64_t now_ms);
nlohmann::json WebhookJson(const catalog::Webhook& w);
nlohmann::json DeliveryJson(const catalog::WebhookDelivery& d);
nlohmann::json UploadJson(const catalog::UploadRow& u);

// The non-empty pieces of `s` between `sep` characters: the words of a
// stored list (token scopes, webhook events), the segments of a path.
std::vector<std::string> SplitOn(const std::string& s, char sep);

// Accepted token scopes.
bool ValidScope(const std::string& s);
bool HasScope(const std::string& scopes, const std::string& want);

}  // namespace vodd::admin
