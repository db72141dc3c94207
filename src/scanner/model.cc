#include "scanner/model.h"

namespace portcullis::scanner {

const char* severity_from_cvss(double score) {
  if (score < 0) return "unknown";
  if (score == 0) return "none";
  if (score < 4.0) return "low";
  if (score < 7.0) return "medium";
  if (score < 9.0) return "high";
  return "critical";
}

}  // namespace portcullis::scanner
