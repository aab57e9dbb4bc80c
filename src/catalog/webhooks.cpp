// Webhooks and their outbox. The state machine is drawn in
// vodd/catalog/webhooks.h.
#include "vodd/catalog/webhooks.h"

#include <fmt/format.h>

#include "rows.h"
#include "vodd/core/ids.h"

namespace vodd::catalog {
namespace {

constexpr const char* kDeliveryColumns =
    "d.id,d.webhook_id,d.event_id,d.event_type,d.body,d.state,d.attempts,"
    "d.next_attempt_at,d.last_status,d.last_error,d.created_at,d.updated_at,"
    "w.url,w.secret";

WebhookDelivery ReadDelivery(const Stmt& s) {
  WebhookDelivery d;
  d.id = s.Int(0);
  d.webhook_id = s.Text(1);
  d.event_id = s.Text(2);
  d.event_type = s.Text(3);
  d.body = s.Text(4);
  d.state = s.Text(5);
  d.attempts = s.Int(6);
  d.next_attempt_at = s.Int(7);
  d.last_status = s.OptInt(8);
  d.last_error = s.OptText(9);
  d.created_at = s.Int(10);
  d.updated_at = s.Int(11);
  d.url = s.Text(12);
  d.secret = s.Text(13);
  return d;
}

Webhook ReadWebhook(const Stmt& s) {
  return Webhook{s.Text(0), s.Text(1), s.Text(2),
                 s.Text(3), s.Text(4), s.Int(5)};
}

constexpr const char* kWebhookColumns =
    "id,url,secret,events,description,created_at";

}  // namespace

bool IsWebhookEventType(std::string_view type) {
  for (const char* t : kWebhookEventTypes) {
    if (type == t) return true;
  }
  return false;
}

bool WebhookWants(const std::string& events, std::string_view type) {
  size_t start = 0;
  while (start <= events.size()) {
    size_t sp = events.find(' ', start);
    std::string_view e(events.data() + start,
                       (sp == std::string::npos ? events.size() : sp) - start);
    if (e == "*" || e == type) return true;
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  return false;
}

Status InsertWebhook(Db& db, const Webhook& w) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "INSERT INTO webhooks({}) VALUES(?1,?2,?3,?4,?5,?6)",
                         kWebhookColumns)));
  s.Bind(1, w.id).Bind(2, w.url).Bind(3, w.secret).Bind(4, w.events);
  s.Bind(5, w.description).Bind(6, w.created_at);
  return s.Run();
}

Result<std::vector<Webhook>> ListWebhooks(Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "SELECT {} FROM webhooks ORDER BY created_at, id",
                         kWebhookColumns)));
  return ReadRows(s, ReadWebhook);
}

Result<std::optional<Webhook>> GetWebhook(Db& db, const std::string& id) {
  TRY_ASSIGN(Stmt s,
             db.Prepare(fmt::format("SELECT {} FROM webhooks WHERE id=?1",
                                    kWebhookColumns)));
  s.Bind(1, id);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<Webhook>();
  return ReadWebhook(s);
}

Result<bool> DeleteWebhook(Db& db, const std::string& id) {
  TRY_ASSIGN(Stmt s, db.Prepare("DELETE FROM webhooks WHERE id=?1"));
  s.Bind(1, id);
  TRY(s.Run());
  return db.Changes() > 0;
}

Result<std::string> EnqueueWebhookEvent(
    Db& db, std::string_view type, const nlohmann::json& payload,
    int64_t now_ms, const std::optional<std::string>& only_webhook) {
  std::string event_id = RandomHex(16);
  TRY_ASSIGN(auto hooks, ListWebhooks(db));
  std::string body = nlohmann::json{
      {"id", event_id},
      {"type", type},
      {"created_at", now_ms},
      {"data", payload}}.dump();
  TRY_ASSIGN(Stmt s,
             db.Prepare("INSERT INTO webhook_deliveries(webhook_id,event_id,"
                        "event_type,body,state,next_attempt_at,created_at,"
                        "updated_at) VALUES(?1,?2,?3,?4,'pending',?5,?5,?5)"));
  for (const auto& w : hooks) {
    if (only_webhook ? w.id != *only_webhook : !WebhookWants(w.events, type)) {
      continue;
    }
    s.Reset();
    s.Bind(1, w.id).Bind(2, event_id).Bind(3, type).Bind(4, body);
    s.Bind(5, now_ms);
    TRY(s.Run());
  }
  return event_id;
}

Result<std::vector<WebhookDelivery>> DueDeliveries(Db& db, int64_t now_ms,
                                                   int limit) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "SELECT {} FROM webhook_deliveries d JOIN webhooks w "
                         "ON w.id=d.webhook_id WHERE d.state='pending' AND "
                         "d.next_attempt_at<=?1 ORDER BY d.next_attempt_at, "
                         "d.id LIMIT ?2",
                         kDeliveryColumns)));
  s.Bind(1, now_ms).Bind(2, limit);
  return ReadRows(s, ReadDelivery);
}

Result<std::optional<int64_t>> NextDeliveryDue(Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT min(next_attempt_at) FROM "
                                "webhook_deliveries WHERE state='pending'"));
  TRY_ASSIGN(bool row, s.Step());
  if (!row || s.IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(s.Int(0));
}

Result<std::vector<WebhookDelivery>> ListDeliveries(
    Db& db, const std::string& webhook_id, int limit, int64_t offset) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "SELECT {} FROM webhook_deliveries d JOIN webhooks w "
                         "ON w.id=d.webhook_id WHERE (?1='' OR "
                         "d.webhook_id=?1) ORDER BY d.id DESC LIMIT ?2 "
                         "OFFSET ?3",
                         kDeliveryColumns)));
  s.Bind(1, webhook_id).Bind(2, limit).Bind(3, offset);
  return ReadRows(s, ReadDelivery);
}

Status RecordDelivery(Db& db, int64_t delivery_id, const DeliveryOutcome& o,
                      int64_t now_ms, bool give_up, int64_t retry_at) {
  const char* state = o.ok ? "delivered" : give_up ? "failed" : "pending";
  TRY_ASSIGN(Stmt s,
             db.Prepare("UPDATE webhook_deliveries SET state=?2, "
                        "attempts=attempts+1, last_status=?3, last_error=?4, "
                        "next_attempt_at=?5, updated_at=?6 WHERE id=?1 AND "
                        "state='pending'"));
  s.Bind(1, delivery_id).Bind(2, state).Bind(3, o.http_status);
  if (o.ok) {
    s.BindNull(4);
  } else {
    s.Bind(4, o.error);
  }
  s.Bind(5, o.ok || give_up ? now_ms : retry_at).Bind(6, now_ms);
  return s.Run();
}

Status RedeliverNow(Db& db, int64_t delivery_id, int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("UPDATE webhook_deliveries SET "
                                "state='pending', next_attempt_at=?2, "
                                "updated_at=?2 WHERE id=?1 AND state<>"
                                "'delivered'"));
  s.Bind(1, delivery_id).Bind(2, now_ms);
  TRY(s.Run());
  if (db.Changes() == 0) {
    return MakeError(ErrorCode::kNotFound, "no such undelivered delivery");
  }
  return Ok();
}

}  // namespace vodd::catalog
