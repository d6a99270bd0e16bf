// Findings of the fuzz targets (tests/fuzz), each pinned with what the fixed library must
// do. The inputs themselves are in tests/fuzz/regressions/<target>/ (replayed by the
// ctest cases fuzz_replay_<target>); here each one's precise expectation is asserted.
#include <gtest/gtest.h>

#include <string>

#include "test_helpers.hpp"
#include "vseg_test_writer.hpp"

namespace {

// A regression input of the model_load target: its first byte is the harness's mode
// byte (bit 0: recompute the CRCs), the rest the weights file.
std::vector<uint8_t> model_load_input(const std::string &name) {
    auto b = read_bytes(std::string(VENSEG_SOURCE_DIR) + "/tests/fuzz/regressions/model_load/" + name);
    EXPECT_FALSE(b.empty()) << name;
    if (b.empty()) return b;
    const bool fix = b[0] & 1;
    b.erase(b.begin());
    if (fix) vsegtest::fix_crcs(b);
    return b;
}

} // namespace

// A 2.8 KB deflated file declaring a 3 GiB raw blob made the reader malloc 3 GiB before
// inflate found the stream short (libFuzzer: out-of-memory (malloc(3221225472))). deflate
// expands at most 1032:1, so the header is refused first.
TEST(FuzzRegressions, DeflatedRawSizeBeyondDeflateRatioIsRefusedBeforeAllocating) {
    auto b = model_load_input("deflate_raw_size_3gib");
    venseg_model *m = nullptr;
    EXPECT_EQ(venseg_model_load_memory(b.data(), b.size(), &m), VENSEG_E_BAD_FILE);
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(venseg_last_error()).find("more than deflate can expand"), std::string::npos)
        << venseg_last_error();
    // the same file with its true raw size loads
    auto good = read_bytes(std::string(VENSEG_SOURCE_DIR) + "/tests/fuzz/corpus/model_load/plain_deflate");
    good.erase(good.begin());
    ASSERT_EQ(venseg_model_load_memory(good.data(), good.size(), &m), VENSEG_OK) << venseg_last_error();
    venseg_model_free(m);
}
