// JSON encoding of inventories and findings, for storing scan results.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "scanner/model.h"

namespace portcullis::scanner {

std::string inventory_to_json(const Inventory& inventory);
Result<Inventory> inventory_from_json(const std::string& text);
std::string findings_to_json(const std::vector<Finding>& findings);
Result<std::vector<Finding>> findings_from_json(const std::string& text);

}  // namespace portcullis::scanner
