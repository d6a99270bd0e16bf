// Tracking at a bounded size (VENSEG_TRACKER_MAX_SIDE): the key's checks, bit-identical
// results where the bound does not bite, and at 640 x 480 the verdicts and compressibility
// of full resolution with every result in the frame's own pixels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tracking_helpers.hpp"

namespace {


// What the bounded tracker may differ from full resolution by, on the same masks. Halving
// each side moves the vein's boundary by up to a cell (2 frame px): a few % of a vein's area
// and, at the minimum of a partial compression, a point or two of compressibility.
constexpr double kCompressibilityPoints = 2.0;
constexpr double kAreaFraction = 0.05;
constexpr double kCellPx = 2.0; // positions: within a cell of the 320 px grid at 640 x 480

TrackerPtr make_tracker(double spacing, double max_side, int stride = 1) {
    venseg_tracker_config *c = nullptr;
    EXPECT_EQ(venseg_tracker_config_create(&c), VENSEG_OK);
    std::unique_ptr<venseg_tracker_config, TConfigFree> cfg(c);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_X, spacing), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_Y, spacing), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_FRAME_RATE, 30), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_FRAME_STRIDE, stride), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_MAX_SIDE, max_side), VENSEG_OK) << venseg_last_error();
    venseg_tracker *t = nullptr;
    EXPECT_EQ(venseg_tracker_create(c, &t), VENSEG_OK) << venseg_last_error();
    return TrackerPtr(t);
}

PhantomPtr make_phantom(double seed, int thrombus, int w, int h, int frames, double spacing) {
    venseg_phantom_config *c = nullptr;
    EXPECT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_SEED, seed), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_THROMBUS, thrombus), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_WIDTH, w), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_HEIGHT, h), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_FRAMES, frames), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_PIXEL_SPACING, spacing), VENSEG_OK);
    venseg_phantom *p = nullptr;
    EXPECT_EQ(venseg_phantom_create(c, &p), VENSEG_OK) << venseg_last_error();
    venseg_phantom_config_free(c);
    return PhantomPtr(p);
}

venseg_track_frame frame_at(const venseg_tracker *t, int i) {
    venseg_track_frame f;
    std::memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    EXPECT_EQ(venseg_tracker_frame_at(t, i, &f), VENSEG_OK) << venseg_last_error();
    return f;
}

venseg_phantom_truth truth_at(const venseg_phantom *p, int i) {
    venseg_phantom_truth tr;
    std::memset(&tr, 0, sizeof tr);
    tr.struct_size = sizeof tr;
    EXPECT_EQ(venseg_phantom_truth_at(p, i, &tr), VENSEG_OK);
    return tr;
}

std::string trained_model_path() {
    std::error_code ec;
    for (auto &e : std::filesystem::directory_iterator(std::string(VENSEG_SOURCE_DIR) + "/weights", ec))
        if (e.path().extension() == ".vseg") return e.path().string();
    return "";
}

SessionPtr single_thread_session(const venseg_model *m) {
    venseg_options *o = nullptr;
    EXPECT_EQ(venseg_options_create(&o), VENSEG_OK);
    OptionsPtr opts(o);
    EXPECT_EQ(venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1), VENSEG_OK);
    EXPECT_EQ(venseg_options_set(o, VENSEG_OPT_PRECISION, VENSEG_PRECISION_AUTO), VENSEG_OK); // as the programs
    return make_session(m, o);
}

} // namespace

TEST(TrackerGrid, MaxSideKeyBoundsAndErrors) {
    double lo, hi, def;
    ASSERT_EQ(venseg_tracker_config_bounds(VENSEG_TRACKER_MAX_SIDE, &lo, &hi, &def), VENSEG_OK);
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 32768);
    EXPECT_EQ(def, 0); // full resolution unless asked
    venseg_tracker_config *c = nullptr;
    ASSERT_EQ(venseg_tracker_config_create(&c), VENSEG_OK);
    std::unique_ptr<venseg_tracker_config, TConfigFree> cfg(c);
    double v = -1;
    ASSERT_EQ(venseg_tracker_config_get(c, VENSEG_TRACKER_MAX_SIDE, &v), VENSEG_OK);
    EXPECT_EQ(v, 0);
    for (double bad : {-1.0, 1.0, 31.0, 320.5, 40000.0, double(NAN)}) {
        EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_MAX_SIDE, bad), VENSEG_E_INVALID_ARGUMENT) << bad;
        EXPECT_NE(std::strstr(venseg_last_error(), "VENSEG_TRACKER_MAX_SIDE"), nullptr) << venseg_last_error();
    }
    ASSERT_EQ(venseg_tracker_config_get(c, VENSEG_TRACKER_MAX_SIDE, &v), VENSEG_OK);
    EXPECT_EQ(v, 0); // a refused value leaves the old one
    for (double good : {0.0, 32.0, 320.0, 32768.0}) {
        EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_MAX_SIDE, good), VENSEG_OK) << venseg_last_error();
        ASSERT_EQ(venseg_tracker_config_get(c, VENSEG_TRACKER_MAX_SIDE, &v), VENSEG_OK);
        EXPECT_EQ(v, good);
    }
}

TEST(TrackerGrid, FramesWithinTheBoundGiveExactlyTheFullResolutionResults) {
    auto p = make_phantom(11, 1, 256, 192, 60, 0.15);
    auto full = make_tracker(0.15, 0), bounded = make_tracker(0.15, 256);
    std::vector<uint8_t> lab(256 * 192);
    for (int i = 0; i < 60; i++) {
        ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), 256), VENSEG_OK);
        ASSERT_EQ(venseg_tracker_push_labels(full.get(), lab.data(), 256, 256, 192), VENSEG_OK);
        ASSERT_EQ(venseg_tracker_push_labels(bounded.get(), lab.data(), 256, 256, 192), VENSEG_OK);
    }
    auto a = summary(full.get()), b = summary(bounded.get());
    EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
    for (int i = 0; i < 60; i++) {
        auto fa = frame_at(full.get(), i), fb = frame_at(bounded.get(), i);
        EXPECT_EQ(std::memcmp(&fa, &fb, sizeof fa), 0) << "frame " << i;
    }
}

// Truth masks of 640 x 480 phantom clips: full resolution and a 320 px grid.
TEST(TrackerGrid, BoundedMasksKeepTheVerdictAndCompressibilityAt640x480) {
    const int w = 640, h = 480, frames = 60;
    const double spacing = 0.075;
    std::vector<uint8_t> lab(size_t(w) * h);
    for (int thrombus = 0; thrombus <= 2; thrombus++) {
        auto p = make_phantom(300 + thrombus, thrombus, w, h, frames, spacing);
        auto full = make_tracker(spacing, 0), bounded = make_tracker(spacing, 320);
        for (int i = 0; i < frames; i++) {
            ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), w), VENSEG_OK);
            ASSERT_EQ(venseg_tracker_push_labels(full.get(), lab.data(), w, w, h), VENSEG_OK) << venseg_last_error();
            ASSERT_EQ(venseg_tracker_push_labels(bounded.get(), lab.data(), w, w, h), VENSEG_OK) << venseg_last_error();
        }
        auto a = summary(full.get()), b = summary(bounded.get());
        SCOPED_TRACE("thrombus " + std::to_string(thrombus));
        std::printf("[ grid     ] truth masks, thrombus %d: full %s C %.2f %% baseline %.0f px; 320 px grid %s C %.2f %% "
                    "baseline %.0f px\n", thrombus, venseg_verdict_name((venseg_verdict)a.verdict),
                    a.compressibility_percent, a.baseline_area_px, venseg_verdict_name((venseg_verdict)b.verdict),
                    b.compressibility_percent, b.baseline_area_px);
        EXPECT_EQ(b.verdict, a.verdict) << venseg_verdict_name((venseg_verdict)a.verdict) << " vs "
                                        << venseg_verdict_name((venseg_verdict)b.verdict);
        EXPECT_NEAR(b.compressibility_percent, a.compressibility_percent, kCompressibilityPoints);
        // areas in the frame's px (not the grid's, a quarter of them), and mm2 from them
        EXPECT_NEAR(b.baseline_area_px, a.baseline_area_px, kAreaFraction * a.baseline_area_px);
        EXPECT_NEAR(b.baseline_area_px, truth_at(p.get(), 0).rest_vein_area_px,
                    kAreaFraction * truth_at(p.get(), 0).rest_vein_area_px);
        EXPECT_NEAR(b.baseline_area_mm2, b.baseline_area_px * spacing * spacing, 1e-9 * b.baseline_area_mm2);
        EXPECT_NEAR(b.max_lateral_shift_px, a.max_lateral_shift_px, kCellPx);
        for (int i = 0; i < frames; i += 7) {
            auto fa = frame_at(full.get(), i), fb = frame_at(bounded.get(), i);
            if (!fa.vein_present || !fb.vein_present || fa.vein_area_px < 200) continue;
            EXPECT_NEAR(double(fb.vein_area_px), double(fa.vein_area_px), kAreaFraction * fa.vein_area_px) << i;
            EXPECT_NEAR(fb.vein_centroid_x, fa.vein_centroid_x, kCellPx) << i; // frame px
            EXPECT_NEAR(fb.vein_centroid_y, fa.vein_centroid_y, kCellPx) << i;
        }
        int32_t n = 0;
        ASSERT_EQ(venseg_tracker_instance_count(bounded.get(), &n), VENSEG_OK);
        for (int32_t k = 0; k < n; k++) {
            venseg_tracked_instance in;
            in.struct_size = sizeof in;
            ASSERT_EQ(venseg_tracker_instance_at(bounded.get(), k, &in), VENSEG_OK);
            EXPECT_GE(in.bbox_x, 0);
            EXPECT_LE(in.bbox_x + in.bbox_width, w);
            EXPECT_LE(in.bbox_y + in.bbox_height, h);
            EXPECT_GE(double(in.bbox_width) * in.bbox_height, double(in.area_px)); // frame px both
        }
    }
}

// The network's maps straight to the grid (never to 640 x 480): the shipped model when
// weights/ has one (a few seconds), else the untrained tiny fixture for the path alone.
TEST(TrackerGrid, ModelInTheLoopAtTheGridAgreesWithFullResolution) {
    std::string path = trained_model_path();
    const bool trained = !path.empty();
    auto m = load_model(read_bytes(trained ? path : data_path("tiny_plain_unet.vseg")));
    ASSERT_TRUE(m);
    auto s = single_thread_session(m.get());
    ASSERT_TRUE(s);
    const int w = 640, h = 480, frames = 40;
    const double spacing = 0.075;
    auto p = make_phantom(21, 0, w, h, frames, spacing);
    // every 2nd frame (Chen et al.'s stride): the network runs on half of them
    auto full = make_tracker(spacing, 0, 2), bounded = make_tracker(spacing, 320, 2);
    std::vector<uint8_t> px(size_t(w) * h), mask_full(px.size()), mask_grid(px.size());
    int64_t agree = 0, either = 0;
    for (int i = 0; i < frames; i++) {
        if (i % 2 == 0) // the stride skips the others unseen: their pixels need not be made
            ASSERT_EQ(venseg_phantom_frame(p.get(), i, px.data(), w, nullptr, 0), VENSEG_OK);
        ASSERT_EQ(venseg_tracker_push_frame(full.get(), s.get(), px.data(), VENSEG_PIXEL_GRAY8, w, h, w,
                                            mask_full.data(), w),
                  VENSEG_OK)
            << venseg_last_error();
        ASSERT_EQ(venseg_tracker_push_frame(bounded.get(), s.get(), px.data(), VENSEG_PIXEL_GRAY8, w, h, w,
                                            i % 4 == 0 ? mask_grid.data() : nullptr, w),
                  VENSEG_OK)
            << venseg_last_error();
        if (i % 4 != 0) continue; // analysed frames with a mask asked for
        for (size_t k = 0; k < px.size(); k++) { // the frame's mask from the grid's labels
            agree += mask_full[k] && mask_full[k] == mask_grid[k];
            either += mask_full[k] || mask_grid[k];
        }
    }
    auto a = summary(full.get()), b = summary(bounded.get());
    std::printf("[ grid     ] %s: full %s C %.2f %%; 320 px grid %s C %.2f %%; vessel-pixel Jaccard %.3f\n",
                trained ? path.c_str() : "tiny model", venseg_verdict_name((venseg_verdict)a.verdict),
                a.compressibility_percent, venseg_verdict_name((venseg_verdict)b.verdict), b.compressibility_percent,
                either ? double(agree) / double(either) : NAN);
    EXPECT_EQ(b.frames_analysed, frames / 2);
    if (trained) {
        EXPECT_EQ(b.verdict, a.verdict) << venseg_verdict_name((venseg_verdict)a.verdict) << " vs "
                                        << venseg_verdict_name((venseg_verdict)b.verdict);
        if (std::isfinite(a.compressibility_percent))
            EXPECT_NEAR(b.compressibility_percent, a.compressibility_percent, kCompressibilityPoints);
        EXPECT_NEAR(b.baseline_area_px, a.baseline_area_px, kAreaFraction * a.baseline_area_px);
        ASSERT_GT(either, 0);
        EXPECT_GE(double(agree) / double(either), 0.9); // Jaccard of the vessel pixels
    }
    // the session's instances of a grid push are in frame px too, inside a region of interest
    ASSERT_EQ(venseg_session_set_roi(s.get(), 100, 60, 400, 360), VENSEG_OK);
    auto roi = make_tracker(spacing, 160);
    ASSERT_EQ(venseg_phantom_frame(p.get(), 0, px.data(), w, nullptr, 0), VENSEG_OK);
    ASSERT_EQ(venseg_tracker_push_frame(roi.get(), s.get(), px.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask_grid.data(), w),
              VENSEG_OK)
        << venseg_last_error();
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (x < 100 || x >= 500 || y < 60 || y >= 420) ASSERT_EQ(mask_grid[size_t(y) * w + x], 0) << x << "," << y;
    int32_t n = 0;
    ASSERT_EQ(venseg_session_instance_count(s.get(), &n), VENSEG_OK);
    for (int32_t k = 0; k < n; k++) {
        venseg_instance in;
        in.struct_size = sizeof in;
        ASSERT_EQ(venseg_session_instance_at(s.get(), k, &in), VENSEG_OK);
        EXPECT_GE(in.bbox_x, 100);
        EXPECT_GE(in.bbox_y, 60);
        EXPECT_LE(in.bbox_x + in.bbox_width, 500);
        EXPECT_LE(in.bbox_y + in.bbox_height, 420);
        EXPECT_GE(in.centroid_x, 100);
        EXPECT_LE(in.centroid_x, 500);
    }
}
