#include "auth/sodium_init.h"

#include <stdexcept>

#include <sodium.h>

namespace portcullis::auth {

void ensure_sodium() {
  // sodium_init() is itself idempotent and thread-safe; the static only saves
  // the call on every use.
  static const bool initialised = [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    return true;
  }();
  (void)initialised;
}

}  // namespace portcullis::auth
