// OSV records (https://ossf.github.io/osv-schema/) to Advisory.
#pragma once

#include <boost/json.hpp>

#include "base/error.h"
#include "scanner/advisories/record.h"

namespace portcullis::scanner::advisories {

// Whether a parsed JSON object is shaped like an OSV record (has a string
// "id" and at least one of "modified", "affected", "schema_version").
bool looks_like_osv(const boost::json::object& o);

// Converts one OSV record. Unknown fields are ignored; GIT ranges and ranges
// of unknown types are dropped (they cannot be evaluated without a commit
// graph); affected entries without a package are dropped. Errors
// (Errc::manifest_invalid, the message names the field): not an object, no
// "id", a field of the wrong type, an event with none or several of
// introduced/fixed/last_affected/limit, a field over its size bound.
Result<Advisory> advisory_from_osv(const boost::json::value& record);

}  // namespace portcullis::scanner::advisories
