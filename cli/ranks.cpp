#include "ranks.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <exception>

namespace hdx::cli {

namespace {
Comm one_process;
Comm* current = nullptr;
}  // namespace

Comm& comm() { return current ? *current : one_process; }

UseComm::UseComm(Comm* r) : saved_(current) { current = r; }
UseComm::~UseComm() { current = saved_; }

std::function<void(const std::string&)> rank0_log(const std::string& tag) {
  const bool lead = comm().rank() == 0;
  return [lead, tag](const std::string& s) {
    if (!lead) return;
    fmt::print("[{}] {}\n", tag, s);
    std::fflush(stdout);
  };
}

void on_every_rank(const std::function<void()>& part) {
  Comm& r = comm();
  if (r.size() == 1) {
    part();
    return;
  }
  std::exception_ptr mine;
  nlohmann::json status = {{"ok", true}};
  try {
    part();
  } catch (const Error& e) {
    mine = std::current_exception();
    status = {{"ok", false}, {"message", e.what()}, {"exit", e.exit_code()}};
  } catch (const std::exception& e) {
    mine = std::current_exception();
    status = {{"ok", false}, {"message", fmt::format("[hdx E999] internal error: {}", e.what())},
              {"exit", 3}};
  }
  const std::vector<std::string> all = r.all_gather(status.dump());
  for (size_t k = 0; k < all.size(); ++k) {
    const nlohmann::json s = nlohmann::json::parse(all[k]);
    if (s.at("ok").get<bool>()) continue;
    if (r.rank() != 0) throw RankError(1, "", 0);
    if (mine) std::rethrow_exception(mine);
    throw RankError(1, fmt::format("rank {} of {} failed: {}", k, all.size(),
                                   s.at("message").get<std::string>()),
                    s.at("exit").get<int>());
  }
}

Shard shard_of(size_t n, int rank, int size) {
  const size_t r = static_cast<size_t>(rank), s = static_cast<size_t>(size);
  const size_t base = n / s, extra = n % s;
  Shard sh;
  sh.first = r * base + std::min(r, extra);
  sh.last = sh.first + base + (r < extra ? 1 : 0);
  return sh;
}

std::string shard_text(const Shard& s, size_t n, const std::string& items) {
  if (s.first == s.last) return fmt::format("no {} of {}", items, n);
  if (s.last - s.first == 1) return fmt::format("{} {} of {}", items, s.first, n);
  return fmt::format("{} {}-{} of {}", items, s.first, s.last - 1, n);
}

std::vector<RankOutcome> gather_outcomes(const RankOutcome& mine) {
  const nlohmann::json j = {{"ok", mine.ok}, {"message", mine.message},
                            {"exit", mine.exit_code}, {"payload", mine.payload}};
  std::vector<RankOutcome> all;
  for (const std::string& t : comm().gather(j.dump())) {
    const nlohmann::json o = nlohmann::json::parse(t);
    all.push_back({o.at("ok").get<bool>(), o.at("message").get<std::string>(),
                   o.at("exit").get<int>(), o.at("payload").get<std::string>()});
  }
  return all;
}

}  // namespace hdx::cli
