#include "mcp/peer/trust_store.hpp"

#include "mcp/server/node_settings.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mcp::peer {

namespace fs = std::filesystem;
using json = mcp::json;

const trust_entry* trust_list::find(const p2p::peer_id& peer) const {
  for (const auto& e : peers)
    if (e.peer == peer) return &e;
  return nullptr;
}

const trust_entry* trust_list::find_name(std::string_view name) const {
  for (const auto& e : peers)
    if (!e.name.empty() && e.name == name) return &e;
  return nullptr;
}

bool trust_list::add(trust_entry entry) {
  for (auto& e : peers) {
    if (e.peer != entry.peer) continue;
    bool changed = false;
    if (!entry.name.empty() && entry.name != e.name) {
      e.name = std::move(entry.name);
      changed = true;
    }
    if (entry.address && (!e.address || *entry.address != *e.address)) {
      e.address = std::move(entry.address);
      changed = true;
    }
    return changed;
  }
  peers.push_back(std::move(entry));
  return true;
}

bool trust_list::remove(const p2p::peer_id& peer) {
  for (auto it = peers.begin(); it != peers.end(); ++it) {
    if (it->peer == peer) {
      peers.erase(it);
      return true;
    }
  }
  return false;
}

std::variant<trust_list, std::string> parse_trust_list(std::string_view text, const std::string& file) {
  if (text.size() > max_trust_file_bytes) return file + " is larger than 1 MiB; it is not a p2pmcp trust file";
  const json root = json::parse(text, nullptr, false);
  if (root.is_discarded())
    return file + " is not valid JSON; fix it or remove it (p2pmcp trust add writes a new one)";
  if (!root.is_object()) return file + " must be a JSON object {\"peers\": [...]}";
  trust_list out;
  for (const auto& [key, value] : root.items()) {
    if (key != "peers") return file + ": '" + key.substr(0, 64) + "' is not a trust file key (peers)";
    if (!value.is_array()) return file + ": peers must be an array";
    if (value.size() > max_trusted_peers) return file + ": more than 4096 trusted peers";
    std::size_t index = 0;
    for (const auto& item : value) {
      const std::string at = file + ": peers[" + std::to_string(index++) + "]";
      if (!item.is_object()) return at + " must be an object {\"id\": ..., \"name\": ..., \"address\": ...}";
      std::string name;
      std::optional<p2p::multiaddr> address;
      std::optional<std::string> id;
      for (const auto& [field, v] : item.items()) {
        if (field == "id") {
          if (!v.is_string()) return at + ".id must be a peer ID string";
          id = v.get<std::string>();
        } else if (field == "name") {
          if (!v.is_string() || !mcp::server::is_valid_peer_name(v.get<std::string>()))
            return at + ".name must be 1-32 letters, digits, '_' or '-' (and not \"local\")";
          name = v.get<std::string>();
        } else if (field == "address") {
          if (!v.is_string()) return at + ".address must be a multiaddr string";
          auto parsed = p2p::multiaddr::parse(v.get<std::string>());
          if (!parsed) return at + ".address: '" + v.get<std::string>().substr(0, 200) + "' is not a valid multiaddr";
          address = *parsed;
        } else {
          return at + ": '" + field.substr(0, 64) + "' is not a trust entry field (id, name, address)";
        }
      }
      if (!id) return at + " has no \"id\"";
      auto peer = p2p::peer_id::parse(*id);
      if (!peer) return at + ".id: '" + id->substr(0, 100) + "' is not a peer ID";
      trust_entry entry{*peer, std::move(name), std::move(address)};
      if (entry.address && entry.address->peer() != entry.peer)
        return at + ".address must end in /p2p/" + entry.peer.to_string();
      if (out.find(entry.peer)) return at + ": peer " + entry.peer.to_string() + " is listed twice";
      if (!entry.name.empty() && out.find_name(entry.name))
        return at + ": the name '" + entry.name + "' is used twice";
      out.peers.push_back(std::move(entry));
    }
  }
  return out;
}

std::string serialize_trust_list(const trust_list& list) {
  json peers = json::array();
  for (const auto& e : list.peers) {
    json item = json::object();
    item["id"] = e.peer.to_string();
    if (!e.name.empty()) item["name"] = e.name;
    if (e.address) item["address"] = e.address->to_string();
    peers.push_back(std::move(item));
  }
  json root = json::object();
  root["peers"] = std::move(peers);
  return root.dump(2) + "\n";
}

std::variant<trust_list, std::string> load_trust_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (ec) return "cannot read " + path.string() + ": " + ec.message();
    return trust_list{};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read " + path.string() + ": " + std::strerror(errno);
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_trust_file_bytes) break;
  }
  return parse_trust_list(text, path.string());
}

std::optional<std::string> save_trust_file(const fs::path& path, const trust_list& list) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) return "cannot create " + path.parent_path().string() + ": " + ec.message();
  const fs::path temporary = path.string() + ".tmp";
  const std::string text = serialize_trust_list(list);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + temporary.string() + ": " + std::strerror(errno);
  std::size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (ok && ::fsync(fd) != 0) ok = false;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    fs::remove(temporary, ec);
    return "cannot write " + temporary.string() + ": " + std::strerror(saved);
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    return "cannot replace " + path.string() + ": " + ec.message();
  }
  return std::nullopt;
}

}  // namespace mcp::peer
