#include "scanner/advisories/record.h"

namespace portcullis::scanner::advisories {

std::string_view event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::introduced:
      return "introduced";
    case EventKind::fixed:
      return "fixed";
    case EventKind::last_affected:
      return "last_affected";
    case EventKind::limit:
      return "limit";
  }
  return "introduced";
}

std::optional<EventKind> parse_event_kind(std::string_view name) {
  for (EventKind k :
       {EventKind::introduced, EventKind::fixed, EventKind::last_affected, EventKind::limit}) {
    if (event_kind_name(k) == name) return k;
  }
  return std::nullopt;
}

}  // namespace portcullis::scanner::advisories
