#include "services/automation/ssh_sign_wire.h"

namespace ia::automation::ssh_internal {

bool SshReader::ReadUint32(uint32_t* value) {
  if (rest_.size() < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(rest_.data());
  *value = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
           (uint32_t{p[2]} << 8) | p[3];
  rest_.remove_prefix(4);
  return true;
}

bool SshReader::ReadBytes(size_t n, absl::string_view* value) {
  if (rest_.size() < n) return false;
  *value = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

bool SshReader::ReadString(absl::string_view* value) {
  const absl::string_view saved = rest_;
  uint32_t size;
  if (!ReadUint32(&size) || !ReadBytes(size, value)) {
    rest_ = saved;
    return false;
  }
  return true;
}

void SshWriter::PutUint32(uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void SshWriter::PutString(absl::string_view value) {
  PutUint32(static_cast<uint32_t>(value.size()));
  out_.append(value.data(), value.size());
}

void SshWriter::PutMpint(absl::string_view magnitude) {
  while (!magnitude.empty() && magnitude.front() == '\0') {
    magnitude.remove_prefix(1);
  }
  // A set high bit would read as negative: a zero byte goes first.
  const bool pad =
      !magnitude.empty() && (static_cast<unsigned char>(magnitude[0]) & 0x80);
  PutUint32(static_cast<uint32_t>(magnitude.size() + (pad ? 1 : 0)));
  if (pad) out_.push_back('\0');
  out_.append(magnitude.data(), magnitude.size());
}

}  // namespace ia::automation::ssh_internal
