// The fake adbd's byte formats, checked against bytes written out by hand
// from adb's protocol.txt, SYNC.TXT and shell_protocol.h.

#include "tests/adbd/wire.h"

#include <gtest/gtest.h>

#include <string>

namespace edgebench::testing::adbd {
namespace {

TEST(WireTest, MessageHeaderIsLittleEndianWithMagicAndByteSum) {
  const std::string m = EncodeMessage(kOkay, 7, 0x01020304, "\x01\xff");
  ASSERT_EQ(m.size(), kHeaderBytes + 2);
  EXPECT_EQ(m.substr(0, 4), "OKAY");
  EXPECT_EQ(m.substr(4, 4), std::string("\x07\0\0\0", 4));
  EXPECT_EQ(m.substr(8, 4), "\x04\x03\x02\x01");
  EXPECT_EQ(m.substr(12, 4), std::string("\x02\0\0\0", 4));
  EXPECT_EQ(m.substr(16, 4), std::string("\x00\x01\0\0", 4));  // 0x01 + 0xff
  const Header h = DecodeHeader(m);
  EXPECT_EQ(h.command, kOkay);
  EXPECT_EQ(h.arg0, 7u);
  EXPECT_EQ(h.arg1, 0x01020304u);
  EXPECT_EQ(h.data_length, 2u);
  EXPECT_EQ(h.data_check, 0x100u);
  EXPECT_EQ(h.magic, kOkay ^ 0xffffffffu);
  EXPECT_EQ(m.substr(kHeaderBytes), "\x01\xff");
}

TEST(WireTest, CommandNames) {
  EXPECT_EQ(CommandName(kCnxn), "CNXN");
  EXPECT_EQ(CommandName(kWrte), "WRTE");
  EXPECT_EQ(CommandName(0x01020304), "0x01020304");
}

TEST(WireTest, ShellPacketsComeApartOnlyWhenWhole) {
  std::string stream = EncodeShellPacket(kShellStdout, "hello") +
                       EncodeShellPacket(kShellExit, std::string(1, '\x03'));
  EXPECT_EQ(stream.substr(0, 5), std::string("\x01\x05\0\0\0", 5));

  std::string_view partial(stream.data(), 7);
  EXPECT_FALSE(TakeShellPacket(partial).has_value());
  EXPECT_EQ(partial.size(), 7u);  // nothing taken

  std::string_view rest = stream;
  auto a = TakeShellPacket(rest);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->id, kShellStdout);
  EXPECT_EQ(a->data, "hello");
  auto b = TakeShellPacket(rest);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->id, kShellExit);
  EXPECT_EQ(b->data, "\x03");
  EXPECT_TRUE(rest.empty());
  EXPECT_FALSE(TakeShellPacket(rest).has_value());
}

TEST(WireTest, EmptyShellPacket) {
  std::string stream = EncodeShellPacket(kShellCloseStdin, "");
  std::string_view rest = stream;
  auto p = TakeShellPacket(rest);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->id, kShellCloseStdin);
  EXPECT_TRUE(p->data.empty());
}

TEST(WireTest, SyncMessages) {
  EXPECT_EQ(EncodeSync(kSyncSend, 10, "/a/b,33188"),
            std::string("SEND\x0a\0\0\0/a/b,33188", 18));
  EXPECT_EQ(EncodeSync(kSyncDone, 0x5f000000), std::string("DONE\0\0\0\x5f", 8));
  EXPECT_EQ(LoadU32("STA2"), kSyncStat2);
}

}  // namespace
}  // namespace edgebench::testing::adbd
