// The node's identity key file: the libp2p PrivateKey protobuf (as go-libp2p and
// js-libp2p store it), mode 0600, written atomically (temp file + rename) so a crash
// never leaves half a key. An existing file is never overwritten.
#pragma once

#include "p2p/core/keys.hpp"

#include <filesystem>
#include <string>

namespace p2pmcp {

struct loaded_identity {
  p2p::crypto::private_key key;
  bool created = false;  // a new key was generated and saved
};

// Loads `path`, or creates a new Ed25519 identity there when it does not exist.
// Throws std::runtime_error with a user-facing sentence when the file exists but
// cannot be read or is not a key file, or when a new one cannot be written.
loaded_identity load_or_create_identity(const std::filesystem::path& path);

}  // namespace p2pmcp
