#include "mcp/hub/naming.hpp"

#include <gtest/gtest.h>

#include <set>

namespace mcp::hub {
namespace {

TEST(naming, joins_prefix_and_name_when_valid) {
  EXPECT_EQ(expose_name("k3Xq9a_everything", "echo"), "k3Xq9a_everything_echo");
  EXPECT_EQ(expose_name("", "echo"), "echo");
  EXPECT_TRUE(is_valid_exposed_name("local_node_info"));
}

TEST(naming, invalid_or_long_names_get_a_stable_hash_suffix) {
  const std::string dotted = expose_name("local_files", "read.file");
  EXPECT_TRUE(is_valid_exposed_name(dotted));
  EXPECT_EQ(dotted.rfind("local_files_read-file_", 0), 0u);
  EXPECT_EQ(dotted.size(), std::string("local_files_read-file_").size() + 8);
  EXPECT_EQ(dotted, expose_name("local_files", "read.file"));  // stable
  // "read.file" and "read-file" must not collide.
  EXPECT_NE(dotted, expose_name("local_files", "read-file"));
  EXPECT_EQ(expose_name("local_files", "read-file"), "local_files_read-file");

  const std::string long_name(100, 'x');
  const std::string shortened = expose_name("k3Xq9a_everything", long_name);
  EXPECT_EQ(shortened.size(), max_exposed_name);
  EXPECT_TRUE(is_valid_exposed_name(shortened));
  EXPECT_NE(shortened, expose_name("k3Xq9a_everything", long_name + "y"));
  // The split between prefix and name matters.
  EXPECT_NE(expose_name("a", "b c"), expose_name("a_b", "c "));
}

TEST(naming, validity) {
  EXPECT_FALSE(is_valid_exposed_name(""));
  EXPECT_FALSE(is_valid_exposed_name(std::string(65, 'a')));
  EXPECT_TRUE(is_valid_exposed_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_exposed_name("a b"));
  EXPECT_FALSE(is_valid_exposed_name("a.b"));
  EXPECT_FALSE(is_valid_exposed_name("\xc3\xa9"));
}

TEST(naming, default_alias_is_the_tail_of_the_peer_id) {
  EXPECT_EQ(default_alias("12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"), "x6nXTN");
  EXPECT_EQ(default_alias("abc"), "abc");
}

TEST(naming, uris_round_trip) {
  const std::string exposed = expose_uri("k3Xq9a_everything", "test://static/resource/1");
  EXPECT_EQ(exposed, "p2pmcp://k3Xq9a_everything/test://static/resource/1");
  auto parsed = parse_exposed_uri(exposed);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "k3Xq9a_everything");
  EXPECT_EQ(parsed->second, "test://static/resource/1");
  // Templates keep working: the prefix has no template variables.
  EXPECT_EQ(expose_uri("local_files", "file:///{path}"), "p2pmcp://local_files/file:///{path}");
  EXPECT_EQ(expose_uri("", "file:///a"), "file:///a");
  EXPECT_FALSE(parse_exposed_uri("file:///a"));
  EXPECT_FALSE(parse_exposed_uri("p2pmcp://"));
  EXPECT_FALSE(parse_exposed_uri("p2pmcp:///x"));
  EXPECT_FALSE(parse_exposed_uri("p2pmcp://prefix-only"));
}

}  // namespace
}  // namespace mcp::hub
