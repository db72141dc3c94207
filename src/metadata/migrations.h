// Versioned schema migrations, shared by every engine. Migration i (1-based)
// takes the schema from version i-1 to i. Append only; never edit a released one.
#pragma once

#include <string_view>
#include <vector>

namespace portcullis::metadata {

const std::vector<std::string_view>& migrations();

}  // namespace portcullis::metadata
