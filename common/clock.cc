#include "common/clock.h"

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>

namespace dossier {
namespace {

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace

const Clock& Clock::System() {
  static const SystemClock clock;
  return clock;
}

std::string FormatUtc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()), hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

std::optional<std::chrono::system_clock::time_point> ParseUtc(std::string_view text) {
  using namespace std::chrono;
  if (text.size() != 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != 'Z') {
    return std::nullopt;
  }
  const std::optional<std::string> date = ParseDate(text.substr(0, 10));
  int hms[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    const char a = text[11 + 3 * k], b = text[12 + 3 * k];
    if (a < '0' || a > '9' || b < '0' || b > '9') return std::nullopt;
    hms[k] = (a - '0') * 10 + (b - '0');
  }
  if (!date || hms[0] > 23 || hms[1] > 59 || hms[2] > 60) return std::nullopt;
  const year_month_day ymd{year{std::stoi(date->substr(0, 4))},
                           month{static_cast<unsigned>(std::stoi(date->substr(5, 2)))},
                           day{static_cast<unsigned>(std::stoi(date->substr(8, 2)))}};
  return sys_days{ymd} + hours{hms[0]} + minutes{hms[1]} + seconds{hms[2]};
}

std::string FormatDate(std::chrono::system_clock::time_point t) {
  return FormatUtc(t).substr(0, 10);
}

std::optional<std::string> ParseDate(std::string_view text) {
  using namespace std::chrono;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int y = 0;
  unsigned m = 0, d = 0;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  y = std::stoi(std::string(text.substr(0, 4)));
  m = static_cast<unsigned>(std::stoi(std::string(text.substr(5, 2))));
  d = static_cast<unsigned>(std::stoi(std::string(text.substr(8, 2))));
  const year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok() || y < 1900) return std::nullopt;
  return std::string(text);
}

std::string FormatLocalDate(std::chrono::system_clock::time_point t, const std::string& tz) {
  const char* old = std::getenv("TZ");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("TZ", tz.empty() ? "UTC" : tz.c_str(), 1);
  ::tzset();
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm local{};
  ::localtime_r(&secs, &local);
  if (saved) {
    ::setenv("TZ", saved->c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
  return fmt::format("{:04}-{:02}-{:02}", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday);
}

std::string SystemTimeZone() {
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    return *tz == ':' ? tz + 1 : tz;
  }
  std::ifstream in("/etc/timezone");
  std::string line;
  if (std::getline(in, line) && !line.empty()) return line;
  return "UTC";
}

std::string AddWorkingDays(const std::string& date, int n) {
  using namespace std::chrono;
  std::string d = date;
  while (n > 0) {
    d = AddDays(d, 1);
    const year_month_day ymd{year{std::stoi(d.substr(0, 4))},
                             month{static_cast<unsigned>(std::stoi(d.substr(5, 2)))},
                             day{static_cast<unsigned>(std::stoi(d.substr(8, 2)))}};
    const weekday wd{sys_days{ymd}};
    if (wd != Saturday && wd != Sunday) --n;
  }
  return d;
}

std::string AddDays(const std::string& date, int days) {
  using namespace std::chrono;
  const year_month_day ymd{year{std::stoi(date.substr(0, 4))},
                           month{static_cast<unsigned>(std::stoi(date.substr(5, 2)))},
                           day{static_cast<unsigned>(std::stoi(date.substr(8, 2)))}};
  const year_month_day out{sys_days{ymd} + std::chrono::days{days}};
  return fmt::format("{:04}-{:02}-{:02}", int(out.year()), unsigned(out.month()),
                     unsigned(out.day()));
}

}  // namespace dossier
