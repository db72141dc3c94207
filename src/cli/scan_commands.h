// `portcullis db …` and `portcullis scan …`.
#pragma once

#include <string>
#include <vector>

namespace portcullis::cli {

int db_import(const std::string& db_path, const std::vector<std::string>& files, const std::string& name);
int db_status(const std::string& db_path);
// target: an OCI image layout directory, optionally DIR:REF.
int scan(const std::string& db_path, const std::string& target, const std::string& format,
         const std::string& platform, const std::string& fail_on);

}  // namespace portcullis::cli
