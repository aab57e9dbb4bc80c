// The webhook delivery thread; see vodd/admin/webhook_sender.h.
#include "vodd/admin/webhook_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "vodd/admin/auth.h"
#include "vodd/core/log.h"

namespace vodd::admin {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

constexpr size_t kMaxErrorBody = 200;
constexpr int kBatch = 20;

}  // namespace

WebhookSender::WebhookSender(const WebhookSenderOptions& opts,
                             catalog::Writer& writer, MetricsRegistry* metrics)
    : opts_(opts),
      writer_(writer),
      clock_(opts.clock ? *opts.clock : SystemClock::Get()) {
  if (metrics) {
    delivered_total_ = metrics->GetCounter(
        "vodd_webhook_deliveries_total",
        "Webhook delivery attempts by outcome.", {{"outcome", "delivered"}});
    failed_attempts_total_ = metrics->GetCounter(
        "vodd_webhook_deliveries_total",
        "Webhook delivery attempts by outcome.", {{"outcome", "retry"}});
    gave_up_total_ = metrics->GetCounter(
        "vodd_webhook_deliveries_total",
        "Webhook delivery attempts by outcome.", {{"outcome", "gave_up"}});
  }
}

Result<std::unique_ptr<WebhookSender>> WebhookSender::Create(
    const WebhookSenderOptions& opts, catalog::Writer& writer,
    MetricsRegistry* metrics) {
  if (opts.backoff_base_ms <= 0 || opts.max_attempts <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "bad webhook retry policy");
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return std::unique_ptr<WebhookSender>(
      new WebhookSender(opts, writer, metrics));
}

WebhookSender::~WebhookSender() { Stop(); }

Status WebhookSender::Start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
  return Ok();
}

void WebhookSender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookSender::Wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

int64_t WebhookSender::BackoffMs(int64_t attempts) const {
  int shift = static_cast<int>(std::clamp<int64_t>(attempts - 1, 0, 30));
  int64_t d = opts_.backoff_base_ms;
  for (int i = 0; i < shift && d < opts_.backoff_max_ms; ++i) d *= 2;
  return std::min(d, opts_.backoff_max_ms);
}

void WebhookSender::Loop() {
  auto db = catalog::OpenReader(opts_.catalog_path);
  if (!db) {
    LOG_ERROR("webhooks", "cannot open the catalog: {}", db.error().message);
    return;
  }
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    int64_t now = clock_.NowUnixMs();
    auto due = catalog::DueDeliveries(**db, now, kBatch);
    if (!due) LOG_WARN("webhooks", "outbox read: {}", due.error().message);
    for (const auto& d : due ? *due : std::vector<catalog::WebhookDelivery>{}) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
      catalog::DeliveryOutcome o = Send(d);
      int64_t after = clock_.NowUnixMs();
      bool give_up = !o.ok && d.attempts + 1 >= opts_.max_attempts;
      int64_t retry_at = after + BackoffMs(d.attempts + 1);
      auto r = writer_.Call<bool>([&](catalog::Db& w) -> Result<bool> {
        TRY(catalog::RecordDelivery(w, d.id, o, after, give_up, retry_at));
        return true;
      });
      if (!r) LOG_WARN("webhooks", "record delivery: {}", r.error().message);
      Counter* c = o.ok      ? delivered_total_
                   : give_up ? gave_up_total_
                             : failed_attempts_total_;
      if (c) c->Inc();
      if (!o.ok) {
        LOG_INFO("webhooks", "delivery {} of {} to {} failed ({}){}", d.id,
                 d.event_type, d.url, o.error,
                 give_up ? "; giving up" : "; will retry");
      }
    }
    // Sleep until the next row is due, a poll tick, or Wake().
    int64_t wait = opts_.poll_ms;
    if (due && due->size() == static_cast<size_t>(kBatch)) wait = 0;
    auto next = catalog::NextDeliveryDue(**db);
    if (next && *next) {
      wait = std::clamp<int64_t>(**next - clock_.NowUnixMs(), 0, wait);
    }
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(wait),
                 [this] { return stopping_ || woken_; });
  }
}

catalog::DeliveryOutcome WebhookSender::Send(
    const catalog::WebhookDelivery& d) {
  catalog::DeliveryOutcome out;
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  if (!c) {
    out.error = "curl_easy_init failed";
    return out;
  }
  int64_t t = clock_.NowUnixMs() / 1000;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add = [&headers](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  add("Content-Type: application/json");
  add("User-Agent: vodd-webhooks/1");
  add("X-Vodd-Event: " + d.event_type);
  add(fmt::format("X-Vodd-Delivery: {}", d.id));
  add("Idempotency-Key: " + d.event_id);
  add("X-Vodd-Signature: " + WebhookSignature(d.secret, t, d.body));
  add("Expect:");
  std::string response;
  auto write_cb = +[](char* p, size_t s, size_t n, void* ud) -> size_t {
    auto* r = static_cast<std::string*>(ud);
    if (r->size() < kMaxErrorBody) r->append(p, std::min(s * n, kMaxErrorBody));
    return s * n;
  };
  // Aborts a transfer when Stop() is called.
  auto progress_cb =
      +[](void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
    auto* self = static_cast<WebhookSender*>(ud);
    std::lock_guard<std::mutex> lock(self->mutex_);
    return self->stopping_ ? 1 : 0;
  };
  curl_easy_setopt(c.get(), CURLOPT_URL, d.url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, d.body.data());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(d.body.size()));
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(opts_.timeout_ms));
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, this);
  CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) {
    out.error = curl_easy_strerror(rc);
    return out;
  }
  long status = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
  out.http_status = status;
  out.ok = status >= 200 && status < 300;
  if (!out.ok) out.error = fmt::format("HTTP {}", status);
  return out;
}

}  // namespace vodd::admin
