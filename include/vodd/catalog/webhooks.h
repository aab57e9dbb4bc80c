// Webhooks and their durable outbox (tables webhooks, webhook_deliveries).
//
// A module that changes state calls EnqueueWebhookEvent inside the same
// writer transaction, so an event exists if and only if its change committed.
// The admin module's delivery thread (src/admin/webhook_sender) sends due rows
// and records each attempt:
//
//   EnqueueWebhookEvent ─► pending ──RecordDelivery(ok)──► delivered
//                           │   ▲
//                           │   └─RecordDelivery(fail, attempts left):
//                           │     next_attempt_at = now + backoff
//                           └─RecordDelivery(fail, last attempt)──► failed
//   RedeliverNow: failed|pending ─► pending, due now (operator "retry").
//
// Threading: mutations on the writer, inside its transaction; reads on any
// connection of the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vodd/catalog/db.h"

namespace vodd::catalog {

// The event types vodd emits.
inline constexpr const char* kWebhookEventTypes[] = {
    "upload.completed", "video.ready", "video.failed", "video.deleted",
    "webhook.test"};
bool IsWebhookEventType(std::string_view type);

struct Webhook {
  std::string id;  // 16 lowercase hex
  std::string url;
  std::string secret;
  std::string events;  // space-separated types, or "*"
  std::string description;
  int64_t created_at = 0;
};
// True when `events` ("*" or a space-separated list) names `type`.
bool WebhookWants(const std::string& events, std::string_view type);

Status InsertWebhook(Db& db, const Webhook& w);
Result<std::vector<Webhook>> ListWebhooks(Db& db);
Result<std::optional<Webhook>> GetWebhook(Db& db, const std::string& id);
// Deletes the webhook and its deliveries; false when unknown.
Result<bool> DeleteWebhook(Db& db, const std::string& id);

// Writes one pending delivery for every webhook subscribed to `type`. The
// body is {"id","type","created_at","data":payload}; `id` (returned) is the
// idempotency key receivers deduplicate on. Call inside the transaction that
// made the change. `only_webhook` limits it to one webhook (test events).
Result<std::string> EnqueueWebhookEvent(
    Db& db, std::string_view type, const nlohmann::json& payload,
    int64_t now_ms, const std::optional<std::string>& only_webhook = {});

struct WebhookDelivery {
  int64_t id = 0;
  std::string webhook_id, event_id, event_type, body, state;
  int64_t attempts = 0, next_attempt_at = 0;
  std::optional<int64_t> last_status;
  std::optional<std::string> last_error;
  int64_t created_at = 0, updated_at = 0;
  // Joined from webhooks for the sender.
  std::string url, secret;
};
// Pending deliveries due at `now_ms`, oldest first.
Result<std::vector<WebhookDelivery>> DueDeliveries(Db& db, int64_t now_ms,
                                                   int limit);
// The earliest next_attempt_at of a pending delivery, if any.
Result<std::optional<int64_t>> NextDeliveryDue(Db& db);
// Newest first; `webhook_id` empty: all.
Result<std::vector<WebhookDelivery>> ListDeliveries(
    Db& db, const std::string& webhook_id, int limit, int64_t offset);

struct DeliveryOutcome {
  bool ok = false;
  std::optional<int64_t> http_status;
  std::string error;
};
// Records an attempt of a pending delivery: delivered on success; otherwise
// pending again at `retry_at`, or failed when `give_up`. A delivery that is
// no longer pending (webhook deleted, …) is left alone.
Status RecordDelivery(Db& db, int64_t delivery_id, const DeliveryOutcome& o,
                      int64_t now_ms, bool give_up, int64_t retry_at);
// Makes a delivery due now again (operator retry). kNotFound when unknown.
Status RedeliverNow(Db& db, int64_t delivery_id, int64_t now_ms);

}  // namespace vodd::catalog
