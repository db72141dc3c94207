// `portcullis sign` and `portcullis verify`: cosign-compatible signatures
// (key pairs, no transparency log) on images in a remote registry.
//
//   portcullis sign IMAGE --key cosign.key [--annotation K=V]... [registry flags]
//   portcullis verify IMAGE --key cosign.pub [--key more.pub]... [--threshold K] [registry flags]
//   registry flags: [--creds USER:PASSWORD] [--plain-http] [--insecure-tls] [--ca-file PEM]
//
// IMAGE is REGISTRY/REPO[:TAG][@DIGEST]; the signature covers the manifest
// digest the reference resolves to (an index is signed as the index, as
// cosign does). Signatures are stored as cosign stores them: tag
// sha256-<hex>.sig in the image's repository, one layer per signature, with
// the image as the OCI 1.1 subject so that the referrers API lists it.
// The private key's password comes from $PORTCULLIS_PASSWORD, else
// $COSIGN_PASSWORD (set, even empty), else a prompt or one line of stdin.
// HTTPS by default; a loopback registry (localhost, 127.*, [::1]) that does
// not speak TLS is talked to over plain HTTP.
//
// Exit codes: 0 done / verified; 1 verification failed (no signatures, too
// few valid ones); 2 bad input or a registry error.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace portcullis::cli {

struct RegistryFlags {
  std::string creds;          // USER:PASSWORD; empty: anonymous
  bool plain_http = false;    // http:// (localhost, 127.* and [::1] fall back to it by themselves)
  bool insecure_tls = false;  // do not verify the registry's certificate
  std::string ca_file;        // extra trusted CA certificates (PEM)
};

struct SignFlags {
  std::string image;
  std::string key;                       // encrypted cosign/sigstore private key (PEM)
  std::vector<std::string> annotations;  // K=V, into the payload's "optional" object
  RegistryFlags registry;
};

struct VerifyFlags {
  std::string image;
  std::vector<std::string> keys;  // public keys (PEM); a key counts once however many files hold it
  int threshold = 1;              // distinct keys that must have signed
  RegistryFlags registry;
};

int sign(const SignFlags& flags);
int verify(const VerifyFlags& flags);

// Declare the subcommands and their flags on app; run sign()/verify() when
// the returned subcommand was parsed.
CLI::App* add_sign_command(CLI::App& app, SignFlags& flags);
CLI::App* add_verify_command(CLI::App& app, VerifyFlags& flags);

}  // namespace portcullis::cli
