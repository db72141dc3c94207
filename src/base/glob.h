// Wildcard patterns for robot permissions, immutable tag rules and trust policies.
// '*' matches any run of characters, '/' included ("team-a/*" covers
// "team-a/x/y"); every other character matches itself. No '?', no classes,
// no escapes. Pure and thread-safe; O(|pattern| x |text|) at worst, never
// exponential, so client-supplied names cannot make matching slow.
#pragma once

#include <string_view>

namespace portcullis {

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace portcullis
