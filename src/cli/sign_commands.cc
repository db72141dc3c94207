#include "cli/sign_commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/prompt.h"
#include "oci/media_types.h"
#include "oci/names.h"
#include "proxy/registry_client.h"
#include "trust/cosign.h"
#include "trust/keys.h"

namespace portcullis::cli {

namespace {

constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
// Beyond what verification reads, more signatures would be ignored.
constexpr std::size_t kMaxSignatureManifestLayers = trust::kMaxSignatureLayers;

// Prints "portcullis <cmd>: <message>" and returns the exit code.
int report(const char* cmd, const std::string& message, int rc) {
  std::fprintf(stderr, "portcullis %s: %s\n", cmd, message.c_str());
  return rc;
}

Result<std::string> read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::denied, fmt::format("cannot read key file {}", path));
  std::string text(kMaxKeyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) {
    return make_error(Errc::denied,
                      fmt::format("key file {} is larger than {} bytes", path, kMaxKeyFileBytes));
  }
  return text;
}

// $PORTCULLIS_PASSWORD or $COSIGN_PASSWORD when set (an empty value is a
// valid, empty password, as cosign treats it), else one line from the
// terminal without echo, or from stdin when it is not a terminal.
Result<std::string> read_key_password(const std::string& key_path) {
  for (const char* name : {"PORTCULLIS_PASSWORD", "COSIGN_PASSWORD"}) {
    if (const char* env = std::getenv(name)) return std::string(env);
  }
  auto line = read_secret_line("Password for " + key_path + ": ");
  if (!line) {
    return make_error(
        Errc::denied,
        "no key password: set COSIGN_PASSWORD or PORTCULLIS_PASSWORD, or give it on stdin");
  }
  return std::move(*line);
}

Result<proxy::ClientOptions> client_options(const oci::ImageReference& ref,
                                            const RegistryFlags& flags) {
  proxy::ClientOptions options;
  options.plain_http = flags.plain_http;
  options.http_fallback = proxy::is_loopback_registry(ref.registry);
  options.verify_tls = !flags.insecure_tls;
  options.ca_file = flags.ca_file;
  if (!flags.creds.empty()) {
    auto colon = flags.creds.find(':');
    if (colon == std::string::npos || colon == 0) {
      return make_error(Errc::invalid_request, "--creds wants USER:PASSWORD");
    }
    options.username = flags.creds.substr(0, colon);
    options.password = flags.creds.substr(colon + 1);
  }
  return options;
}

// The parsed reference and the manifest it resolves to (by digest if it has
// one), from a HEAD: a registry gating pulls by signature still answers it.
struct ResolvedImage {
  oci::ImageReference ref;
  proxy::RegistryClient::ManifestHead manifest;
  std::string docker_reference;  // registry/repository, as cosign writes it (no tag)
  std::string display;           // registry/repository@digest
};

Result<ResolvedImage> resolve(proxy::RegistryClient& client, const oci::ImageReference& ref) {
  auto m = client.head_manifest(ref.repository, ref.digest ? ref.digest->str() : ref.tag);
  if (!m) return m.error();
  std::string repo = ref.registry + "/" + ref.repository;
  std::string display = repo + "@" + m->digest.str();
  return ResolvedImage{ref, std::move(*m), std::move(repo), std::move(display)};
}

Result<std::map<std::string, std::string>> parse_annotations(
    const std::vector<std::string>& specs) {
  std::map<std::string, std::string> out;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(Errc::invalid_request,
                        fmt::format("--annotation '{}': expected KEY=VALUE", spec));
    }
    out[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  return out;
}

// Everything sign() does after parsing; errors carry the message to print.
Result<oci::Digest> sign_image(const SignFlags& flags) {
  auto annotations = parse_annotations(flags.annotations);
  if (!annotations) return annotations.error();
  auto pem = read_key_file(flags.key);
  if (!pem) return pem.error();
  auto ref = oci::parse_image_reference(flags.image);
  if (!ref) {
    return make_error(ref.error().code, fmt::format("{}: {}", flags.image, ref.error().message));
  }
  auto options = client_options(*ref, flags.registry);
  if (!options) return options.error();

  auto password = read_key_password(flags.key);
  if (!password) return password.error();
  auto key = trust::PrivateKey::from_encrypted_pem(*pem, *password);
  if (!key) {
    return make_error(key.error().code, fmt::format("{}: {}", flags.key, key.error().message));
  }

  proxy::RegistryClient client(ref->registry, std::move(*options));
  auto image = resolve(client, *ref);
  if (!image) return image.error();
  const auto& subject = image->manifest;

  std::string payload =
      trust::make_payload(image->docker_reference, subject.digest.str(), *annotations);
  auto signature = key->sign(payload);
  if (!signature) return signature.error();
  trust::SignatureLayer layer{oci::Digest::of(crypto::HashAlgorithm::sha256, payload),
                              static_cast<int64_t>(payload.size()),
                              std::move(*signature),
                              {}};

  // Earlier signatures are kept: the new one is appended to the .sig manifest.
  const std::string tag = trust::signature_tag(subject.digest);
  const auto& repo = ref->repository;
  std::vector<trust::SignatureLayer> layers;
  auto existing = client.manifest_if_exists(repo, tag);
  if (!existing) return existing.error();
  if (*existing) {
    auto parsed = trust::parse_signature_manifest((*existing)->bytes);
    if (!parsed) {
      return make_error(
          parsed.error().code,
          fmt::format("the existing signature manifest {}:{} is unreadable ({}); not replacing it",
                      repo, tag, parsed.error().message));
    }
    if (parsed->skipped > 0) {
      std::fprintf(
          stderr,
          "portcullis sign: dropping %zu layer(s) of %s:%s that are not cosign signatures\n",
          parsed->skipped, repo.c_str(), tag.c_str());
    }
    layers = std::move(parsed->layers);
  }
  if (layers.size() >= kMaxSignatureManifestLayers) {
    return make_error(Errc::denied,
                      fmt::format("{}:{} already holds {} signatures", repo, tag, layers.size()));
  }
  bool duplicate = false;
  for (const auto& l : layers) {
    duplicate =
        duplicate || (l.payload_digest == layer.payload_digest && l.signature == layer.signature);
  }
  if (!duplicate) layers.push_back(layer);

  if (auto r = client.put_blob(repo, layer.payload_digest, payload); !r) return r.error();
  auto manifest = trust::build_signature_manifest(
      layers, subject.digest.str(), subject.size, subject.media_type);
  auto config_digest = oci::Digest::of(crypto::HashAlgorithm::sha256, manifest.config);
  if (auto r = client.put_blob(repo, config_digest, manifest.config); !r) return r.error();
  auto put = client.put_manifest(repo, tag, std::string(oci::media::kOciManifest), manifest.bytes);
  if (!put) return put.error();
  std::fprintf(stderr, "signed %s (%zu signature(s) in %s:%s)\n", image->display.c_str(),
               layers.size(), repo.c_str(), tag.c_str());
  return *put;
}

}  // namespace

int sign(const SignFlags& flags) {
  try {
    auto digest = sign_image(flags);
    if (!digest) return report("sign", digest.error().message, 2);
    std::printf("%s\n", digest->str().c_str());
    return 0;
  } catch (const std::exception& e) {
    return report("sign", e.what(), 2);
  }
}

namespace {

struct LoadedKeys {
  std::vector<trust::TrustedKey> keys;       // one per distinct key
  std::map<std::string, std::string> files;  // fingerprint -> the files holding it
};

Result<LoadedKeys> load_public_keys(const std::vector<std::string>& paths) {
  LoadedKeys out;
  for (const auto& path : paths) {
    auto pem = read_key_file(path);
    if (!pem) return pem.error();
    auto key = trust::PublicKey::from_pem(*pem);
    if (!key) return make_error(key.error().code, fmt::format("{}: {}", path, key.error().message));
    auto [it, fresh] = out.files.emplace(key->fingerprint(), path);
    if (!fresh) {
      std::fprintf(stderr, "portcullis verify: %s holds the same key as %s (it counts once)\n",
                   path.c_str(), it->second.c_str());
      it->second += ", " + path;
      continue;
    }
    out.keys.push_back(trust::TrustedKey{key->fingerprint(), std::move(*key)});
  }
  return out;
}

}  // namespace

int verify(const VerifyFlags& flags) {
  try {
    if (flags.keys.empty()) return report("verify", "at least one --key is required", 2);
    auto keys = load_public_keys(flags.keys);
    if (!keys) return report("verify", keys.error().message, 2);
    if (flags.threshold < 1 || static_cast<std::size_t>(flags.threshold) > keys->keys.size()) {
      return report(
          "verify",
          fmt::format("--threshold {} needs between 1 and {} (the number of distinct keys given)",
                      flags.threshold, keys->keys.size()),
          2);
    }
    auto ref = oci::parse_image_reference(flags.image);
    if (!ref) return report("verify", fmt::format("{}: {}", flags.image, ref.error().message), 2);
    auto options = client_options(*ref, flags.registry);
    if (!options) return report("verify", options.error().message, 2);
    proxy::RegistryClient client(ref->registry, std::move(*options));
    auto image = resolve(client, *ref);
    if (!image) return report("verify", image.error().message, 2);

    const std::string tag = trust::signature_tag(image->manifest.digest);
    auto sig = client.manifest_if_exists(ref->repository, tag);
    if (!sig) return report("verify", sig.error().message, 2);
    if (!*sig) {
      return report("verify", fmt::format("no signatures found for {}", image->display), 1);
    }
    auto parsed = trust::parse_signature_manifest((*sig)->bytes);
    if (!parsed) {
      return report("verify",
                    fmt::format("{}: signature manifest {} is invalid: {}", image->display, tag,
                                parsed.error().message),
                    1);
    }
    if (parsed->skipped > 0) {
      std::fprintf(stderr,
                   "portcullis verify: %zu layer(s) of %s are not cosign signatures (ignored)\n",
                   parsed->skipped, tag.c_str());
    }
    auto fetch = [&](const oci::Digest& d) {
      return client.blob_bytes(ref->repository, d, trust::kMaxPayloadBytes);
    };
    auto result = trust::verify_signatures(parsed->layers, fetch, keys->keys,
                                           image->manifest.digest.str(), ref->repository);

    for (const auto& p : result.problems) {
      std::fprintf(stderr, "portcullis verify: %s\n", p.c_str());
    }
    for (const auto& v : result.valid) {
      std::printf("%s\n", trust::make_payload(v.payload.docker_reference, v.payload.manifest_digest,
                                              v.payload.optional)
                              .c_str());
    }
    std::fflush(stdout);
    std::set<std::string> signers;
    for (const auto& v : result.valid) signers.insert(v.key_id);
    for (const auto& id : signers) {
      std::fprintf(stderr, "verified: signed by %s (%s)\n", keys->files[id].c_str(), id.c_str());
    }
    if (signers.size() < static_cast<std::size_t>(flags.threshold)) {
      if (parsed->layers.empty()) {
        return report(
            "verify",
            fmt::format("no valid signatures found for {}: {} holds no cosign signature layer",
                        image->display, tag),
            1);
      }
      return report(
          "verify",
          fmt::format("{}: {} of the required {} key(s) signed it ({} signature layer(s) checked)",
                      image->display, signers.size(), flags.threshold, parsed->layers.size()),
          1);
    }
    std::fprintf(stderr, "Verification for %s: %zu of %zu key(s) signed it (threshold %d)\n",
                 image->display.c_str(), signers.size(), keys->keys.size(), flags.threshold);
    return 0;
  } catch (const std::exception& e) {
    return report("verify", e.what(), 2);
  }
}

namespace {

void add_registry_flags(CLI::App* cmd, RegistryFlags& flags) {
  cmd->add_option("--creds", flags.creds, "USER:PASSWORD for the registry (default anonymous)");
  cmd->add_flag("--plain-http", flags.plain_http,
                "Talk plain HTTP (loopback registries fall back to it when they have no TLS)");
  cmd->add_flag("--insecure-tls", flags.insecure_tls,
                "Do not verify the registry's TLS certificate");
  cmd->add_option("--ca-file", flags.ca_file, "Also trust the CA certificates in this PEM file")
      ->check(CLI::ExistingFile);
}

}  // namespace

CLI::App* add_sign_command(CLI::App& app, SignFlags& flags) {
  auto* cmd = app.add_subcommand(
      "sign", "Sign an image with a cosign key (stored as cosign does: tag sha256-<digest>.sig)");
  cmd->add_option("image", flags.image, "REGISTRY/REPO[:TAG][@DIGEST]")->required();
  cmd->add_option("--key", flags.key,
                  "Encrypted cosign/sigstore private key (password: $PORTCULLIS_PASSWORD, "
                  "$COSIGN_PASSWORD or stdin)")
      ->required();
  cmd->add_option("--annotation,-a", flags.annotations,
                  "KEY=VALUE added to the signed payload (repeatable)")
      ->allow_extra_args(false);
  add_registry_flags(cmd, flags.registry);
  return cmd;
}

CLI::App* add_verify_command(CLI::App& app, VerifyFlags& flags) {
  auto* cmd = app.add_subcommand("verify",
                                 "Verify an image's cosign signatures with public keys (like "
                                 "cosign verify --insecure-ignore-tlog)");
  cmd->add_option("image", flags.image, "REGISTRY/REPO[:TAG][@DIGEST]")->required();
  cmd->add_option("--key", flags.keys, "Trusted public key, PEM (repeatable)")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--threshold", flags.threshold,
                  "Distinct keys that must have signed (default 1)");
  add_registry_flags(cmd, flags.registry);
  return cmd;
}

}  // namespace portcullis::cli
