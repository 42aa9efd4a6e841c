// The JSON type of all MCP code: an order-preserving object, so what p2pmcp forwards
// keeps the member order its sender chose (a tool's inputSchema, the fields of an
// elicitation form, a client's reply). Equality of objects is order-sensitive and
// member lookup is linear: fine for MCP's small objects.
#pragma once

#include <nlohmann/json.hpp>

namespace mcp {

using json = nlohmann::ordered_json;

}  // namespace mcp
