// Gateway URLs: what node.json and --gateway-url hold.
#include "mcp/gateway/client/gateway_url.hpp"

#include <gtest/gtest.h>

namespace mcp::gateway::client {
namespace {

TEST(GatewayUrl, ParsesTheGatewayDefault) {
  auto url = parse_url("http://127.0.0.1:7469/mcp");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->text, "http://127.0.0.1:7469/mcp");
  EXPECT_EQ(url->address, "127.0.0.1");
  EXPECT_EQ(url->port, 7469);
  EXPECT_EQ(url->host_header, "127.0.0.1:7469");
  EXPECT_EQ(url->target, "/mcp");
}

TEST(GatewayUrl, ServerEndpoints) {
  auto base = parse_url("http://127.0.0.1:7469/mcp");
  ASSERT_TRUE(base);
  auto url = server_endpoint(*base, "k3Xq9a_files");
  EXPECT_EQ(url.target, "/mcp/k3Xq9a_files");
  EXPECT_EQ(url.text, "http://127.0.0.1:7469/mcp/k3Xq9a_files");
  EXPECT_EQ(url.host_header, "127.0.0.1:7469");
  url = server_endpoint(*base, "local_my server/é");
  EXPECT_EQ(url.target, "/mcp/local_my%20server%2F%C3%A9");

  base = parse_url("http://localhost:80/mcp/?x=1");
  ASSERT_TRUE(base);
  url = server_endpoint(*base, "a");
  EXPECT_EQ(url.target, "/mcp/a?x=1");
  EXPECT_EQ(url.text, "http://localhost:80/mcp/a?x=1");

  base = parse_url("http://127.0.0.1:9");
  ASSERT_TRUE(base);
  url = server_endpoint(*base, "a");
  EXPECT_EQ(url.target, "/a");
  EXPECT_EQ(url.text, "http://127.0.0.1:9/a");
}

TEST(GatewayUrl, Variants) {
  auto url = parse_url("HTTP://localhost:8080/a/b?x=1#frag");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->address, "127.0.0.1");
  EXPECT_EQ(url->host_header, "localhost:8080");
  EXPECT_EQ(url->target, "/a/b?x=1");
  EXPECT_EQ(url->text, "HTTP://localhost:8080/a/b?x=1");

  url = parse_url("http://[::1]:9/mcp");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->address, "::1");
  EXPECT_EQ(url->host_header, "[::1]:9");

  url = parse_url("http://127.0.0.1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->host_header, "127.0.0.1:80");

  url = parse_url("http://127.0.0.1:65535?q");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 65535);
  EXPECT_EQ(url->target, "/?q");
}

TEST(GatewayUrl, RefusalsSaySomethingUseful) {
  for (const char* bad : {"", "127.0.0.1:7469/mcp", "ftp://127.0.0.1/", "https://127.0.0.1:7469/mcp",
                          "http://", "http://:7469/mcp", "http://127.0.0.1:0/mcp", "http://127.0.0.1:65536/",
                          "http://127.0.0.1:12a/", "http://127.0.0.1:123456/", "http://user@127.0.0.1/",
                          "http://example.com/mcp", "http://[::1/mcp", "http://[zz]:1/", "http://[::1]x/",
                          "http://127.0.0.1/a b", "http://256.0.0.1/"}) {
    SCOPED_TRACE(bad);
    std::string why;
    auto url = parse_url(bad, &why);
    EXPECT_FALSE(url);
    EXPECT_EQ(url.error(), p2p::errc::invalid_argument);
    EXPECT_NE(why.find("is not a usable gateway URL"), std::string::npos) << why;
    EXPECT_NE(why.find("http://127.0.0.1:7469/mcp"), std::string::npos) << why;
  }
  std::string why;
  EXPECT_FALSE(parse_url("https://127.0.0.1/", &why));
  EXPECT_NE(why.find("https is not supported"), std::string::npos) << why;
  EXPECT_FALSE(parse_url("http://nas.local/mcp", &why));
  EXPECT_NE(why.find("'nas.local'"), std::string::npos) << why;
}

}  // namespace
}  // namespace mcp::gateway::client
