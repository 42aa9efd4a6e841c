#include "mcp/peer/protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mcp::peer {
namespace {

TEST(mcp_peer_protocol, builds_the_protocol_id_of_a_server) {
  EXPECT_EQ(protocol_for("files"), "/p2pmcp/mcp/1.0.0/files");
  EXPECT_EQ(protocol_for("my_server-2"), "/p2pmcp/mcp/1.0.0/my_server-2");
  EXPECT_EQ(protocol_prefix, "/p2pmcp/mcp/1.0.0/");
}

TEST(mcp_peer_protocol, reads_the_server_back) {
  EXPECT_EQ(server_from_protocol("/p2pmcp/mcp/1.0.0/files"), "files");
  EXPECT_EQ(server_from_protocol(protocol_for("A-b_9")), "A-b_9");
  const std::string longest(32, 'x');
  EXPECT_EQ(server_from_protocol(protocol_for(longest)), longest);
}

TEST(mcp_peer_protocol, refuses_other_ids_and_invalid_names) {
  EXPECT_FALSE(server_from_protocol(""));
  EXPECT_FALSE(server_from_protocol("/p2pmcp/mcp/1.0.0/"));           // no name
  EXPECT_FALSE(server_from_protocol("/p2pmcp/mcp/1.0.0"));            // no separator
  EXPECT_FALSE(server_from_protocol("/p2pmcp/mcp/1.0.1/files"));      // another version
  EXPECT_FALSE(server_from_protocol("/ipfs/ping/1.0.0"));
  EXPECT_FALSE(server_from_protocol("/p2pmcp/mcp/1.0.0/a/b"));        // '/' is not in a name
  EXPECT_FALSE(server_from_protocol("/p2pmcp/mcp/1.0.0/has space"));
  EXPECT_FALSE(server_from_protocol("/p2pmcp/mcp/1.0.0/caf\xc3\xa9"));
  EXPECT_FALSE(server_from_protocol(protocol_for(std::string(33, 'x'))));  // too long
  EXPECT_FALSE(server_from_protocol(std::string("/p2pmcp/mcp/1.0.0/a\0b", 21)));
  EXPECT_FALSE(server_from_protocol("x/p2pmcp/mcp/1.0.0/files"));
}

}  // namespace
}  // namespace mcp::peer
