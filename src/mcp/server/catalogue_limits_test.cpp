#include "mcp/server/catalogue_limits.hpp"

#include <gtest/gtest.h>

namespace mcp::server {
namespace {

json tool(const std::string& name, std::size_t description = 10) {
  return {{"name", name}, {"description", std::string(description, 'd')}, {"inputSchema", {{"type", "object"}}}};
}

TEST(catalogue_limits, keeps_what_fits_in_order) {
  std::vector<json> items{tool("a"), tool("b"), tool("c")};
  auto report = filter_catalogue(items, catalogue_kind::tools, catalogue_limits{});
  EXPECT_EQ(report.dropped(), 0u);
  EXPECT_EQ(report.kept, 3u);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2]["name"], "c");
}

TEST(catalogue_limits, drops_over_count_and_counts_it_once) {
  catalogue_limits limits;
  limits.items_per_list = 512;
  std::vector<json> items;
  for (int i = 0; i < 1000; ++i) items.push_back(tool("t" + std::to_string(i)));
  auto report = filter_catalogue(items, catalogue_kind::tools, limits);
  EXPECT_EQ(items.size(), 512u);
  EXPECT_EQ(report.over_count, 488u);
  EXPECT_EQ(items.back()["name"], "t511");
  const std::string sentence = report.sentence(catalogue_kind::tools, "peer k3Xq9a's server 'x'");
  EXPECT_NE(sentence.find("dropped 488 of 1000 tools from peer k3Xq9a's server 'x'"), std::string::npos) << sentence;
  EXPECT_NE(sentence.find("488 beyond the cap of items per list"), std::string::npos) << sentence;
}

TEST(catalogue_limits, drops_items_with_oversized_fields) {
  catalogue_limits limits;
  std::vector<json> items{tool(std::string(129, 'n')), tool("long", 8 * 1024 + 1), tool("ok", 8 * 1024)};
  json big_schema = {{"type", "object"}, {"description", std::string(64 * 1024, 's')}};
  items.push_back({{"name", "schema"}, {"inputSchema", big_schema}});
  items.push_back({{"name", "out"}, {"inputSchema", json::object()}, {"outputSchema", big_schema}});
  items.push_back({{"name", "title"}, {"title", std::string(200, 't')}});
  auto report = filter_catalogue(items, catalogue_kind::tools, limits);
  EXPECT_EQ(report.too_large, 5u);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["name"], "ok");
}

TEST(catalogue_limits, drops_malformed_items) {
  std::vector<json> items{json(3), json::array(), json::object(), json{{"name", 5}}, json{{"name", ""}}, tool("ok")};
  auto report = filter_catalogue(items, catalogue_kind::tools, catalogue_limits{});
  EXPECT_EQ(report.not_an_item, 5u);
  EXPECT_EQ(items.size(), 1u);
}

TEST(catalogue_limits, caps_the_bytes_of_a_whole_list) {
  catalogue_limits limits;
  limits.list_bytes = 10 * 1024;
  std::vector<json> items;
  for (int i = 0; i < 20; ++i) items.push_back(tool("t" + std::to_string(i), 1000));
  auto report = filter_catalogue(items, catalogue_kind::tools, limits);
  EXPECT_GT(report.over_bytes, 0u);
  std::size_t total = 0;
  for (const auto& item : items) total += item.dump().size();
  EXPECT_LE(total, limits.list_bytes);
  EXPECT_EQ(report.kept + report.over_bytes, 20u);
}

TEST(catalogue_limits, pages_share_one_cap) {
  catalogue_limits limits;
  limits.items_per_list = 5;
  catalogue_report total;
  std::vector<json> kept;
  for (int page = 0; page < 3; ++page) {
    std::vector<json> items{tool("a"), tool("b"), tool("c")};
    total.add(filter_catalogue(items, catalogue_kind::tools, remaining(limits, total)));
    for (auto& item : items) kept.push_back(std::move(item));
  }
  EXPECT_EQ(kept.size(), 5u);
  EXPECT_EQ(total.kept, 5u);
  EXPECT_EQ(total.over_count, 4u);
}

TEST(catalogue_limits, each_kind_needs_its_own_key) {
  std::vector<json> resources{{{"uri", "file:///a"}, {"name", "a"}}, {{"name", "no uri"}},
                              {{"uri", std::string(2000, 'u')}}};
  auto r = filter_catalogue(resources, catalogue_kind::resources, catalogue_limits{});
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.not_an_item, 1u);
  EXPECT_EQ(r.too_large, 1u);
  std::vector<json> templates{{{"uriTemplate", "file:///{x}"}, {"name", "x"}}, {{"uri", "file:///a"}}};
  EXPECT_EQ(filter_catalogue(templates, catalogue_kind::resource_templates, catalogue_limits{}).kept, 1u);
  std::vector<json> prompts{{{"name", "p"}, {"arguments", json::array({{{"name", "city"}}})}}, {{"title", "x"}}};
  EXPECT_EQ(filter_catalogue(prompts, catalogue_kind::prompts, catalogue_limits{}).kept, 1u);
}

}  // namespace
}  // namespace mcp::server
