// Reports of an inventory and its findings: Portcullis JSON, SARIF 2.1.0,
// CycloneDX 1.5 JSON (SBOM with vulnerabilities) and a plain-text table.
// Pure functions: no I/O.
#pragma once

#include <string>
#include <vector>

#include "scanner/model.h"

namespace portcullis::scanner {

struct ReportSubject {
  std::string name;    // image reference or repository name
  std::string digest;  // manifest digest, may be empty
  std::string data_version;  // advisory data version the findings were computed with
  std::string scanned_at;    // ISO 8601 UTC
};

// Package URL (purl spec) of a package, using the inventory's distro for OS packages.
std::string purl(const Package& p, const Inventory& inventory);

std::string report_json(const ReportSubject& s, const Inventory& inv, const std::vector<Finding>& f);
std::string report_sarif(const ReportSubject& s, const Inventory& inv, const std::vector<Finding>& f);
std::string report_cyclonedx(const ReportSubject& s, const Inventory& inv,
                             const std::vector<Finding>& f);
std::string report_table(const ReportSubject& s, const Inventory& inv, const std::vector<Finding>& f);

// Findings sorted most severe first, then by package and id.
std::vector<Finding> sorted_by_severity(std::vector<Finding> findings, const Inventory& inv);
int severity_rank(const std::string& severity);  // critical=5 … unknown=0

}  // namespace portcullis::scanner
