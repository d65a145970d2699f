// ParseAdbDevices on `adb devices -l` text: lines captured from Debian's adb
// 29.0.6 talking to edgebench-test-adbd (device, offline, unauthorized), and
// USB lines in the format adb 29's transport.cpp writes ("%-22s %s" then
// devpath, product, model, device, transport_id), "no permissions" included.

#include <gtest/gtest.h>

#include <string>

#include "harness/transport/adb/adb_transport.h"

namespace edgebench::harness {
namespace {

TEST(ParseAdbDevicesTest, CapturedFromAdb29) {
  const std::string text =
      "* daemon not running; starting now at tcp:15200\n"
      "* daemon started successfully\n"
      "List of devices attached\n"
      "127.0.0.1:35251        device product:edgebench_fake model:Edgebench_Fake "
      "device:edgebench_fake transport_id:1\n"
      "127.0.0.1:43069        offline product:edgebench_fake model:Edgebench_Fake "
      "device:edgebench_fake transport_id:2\n"
      "127.0.0.1:40123        unauthorized transport_id:3\n"
      "\n";
  const std::vector<AdbDeviceEntry> d = ParseAdbDevices(text);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].serial, "127.0.0.1:35251");
  EXPECT_EQ(d[0].state, "device");
  EXPECT_EQ(d[0].product, "edgebench_fake");
  EXPECT_EQ(d[0].model, "Edgebench_Fake");
  EXPECT_EQ(d[0].device, "edgebench_fake");
  EXPECT_EQ(d[0].usb, "");
  EXPECT_EQ(d[0].transport_id, 1);
  EXPECT_EQ(d[1].state, "offline");
  EXPECT_EQ(d[1].transport_id, 2);
  EXPECT_EQ(d[2].serial, "127.0.0.1:40123");
  EXPECT_EQ(d[2].state, "unauthorized");
  EXPECT_EQ(d[2].model, "");
  EXPECT_EQ(d[2].transport_id, 3);
}

TEST(ParseAdbDevicesTest, UsbDevicesAndStatesWithSpaces) {
  const std::string text =
      "List of devices attached\n"
      "R5CT30ABCD             device usb:1-1.2 product:p3sxxx model:SM_G998B device:p3s "
      "transport_id:7\n"
      "ZY22XXXXXX             no permissions (user in plugdev group; are your udev rules "
      "wrong?); see [http://developer.android.com/tools/device.html] usb:1-2 "
      "transport_id:8\n"
      "emulator-5554          device product:sdk_gphone64_x86_64 "
      "model:sdk_gphone64_x86_64 "
      "device:emu64xa transport_id:9\n"
      "0123456789abcdef0123456789 recovery usb:3-1 transport_id:10\n"
      "(no serial number)     no permissions; see [http://developer.android.com/tools/"
      "device.html] usb:2-1 transport_id:11\n";
  const std::vector<AdbDeviceEntry> d = ParseAdbDevices(text);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].serial, "R5CT30ABCD");
  EXPECT_EQ(d[0].state, "device");
  EXPECT_EQ(d[0].usb, "1-1.2");
  EXPECT_EQ(d[0].model, "SM_G998B");
  EXPECT_EQ(d[0].transport_id, 7);
  EXPECT_EQ(d[1].serial, "ZY22XXXXXX");
  EXPECT_EQ(d[1].state,
            "no permissions (user in plugdev group; are your udev rules wrong?); see "
            "[http://developer.android.com/tools/device.html]");
  EXPECT_EQ(d[1].usb, "1-2");
  EXPECT_EQ(d[1].transport_id, 8);
  EXPECT_EQ(d[2].serial, "emulator-5554");
  EXPECT_EQ(d[2].device, "emu64xa");
  // A serial longer than the 22-column field is followed by one space.
  EXPECT_EQ(d[3].serial, "0123456789abcdef0123456789");
  EXPECT_EQ(d[3].state, "recovery");
  EXPECT_EQ(d[4].serial, "(no serial number)");
  EXPECT_EQ(d[4].state,
            "no permissions; see [http://developer.android.com/tools/device.html]");
  EXPECT_EQ(d[4].transport_id, 11);
}

TEST(ParseAdbDevicesTest, ShortListingAndNoise) {
  // Without -l adb separates serial and state by a tab; a server restarted
  // for a version mismatch says so first.
  const std::string text =
      "adb server version (39) doesn't match this client (41); killing...\n"
      "* daemon started successfully\n"
      "List of devices attached\n"
      "R5CT30ABCD\tdevice\r\n"
      "192.168.1.20:5555\toffline\n";
  const std::vector<AdbDeviceEntry> d = ParseAdbDevices(text);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].serial, "R5CT30ABCD");
  EXPECT_EQ(d[0].state, "device");
  EXPECT_EQ(d[1].serial, "192.168.1.20:5555");
  EXPECT_EQ(d[1].state, "offline");
  EXPECT_EQ(d[1].transport_id, 0);
}

TEST(ParseAdbDevicesTest, NoDevices) {
  EXPECT_TRUE(ParseAdbDevices("List of devices attached\n\n").empty());
  EXPECT_TRUE(ParseAdbDevices("").empty());
}

TEST(ListAdbDevicesTest, NoAdbInstalledSaysSo) {
  const auto r = ListAdbDevices("/nonexistent/edgebench/adb");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("not installed"), std::string::npos)
      << r.status().message();
}

TEST(NewAdbTransportTest, NoAdbInstalledSaysSo) {
  AdbOptions o;
  o.serial = "R5CT30ABCD";
  o.adb = "/nonexistent/edgebench/adb";
  const auto r = NewAdbTransport(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("adb:R5CT30ABCD"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace edgebench::harness
