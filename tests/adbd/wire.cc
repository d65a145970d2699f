#include "tests/adbd/wire.h"

#include <cstdio>

namespace edgebench::testing::adbd {

uint32_t LoadU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 |
         static_cast<uint32_t>(u[2]) << 16 | static_cast<uint32_t>(u[3]) << 24;
}

void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void AppendU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

Header DecodeHeader(std::string_view bytes) {
  Header h;
  h.command = LoadU32(bytes.data());
  h.arg0 = LoadU32(bytes.data() + 4);
  h.arg1 = LoadU32(bytes.data() + 8);
  h.data_length = LoadU32(bytes.data() + 12);
  h.data_check = LoadU32(bytes.data() + 16);
  h.magic = LoadU32(bytes.data() + 20);
  return h;
}

std::string EncodeMessage(uint32_t command, uint32_t arg0, uint32_t arg1,
                          std::string_view payload) {
  // The byte sum costs one pass over at most 1 MiB; clients older than
  // version 0x01000001 check it, newer ones ignore it, so it is always right
  // to send.
  uint32_t sum = 0;
  for (char c : payload) sum += static_cast<unsigned char>(c);
  std::string out;
  out.reserve(kHeaderBytes + payload.size());
  AppendU32(out, command);
  AppendU32(out, arg0);
  AppendU32(out, arg1);
  AppendU32(out, static_cast<uint32_t>(payload.size()));
  AppendU32(out, sum);
  AppendU32(out, command ^ 0xffffffffu);
  out.append(payload);
  return out;
}

std::string CommandName(uint32_t command) {
  std::string name;
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>(command >> (8 * i));
    if (c < 'A' || c > 'Z') {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", command);
      return hex;
    }
    name.push_back(c);
  }
  return name;
}

std::string EncodeShellPacket(uint8_t id, std::string_view data) {
  std::string out;
  out.reserve(kShellHeaderBytes + data.size());
  out.push_back(static_cast<char>(id));
  AppendU32(out, static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

uint32_t ShellPacketLength(std::string_view buffer) { return LoadU32(buffer.data() + 1); }

std::optional<ShellPacket> TakeShellPacket(std::string_view& buffer) {
  if (buffer.size() < kShellHeaderBytes) return std::nullopt;
  const uint32_t length = ShellPacketLength(buffer);
  if (buffer.size() - kShellHeaderBytes < length) return std::nullopt;
  ShellPacket p;
  p.id = static_cast<uint8_t>(buffer[0]);
  p.data = std::string(buffer.substr(kShellHeaderBytes, length));
  buffer.remove_prefix(kShellHeaderBytes + length);
  return p;
}

std::string EncodeSync(uint32_t id, uint32_t value, std::string_view body) {
  std::string out;
  out.reserve(8 + body.size());
  AppendU32(out, id);
  AppendU32(out, value);
  out.append(body);
  return out;
}

}  // namespace edgebench::testing::adbd
