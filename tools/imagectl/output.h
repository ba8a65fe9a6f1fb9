// Machine-readable output of `imagectl get -o yaml|json` and `create
// --export`, in the shapes kubectl and flux print: objects as Flux YAML or
// JSON (common/manifest.h), several YAML objects separated by `---`, several
// JSON objects wrapped in a kubectl-style List.
//
// Pure functions; thread-safe.
#ifndef TOOLS_IMAGECTL_OUTPUT_H_
#define TOOLS_IMAGECTL_OUTPUT_H_

#include <string>
#include <vector>

#include "common/objects.h"

namespace ia::imagectl {

// The objects as YAML documents separated by "---" lines (no leading
// separator), ending in a newline. "" for no objects.
std::string FormatYamlDocuments(const std::vector<AnyObject>& objects);

// What `flux create ... --export` prints: "---", then the object's YAML.
std::string FormatExport(const AnyObject& object);

// One object as JSON, ending in a newline.
std::string FormatJsonObject(const AnyObject& object);

// {"apiVersion": "v1", "kind": "List", "items": [...]}, pretty-printed with
// the items as FormatJsonObject() prints them, ending in a newline.
std::string FormatJsonList(const std::vector<AnyObject>& objects);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_OUTPUT_H_
