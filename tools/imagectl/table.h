// Tables for `imagectl get`, in the layout kubectl and flux print: an
// upper-case header row, then one row per object, columns aligned with
// spaces (each column as wide as its widest cell plus three spaces, at least
// six; the last column is not padded).
//
// Pure functions; thread-safe.
#ifndef TOOLS_IMAGECTL_TABLE_H_
#define TOOLS_IMAGECTL_TABLE_H_

#include <string>
#include <vector>

#include "common/objects.h"
#include "tools/imagectl/clients.h"

namespace ia::imagectl {

using Row = std::vector<std::string>;

// Lays out `rows` (the first is the header) as text, one line per row, each
// ending in '\n'. Widths count UTF-8 characters; newlines in cells become
// spaces.
std::string FormatTable(const std::vector<Row>& rows);

// The header of `kind`'s table, with a leading NAMESPACE column when
// `all_namespaces`:
//   ImageRepository        NAME, LAST SCAN, SUSPENDED, READY, MESSAGE
//   ImagePolicy            NAME, LATEST IMAGE, READY, MESSAGE
//   ImageUpdateAutomation  NAME, LAST RUN, SUSPENDED, READY, MESSAGE
//   GitRepository          NAME, REVISION, SUSPENDED, READY, MESSAGE
Row TableHeader(Kind kind, bool all_namespaces);

// The row of one object, matching TableHeader(). READY is the Ready
// condition's status ("Unknown" when there is none), MESSAGE its message;
// times are RFC 3339 in UTC; SUSPENDED is "True" or "False".
Row TableRow(const AnyObject& object, bool all_namespaces);

// Header and rows of `objects` (all of `kind`), formatted.
std::string FormatObjectTable(Kind kind, const std::vector<AnyObject>& objects,
                              bool all_namespaces);

// "name:tag" or "name:tag@digest"; "" when no tag is set.
std::string FormatImageRef(const v1::ImageRef& ref);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_TABLE_H_
