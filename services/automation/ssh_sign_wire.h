// The SSH wire encoding (RFC 4251 section 5) that OpenSSH's key and
// signature formats are made of: uint32, string (a length and bytes) and
// mpint (a minimal two's-complement big-endian integer). SshReader reads a
// buffer it does not own and fails softly (every read says whether it
// fitted); SshWriter appends to a string.
//
// Values; thread-compatible.
#ifndef SERVICES_AUTOMATION_SSH_SIGN_WIRE_H_
#define SERVICES_AUTOMATION_SSH_SIGN_WIRE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ia::automation::ssh_internal {

class SshReader {
 public:
  explicit SshReader(absl::string_view data) : rest_(data) {}

  // Each returns false, consuming nothing, when the buffer is too short.
  bool ReadUint32(uint32_t* value);
  bool ReadString(absl::string_view* value);
  // `n` raw bytes.
  bool ReadBytes(size_t n, absl::string_view* value);

  absl::string_view rest() const { return rest_; }
  bool empty() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

class SshWriter {
 public:
  void PutUint32(uint32_t value);
  void PutString(absl::string_view value);
  // `magnitude`: an unsigned big-endian integer (leading zeros allowed).
  void PutMpint(absl::string_view magnitude);
  void PutRaw(absl::string_view bytes) {
    out_.append(bytes.data(), bytes.size());
  }

  const std::string& data() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace ia::automation::ssh_internal

#endif  // SERVICES_AUTOMATION_SSH_SIGN_WIRE_H_
