// A generator of commit message templates for the differential test
// (template_differential_test.cc): from a seed, templates mixing Go's
// text/template language (if/else, with, range with break and continue,
// variables, define/template/block, trim markers, comments, parenthesised
// pipelines, literals of every kind) with Sprig's functions over Flux's
// template data, their arguments sometimes of the wrong type so that
// errors are exercised too. It avoids what Flux itself renders
// nondeterministically and what the reference renders differently on
// purpose (see the test's header).
//
// Thread-compatible: one Generator per thread.
#ifndef TESTS_AUTOMATION_TEMPLATE_GENERATOR_H_
#define TESTS_AUTOMATION_TEMPLATE_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ia::automation::testing {

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string Template() {
    vars_ = {"$"};
    defined_.clear();
    std::string out;
    if (Int(4) == 0) {
      const std::string name = Pick(std::vector<std::string>{"a", "sub"});
      absl::StrAppend(&out, "{{ define \"", name, "\" }}", Body(1),
                      "{{ end }}");
      defined_.push_back(name);
    }
    const int n = 1 + Int(4);
    for (int i = 0; i < n; ++i) out += Stmt(2);
    return out;
  }

 private:
  int Int(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(static_cast<int>(v.size())))];
  }

  std::string Open() { return Int(5) == 0 ? "{{- " : "{{ "; }
  std::string Close() { return Int(5) == 0 ? " -}}" : " }}"; }

  std::string Text() {
    return Pick(std::vector<std::string>{"", " ", "\n", "x", " - ", "\n  ",
                                         "a b\n", ": ", "\t"});
  }

  std::string Body(int depth) {
    std::string out;
    const int n = 1 + Int(3);
    for (int i = 0; i < n; ++i) out += Stmt(depth);
    return out;
  }

  std::string Stmt(int depth) {
    const int choice = depth <= 0 ? Int(3) : Int(11);
    switch (choice) {
      case 0:
        return Text();
      case 1:
      case 2:
        return absl::StrCat(Open(), Pipeline(2), Close(), Text());
      case 3: {
        std::string out =
            absl::StrCat(Open(), "if ", Pipeline(1), Close(), Body(depth - 1));
        if (Int(3) == 0) {
          absl::StrAppend(&out, "{{ else if ", Pipeline(1), " }}",
                          Body(depth - 1));
        }
        if (Int(2) == 0) absl::StrAppend(&out, "{{ else }}", Body(depth - 1));
        return out + "{{ end }}";
      }
      case 4: {
        std::string out = absl::StrCat(Open(), "with ", Pipeline(1), Close(),
                                       "{{ . }}", Body(depth - 1));
        if (Int(3) == 0) absl::StrAppend(&out, "{{ else }}", Body(depth - 1));
        return out + "{{ end }}";
      }
      case 5:
        return Range(depth);
      case 6: {
        const std::string var = absl::StrCat("$v", vars_.size());
        std::string out = absl::StrCat("{{ ", var, " := ", Pipeline(1), " }}");
        vars_.push_back(var);
        return out;
      }
      case 7:
        if (vars_.size() > 1) {
          return absl::StrCat("{{ ", Pick(vars_), " = ", Pipeline(1), " }}");
        }
        return "{{/* a comment */}}";
      case 8:
        if (!defined_.empty()) {
          return absl::StrCat("{{ template \"", Pick(defined_), "\" ",
                              Operand(1), " }}");
        }
        return absl::StrCat("{{ block \"b", Int(3), "\" ", Operand(1), " }}",
                            "[{{ . }}]{{ end }}");
      case 9:
        return absl::StrCat("{{ printf ", Pick(kFormats), " ", Operand(1), " ",
                            Operand(1), " }}");
      default:
        return absl::StrCat("{{ ", Pipeline(2), " }}");
    }
  }

  std::string Range(int depth) {
    static const std::vector<std::string> kRanges = {
        "(list 1 \"two\" 3.5 nil true)",
        "(splitList \",\" \"a,b,,c\")",
        "$.Values",
        "(dict \"b\" 2 \"a\" 1 \"c\" (list 1 2))",
        "(until 4)",
        "(list)",
        "(keys (dict \"b\" 1 \"a\" 2) | sortAlpha)",
        "(split \"/\" \"x/y/z\")",
        "(regexFindAll \"[0-9]+\" \"a1b22c333\" -1)",
        "(untilStep 1 10 3)",
        "(concat (list 1) (list \"x\" 2))",
    };
    const bool objects = Int(4) == 0;
    const std::string key = absl::StrCat("$k", vars_.size());
    const std::string val = absl::StrCat("$e", vars_.size());
    const size_t mark = vars_.size();
    std::string head;
    if (objects) {
      head = absl::StrCat(
          "{{ range ", key, ", ", val, " := $.Changed.Objects }}{{ ", key, ".",
          Pick(std::vector<std::string>{"Kind", "Name", "Namespace",
                                        "APIVersion"}),
          " }}{{ range ", val, " }}{{ .",
          Pick(std::vector<std::string>{"OldValue", "NewValue", "Setter"}),
          " }}{{ end }}");
    } else if (Int(2) == 0) {
      head = absl::StrCat("{{ range ", key, ", ", val, " := ", Pick(kRanges),
                          " }}");
    } else {
      head = absl::StrCat("{{ range ", Pick(kRanges), " }}");
    }
    if (!objects && head.find(":=") != std::string::npos) {
      vars_.push_back(key);
      vars_.push_back(val);
    }
    std::string body = Body(depth - 1);
    if (Int(3) == 0) {
      body += absl::StrCat("{{ if ", Pipeline(1), " }}{{ ",
                           Int(2) == 0 ? "break" : "continue", " }}{{ end }}");
    }
    if (objects) vars_.resize(mark);
    std::string out = head + "{{ . }}" + body;
    vars_.resize(mark);
    if (Int(3) == 0) absl::StrAppend(&out, "{{ else }}empty");
    return out + "{{ end }}";
  }

  std::string Literal() {
    static const std::vector<std::string> kLiterals = {
        "\"abc\"",
        "\"Hello World\"",
        "\"a,b,c\"",
        "\"  pad  \"",
        "\"\"",
        "`raw\\n`",
        "\"1.2.3\"",
        "\"v1.2.3\"",
        "\"foo-bar_baz\"",
        "\"x\\ty\"",
        "\"FirstName\"",
        "\"HTTPServer\"",
        "\"42\"",
        "\"3.0\"",
        "\"0x1F\"",
        "\"-7\"",
        "\"true\"",
        "\"ghcr.io/org/app:1.0\"",
        "\"\\u00e9t\\u00e9\"",
        "\"a\\nb\\nc\"",
        "0",
        "1",
        "2",
        "3",
        "-1",
        "7",
        "42",
        "0x1F",
        "1_000",
        "'a'",
        "'\\n'",
        "1.5",
        "0.1",
        "2.0",
        "1e3",
        "-0.5",
        "true",
        "false",
        "nil",
        "017",
        "0b101",
        ".5"};
    return Pick(kLiterals);
  }

  std::string Field() {
    static const std::vector<std::string> kFields = {
        "$.AutomationObject.Name",
        "$.AutomationObject.Namespace",
        "$.Values.env",
        "$.Values.ticket",
        "$.Values.missing",
        "$.Values",
        "(len $.Changed.Changes)",
        "(len $.Changed.FileChanges)",
        "$.Values.empty",
    };
    return Pick(kFields);
  }

  std::string Operand(int depth) {
    const int choice = depth <= 0 ? Int(3) : Int(5);
    switch (choice) {
      case 0:
      case 1:
        return Literal();
      case 2:
        // Not `$` itself: the data prints with the reference's own types.
        return vars_.size() > 1 && Int(2) == 0
                   ? vars_[1 + Int(static_cast<int>(vars_.size()) - 1)]
                   : Field();
      default:
        return absl::StrCat("(", Pipeline(depth - 1), ")");
    }
  }

  // A function call with arguments of (mostly) the right shape:
  // s string, i int, a anything, l list, m dict, r regexp, d duration,
  // u URL, U urlJoin dict.
  struct Fn {
    const char* name;
    const char* args;
  };

  std::string Arg(char shape, int depth) {
    if (Int(10) == 0) return Operand(depth);  // Sometimes the wrong type.
    switch (shape) {
      case 's':
        return Int(3) == 0 && depth > 0
                   ? absl::StrCat("(", Call("s", depth - 1), ")")
                   : Pick(std::vector<std::string>{
                         "\"abc\"", "\"Hello World\"", "\"a,b,c\"",
                         "\"  pad  \"", "\"\"", "\"1.2.3\"", "\"foo-bar_baz\"",
                         "$.Values.env", "$.AutomationObject.Name", "\",\"",
                         "\"FirstName\"", "\"HTTPServer\"", "\"a\\nb\"",
                         "\"reg.io/api:1.2.3\"", "\"x\"", "\"ab\""});
      case 'i':
        return Pick(std::vector<std::string>{"0", "1", "2", "3", "5", "-1",
                                             "10", "(len \"abc\")", "-3"});
      case 'l':
        return Pick(std::vector<std::string>{
            "(list 1 2 3)", "(list \"b\" \"a\" \"c\" \"a\")", "(list)",
            "(splitList \",\" \"x,y,,z\")", "(list 1 \"\" nil 0 \"x\")",
            "(until 5)", "(list (list 1) (dict \"a\" 1))"});
      case 'm':
        return Pick(std::vector<std::string>{
            "(dict \"a\" 1 \"b\" \"two\")", "(dict)",
            "(dict \"x\" (dict \"y\" \"z\") \"n\" nil)",
            "(dict \"a\" \"\" \"c\" 3)"});
      case 'r':
        return Pick(std::vector<std::string>{
            "\"[0-9]+\"", "\"a|b\"", "\"^a\"", "\"(\\\\w+):(\\\\w+)\"",
            "\"x*\"", "\"[\"", "\"\\\\.\"", "\"(?P<first>[a-z]+)\""});
      case 'R':
        return Pick(std::vector<std::string>{"\"<$1>\"", "\"${first}!\"",
                                             "\"\"", "\"$$\"", "\"-\""});
      case 'u':  // URLs, good and bad.
        return Pick(std::vector<std::string>{
            "\"https://u:p%40@h.io:8080/a%2Fb c?q=1#f%20\"", "\"mailto:a@b\"",
            "\"//h:/p\"", "\"a/b?\"", "\"1a:b\"", "\"http://[::1%25e]/\"",
            "\"http://x:8z\"", "\"*\"", "\"file:///x\"", "\"/a?b?c#d#e\""});
      case 'U':  // urlParse's dicts, and dicts of other shapes.
        return Pick(std::vector<std::string>{
            absl::StrCat("(urlParse ", Arg('u', depth), ")"),
            "(dict \"path\" \"a:b\" \"fragment\" \"#!\")",
            "(dict \"host\" \"h\" \"userinfo\" \"a:b@c\" \"path\" \"p\")",
            "(dict \"scheme\" 1)", "(dict)",
            "(dict \"opaque\" \"x\" \"query\" \"y\")"});
      case 'd':  // Go duration strings, good and bad, and int64s.
        return Pick(std::vector<std::string>{
            "\"1h30m\"", "\"-90s\"", "\"3600s\"", "\"1.5h\"", "\"0\"",
            "\"2562047h\"", "\".5us\"", "\"1d\"", "\"+40000h\"", "\"1h1\"",
            "\"\"", "(int64 86400000000001)", "(int64 -61000000000)",
            "1000000000000"});
      default:
        return Operand(depth);
    }
  }

  std::string Call(const std::string& want, int depth) {
    static const std::vector<Fn> kStringFns = {
        {"upper", "s"},
        {"lower", "s"},
        {"title", "s"},
        {"trim", "s"},
        {"trimAll", "ss"},
        {"trimPrefix", "ss"},
        {"trimSuffix", "ss"},
        {"replace", "sss"},
        {"repeat", "is"},
        {"substr", "iis"},
        {"trunc", "is"},
        {"abbrev", "is"},
        {"quote", "a"},
        {"squote", "a"},
        {"cat", "aa"},
        {"indent", "is"},
        {"nindent", "is"},
        {"wrap", "is"},
        {"nospace", "s"},
        {"initials", "s"},
        {"snakecase", "s"},
        {"camelcase", "s"},
        {"kebabcase", "s"},
        {"swapcase", "s"},
        {"untitle", "s"},
        {"toString", "a"},
        {"join", "sl"},
        {"b64enc", "s"},
        {"b64dec", "s"},
        {"b32enc", "s"},
        {"sha1sum", "s"},
        {"sha256sum", "s"},
        {"adler32sum", "s"},
        {"regexFind", "rs"},
        {"regexReplaceAll", "rsR"},
        {"regexReplaceAllLiteral", "rsR"},
        {"regexQuoteMeta", "s"},
        {"plural", "ssi"},
        {"toJson", "a"},
        {"toPrettyJson", "a"},
        {"toRawJson", "a"},
        {"base", "s"},
        {"dir", "s"},
        {"ext", "s"},
        {"clean", "s"},
        {"typeOf", "a"},
        {"kindOf", "a"},
        {"printf", "sa"},
        {"print", "aa"},
        {"abbrevboth", "iis"},
        {"wrapWith", "iss"},
        {"seq", "i"},
    };
    static const std::vector<Fn> kOtherFns = {
        {"contains", "ss"},
        {"hasPrefix", "ss"},
        {"hasSuffix", "ss"},
        {"default", "aa"},
        {"empty", "a"},
        {"coalesce", "aa"},
        {"ternary", "aab"},
        {"len", "a"},
        {"index", "la"},
        {"durationRound", "d"},
        {"urlParse", "u"},
        {"urlJoin", "U"},
        {"call", "aa"},
        {"eq", "aa"},
        {"ne", "aa"},
        {"lt", "aa"},
        {"le", "aa"},
        {"gt", "aa"},
        {"ge", "aa"},
        {"and", "aa"},
        {"or", "aa"},
        {"not", "a"},
        {"list", "aa"},
        {"first", "l"},
        {"last", "l"},
        {"rest", "l"},
        {"initial", "l"},
        {"append", "la"},
        {"prepend", "la"},
        {"concat", "ll"},
        {"reverse", "l"},
        {"uniq", "l"},
        {"without", "la"},
        {"has", "al"},
        {"compact", "l"},
        {"slice", "lii"},
        {"chunk", "il"},
        {"sortAlpha", "l"},
        {"dict", "sasa"},
        {"get", "ms"},
        {"hasKey", "ms"},
        {"pick", "ms"},
        {"omit", "ms"},
        {"merge", "mm"},
        {"pluck", "sm"},
        {"set", "msa"},
        {"unset", "ms"},
        {"add", "aa"},
        {"sub", "aa"},
        {"mul", "aa"},
        {"div", "aa"},
        {"mod", "aa"},
        {"max", "aa"},
        {"min", "aa"},
        {"add1", "a"},
        {"floor", "a"},
        {"ceil", "a"},
        {"round", "ai"},
        {"addf", "aa"},
        {"subf", "aa"},
        {"mulf", "aa"},
        {"divf", "aa"},
        {"int", "a"},
        {"int64", "a"},
        {"float64", "a"},
        {"atoi", "s"},
        {"toStrings", "l"},
        {"splitList", "ss"},
        {"split", "ss"},
        {"splitn", "sis"},
        {"regexMatch", "rs"},
        {"mustRegexMatch", "rs"},
        {"regexFindAll", "rsi"},
        {"regexSplit", "rsi"},
        {"fromJson", "s"},
        {"mustFromJson", "s"},
        {"deepEqual", "aa"},
        {"until", "i"},
        {"kindIs", "sa"},
        {"typeIs", "sa"},
        {"semverCompare", "ss"},
        {"all", "aa"},
        {"any", "aa"},
        {"fail", "s"},
        {"required", "sa"},
        {"println", "aa"},
        {"mustFirst", "l"},
        {"dig", "ssam"},
    };
    const Fn& fn =
        want == "s" || Int(2) == 0 ? Pick(kStringFns) : Pick(kOtherFns);
    std::vector<std::string> args;
    for (const char* c = fn.args; *c != '\0'; ++c) {
      args.push_back(Arg(*c, depth));
    }
    if (!args.empty() && Int(3) == 0) {
      // The last argument piped in.
      const std::string last = args.back();
      args.pop_back();
      return absl::StrCat(last, " | ", fn.name, args.empty() ? "" : " ",
                          absl::StrJoin(args, " "));
    }
    return absl::StrCat(fn.name, args.empty() ? "" : " ",
                        absl::StrJoin(args, " "));
  }

  std::string Pipeline(int depth) {
    if (Int(4) == 0) return Operand(depth);
    std::string out = Call("", depth);
    if (Int(4) == 0) {
      absl::StrAppend(
          &out, " | ",
          Pick(std::vector<std::string>{
              "upper", "quote", "len", "toString", "default \"d\"",
              "printf \"<%v>\"", "toJson", "trunc 3", "empty", "lower"}));
    }
    return out;
  }

  static inline const std::vector<std::string> kFormats = {
      "\"%s|%v\"", "\"%d %q\"", "\"%5.2f|%x\"", "\"%-6s|%06d\"",
      "\"%t %T\"", "\"%v\"",    "\"%c%%%e\"",   "\"%+d %g\""};

  std::mt19937 rng_;
  std::vector<std::string> vars_;
  std::vector<std::string> defined_;
};

}  // namespace ia::automation::testing

#endif  // TESTS_AUTOMATION_TEMPLATE_GENERATOR_H_
