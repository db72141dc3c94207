// `portcullis key generate PREFIX [--force]`: a cosign-compatible signing key
// pair, readable by cosign (`--key PREFIX.key`) and skopeo
// (`--sign-by-sigstore-private-key PREFIX.key`):
//
//   PREFIX.key  ECDSA P-256, encrypted as cosign writes it (ENCRYPTED SIGSTORE
//               PRIVATE KEY: scrypt N=65536 + secretbox), mode 0600
//   PREFIX.pub  the public key (PEM), mode 0644
//
// Neither file is overwritten unless `force`. Each is written to a temporary
// file beside it, fsync'd, then moved into place, so a crash leaves the old
// file or the new one, never half of one.
//
// The password comes from $PORTCULLIS_PASSWORD, else $COSIGN_PASSWORD (the
// first one set; a set but empty variable is an empty password, as cosign
// allows), else the terminal (asked twice, echo off), else one line of stdin.
// A password typed or piped in must not be empty.
//
// Exit codes: 0 written; 1 refused or failed (message on stderr).
#pragma once

#include <string>

namespace portcullis::cli {

int key_generate(const std::string& prefix, bool force);

}  // namespace portcullis::cli
