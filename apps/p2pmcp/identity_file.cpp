#include "identity_file.hpp"

#include "p2p/core/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace p2pmcp {

namespace fs = std::filesystem;

namespace {

std::runtime_error failure(const std::string& sentence) { return std::runtime_error(sentence); }

void write_private_file(const fs::path& path, const p2p::bytes& data) {
  const fs::path temp = path.string() + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw failure("cannot write the identity key file " + temp.string() + ": " + std::strerror(errno));
  const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw failure("cannot write the identity key file " + path.string() + ": " + std::strerror(errno));
  }
}

}  // namespace

loaded_identity load_or_create_identity(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (path.has_parent_path()) {
      fs::create_directories(path.parent_path(), ec);
      if (ec) throw failure("cannot create the directory " + path.parent_path().string() + ": " + ec.message());
      ::chmod(path.parent_path().c_str(), 0700);
    }
    auto key = p2p::crypto::private_key::generate_ed25519();
    write_private_file(path, key.to_protobuf());
    return {std::move(key), true};
  }

  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0)
    p2p::log::warn("identity", "{} is readable by other users (mode {:o}); run: chmod 600 {}", path.string(),
                   info.st_mode & 0777, path.string());

  std::ifstream in(path, std::ios::binary);
  if (!in) throw failure("cannot read the identity key file " + path.string() + ": " + std::strerror(errno));
  p2p::bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() > 16 * 1024)
    throw failure("the identity key file " + path.string() + " is too large to be a key file; move it away");
  auto key = p2p::crypto::private_key::from_protobuf(data);
  if (!key)
    throw failure("the identity key file " + path.string() + " is not a libp2p private key (" +
                  key.error().message() + "); it was left untouched — move it away to create a new identity");
  return {std::move(*key), false};
}

}  // namespace p2pmcp
