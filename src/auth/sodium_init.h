// Internal: libsodium must be initialised once before use.
#pragma once

namespace portcullis::auth {

// Initialises libsodium on first call (thread-safe); throws std::runtime_error
// if it cannot (no entropy source: a start-up failure, not a data-path one).
void ensure_sodium();

}  // namespace portcullis::auth
