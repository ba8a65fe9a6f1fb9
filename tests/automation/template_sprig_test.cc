// Table tests of the template engine's Go language and Sprig functions
// (template.h, template_functions.h), rendered over Flux's template data.
// Each expected output is what Go's text/template with Sprig's hermetic
// functions (template-ref, shared/tools) printed for the same template
// and data; each expected error is the tail of Go's message.
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "services/automation/commit_message.h"
#include "services/automation/template.h"

namespace ia::automation {
namespace {

using ::testing::HasSubstr;

constexpr char kError[] = "<error>";

struct Case {
  const char* tmpl;
  const char* want;        // The output, or kError.
  const char* error = "";  // With kError: a part of Go's message.
};

// The data of template-ref's README example.
CommitMessageData Data() {
  CommitMessageData data;
  data.automation_namespace = "flux-system";
  data.automation_name = "my-app-automation";
  data.values = {{"env", "prod"}};
  Change c;
  c.file = c.file_in_path = "apps/deploy.yaml";
  c.object = {"apps/v1", "Deployment", "my-app", "my-app"};
  c.setter = "flux-system:my-app";
  c.old_value = "docker.io/myorg/my-app:1.2.3";
  c.new_value = "docker.io/myorg/my-app:1.3.0";
  data.changes = {c};
  return data;
}

const Case kCases[] = {
    {"{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" \"a\" }}{{ "
     "template \"x\" }}{{ block \"y\" 3 }}<{{ . }}>{{ end }}",
     "[a][<no value>]<3>"},
    {"{{ with .Values.env }}{{ . }}{{ end }}{{ with .Values.nope }}no{{ else "
     "}}else{{ end }}",
     "prodelse"},
    {"{{ range $i, $v := list \"a\" \"b\" \"c\" }}{{ if eq $i 1 }}{{ continue "
     "}}{{ end }}{{ $i }}{{ $v }}{{ end }}",
     "0a2c"},
    {"{{ range list 1 2 3 4 }}{{ if gt . 2 }}{{ break }}{{ end }}{{ . }}{{ end "
     "}}",
     "12"},
    {"{{ (list 1 2).a }}", kError,
     "can't evaluate field a in type []interface {}"},
    {"{{ and 1 0 (fail \"not evaluated\") }} {{ or 0 \"\" \"x\" (fail \"not "
     "evaluated\") }}",
     "0 x"},
    {"{{ eq 1 2 3 1 }} {{ lt 1.5 2.5 }} {{ ge \"b\" \"a\" }} {{ le 2 2 }}",
     "true true true true"},
    {"{{ lt 1 2.0 }}", kError,
     "error calling lt: incompatible types for comparison"},
    {"{{ eq (list 1) (list 1) }}", kError,
     "error calling eq: non-comparable type"},
    {"{{ dict \"b\" 2 \"a\" (list 1 \"x\" nil) }} {{ list }} {{ .Values.nope "
     "}} {{ index .Values \"nope\" | printf \"%q\" }}",
     "map[a:[1 x <nil>] b:2] [] <no value> \"\""},
    {"{{- \"a\" -}} {{- /* c */ -}} {{ `raw\\n` }} {{ 'a' }} {{ '\\n' }} {{ "
     "0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }} {{ 1.5 }} {{ 1e3 }} "
     "{{ .5 }} {{ 1e6 }} {{ 0.00001 }} {{ -0 }}",
     "araw\\n 97 10 31 15 15 5 1000 1.5 1000 0.5 1e+06 1e-05 0"},
    {"{{ printf \"%5.2f|%-4s|%04d|%x|%X|%q|%v|%T|%c|%e|%g|%+d|%t\" 3.14159 "
     "\"ab\" 42 255 \"hi\" \"q\" (list 1 2) 1.5 65 1234.5 0.5 3 true }}",
     " 3.14|ab  |0042|ff|6869|\"q\"|[1 2]|float64|A|1.234500e+03|0.5|+3|true"},
    {"{{ printf \"%d %s\" \"x\" }}", "%!d(string=x) %!s(MISSING)"},
    {"{{ lower \"HeLLo\" }} {{ upper \"abc\" }} {{ title \"hello wide-world\" "
     "}} {{ untitle \"Hello World\" }} {{ trim \"  x  \" }} {{ trimAll \"-\" "
     "\"--x--\" }} {{ trimPrefix \"a\" \"abc\" }} {{ trimSuffix \"c\" \"abc\" "
     "}}",
     "hello ABC Hello Wide-World hello world x x bc ab"},
    {"{{ contains \"5.0.3\" \"img:5.0.3\" }} {{ hasPrefix \"a\" \"abc\" }} {{ "
     "hasSuffix \"x\" \"abc\" }} {{ replace \"a\" \"o\" \"banana\" }} {{ "
     "repeat 3 \"ab\" }} {{ substr 1 3 \"hello\" }} {{ trunc 3 \"hello\" }} {{ "
     "trunc -2 \"hello\" }}",
     "true true false bonono ababab el hel lo"},
    {"{{ abbrev 5 \"hello world\" }} {{ abbrevboth 5 10 \"1234 5678 9123\" }} "
     "{{ quote \"a\\\"b\" 1 nil }} {{ squote \"a\" 2 }} {{ cat \"a\" 1 nil "
     "\"b\" }} {{ nospace \"a b\\tc\" }} {{ initials \"Hello big World\" }}",
     "he... ...5678... \"a\\\"b\" \"1\" 'a' '2' a 1 b abc HbW"},
    {"{{ indent 2 \"a\\nb\" }}|{{ nindent 2 \"x\" }}|{{ wrap 5 \"hello world "
     "foo\" }}|{{ wrapWith 5 \"+\" \"hello world\" }}",
     "  a\n  b|\n  x|hello\nworld\nfoo|hello+world"},
    {"{{ splitList \",\" \"a,b,,c\" }} {{ split \"/\" \"a/b\" }} {{ splitn "
     "\"/\" 2 \"a/b/c\" }} {{ join \"-\" (list 1 \"b\" nil 3) }} {{ sortAlpha "
     "(list \"b\" \"a\" \"C\") }} {{ plural \"one\" \"many\" 2 }} {{ toStrings "
     "(list 1 nil \"x\") }}",
     "[a b  c] map[_0:a _1:b] map[_0:a _1:b/c] 1-b-3 [C a b] many [1 x]"},
    {"{{ snakecase \"HTTPServerError\" }} {{ camelcase \"foo_bar-baz qux\" }} "
     "{{ kebabcase \"FirstName2x\" }} {{ swapcase \"Hello\" }} {{ snakecase "
     "\"Bld4Floor3rd\" }}",
     "http_server_error FooBarBazQux first-name-2x hELLO bld4_floor_3rd"},
    {"{{ default \"d\" \"\" }} {{ default \"d\" \"v\" }} {{ \"\" | default "
     "\"d\" }} {{ default \"d\" 0 }} {{ default \"d\" (list) }} {{ empty 0.0 "
     "}} {{ empty (dict) }} {{ coalesce \"\" 0 \"x\" }} {{ ternary \"y\" \"n\" "
     "true }} {{ all 1 \"a\" }} {{ any 0 \"\" }}",
     "d v d d d true true x y true false"},
    {"{{ toJson (dict \"b\" (list 1 2.5 nil true) \"a\" \"<x>\" \"c\" 1e21) }} "
     "{{ toRawJson \"<x>\" }} {{ toPrettyJson (dict \"a\" (list 1) \"e\" "
     "(dict)) }}",
     "{\"a\":\"\\u003cx\\u003e\",\"b\":[1,2.5,null,true],\"c\":1e+21} \"<x>\" "
     "{\n  \"a\": [\n    1\n  ],\n  \"e\": {}\n}"},
    {"{{ fromJson \"{\\\"a\\\": [1, 2.5, \\\"x\\\", null, true]}\" }} {{ "
     "fromJson \"bad\" }} {{ (fromJson \"{\\\"a\\\":{\\\"b\\\":1}}\").a.b }}",
     "map[a:[1 2.5 x <nil> true]] <no value> 1"},
    {"{{ toString 1.5 }} {{ int \"42\" }} {{ int 3.9 }} {{ int64 \"0x10\" }} "
     "{{ float64 \"1.5\" }} {{ atoi \"12\" }} {{ atoi \"x\" }} {{ typeOf "
     "(int64 1) }} {{ kindOf (list) }} {{ toDecimal \"777\" }}",
     "1.5 42 3 16 1.5 12 0 int64 slice 511"},
    {"{{ list 1 2 | first }} {{ list 1 2 | last }} {{ rest (list 1 2 3) }} {{ "
     "initial (list 1 2 3) }} {{ append (list 1) 2 }} {{ prepend (list 1) 0 }} "
     "{{ concat (list 1) (list 2 3) }} {{ reverse (list 1 2 3) }}",
     "1 2 [2 3] [1 2] [1 2] [0 1] [1 2 3] [3 2 1]"},
    {"{{ uniq (list 1 1 \"a\" \"a\") }} {{ without (list 1 2 3) 2 }} {{ has 2 "
     "(list 1 2) }} {{ compact (list 0 \"\" \"a\" nil 1) }} {{ slice (list 1 2 "
     "3 4) 1 3 }} {{ chunk 2 (list 1 2 3) }} {{ until 3 }} {{ untilStep 0 10 4 "
     "}} {{ seq 3 }}",
     "[1 a] [1 3] true [a 1] [2 3] [[1 2] [3]] [0 1 2] [0 4 8] 1 2 3"},
    {"{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $d }} {{ unset $d "
     "\"a\" }} {{ get $d \"b\" }} {{ get $d \"z\" }} {{ hasKey $d \"b\" }} {{ "
     "keys (dict \"b\" 1 \"a\" 2) | sortAlpha }} {{ pick (dict \"a\" 1 \"b\" "
     "2) \"a\" }} {{ omit (dict \"a\" 1 \"b\" 2) \"a\" }} {{ merge (dict \"a\" "
     "1) (dict \"a\" 2 \"b\" 3) }} {{ pluck \"a\" (dict \"a\" 1) (dict \"a\" "
     "2) }}",
     "map[a:1 b:2] map[b:2] 2  true [a b] map[a:1] map[b:2] map[a:1 b:3] [1 "
     "2]"},
    {"{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 "
     "}} {{ add1 1 }} {{ max 1 5 3 }} {{ min 4 2 }} {{ floor 1.7 }} {{ ceil "
     "1.2 }} {{ round 1.2345 2 }} {{ addf 0.1 0.2 }} {{ subf 1 0.9 }} {{ mulf "
     "1.1 3 }} {{ divf 1 3 }}",
     "6 3 24 3 1 2 5 2 1 2 1.23 0.3 0.1 3.3 0.3333333333333333"},
    {"{{ b64enc \"hello\" }} {{ b64dec \"aGVsbG8=\" }} {{ b64dec \"ab\" }} {{ "
     "b32enc \"hi\" }} {{ b32dec \"NBUQ====\" }} {{ sha1sum \"abc\" }} {{ "
     "sha256sum \"abc\" }} {{ adler32sum \"abc\" }}",
     "aGVsbG8= hello illegal base64 data at input byte 0 NBUQ==== hi "
     "a9993e364706816aba3e25717850c26c9cd0d89d "
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "
     "38600999"},
    {"{{ regexMatch \"^[a-z]+$\" \"abc\" }} {{ regexFind \"[0-9]+\" \"a12b34\" "
     "}} {{ regexFindAll \"[0-9]\" \"a1b2c3\" 2 }} {{ regexReplaceAll "
     "\"(\\\\w+):(\\\\w+)\" \"a:b c:d\" \"$2=$1\" }} {{ regexReplaceAllLiteral "
     "\"a\" \"banana\" \"$1\" }} {{ regexSplit \"[,;]\" \"a,b;c\" -1 }} {{ "
     "regexQuoteMeta \"a.b*c\" }}",
     "true 12 [1 2] b=a d=c b$1n$1n$1 [a b c] a\\.b\\*c"},
    {"{{ semverCompare \">=1.2.0\" \"1.3.0\" }} {{ semverCompare \"^1.2\" "
     "\"2.0.0\" }} {{ (semver \"v1.2.3-rc.1+b\").Major }} {{ semver \"1.2\" }} "
     "{{ (semver \"1.2.3\").Prerelease }}",
     "true false 1 1.2.0 "},
    {"{{ base \"a/b/c.txt\" }} {{ dir \"a/b/c.txt\" }} {{ ext \"c.tar.gz\" }} "
     "{{ clean \"a//b/../c\" }} {{ isAbs \"/x\" }}",
     "c.txt a/b .gz a/c true"},
    {"{{ .AutomationObject }} {{ .AutomationObject.Namespace | upper }} {{ len "
     ".Changed.Changes }} {{ range $id, $cs := .Changed.Objects }}{{ $id.Kind "
     "| lower }}{{ end }}",
     "flux-system/my-app-automation FLUX-SYSTEM 1 deployment"},
    {"{{ repeat (add 1 2) \"x\" }}", kError,
     "wrong type for value; expected int; got int64"},
    {"{{ upper 3 }}", kError, "expected string; found 3"},
    {"{{ fail \"boom\" }}", kError, "error calling fail: boom"},
    {"{{ mustRegexFind \"[\" \"x\" }}", kError,
     "error calling mustRegexFind: error parsing regexp: missing"},
    {"{{ first \"abc\" }}", kError,
     "error calling first: Cannot find first on type string"},
    {"{{ div 1 0 }}", kError,
     "error calling div: runtime error: integer divide by zero"},
    {"{{ template \"nope\" }}", kError, "template \"nope\" not defined"},
    {"{{ get .Values \"x\" }}", kError,
     "wrong type for value; expected map[string]interface {}; got "
     "map[string]string"},
    {"{{ index (list 1 2) 2 }}", kError,
     "error calling index: reflect: slice index out of range"},
    {"{{ mustToJson (list) | mustFromJson | len }}{{ mustFromJson \"{\" }}",
     kError, "error calling mustFromJson: unexpected end of JSON input"},
    // Nil slices and maps, number conversions, decimal division,
    // fmt corner cases, and errors with Go's whole message.
    {"{{ eq (regexFindAll \"x\" \"a\" -1) nil }} {{ rest (list) | toJson }} {{ "
     "concat | toJson }} {{ list | toJson }} {{ eq (list) nil }}",
     "true null null [] false"},
    {"{{ divf 1 7 }} {{ divf 2 3 }} {{ chunk -3 (list 1 2) }} {{ floor "
     "\"0x1F\" }} {{ float64 \"1_000.5\" }} {{ float64 \"inf\" }}",
     "0.1428571428571429 0.6666666666666667 [] 0 1000.5 +Inf"},
    {"{{ printf \"%06d|%-4v|\" (list 1 nil) nil }}", "[000001 <nil>]|<nil>|"},
    // A range over a dict its body changes iterates over a snapshot.
    {"{{ $d := dict \"a\" 1 \"b\" 2 \"c\" 3 }}{{ range $k, $v := $d }}"
     "{{ $k }}={{ $v }} {{ $_ := set $d \"z\" 9 }}{{ $_ := unset $d \"c\" }}"
     "{{ $_ := set $d \"b\" 7 }}{{ end }}{{ $d }} {{ merge $d }}",
     "a=1 b=2 c=3 map[a:1 b:7 z:9] map[a:1 b:7 z:9]"},
    {"{{ chunk -1 (list 1 2 3) }}", kError,
     "error calling chunk: runtime error: makeslice: len out of range"},
    {"{{ chunk 0 (list) }}", kError,
     "error calling chunk: runtime error: makeslice: len out of range"},
    {"{{ set nil \"a\" 1 }}", kError,
     "template: commit message:1:3: executing \"commit message\" at <set nil "
     "\"a\" 1>: error calling set: assignment to entry in nil map"},
    {"{{ dig \"a\" 1e3 \"d\" (dict) }}", kError,
     "template: commit message:1:3: executing \"commit message\" at <dig \"a\" "
     "1e3 \"d\" (dict)>: error calling dig: interface conversion: interface {} "
     "is float64, not string"},
    {"{{ .AutomationObject.Name.First }}", kError,
     "template: commit message:1:20: executing \"commit message\" at "
     "<.AutomationObject.Name.First>: can't evaluate field First in type "
     "string"},
    {"{{ printf \"%x %X %c %q\" 1.5 \"hi\" -1 65 }}", "0x1.8p+00 6869 � 'A'"},
    // Go's html, js and urlquery builtins; hello and duration.
    {"{{ html \"<a href=\\\"x\\\">&'\" }} {{ js \"a\\\\b'\\\"<>&= \xc3\xa9"
     "\\n\" }} {{ urlquery \"a b&c=d/\xc3\xa9"
     "~\" }} {{ html 1 2 \"x\" .Values.nope }}",
     "&lt;a href=&#34;x&#34;&gt;&amp;&#39; "
     "a\\\\b\\'\\\"\\u003C\\u003E\\u0026\\u003D \xc3\xa9"
     "\\u000A a+b%26c%3Dd%2F%C3%A9~ 1 2x&lt;no value&gt;"},
    {"{{ hello }} {{ duration \"59\" }} {{ duration (int64 3661) }} {{ "
     "duration \"-90\" }} {{ duration 1.5 }} {{ duration \"99999999999\" }}",
     "Hello! 59s 1h1m1s -1m30s 0s 2157299h53m50.45224192s"},
    // durationRound: Go duration strings and int64 nanoseconds, in whole
    // units of the largest unit strictly exceeded; anything else is 0s.
    {"{{ durationRound \"1h30m\" }} {{ durationRound \"3600s\" }} {{ "
     "durationRound \"-90s\" }} {{ durationRound \"1.5us\" }} {{ durationRound "
     "\"1d\" }} {{ durationRound (int64 86400000000001) }} {{ durationRound "
     "1000000000000 }} {{ durationRound \"9000h\" }} {{ durationRound "
     "\"20000h\" }} {{ durationRound \".5m\" }} {{ durationRound \"0\" }}",
     "1h 60m 1m 0s 0s 1d 0s 1y 2y 30s 0s"},
    // randInt's empty range; shuffle of nothing, one rune, a bad byte.
    {"{{ randInt 2 2 }}", kError,
     "error calling randInt: invalid argument to Intn"},
    {"{{ randInt 5 1 }}", kError,
     "error calling randInt: invalid argument to Intn"},
    {"{{ shuffle \"\" }}|{{ shuffle \"a\" }}|{{ shuffle \"h\\xe9llo\\xff\" | "
     "len }}",
     "|a|10"},
    // derivePassword: Master Password's scrypt + HMAC; a uint32 counter
    // (literals keep their low 32 bits; only unsigned literals fit).
    {"{{ derivePassword 1 \"long\" \"password\" \"user\" \"example.com\" }} {{ "
     "derivePassword 2 \"maximum\" \"pw\" \"\" \"site\" }} {{ derivePassword "
     "4294967297 \"pin\" \"p\" \"u\" \"s\" }} {{ derivePassword 1 \"pin\" "
     "\"p\" "
     "\"u\" \"s\" }} {{ derivePassword 0 \"nope\" \"p\" \"u\" \"s\" }} {{ "
     "derivePassword 3 \"basic\" \"\xc3\xa9\" \"\xc3\xbc\" \"s\" }} {{ "
     "derivePassword 1.0 \"pin\" \"p\" \"u\" \"s\" }}",
     "ZedaFaxcZaso9* E^k5#^$pFu1DLjDFfR1= 2461 2461 cannot find password "
     "template nope WSr0Iza8 2461"},
    {"{{ derivePassword -1 \"pin\" \"p\" \"u\" \"s\" }}", kError,
     "at <-1>: expected unsigned integer; found -1"},
    {"{{ derivePassword \"1\" \"pin\" \"p\" \"u\" \"s\" }}", kError,
     "expected unsigned integer; found \"1\""},
    {"{{ derivePassword (int64 1) \"pin\" \"p\" \"u\" \"s\" }}", kError,
     "wrong type for value; expected uint32; got int64"},
    // encryptAES/decryptAES: ciphertexts template-ref's encryptAES made
    // (the second key longer than 32 bytes, so cut), a round trip, a fresh
    // IV each time, and Go's errors for malformed ciphertexts.
    {"{{ decryptAES \"secret\" "
     "\"keDIgEnnlB+81iyK8np0Lhw2fy2RDf2UTrYM+CVAZNY=\" }}|{{ decryptAES "
     "\"0123456789abcdef0123456789abcdefXYZ\" "
     "\"mt0g/v4uY/AjJywkKQEMhH6ezKcENox7msd+w87dVNQF44TqB9J+vv1hdZrTXW4B\" "
     "}}|{{ encryptAES \"k\" \"\" }}|{{ decryptAES \"k\" \"\" }}|{{ encryptAES "
     "\"pw\" \"a longer message, over two blocks\" | decryptAES \"pw\" }}|{{ "
     "eq "
     "(encryptAES \"k\" \"x\") (encryptAES \"k\" \"x\") }}|{{ encryptAES \"k\" "
     "\"0123456789abcdef\" | b64dec | len }}",
     "hello world|sixteen bytes!!!|||a longer message, over two blocks|false|"
     "48"},
    {"{{ decryptAES \"k\" \"!!\" }}", kError,
     "error calling decryptAES: illegal base64 data at input byte 0"},
    {"{{ decryptAES \"k\" \"YWJj\" }}", kError,
     "error calling decryptAES: runtime error: slice bounds out of range "
     "[:16] with capacity 3"},
    {"{{ decryptAES \"k\" "
     "\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYx\" }}",
     kError, "error calling decryptAES: crypto/cipher: input not full blocks"},
    {"{{ decryptAES \"k\" \"MDEyMzQ1Njc4OWFiY2RlZg==\" }}", kError,
     "error calling decryptAES: runtime error: index out of range [-1]"},
    {"{{ decryptAES \"k\" "
     "\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\" }}",
     kError,
     "error calling decryptAES: runtime error: slice bounds out of range "
     "[:-233]"},
    // call: template values hold no functions.
    {"{{ call \"x\" }}", kError,
     "at <call \"x\">: error calling call: non-function of type string"},
    {"{{ call .Values }}", kError,
     "error calling call: non-function of type map[string]string"},
    {"{{ call .Values.nope 1 }}", kError, "error calling call: call of nil"},
    {"{{ call }}", kError,
     "wrong number of args for call: want at least 1 got 0"},
    // urlParse and urlJoin: Go's net/url.
    {"{{ urlParse \"HTTPS://u%41:p%40ss@[fe80::1%25en0]:8080/a%2Fb c/?x=1&y=%zz"
     "#fr%20ag!\" | toJson }}",
     "{\"fragment\":\"fr ag!\",\"host\":\"[fe80::1%en0]:8080\",\"hostname\":"
     "\"fe80::1%en0\",\"opaque\":\"\",\"path\":\"/a/b c/\",\"query\":"
     "\"x=1\\u0026y=%zz\",\"scheme\":\"https\",\"userinfo\":\"uA:p%40ss\"}"},
    {"{{ urlParse \"mailto:joe@x.org?subject=hi\" | toJson }} {{ urlParse "
     "\"file:///etc/hosts\" | toJson }} {{ urlParse \"//h:/p\" | toJson }} {{ "
     "urlParse \"a/b?\" | toJson }}",
     "{\"fragment\":\"\",\"host\":\"\",\"hostname\":\"\",\"opaque\":"
     "\"joe@x.org\",\"path\":\"\",\"query\":\"subject=hi\",\"scheme\":"
     "\"mailto\",\"userinfo\":\"\"} {\"fragment\":\"\",\"host\":\"\","
     "\"hostname\":\"\",\"opaque\":\"\",\"path\":\"/etc/hosts\",\"query\":\"\","
     "\"scheme\":\"file\",\"userinfo\":\"\"} {\"fragment\":\"\",\"host\":"
     "\"h:\",\"hostname\":\"h\",\"opaque\":\"\",\"path\":\"/p\",\"query\":\"\","
     "\"scheme\":\"\",\"userinfo\":\"\"} {\"fragment\":\"\",\"host\":\"\","
     "\"hostname\":\"\",\"opaque\":\"\",\"path\":\"a/b\",\"query\":\"\","
     "\"scheme\":\"\",\"userinfo\":\"\"}"},
    {"{{ urlJoin (dict \"scheme\" \"https\" \"host\" \"h.io:443\" \"path\" \"a "
     "b/?c\" \"query\" \"q=1\" \"fragment\" \"f g#(!)\" \"userinfo\" "
     "\"us%20er:p@ss\") }} {{ urlJoin (dict \"path\" \"a:b\") }} {{ urlJoin "
     "(dict \"scheme\" \"mailto\" \"opaque\" \"joe@x\" \"query\" \"\") }} {{ "
     "urlJoin (dict \"host\" \"h\" \"path\" \"p\") }} {{ urlJoin (dict "
     "\"userinfo\" \"a/b\" \"host\" \"h\") }} {{ urlJoin (dict \"path\" \"*\") "
     "}} {{ urlJoin (dict \"host\" \"a b\") }} {{ urlJoin (urlParse "
     "\"HTTPS://u%41:p%40ss@[fe80::1%25en0]:8080/a%2Fb "
     "c/?x=1&y=%zz#fr%20ag!\") "
     "}}",
     "https://us%20er:p%40ss@h.io:443/a%20b/%3Fc?q=1#f%20g%23(!) ./a:b "
     "mailto:joe@x //h/p //h * //a%20b "
     "https://uA:p%40ss@[fe80::1%25en0]:8080/a/b%20c/?x=1&y=%zz#fr%20ag!"},
    {"{{ urlParse \"http://x:8z/\" }}", kError,
     "error calling urlParse: unable to parse url: parse \"http://x:8z/\": "
     "invalid port \":8z\" after host"},
    {"{{ urlParse \"1a:b\" }}", kError,
     "parse \"1a:b\": first path segment in URL cannot contain colon"},
    {"{{ urlParse \"http://a b.com/\" }}", kError,
     "invalid character \" \" in host name"},
    {"{{ urlParse \"http://%41/\" }}", kError, "invalid URL escape \"%41\""},
    {"{{ urlParse \"http://x/#%zz\" }}", kError,
     "parse \"http://x/#%zz\": invalid URL escape \"%zz\""},
    {"{{ urlParse \"x\\n\" }}", kError,
     "net/url: invalid control character in URL"},
    {"{{ urlParse \":x\" }}", kError, "parse \":x\": missing protocol scheme"},
    {"{{ urlJoin (dict \"userinfo\" \"a b\") }}", kError,
     "error calling urlJoin: unable to parse userinfo in dict: parse "
     "\"proto://a b@host\": net/url: invalid userinfo"},
    {"{{ urlJoin (dict \"host\" 1) }}", kError,
     "error calling urlJoin: unable to parse host key, must be of type "
     "string, but int found"},
    {"{{ urlJoin (dict \"host\" nil) }}", kError,
     "error calling urlJoin: runtime error: invalid memory address or nil "
     "pointer dereference"},
};

TEST(TemplateLanguageAndSprigTest, RendersAsGoAndSprigDo) {
  const CommitMessageData data = Data();
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.tmpl);
    absl::StatusOr<Template> t = Template::Parse("commit message", c.tmpl);
    absl::StatusOr<std::string> out =
        t.ok() ? t->Execute(BuildCommitTemplateData(data))
               : absl::StatusOr<std::string>(t.status());
    if (std::string(c.want) == kError) {
      ASSERT_FALSE(out.ok()) << *out;
      EXPECT_THAT(std::string(out.status().message()), HasSubstr(c.error));
    } else {
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_EQ(*out, c.want);
    }
  }
}

// randInt and shuffle are random: randInt stays in [min, max) and reaches
// every value of it; shuffle permutes the runes and not always the same way.
TEST(TemplateLanguageAndSprigTest, RandomFunctionsDrawInRangeAndPermute) {
  const CommitMessageData data = Data();
  auto render = [&](const char* tmpl) {
    absl::StatusOr<Template> t = Template::Parse("commit message", tmpl);
    EXPECT_TRUE(t.ok()) << t.status();
    if (!t.ok()) return std::string();
    absl::StatusOr<std::string> out = t->Execute(BuildCommitTemplateData(data));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : std::string();
  };
  std::set<std::string> ints;
  for (const absl::string_view n : absl::StrSplit(
           render("{{ range until 300 }}{{ randInt -2 2 }} {{ end }}"), ' ',
           absl::SkipEmpty())) {
    ints.insert(std::string(n));
  }
  EXPECT_THAT(ints, ::testing::ElementsAre("-1", "-2", "0", "1"));

  std::set<std::string> orders;
  for (const absl::string_view word :
       absl::StrSplit(render("{{ range until 50 }}{{ shuffle \"a\xc3\xa9"
                             "cdefg\" }} {{ end }}"),
                      ' ', absl::SkipEmpty())) {
    std::string sorted(word);
    std::sort(sorted.begin(), sorted.end());
    std::string want =
        "a\xc3\xa9"
        "cdefg";
    std::sort(want.begin(), want.end());
    EXPECT_EQ(sorted, want) << word;
    EXPECT_NE(word.find("\xc3\xa9"), absl::string_view::npos) << word;
    orders.insert(std::string(word));
  }
  EXPECT_GT(orders.size(), 1u);
}

// bcrypt and htpasswd salt at random: each hash has Go's form ($2a$, cost
// 10) and verifies against its password by crypt(3), which also verifies a
// hash template-ref's bcrypt made (so the two agree on the format).
TEST(TemplateLanguageAndSprigTest, BcryptHashesVerify) {
  auto verifies = [](const std::string& password, const std::string& hash) {
    crypt_data data{};
    const char* again = crypt_rn(password.c_str(), hash.c_str(), &data,
                                 static_cast<int>(sizeof(data)));
    return again != nullptr && hash == again;
  };
  EXPECT_TRUE(verifies(
      "pw", "$2a$10$uQSfGQQSvk5YsMqJ12sl0.jrzpqqAyji/E2wgGEnUgY2yln/CgF9y"));
  EXPECT_FALSE(verifies(
      "px", "$2a$10$uQSfGQQSvk5YsMqJ12sl0.jrzpqqAyji/E2wgGEnUgY2yln/CgF9y"));

  const CommitMessageData data = Data();
  absl::StatusOr<Template> t = Template::Parse(
      "commit message",
      "{{ bcrypt \"pw\" }} {{ bcrypt \"pw\" }} {{ htpasswd \"user\" \"s3cret\" "
      "}} {{ htpasswd \"a:b\" \"pw\" }}");
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<std::string> out = t->Execute(BuildCommitTemplateData(data));
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<std::string> parts = absl::StrSplit(*out, ' ');
  ASSERT_EQ(parts.size(), 6u) << *out;
  for (const std::string& hash : {parts[0], parts[1]}) {
    EXPECT_TRUE(absl::StartsWith(hash, "$2a$10$")) << hash;
    EXPECT_EQ(hash.size(), 60u) << hash;
    EXPECT_TRUE(verifies("pw", hash)) << hash;
  }
  EXPECT_NE(parts[0], parts[1]);
  ASSERT_TRUE(absl::StartsWith(parts[2], "user:$2a$10$")) << parts[2];
  EXPECT_TRUE(verifies("s3cret", parts[2].substr(5)));
  EXPECT_EQ(absl::StrCat(parts[3], " ", parts[4], " ", parts[5]),
            "invalid username: a:b");
}

// genPrivateKey's keys are random: each parses with libcrypto as the
// algorithm and size Sprig generates, under the PEM header Go's encoders
// write (checked against template-ref's output: traditional RSA, DSA and
// EC forms, PKCS#8 for ed25519).
TEST(TemplateLanguageAndSprigTest, GenPrivateKeyMakesKeysOpenSslReads) {
  const CommitMessageData data = Data();
  auto render = [&](const std::string& tmpl) {
    absl::StatusOr<Template> t = Template::Parse("commit message", tmpl);
    EXPECT_TRUE(t.ok()) << t.status();
    if (!t.ok()) return std::string();
    absl::StatusOr<std::string> out = t->Execute(BuildCommitTemplateData(data));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : std::string();
  };
  struct KeyCase {
    const char* type;
    const char* header;
    int id;
    int bits;
  };
  const KeyCase cases[] = {
      {"rsa", "-----BEGIN RSA PRIVATE KEY-----\n", EVP_PKEY_RSA, 4096},
      {"", "-----BEGIN RSA PRIVATE KEY-----\n", EVP_PKEY_RSA, 4096},
      {"dsa", "-----BEGIN DSA PRIVATE KEY-----\n", EVP_PKEY_DSA, 2048},
      {"ecdsa", "-----BEGIN EC PRIVATE KEY-----\n", EVP_PKEY_EC, 256},
      {"ed25519", "-----BEGIN PRIVATE KEY-----\n", EVP_PKEY_ED25519, 256},
  };
  for (const KeyCase& c : cases) {
    SCOPED_TRACE(c.type);
    const std::string pem =
        render(absl::StrCat("{{ genPrivateKey \"", c.type, "\" }}"));
    EXPECT_TRUE(absl::StartsWith(pem, c.header)) << pem;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ASSERT_NE(key, nullptr) << pem;
    EXPECT_EQ(EVP_PKEY_get_base_id(key), c.id);
    EXPECT_EQ(EVP_PKEY_get_bits(key), c.bits);
    EVP_PKEY_CTX* check = EVP_PKEY_CTX_new(key, nullptr);
    EXPECT_EQ(EVP_PKEY_pairwise_check(check), 1);
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_free(key);
  }
  EXPECT_EQ(render("{{ genPrivateKey \"x\" }}"), "Unknown type x");
}

// A template can never hang or exhaust memory: recursion, nested loops and
// functions that build large values all stop with a clear error.
TEST(TemplateLanguageAndSprigTest, LimitsStopRunawayTemplates) {
  const CommitMessageData data = Data();
  auto error_of = [&](const char* tmpl) {
    absl::StatusOr<Template> t = Template::Parse("commit message", tmpl);
    EXPECT_TRUE(t.ok()) << t.status();
    if (!t.ok()) return std::string();
    absl::StatusOr<std::string> out = t->Execute(BuildCommitTemplateData(data));
    EXPECT_FALSE(out.ok());
    return out.ok() ? std::string() : std::string(out.status().message());
  };
  EXPECT_THAT(error_of("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}"
                       "{{ template \"r\" . }}"),
              HasSubstr("exceeded maximum template depth (100)"));
  EXPECT_THAT(error_of("{{ range until 100000 }}{{ range until 100000 }}"
                       "{{ end }}{{ end }}"),
              HasSubstr("template execution exceeded 1000000 steps"));
  EXPECT_THAT(error_of("{{ repeat 1000000000 \"x\" }}"),
              HasSubstr("error calling repeat: the value built by repeat "
                        "exceeds the limit of 1048576"));
  EXPECT_THAT(error_of("{{ until 100000000 }}"),
              HasSubstr("the value built by until exceeds the limit"));
  EXPECT_THAT(error_of("{{ $s := \"ab\" }}{{ range until 64 }}"
                       "{{ $s = cat $s $s }}{{ end }}"),
              HasSubstr("the value built by cat exceeds the limit"));
  EXPECT_THAT(error_of("{{ indent 100000000 \"a\\nb\" }}"),
              HasSubstr("the value built by indent exceeds the limit"));
}

}  // namespace
}  // namespace ia::automation
