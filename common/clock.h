// UTC time for audit events and catalog rows. A Clock is injected so tests can fix time.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dossier {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // The process-wide real clock.
  static const Clock& System();
};

// "2026-11-22T10:15:30Z" (seconds precision, always UTC).
std::string FormatUtc(std::chrono::system_clock::time_point t);
// The time FormatUtc wrote ("2026-11-22T10:15:30Z"); nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> ParseUtc(std::string_view text);
// Today's date in UTC: "2026-11-22".
std::string FormatDate(std::chrono::system_clock::time_point t);
// The calendar date at `t` in the IANA time zone `tz` ("Europe/Moscow"; "" or unknown: UTC).
// Sets and restores $TZ: not thread-safe.
std::string FormatLocalDate(std::chrono::system_clock::time_point t, const std::string& tz);
// The system's time zone name ($TZ, else /etc/timezone, else "UTC").
std::string SystemTimeZone();
// `date` (YYYY-MM-DD, valid) plus `days`.
std::string AddDays(const std::string& date, int days);
// The `n`th working day (Monday–Friday; no holiday calendar) after `date` (YYYY-MM-DD, valid):
// Friday plus 1 is Monday; Saturday plus 1 is Monday too.
std::string AddWorkingDays(const std::string& date, int n);

// Accepts a calendar date "YYYY-MM-DD" that exists (no 2026-02-30); returns it normalised.
std::optional<std::string> ParseDate(std::string_view text);

}  // namespace dossier
