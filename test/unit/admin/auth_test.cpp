// Pure parts of the admin module: cookies, tokens, passwords, the login rate
// limiter, webhook signatures and settings validation.
#include <catch2/catch.hpp>

#include <sodium.h>

#include "vodd/admin/auth.h"
#include "vodd/admin/settings.h"

using namespace vodd;
using namespace vodd::admin;

TEST_CASE("cookie values are found by exact name", "[unit]") {
  CHECK(CookieValue("a=1; vodd_sid=abc; b=2", "vodd_sid") == "abc");
  CHECK(CookieValue("xvodd_sid=zzz; vodd_sid=\"q\"", "vodd_sid") == "q");
  CHECK_FALSE(CookieValue("a=1", "vodd_sid"));
  CHECK(CookieValue("__Host-vodd_sid=s", "__Host-vodd_sid") == "s");
}

TEST_CASE("session cookies carry the security attributes", "[unit]") {
  CHECK(SessionCookie("v", false, 60) ==
        "vodd_sid=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
  CHECK(SessionCookie("v", true, 0) ==
        "__Host-vodd_sid=v; Path=/; HttpOnly; SameSite=Strict; Secure");
  CHECK(SessionCookie("v", false, -1) ==
        "vodd_sid=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

TEST_CASE("random tokens are 256-bit base64url", "[unit]") {
  std::string a = RandomToken(), b = RandomToken();
  CHECK(a.size() == 43);
  CHECK(LooksLikeToken(a));
  CHECK(a != b);
  CHECK_FALSE(LooksLikeToken(a.substr(1)));
  CHECK_FALSE(LooksLikeToken(std::string(42, 'a') + "="));
}

TEST_CASE("Argon2id hashes verify only the right password", "[unit]") {
  auto h = HashPassword("correct horse battery");
  REQUIRE(h);
  CHECK(h->rfind("$argon2id$", 0) == 0);
  CHECK(VerifyPassword(*h, "correct horse battery"));
  CHECK_FALSE(VerifyPassword(*h, "correct horse batterY"));
  CHECK_FALSE(VerifyPassword("", "x"));
  CHECK(PasswordProblem("short"));
  CHECK_FALSE(PasswordProblem("long enough password"));
  CHECK(ValidUserName("admin"));
  CHECK(ValidUserName("ops.team-1"));
  CHECK_FALSE(ValidUserName("Admin"));
  CHECK_FALSE(ValidUserName("-x"));
  CHECK_FALSE(ValidUserName(""));
}

TEST_CASE("webhook signatures match an independent HMAC-SHA256", "[unit]") {
  // Recompute HMAC(secret, t + "." + body) independently.
  std::string key = "whsec_test", body = "{\"id\":\"e1\"}";
  std::string msg = "1700000000." + body;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(
      &st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(
      &st, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  CHECK(WebhookSignature(key, 1700000000, body) ==
        std::string("t=1700000000,v1=") + hex);
  CHECK(WebhookSignature(key, 1700000001, body) !=
        WebhookSignature(key, 1700000000, body));
}

TEST_CASE("libsodium HMAC-SHA256 matches RFC 4231 test case 2", "[unit]") {
  std::string data = "what do ya want for nothing?";
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(
      &st, reinterpret_cast<const unsigned char*>("Jefe"), 4);
  crypto_auth_hmacsha256_update(
      &st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  CHECK(std::string(hex) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("the login limiter locks after free failures and backs off",
          "[unit]") {
  LoginLimiter l;
  int64_t t = 1000;
  for (int i = 0; i < LoginLimiter::kFreeFailures; ++i) {
    CHECK(l.RetryAfterMs("ip:1", t) == 0);
    l.Fail("ip:1", t);
  }
  CHECK(l.RetryAfterMs("ip:1", t) == 0);
  l.Fail("ip:1", t);  // 6th: 2 s
  CHECK(l.RetryAfterMs("ip:1", t) == 2000);
  l.Fail("ip:1", t);  // 7th: 4 s
  CHECK(l.RetryAfterMs("ip:1", t) == 4000);
  CHECK(l.RetryAfterMs("ip:2", t) == 0);
  CHECK(l.RetryAfterMs("ip:1", t + 4000) == 0);
  l.Succeed("ip:1");
  CHECK(l.RetryAfterMs("ip:1", t) == 0);
  for (int i = 0; i < 40; ++i) l.Fail("ip:3", t);
  CHECK(l.RetryAfterMs("ip:3", t) == LoginLimiter::kMaxLockMs);
  l.Prune(t + LoginLimiter::kMaxLockMs + LoginLimiter::kWindowMs + 1);
  CHECK(l.size() == 0);
}

TEST_CASE("settings validate through the config option table", "[unit]") {
  config::Config base = config::Defaults();
  auto ok = ApplySettings(base, {{"pipeline.segment_seconds", "6"}});
  REQUIRE(ok);
  CHECK(ok->pipeline.segment_seconds == 6);
  auto bad = ApplySettings(base, {{"pipeline.segment_seconds", "abc"}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "pipeline.segment_seconds");
  CHECK(bad.error().reason.find("integer") != std::string::npos);
  CHECK_FALSE(ApplySettings(base, {{"pipeline.nope", "1"}}));
  CHECK_FALSE(ApplySettings(base, {{"storage.data_dir", "/x"}}));
  CHECK_FALSE(ApplySettings(base, {{"pipeline.encoder", "x\ny"}}));

  SettingsStore store(base);
  int calls = 0;
  store.Subscribe([&](const config::Config& c) {
    ++calls;
    CHECK(c.pipeline.workers == 3);
  });
  auto next = store.Validate({{"pipeline.workers", "3"}});
  REQUIRE(next);
  store.Commit(*next);
  CHECK(calls == 1);
  CHECK(store.effective().pipeline.workers == 3);
  auto reset = store.Validate({{"pipeline.workers", std::nullopt}});
  REQUIRE(reset);
  CHECK(reset->empty());
  for (const auto& it : store.Items()) {
    if (it.key == "signing_key") CHECK(it.secret);
    if (it.key == "workers") CHECK(it.stored);
  }
}
