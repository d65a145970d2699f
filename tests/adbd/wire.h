// tests/adbd/wire.h — the byte formats of the adb device protocol that the
// fake device daemon speaks: the 24-byte message header, shell protocol v2
// packets and file sync requests. Pure functions on bytes, so they are unit
// tested without sockets.
//
// Formats (as adb 1.0.41 / 29.0.6 and adbd write them; all integers little
// endian):
//   message:  command, arg0, arg1, data_length, data_crc32, magic (u32 each)
//             + data_length bytes of payload. "crc32" is in fact the byte sum
//             of the payload; peers at version >= 0x01000001 do not check it.
//   shell v2: id (u8) + length (u32) + data, both ways.
//   sync:     id (4 ASCII bytes as u32) + u32 (a length, an mtime or a
//             status) + that many bytes for requests, DATA and FAIL.
//
// Thread-safety: values and functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgebench::testing::adbd {

constexpr uint32_t MakeId(char a, char b, char c, char d) {
  return static_cast<uint32_t>(static_cast<uint8_t>(a)) |
         static_cast<uint32_t>(static_cast<uint8_t>(b)) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(c)) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(d)) << 24;
}

// Message commands.
constexpr uint32_t kCnxn = MakeId('C', 'N', 'X', 'N');
constexpr uint32_t kAuth = MakeId('A', 'U', 'T', 'H');
constexpr uint32_t kOpen = MakeId('O', 'P', 'E', 'N');
constexpr uint32_t kOkay = MakeId('O', 'K', 'A', 'Y');
constexpr uint32_t kClse = MakeId('C', 'L', 'S', 'E');
constexpr uint32_t kWrte = MakeId('W', 'R', 'T', 'E');

// AUTH types (arg0).
constexpr uint32_t kAuthToken = 1;
constexpr uint32_t kAuthSignature = 2;
constexpr uint32_t kAuthPublicKey = 3;

// The protocol version that lets both sides skip the payload checksum.
constexpr uint32_t kVersion = 0x01000001;
// What this daemon accepts and offers per message, like adbd since 2016.
constexpr uint32_t kMaxPayload = 1024 * 1024;
constexpr size_t kHeaderBytes = 24;

struct Header {
  uint32_t command = 0;
  uint32_t arg0 = 0;
  uint32_t arg1 = 0;
  uint32_t data_length = 0;
  uint32_t data_check = 0;
  uint32_t magic = 0;
};

// The header at the start of `bytes` (which holds at least kHeaderBytes).
Header DecodeHeader(std::string_view bytes);
// A whole message: header (with the byte-sum check and the magic) + payload.
std::string EncodeMessage(uint32_t command, uint32_t arg0, uint32_t arg1,
                          std::string_view payload = {});
// "CNXN", or the hex value for a command that is not one.
std::string CommandName(uint32_t command);

// Shell protocol v2 packet ids.
enum ShellId : uint8_t {
  kShellStdin = 0,
  kShellStdout = 1,
  kShellStderr = 2,
  kShellExit = 3,
  kShellCloseStdin = 4,
  kShellWindowSize = 5,
};
constexpr size_t kShellHeaderBytes = 5;
std::string EncodeShellPacket(uint8_t id, std::string_view data);

struct ShellPacket {
  uint8_t id = 0;
  std::string data;
};
// Takes one whole packet off the front of `buffer` (advancing it); nullopt
// while it holds less than one.
std::optional<ShellPacket> TakeShellPacket(std::string_view& buffer);
// The payload length a packet at the front of `buffer` announces (at least
// kShellHeaderBytes there), so a reader can refuse one it will not buffer.
uint32_t ShellPacketLength(std::string_view buffer);

// File sync ids.
constexpr uint32_t kSyncStat = MakeId('S', 'T', 'A', 'T');  // lstat, v1 reply
constexpr uint32_t kSyncStat2 = MakeId('S', 'T', 'A', '2');
constexpr uint32_t kSyncLstat2 = MakeId('L', 'S', 'T', '2');
constexpr uint32_t kSyncList = MakeId('L', 'I', 'S', 'T');
constexpr uint32_t kSyncList2 = MakeId('L', 'I', 'S', '2');
constexpr uint32_t kSyncDent = MakeId('D', 'E', 'N', 'T');
constexpr uint32_t kSyncDent2 = MakeId('D', 'N', 'T', '2');
constexpr uint32_t kSyncSend = MakeId('S', 'E', 'N', 'D');
constexpr uint32_t kSyncRecv = MakeId('R', 'E', 'C', 'V');
constexpr uint32_t kSyncData = MakeId('D', 'A', 'T', 'A');
constexpr uint32_t kSyncDone = MakeId('D', 'O', 'N', 'E');
constexpr uint32_t kSyncOkay = MakeId('O', 'K', 'A', 'Y');
constexpr uint32_t kSyncFail = MakeId('F', 'A', 'I', 'L');
constexpr uint32_t kSyncQuit = MakeId('Q', 'U', 'I', 'T');
// The largest DATA chunk either side sends (SYNC_DATA_MAX).
constexpr uint32_t kSyncDataMax = 64 * 1024;
// The longest path a request may carry.
constexpr uint32_t kSyncPathMax = 1024;

// id + u32, then `body` (a path, data or a FAIL message).
std::string EncodeSync(uint32_t id, uint32_t value, std::string_view body = {});

uint32_t LoadU32(const char* p);
void AppendU32(std::string& out, uint32_t v);
void AppendU64(std::string& out, uint64_t v);

}  // namespace edgebench::testing::adbd
