#include "mcp/peer/trust_store.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace mcp::peer {
namespace {

namespace fs = std::filesystem;

constexpr const char* peer_a = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
constexpr const char* peer_b = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

std::string error_of(const std::string& text) {
  auto parsed = parse_trust_list(text, "t.json");
  auto* error = std::get_if<std::string>(&parsed);
  return error ? *error : std::string();
}

trust_entry entry(const char* id, std::string name = {}, std::optional<std::string> address = {}) {
  trust_entry e{*p2p::peer_id::parse(id), std::move(name), std::nullopt};
  if (address) e.address = *p2p::multiaddr::parse(*address);
  return e;
}

TEST(trust_store, round_trips) {
  trust_list list;
  EXPECT_TRUE(list.add(entry(peer_a, "laptop", std::string("/ip4/192.0.2.1/tcp/4021/p2p/") + peer_a)));
  EXPECT_TRUE(list.add(entry(peer_b)));
  auto parsed = parse_trust_list(serialize_trust_list(list), "t.json");
  ASSERT_TRUE(std::holds_alternative<trust_list>(parsed)) << std::get<std::string>(parsed);
  const auto& back = std::get<trust_list>(parsed);
  ASSERT_EQ(back.peers.size(), 2u);
  EXPECT_EQ(back.peers[0].name, "laptop");
  ASSERT_TRUE(back.peers[0].address);
  EXPECT_EQ(back.peers[0].address->to_string(), std::string("/ip4/192.0.2.1/tcp/4021/p2p/") + peer_a);
  EXPECT_EQ(back.peers[1].peer.to_string(), peer_b);
  EXPECT_FALSE(back.peers[1].address);
  EXPECT_EQ(back.find_name("laptop"), &back.peers[0]);
}

TEST(trust_store, add_updates_and_remove) {
  trust_list list;
  EXPECT_TRUE(list.add(entry(peer_a)));
  EXPECT_FALSE(list.add(entry(peer_a)));        // already there
  EXPECT_TRUE(list.add(entry(peer_a, "desk")));  // a name is added
  EXPECT_FALSE(list.add(entry(peer_a)));        // an empty name keeps it
  EXPECT_EQ(list.peers.size(), 1u);
  EXPECT_EQ(list.peers[0].name, "desk");
  EXPECT_TRUE(list.remove(*p2p::peer_id::parse(peer_a)));
  EXPECT_FALSE(list.remove(*p2p::peer_id::parse(peer_a)));
  EXPECT_TRUE(list.peers.empty());
}

TEST(trust_store, every_problem_is_a_sentence) {
  EXPECT_EQ(error_of("{"), "t.json is not valid JSON; fix it or remove it (p2pmcp trust add writes a new one)");
  EXPECT_EQ(error_of("[]"), "t.json must be a JSON object {\"peers\": [...]}");
  EXPECT_EQ(error_of(R"({"peer": []})"), "t.json: 'peer' is not a trust file key (peers)");
  EXPECT_EQ(error_of(R"({"peers": {}})"), "t.json: peers must be an array");
  EXPECT_EQ(error_of(R"({"peers": [1]})").rfind("t.json: peers[0] must be an object", 0), 0u);
  EXPECT_EQ(error_of(R"({"peers": [{}]})"), "t.json: peers[0] has no \"id\"");
  EXPECT_EQ(error_of(R"({"peers": [{"id": "nope"}]})"), "t.json: peers[0].id: 'nope' is not a peer ID");
  EXPECT_NE(error_of(std::string(R"({"peers": [{"id": ")") + peer_a + R"(", "name": "local"}]})").find(".name must"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(R"({"peers": [{"id": ")") + peer_a + R"(", "address": "/ip4/1.2.3.4/tcp/1/p2p/)" +
                     peer_b + R"("}]})")
                .find("must end in /p2p/"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(R"({"peers": [{"id": ")") + peer_a + R"("}, {"id": ")" + peer_a + R"("}]})")
                .find("listed twice"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(R"({"peers": [{"id": ")") + peer_a + R"(", "x": 1}]})")
                .find("'x' is not a trust entry field"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(2 << 20, ' ')).find("larger than 1 MiB"), std::string::npos);
}

TEST(trust_store, file_is_written_atomically_with_mode_0600) {
  const fs::path dir = fs::temp_directory_path() / ("trust_store_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path path = dir / "home" / "trust.json";
  auto missing = load_trust_file(path);
  ASSERT_TRUE(std::holds_alternative<trust_list>(missing));
  EXPECT_TRUE(std::get<trust_list>(missing).peers.empty());

  trust_list list;
  list.add(entry(peer_a, "laptop"));
  ASSERT_FALSE(save_trust_file(path, list));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  auto loaded = load_trust_file(path);
  ASSERT_TRUE(std::holds_alternative<trust_list>(loaded));
  EXPECT_EQ(std::get<trust_list>(loaded).peers.at(0).name, "laptop");

  std::ofstream(path) << "{broken";
  auto broken = load_trust_file(path);
  ASSERT_TRUE(std::holds_alternative<std::string>(broken));
  EXPECT_NE(std::get<std::string>(broken).find(path.string() + " is not valid JSON"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mcp::peer
