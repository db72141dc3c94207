// Reading one advisory file of any supported format into Advisories.
//
// Format detection, on the content only (the file name does not matter):
//   gzip magic             -> decompressed first, then as below
//   first line is a complete JSON object shaped like an OSV record
//                          -> OSV JSON lines (one record per line; blank lines skipped)
//   '[' ...                -> a JSON array of OSV records
//   '{' ...                -> one JSON document: an OSV record, an Alpine
//                             secdb, or the Debian security tracker's JSON
//   anything else          -> YAML: an Alpine secdb
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "base/error.h"
#include "scanner/advisories/database.h"
#include "scanner/advisories/record.h"

namespace portcullis::scanner::advisories {

inline constexpr const char* kFormatOsv = "osv";
inline constexpr const char* kFormatDebianTracker = "debian-tracker";
inline constexpr const char* kFormatAlpineSecdb = "alpine-secdb";

using AdvisorySink = std::function<Result<void>(Advisory&&)>;

// Hands every advisory of `file` to `sink`, in file order, and returns the
// format (kFormat*). Stops at the first error: of the sink, or of the file,
// whose message starts with `label` and names the line (JSON lines, JSON
// syntax, YAML) or the record (array element, tracker issue, secdb package).
Result<std::string> read_advisory_file(const std::filesystem::path& file, const std::string& label,
                                       const ImportLimits& limits, const AdvisorySink& sink);

}  // namespace portcullis::scanner::advisories
