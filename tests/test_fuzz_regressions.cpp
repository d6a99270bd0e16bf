// Findings of the fuzz targets (tests/fuzz), each pinned with what the fixed library must
// do. The inputs themselves are in tests/fuzz/regressions/<target>/ (replayed by the
// ctest cases fuzz_replay_<target>); here each one's precise expectation is asserted.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

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

// Clearing the ROI (width or height 0) kept its origin, and the next frames' instances
// were shifted by it: bounding boxes past the frame's edge, centroids off (fuzz_segment:
// "check failed: inst.bbox_x + inst.bbox_width <= w"). After a clear, instances must be
// those of a session that never had a ROI.
TEST(FuzzRegressions, ClearedRoiLeavesNoOffsetOnInstances) {
    venseg_model *m = nullptr;
    ASSERT_EQ(venseg_model_load_file(data_path("tiny_plain_unet.vseg").c_str(), &m), VENSEG_OK);
    venseg_options *o = nullptr;
    venseg_options_create(&o);
    venseg_options_set(o, VENSEG_OPT_MIN_INSTANCE_AREA, 1);
    venseg_options_set(o, VENSEG_OPT_THRESHOLD_PERMILLE, 600);
    venseg_session *with_roi = nullptr, *never = nullptr;
    ASSERT_EQ(venseg_session_create(m, o, &with_roi), VENSEG_OK);
    ASSERT_EQ(venseg_session_create(m, o, &never), VENSEG_OK);
    venseg_options_free(o);
    const int w = 45, h = 20;
    std::vector<uint8_t> px(size_t(w) * h), mask(px.size());
    for (size_t i = 0; i < px.size(); i++) px[i] = uint8_t(i * 37 % 251);
    ASSERT_EQ(venseg_session_set_roi(with_roi, 21, 7, 20, 10), VENSEG_OK);
    ASSERT_EQ(venseg_segment(with_roi, px.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, nullptr, 0), VENSEG_OK);
    ASSERT_EQ(venseg_session_set_roi(with_roi, 21, 7, 0, 10), VENSEG_OK); // width 0: cleared
    auto instances = [&](venseg_session *s) {
        EXPECT_EQ(venseg_segment(s, px.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, nullptr, 0), VENSEG_OK);
        int32_t n = 0;
        venseg_session_instance_count(s, &n);
        std::vector<std::vector<double>> out;
        for (int32_t i = 0; i < n; i++) {
            venseg_instance inst;
            std::memset(&inst, 0, sizeof inst);
            inst.struct_size = sizeof inst;
            venseg_session_instance(s, i, &inst);
            EXPECT_GE(inst.bbox_x, 0);
            EXPECT_GE(inst.bbox_y, 0);
            EXPECT_LE(inst.bbox_x + inst.bbox_width, w);
            EXPECT_LE(inst.bbox_y + inst.bbox_height, h);
            out.push_back({double(inst.bbox_x), double(inst.bbox_y), double(inst.bbox_width), double(inst.bbox_height),
                           inst.centroid_x, inst.centroid_y, double(inst.area_px)});
        }
        return out;
    };
    const auto expect = instances(never);
    ASSERT_FALSE(expect.empty()) << "the comparison would be vacuous";
    EXPECT_EQ(instances(with_roi), expect);
    venseg_session_free(with_roi);
    venseg_session_free(never);
    venseg_model_free(m);
}
