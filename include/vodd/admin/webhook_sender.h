// Delivers the webhook outbox (catalog webhook_deliveries) with libcurl on
// its own thread; never on the HTTP thread. Each POST carries
//
//   Content-Type: application/json
//   X-Vodd-Event: video.ready
//   X-Vodd-Delivery: <delivery row id>
//   Idempotency-Key: <event id>        (same on every retry of an event)
//   X-Vodd-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
//
// A 2xx answer marks the row delivered; anything else (or no answer within
// the timeout) schedules a retry after base × 2^(attempts-1), capped, and
// after max_attempts the row is 'failed'. Rows live in the catalog, so
// pending deliveries survive a restart; a receiver may see an event twice if
// vodd dies between its 2xx and the commit, hence the idempotency key.
//
//   curl -s localhost:8080/api/v1/webhooks/<id>/deliveries -H 'Authorization:
//   Bearer …'
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "vodd/catalog/webhooks.h"
#include "vodd/catalog/writer.h"
#include "vodd/core/clock.h"
#include "vodd/core/metrics.h"
#include "vodd/core/result.h"

namespace vodd::admin {

struct WebhookSenderOptions {
  static constexpr int64_t kDefaultBackoffBaseMs = 10'000;
  static constexpr int64_t kDefaultBackoffMaxMs = 3'600'000;
  static constexpr int kDefaultMaxAttempts = 10;
  std::string catalog_path;
  int64_t backoff_base_ms = kDefaultBackoffBaseMs;
  int64_t backoff_max_ms = kDefaultBackoffMaxMs;
  int max_attempts = kDefaultMaxAttempts;
  int64_t timeout_ms = 10'000;
  int64_t poll_ms = 1'000;       // new rows from other modules' transactions
  const Clock* clock = nullptr;  // null: SystemClock
};

class WebhookSender {
 public:
  // `writer` and `metrics` (may be null) outlive the sender.
  static Result<std::unique_ptr<WebhookSender>> Create(
      const WebhookSenderOptions& opts, catalog::Writer& writer,
      MetricsRegistry* metrics);
  ~WebhookSender();

  // Starts the delivery thread (opens its read-only connection there).
  Status Start();
  // Aborts a transfer in flight and joins. Idempotent.
  void Stop();
  // Looks for due rows now instead of at the next poll. Any thread.
  void Wake();
  // Delay before attempt `attempts`+1 after `attempts` failures.
  int64_t BackoffMs(int64_t attempts) const;

 private:
  explicit WebhookSender(const WebhookSenderOptions& opts,
                         catalog::Writer& writer, MetricsRegistry* metrics);
  void Loop();
  catalog::DeliveryOutcome Send(const catalog::WebhookDelivery& d);

  WebhookSenderOptions opts_;
  catalog::Writer& writer_;
  const Clock& clock_;
  Counter *delivered_total_ = nullptr, *failed_attempts_total_ = nullptr,
          *gave_up_total_ = nullptr;
  std::mutex mutex_;  // guards stopping_, woken_
  std::condition_variable cv_;
  bool stopping_ = false, woken_ = false;
  std::thread thread_;
};

}  // namespace vodd::admin
