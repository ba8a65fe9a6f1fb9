// The parse tree of a Template (template.h), shared by the parser
// (template_parse.cc) that builds it and the executor (template_exec.cc)
// that walks it, and Go's error location prefix both use. Internal to the
// template engine.
//
// Thread-safety: a Tree is immutable once parsed and may be walked from many
// threads at once.
#ifndef SERVICES_AUTOMATION_TEMPLATE_TREE_H_
#define SERVICES_AUTOMATION_TEMPLATE_TREE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "services/automation/template.h"
#include "services/automation/template_value.h"

namespace ia::automation {
namespace template_internal {

enum class ArgKind { kDot, kField, kVariable, kFunction, kLiteral, kPipe };

struct Pipeline;

// An operand: `.`, `.A.B`, `$x.A`, `fn`, a literal or `(pipeline).A`.
struct Arg {
  ArgKind kind = ArgKind::kLiteral;
  std::string name;                 // "$x" or the function's name.
  std::vector<std::string> fields;  // The field chain that follows.
  TemplateValue literal;
  bool is_nil = false;
  std::shared_ptr<const Pipeline> pipe;
  size_t begin = 0, end = 0;  // Source span, for error context.
};

struct Command {
  std::vector<Arg> args;
  size_t begin = 0, end = 0;
};

struct Pipeline {
  std::vector<std::string> decl;  // Declared or assigned variables.
  bool is_assign = false;
  std::vector<Command> cmds;  // Separated by |.
  size_t begin = 0, end = 0;
};

enum class NodeKind { kText, kAction, kIf, kWith, kRange, kBreak, kContinue };

struct Node {
  NodeKind kind = NodeKind::kText;
  std::string text;
  Pipeline pipe;
  std::vector<Node> list;
  std::vector<Node> else_list;
  size_t begin = 0, end = 0;
};

// Go's "template: NAME:LINE:COL: " prefix for a byte offset of `source`.
std::string Location(const std::string& name, const std::string& source,
                     size_t offset);

}  // namespace template_internal

struct Template::Tree {
  std::string name;
  std::string source;
  std::vector<template_internal::Node> root;
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_TEMPLATE_TREE_H_
