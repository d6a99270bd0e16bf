// Tracker and exam: the seeded phantom study (truth masks and the model in the loop),
// quality flags, argument errors, the real FloWave cine as a negative control.
#include <gtest/gtest.h>

#include <cstdlib>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tracking_helpers.hpp"

namespace {

struct ExamFree { void operator()(venseg_exam *e) const { venseg_exam_free(e); } };
using ExamPtr = std::unique_ptr<venseg_exam, ExamFree>;

TrackerPtr make_tracker(double spacing, int stride = 2, const char *site = "", double min_frames = -1) {
    venseg_tracker_config *c = nullptr;
    EXPECT_EQ(venseg_tracker_config_create(&c), VENSEG_OK);
    std::unique_ptr<venseg_tracker_config, TConfigFree> cfg(c);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_X, spacing), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_Y, spacing), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_FRAME_RATE, 30), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_FRAME_STRIDE, stride), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set_site(c, site), VENSEG_OK);
    if (min_frames > 0) EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_MIN_FRAMES, min_frames), VENSEG_OK);
    venseg_tracker *t = nullptr;
    EXPECT_EQ(venseg_tracker_create(c, &t), VENSEG_OK) << venseg_last_error();
    return TrackerPtr(t);
}

struct PhantomSpec {
    double seed = 1;
    int thrombus = 0;
    int w = 128, h = 128, frames = 90;
    double spacing = 0.3, compression = 1, motion = 0;
    int vessels = 1;
};

PhantomPtr make_phantom(const PhantomSpec &s) {
    venseg_phantom_config *c = nullptr;
    EXPECT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_SEED, s.seed), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_THROMBUS, s.thrombus), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_WIDTH, s.w), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_HEIGHT, s.h), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_FRAMES, s.frames), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_PIXEL_SPACING, s.spacing), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_COMPRESSION, s.compression), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_PROBE_MOTION, s.motion), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_VESSELS, s.vessels), VENSEG_OK);
    venseg_phantom *p = nullptr;
    EXPECT_EQ(venseg_phantom_create(c, &p), VENSEG_OK) << venseg_last_error();
    venseg_phantom_config_free(c);
    return PhantomPtr(p);
}

double true_compressibility(const venseg_phantom *p) {
    venseg_phantom_truth t;
    std::memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    EXPECT_EQ(venseg_phantom_truth_get(p, 0, &t), VENSEG_OK);
    return t.true_compressibility_percent;
}

// Feeds a phantom's truth labels; returns the summary.
venseg_track_summary run_truth(const PhantomSpec &spec, venseg_tracker *t) {
    auto p = make_phantom(spec);
    std::vector<uint8_t> lab(size_t(spec.w) * spec.h);
    for (int i = 0; i < spec.frames; i++) {
        EXPECT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), spec.w), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_push_labels(t, lab.data(), spec.w, spec.w, spec.h), VENSEG_OK) << venseg_last_error();
    }
    return summary(t);
}

// One thread per session: ctest runs the tests side by side, and OpenMP teams per test
// would oversubscribe the cores.
SessionPtr single_thread_session(const venseg_model *m) {
    venseg_options *o = nullptr;
    EXPECT_EQ(venseg_options_create(&o), VENSEG_OK);
    OptionsPtr opts(o);
    EXPECT_EQ(venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1), VENSEG_OK);
    return make_session(m, o);
}

std::string flags_text(uint32_t f) {
    std::string s;
    for (int b = 0; b < 32; b++)
        if (f & (1u << b)) s += std::string(venseg_flag_name(1u << b)) + " ";
    return s;
}

venseg_verdict expected_verdict(int thrombus) {
    return thrombus == 0 ? VENSEG_VERDICT_COMPRESSIBLE
           : thrombus == 1 ? VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE
                           : VENSEG_VERDICT_NON_COMPRESSIBLE;
}

} // namespace

// ------------------------------------------------------------------ the study

TEST(TrackerStudy, SixtyPhantomSequencesWithTruthMasks) {
    const int n = 60;
    double sum_err = 0, max_err = 0;
    int correct = 0;
    for (int i = 0; i < n; i++) {
        PhantomSpec spec;
        spec.seed = 1000 + i;
        spec.thrombus = i % 3;
        spec.frames = 80 + (i % 5) * 10;
        auto t = make_tracker(spec.spacing);
        auto s = run_truth(spec, t.get());
        auto p = make_phantom(spec);
        double truth = true_compressibility(p.get());
        double err = std::fabs(s.compressibility_percent - truth);
        if (!(err <= 1e9)) err = 100; // NaN counts as a full miss
        sum_err += err;
        max_err = std::max(max_err, err);
        bool ok = s.verdict == expected_verdict(spec.thrombus);
        correct += ok;
        if (!ok || err > 3)
            ADD_FAILURE() << "seed " << spec.seed << " thrombus " << spec.thrombus << ": C " << s.compressibility_percent
                          << " vs " << truth << ", " << venseg_verdict_name((venseg_verdict)s.verdict) << " flags "
                          << flags_text(s.flags);
    }
    double mean_err = sum_err / n, acc = 100.0 * correct / n;
    std::printf("[ study    ] truth masks, %d sequences: mean |compressibility error| %.3f points (max %.3f), "
                "verdicts %.1f %% correct\n", n, mean_err, max_err, acc);
    RecordProperty("mean_abs_error_points", std::to_string(mean_err));
    RecordProperty("verdict_accuracy_percent", std::to_string(acc));
    EXPECT_LE(mean_err, 3.0);
    EXPECT_GE(acc, 95.0);
}

namespace {
std::string trained_model_path() {
    std::error_code ec;
    for (auto &e : std::filesystem::directory_iterator(std::string(VENSEG_SOURCE_DIR) + "/weights", ec))
        if (e.path().extension() == ".vseg") return e.path().string();
    return "";
}

// Segments phantom pixels with the session through the tracker.
venseg_track_summary run_model(const PhantomSpec &spec, venseg_session *session, venseg_tracker *t) {
    auto p = make_phantom(spec);
    std::vector<uint8_t> px(size_t(spec.w) * spec.h), mask(size_t(spec.w) * spec.h);
    for (int i = 0; i < spec.frames; i++) {
        EXPECT_EQ(venseg_phantom_frame(p.get(), i, px.data(), spec.w, nullptr, 0), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_push_frame(t, session, px.data(), VENSEG_PIXEL_GRAY8, spec.w, spec.h, spec.w,
                                            mask.data(), spec.w),
                  VENSEG_OK)
            << venseg_last_error();
    }
    return summary(t);
}
} // namespace

TEST(TrackerStudy, ModelInTheLoopRunsWithTheTinyModel) {
    // The tiny fixture is untrained: its verdicts mean nothing, but the whole path runs.
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")));
    ASSERT_TRUE(m);
    auto s = single_thread_session(m.get());
    ASSERT_TRUE(s);
    for (int kind = 0; kind <= 2; kind++) {
        PhantomSpec spec;
        spec.seed = 77 + kind;
        spec.thrombus = kind;
        spec.frames = 40;
        auto t = make_tracker(spec.spacing);
        auto r = run_model(spec, s.get(), t.get());
        EXPECT_EQ(r.frames_pushed, 40);
        EXPECT_EQ(r.frames_analysed, 20);
        EXPECT_GE(r.verdict, 0);
        EXPECT_LE(r.verdict, 3);
    }
}

TEST(TrackerStudy, ModelInTheLoopWithTheShippedModel) {
    std::string path = trained_model_path();
    if (path.empty()) GTEST_SKIP() << "no trained model in weights/ yet: the model-in-the-loop study runs once one ships";
    // 51 sequences through a ResNet34 take minutes: a measurement to report, run on request.
    if (!std::getenv("VENSEG_MODEL_STUDY"))
        GTEST_SKIP() << "set VENSEG_MODEL_STUDY=1 (51 sequences) or =N to run the model-in-the-loop study (minutes; reports its numbers)";
    auto m = load_model(read_bytes(path));
    ASSERT_TRUE(m) << path;
    auto s = single_thread_session(m.get());
    ASSERT_TRUE(s);
    const int n = std::atoi(std::getenv("VENSEG_MODEL_STUDY")) > 1 ? std::atoi(std::getenv("VENSEG_MODEL_STUDY")) : 51;
    double sum_err = 0;
    int correct = 0;
    for (int i = 0; i < n; i++) {
        PhantomSpec spec;
        spec.seed = 5000 + i;
        spec.thrombus = i % 3;
        spec.w = spec.h = 256;
        spec.spacing = 0.15;
        auto t = make_tracker(spec.spacing);
        auto r = run_model(spec, s.get(), t.get());
        auto p = make_phantom(spec);
        double err = std::fabs(r.compressibility_percent - true_compressibility(p.get()));
        sum_err += err <= 1e9 ? err : 100;
        correct += r.verdict == expected_verdict(spec.thrombus);
    }
    std::printf("[ study    ] model %s, %d sequences: mean |error| %.3f points, verdicts %.1f %% correct\n",
                path.c_str(), n, sum_err / n, 100.0 * correct / n);
    // Reported, not asserted: the shipped model was trained on real frames only and its
    // vein channel is weak (weights/resunet34.md); the analysis itself is held to <= 3
    // points and >= 95 % by the truth-mask study above.
    EXPECT_TRUE(std::isfinite(sum_err));
}

// -------------------------------------------------------------- quality flags

TEST(Tracker, NoVesselIsIndeterminate) {
    auto t = make_tracker(0.3);
    PhantomSpec spec;
    spec.vessels = 0;
    auto s = run_truth(spec, t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_NO_VESSEL);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_NO_VEIN);
    EXPECT_TRUE(std::isnan(s.compressibility_percent));
    EXPECT_EQ(s.baseline_frame, -1);
}

TEST(Tracker, ArteryOnlyIsIndeterminate) {
    auto t = make_tracker(0.3);
    PhantomSpec spec;
    spec.vessels = 2;
    auto s = run_truth(spec, t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_NO_VEIN);
    EXPECT_FALSE(s.flags & VENSEG_FLAG_NO_VESSEL);
}

TEST(Tracker, PureNoiseLabelsAreIndeterminate) {
    // random labels per pixel, and random blobs that jump around
    std::mt19937 rng(7);
    const int w = 96, h = 80;
    for (int mode = 0; mode < 2; mode++) {
        auto t = make_tracker(0.3, 1);
        std::vector<uint8_t> lab(w * h);
        for (int f = 0; f < 60; f++) {
            if (mode == 0) {
                for (auto &v : lab) v = uint8_t(rng() % 3);
            } else {
                std::fill(lab.begin(), lab.end(), 0);
                for (int k = 0; k < 4; k++) {
                    int cx = rng() % w, cy = rng() % h, r = 3 + rng() % 12, l = 1 + rng() % 2;
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) lab[y * w + x] = uint8_t(l);
                }
            }
            ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), w, w, h), VENSEG_OK);
        }
        auto s = summary(t.get());
        EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE) << "mode " << mode << " C " << s.compressibility_percent
                                                           << " flags " << flags_text(s.flags);
        EXPECT_NE(s.flags & ~(VENSEG_FLAG_SPACING_UNKNOWN | VENSEG_FLAG_NO_RELEASE), 0u);
    }
}

TEST(Tracker, PureNoisePixelsThroughTheModelAreNotCompressible) {
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")));
    ASSERT_TRUE(m);
    auto s = single_thread_session(m.get());
    ASSERT_TRUE(s);
    std::mt19937 rng(11);
    const int w = 64, h = 64;
    auto t = make_tracker(0.3, 1);
    std::vector<uint8_t> px(w * h);
    for (int f = 0; f < 40; f++) {
        for (auto &v : px) v = uint8_t(rng() & 0xff);
        ASSERT_EQ(venseg_tracker_push_frame(t.get(), s.get(), px.data(), VENSEG_PIXEL_GRAY8, w, h, w, nullptr, 0),
                  VENSEG_OK)
            << venseg_last_error();
    }
    auto r = summary(t.get());
    EXPECT_EQ(r.verdict, VENSEG_VERDICT_INDETERMINATE) << flags_text(r.flags) << " C " << r.compressibility_percent;
    EXPECT_NE(r.flags, 0u);
}

TEST(Tracker, ProbeMotionIsFlagged) {
    auto t = make_tracker(0.3);
    PhantomSpec spec;
    spec.motion = 15; // mm
    auto s = run_truth(spec, t.get());
    EXPECT_TRUE(s.flags & VENSEG_FLAG_PROBE_MOVED) << flags_text(s.flags);
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE);
    EXPECT_GT(s.max_lateral_shift_px, 10);
}

TEST(Tracker, NoPressureIsIndeterminateNotNonCompressible) {
    auto t = make_tracker(0.3);
    PhantomSpec spec;
    spec.compression = 0;
    auto s = run_truth(spec, t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_ARTERY_NOT_DEFORMED) << flags_text(s.flags);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_NO_COMPRESSION);
    EXPECT_LT(s.compressibility_percent, 5);
}

TEST(Tracker, TooShortIsIndeterminate) {
    auto t = make_tracker(0.3);
    PhantomSpec spec;
    spec.frames = 12; // 6 analysed with stride 2
    auto s = run_truth(spec, t.get());
    EXPECT_EQ(s.frames_analysed, 6);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_SEQUENCE_TOO_SHORT);
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE);
}

TEST(Tracker, VeinLostWhileOpenIsIndeterminate) {
    PhantomSpec spec;
    spec.compression = 0;
    auto p = make_phantom(spec);
    auto t = make_tracker(0.3);
    std::vector<uint8_t> lab(128 * 128);
    for (int i = 0; i < spec.frames; i++) {
        ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), 128), VENSEG_OK);
        if (i >= 40)
            for (auto &v : lab)
                if (v == 2) v = 0;
        ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 128, 128, 128), VENSEG_OK);
    }
    auto s = summary(t.get());
    EXPECT_TRUE(s.flags & VENSEG_FLAG_VEIN_LOST) << flags_text(s.flags);
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE);
}

TEST(Tracker, SingleFrameDropoutDoesNotFakeACollapse) {
    // a segmenter missing the vein in one analysed frame must not read as 100 % compressible
    PhantomSpec spec;
    spec.thrombus = 2;
    auto p = make_phantom(spec);
    auto t = make_tracker(0.3);
    std::vector<uint8_t> lab(128 * 128);
    for (int i = 0; i < spec.frames; i++) {
        ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), 128), VENSEG_OK);
        if (i == 30)
            for (auto &v : lab)
                if (v == 2) v = 0;
        ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 128, 128, 128), VENSEG_OK);
    }
    auto s = summary(t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_NON_COMPRESSIBLE) << flags_text(s.flags);
    EXPECT_LT(s.compressibility_percent, 20);
}

// ---------------------------------------------------------- results and ids

TEST(Tracker, TrackIdsPersistThroughCollapseAndCurve) {
    PhantomSpec spec;
    auto p = make_phantom(spec);
    auto t = make_tracker(0.3);
    std::vector<uint8_t> lab(128 * 128);
    int vein_id = -1, artery_id = -1, absent = 0;
    for (int i = 0; i < spec.frames; i++) {
        ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), 128), VENSEG_OK);
        ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 128, 128, 128), VENSEG_OK);
        if (i % 2) continue;
        venseg_track_frame f;
        std::memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        ASSERT_EQ(venseg_tracker_frame(t.get(), -1, &f), VENSEG_OK);
        EXPECT_EQ(f.frame_index, i);
        EXPECT_NEAR(f.time_s, i / 30.0, 1e-12);
        if (vein_id < 0) vein_id = f.vein_track_id, artery_id = f.artery_track_id;
        EXPECT_EQ(f.vein_track_id, vein_id);
        EXPECT_EQ(f.artery_track_id, artery_id);
        absent += !f.vein_present;
        EXPECT_TRUE(f.artery_present);
        int32_t n = 0;
        ASSERT_EQ(venseg_tracker_instance_count(t.get(), &n), VENSEG_OK);
        EXPECT_EQ(n, f.instance_count);
        for (int k = 0; k < n; k++) {
            venseg_tracked_instance in;
            std::memset(&in, 0, sizeof in);
            in.struct_size = sizeof in;
            ASSERT_EQ(venseg_tracker_instance(t.get(), k, &in), VENSEG_OK);
            if (in.role == 2) EXPECT_EQ(in.track_id, vein_id);
            if (in.role == 1) EXPECT_EQ(in.track_id, artery_id);
        }
    }
    EXPECT_NE(vein_id, artery_id);
    EXPECT_GT(absent, 3); // fully collapsed during the hold, and found again after release
    auto s = summary(t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_COMPRESSIBLE);
    EXPECT_EQ(s.vein_track_id, vein_id);
    EXPECT_LT(s.baseline_frame, s.min_frame);
    EXPECT_EQ(s.min_area_mm2, 0.0);
    EXPECT_GT(s.artery_deformation_percent, 10);
    EXPECT_FALSE(s.flags & VENSEG_FLAG_NO_RELEASE);

    int32_t count = -1;
    EXPECT_EQ(venseg_tracker_curve(t.get(), VENSEG_AREA_MM2, 3, &count, nullptr, nullptr, nullptr, nullptr),
              VENSEG_E_BUFFER_TOO_SMALL);
    EXPECT_EQ(count, 45);
    std::vector<int32_t> idx(count);
    std::vector<double> v(count), vs(count), a(count);
    ASSERT_EQ(venseg_tracker_curve(t.get(), VENSEG_AREA_MM2, count, &count, idx.data(), v.data(), vs.data(), a.data()),
              VENSEG_OK);
    EXPECT_EQ(idx[1], 2);
    EXPECT_NEAR(*std::max_element(vs.begin(), vs.end()), s.baseline_area_mm2, 1e-9);
    EXPECT_GT(a[0], 0);
}

// ------------------------------------------------------------------ identity

namespace {
// Label corruptions of a truth mask, the way segmenters fail.
enum Corruption { CLEAN, SWAP_ALL, SWAP_SOME, MISS_SOME, MERGE };

void corrupt(std::vector<uint8_t> &lab, int w, int h, Corruption c, int frame) {
    std::mt19937 rng(1234u + unsigned(frame));
    const bool hit = std::uniform_real_distribution<double>(0, 1)(rng) < 0.3;
    if (c == SWAP_ALL || (c == SWAP_SOME && hit))
        for (auto &v : lab) v = v == 1 ? 2 : v == 2 ? 1 : v;
    if (c == MISS_SOME && hit)
        for (auto &v : lab) v = v == 2 ? 0 : v;
    if (c == MERGE) { // a 4 px bridge between the centroids, everything labelled vein
        double ax = 0, ay = 0, vx = 0, vy = 0;
        int na = 0, nv = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t v = lab[size_t(y) * w + x];
                if (v == 1) ax += x, ay += y, na++;
                if (v == 2) vx += x, vy += y, nv++;
            }
        if (na && nv) {
            ax /= na, ay /= na, vx /= nv, vy /= nv;
            for (int k = 0; k <= 200; k++) {
                double x = ax + (vx - ax) * k / 200.0, y = ay + (vy - ay) * k / 200.0;
                for (int dy = -2; dy < 2; dy++)
                    for (int dx = -2; dx < 2; dx++) {
                        int xx = int(x) + dx, yy = int(y) + dy;
                        if (xx >= 0 && yy >= 0 && xx < w && yy < h && lab[size_t(yy) * w + xx] == 0)
                            lab[size_t(yy) * w + xx] = 2;
                    }
            }
        }
        for (auto &v : lab) v = v == 1 ? 2 : v;
    }
}

// Image side of the vein relative to the artery in a truth mask: -1 left, +1 right.
int vein_side(const std::vector<uint8_t> &lab, int w) {
    double ax = 0, vx = 0;
    int na = 0, nv = 0;
    for (size_t i = 0; i < lab.size(); i++) {
        if (lab[i] == 1) ax += double(i % w), na++;
        if (lab[i] == 2) vx += double(i % w), nv++;
    }
    return vx / std::max(nv, 1) < ax / std::max(na, 1) ? -1 : 1;
}

struct IdentityRun {
    venseg_track_summary s;
    std::vector<venseg_vessel> vessels;
    int true_vein_track = -1;
};

// A long clip (240 frames at 30 fps: 1.6 s before the probe presses, pulsation measurable)
// of truth masks, corrupted, at the common femoral site with the medial side set.
IdentityRun run_identity(int seed, int thrombus, Corruption c, bool medial_known = true) {
    PhantomSpec spec;
    spec.seed = seed;
    spec.thrombus = thrombus;
    spec.frames = 240;
    auto p = make_phantom(spec);
    std::vector<uint8_t> lab(size_t(spec.w) * spec.h);
    EXPECT_EQ(venseg_phantom_frame(p.get(), 0, nullptr, 0, lab.data(), spec.w), VENSEG_OK);
    venseg_tracker_config *cfg = nullptr;
    EXPECT_EQ(venseg_tracker_config_create(&cfg), VENSEG_OK);
    venseg_tracker_config_set(cfg, VENSEG_TRACKER_PIXEL_SPACING_X, spec.spacing);
    venseg_tracker_config_set(cfg, VENSEG_TRACKER_PIXEL_SPACING_Y, spec.spacing);
    venseg_tracker_config_set(cfg, VENSEG_TRACKER_FRAME_RATE, 30);
    venseg_tracker_config_set(cfg, VENSEG_TRACKER_FRAME_STRIDE, 2);
    venseg_tracker_config_set_site(cfg, VENSEG_SITE_COMMON_FEMORAL);
    if (medial_known)
        EXPECT_EQ(venseg_tracker_config_set(cfg, VENSEG_TRACKER_MEDIAL_SIDE, vein_side(lab, spec.w)), VENSEG_OK);
    venseg_tracker *raw = nullptr;
    EXPECT_EQ(venseg_tracker_create(cfg, &raw), VENSEG_OK);
    venseg_tracker_config_free(cfg);
    TrackerPtr t(raw);
    IdentityRun r;
    for (int i = 0; i < spec.frames; i++) {
        EXPECT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), spec.w), VENSEG_OK);
        std::vector<uint8_t> truth = lab;
        corrupt(lab, spec.w, spec.h, c, i);
        venseg_push_result pr{};
        pr.struct_size = sizeof pr;
        EXPECT_EQ(venseg_tracker_push_labels_ex(t.get(), lab.data(), spec.w, spec.w, spec.h, &pr), VENSEG_OK);
        if (pr.analysed && i == 0) { // the truth vein's track: the instance over its pixels
            int32_t n = 0;
            venseg_tracker_instance_count(t.get(), &n);
            for (int k = 0; k < n; k++) {
                venseg_tracked_instance in{};
                in.struct_size = sizeof in;
                venseg_tracker_instance_at(t.get(), k, &in);
                int cx = int(in.centroid_x), cy = int(in.centroid_y);
                if (truth[size_t(cy) * spec.w + cx] == 2) r.true_vein_track = in.track_id;
            }
        }
    }
    r.s = summary(t.get());
    int32_t n = 0;
    EXPECT_EQ(venseg_tracker_vessel_count(t.get(), &n), VENSEG_OK);
    EXPECT_EQ(n, r.s.vessel_count);
    for (int k = 0; k < n; k++) {
        venseg_vessel v{};
        v.struct_size = sizeof v;
        EXPECT_EQ(venseg_tracker_vessel_at(t.get(), k, &v), VENSEG_OK);
        r.vessels.push_back(v);
    }
    return r;
}
} // namespace

TEST(TrackerIdentity, CleanMasksNameTheVeinWithItsEvidence) {
    auto r = run_identity(21, 0, CLEAN);
    EXPECT_EQ(r.s.verdict, VENSEG_VERDICT_COMPRESSIBLE) << flags_text(r.s.flags);
    ASSERT_GE(r.vessels.size(), 2u);
    EXPECT_EQ(r.vessels[0].identity, VENSEG_IDENTITY_VEIN);
    EXPECT_EQ(r.vessels[0].track_id, r.true_vein_track);
    EXPECT_EQ(r.vessels[1].identity, VENSEG_IDENTITY_ARTERY);
    EXPECT_GT(r.s.identity_confidence, 0.95);
    EXPECT_GT(r.s.verdict_confidence, 0.8);
    EXPECT_EQ(r.s.medial_side_source, 1);
    EXPECT_FALSE(r.s.flags & VENSEG_FLAG_IDENTITY_CONFLICT);
    // the artery pulses at the phantom's 72 bpm; the vein does not
    EXPECT_NEAR(r.vessels[1].pulse_rate_bpm, 72, 6) << r.vessels[1].evidence;
    EXPECT_TRUE(std::isnan(r.vessels[0].pulse_rate_bpm)) << r.vessels[0].evidence;
    EXPECT_EQ(r.vessels[0].network_vein_fraction, 1.0);
    EXPECT_GT(r.vessels[0].position_score, 0.5);
    EXPECT_LT(r.vessels[1].position_score, -0.5);
    EXPECT_GT(r.vessels[1].roundness, r.vessels[0].roundness);
    const std::string ev = r.vessels[0].evidence;
    EXPECT_EQ(ev.rfind("vein: medial to the artery, no pulsation", 0), 0u) << ev;
    EXPECT_NE(ev.find("% compressed"), std::string::npos) << ev;
    EXPECT_EQ(std::string(r.vessels[1].evidence).rfind("artery: lateral to the vein, pulsating", 0), 0u)
        << r.vessels[1].evidence;
    EXPECT_EQ(std::string(venseg_identity_name(VENSEG_IDENTITY_VEIN)), "VENSEG_IDENTITY_VEIN");
    EXPECT_EQ(std::string(venseg_flag_name(VENSEG_FLAG_IDENTITY_CONFLICT)), "VENSEG_FLAG_IDENTITY_CONFLICT");
}

TEST(TrackerIdentity, LabelsSwappedOnTheWholeClipAreOverruledAndFlagged) {
    for (int thrombus = 0; thrombus <= 2; thrombus++) {
        auto r = run_identity(30 + thrombus, thrombus, SWAP_ALL);
        EXPECT_EQ(r.s.verdict, expected_verdict(thrombus)) << "thrombus " << thrombus << ": " << flags_text(r.s.flags);
        EXPECT_TRUE(r.s.flags & VENSEG_FLAG_IDENTITY_CONFLICT) << flags_text(r.s.flags);
        ASSERT_FALSE(r.vessels.empty());
        EXPECT_EQ(r.vessels[0].track_id, r.true_vein_track) << r.vessels[0].evidence;
        EXPECT_EQ(r.vessels[0].network_vein_fraction, 0.0);
    }
}

TEST(TrackerIdentity, AThrombosedVeinNeverBecomesTheArtery) {
    // it does not collapse, and the labels say artery in 30 % of frames
    auto r = run_identity(41, 2, SWAP_SOME);
    EXPECT_EQ(r.s.verdict, VENSEG_VERDICT_NON_COMPRESSIBLE) << flags_text(r.s.flags);
    ASSERT_FALSE(r.vessels.empty());
    EXPECT_EQ(r.vessels[0].identity, VENSEG_IDENTITY_VEIN);
    EXPECT_EQ(r.vessels[0].track_id, r.true_vein_track);
    EXPECT_LT(r.s.compressibility_percent, 25);
}

TEST(TrackerIdentity, VeinMissedInSomeFramesIsSkippedNotCollapsed) {
    for (int thrombus = 0; thrombus <= 2; thrombus++) {
        auto r = run_identity(50 + thrombus, thrombus, MISS_SOME);
        EXPECT_EQ(r.s.verdict, expected_verdict(thrombus)) << "thrombus " << thrombus << ": " << flags_text(r.s.flags)
                                                            << " C " << r.s.compressibility_percent;
        EXPECT_TRUE(r.s.flags & VENSEG_FLAG_VEIN_INTERMITTENT) << flags_text(r.s.flags);
    }
}

TEST(TrackerIdentity, MergedVesselsAreSplitApart) {
    for (int thrombus = 0; thrombus <= 2; thrombus++) {
        auto r = run_identity(60 + thrombus, thrombus, MERGE);
        EXPECT_EQ(r.s.verdict, expected_verdict(thrombus)) << "thrombus " << thrombus << ": " << flags_text(r.s.flags)
                                                            << " C " << r.s.compressibility_percent;
        EXPECT_TRUE(r.s.flags & VENSEG_FLAG_VESSELS_MERGED) << flags_text(r.s.flags);
    }
}

TEST(TrackerIdentity, WithoutTheMedialSideItIsDetected) {
    auto r = run_identity(70, 0, CLEAN, false);
    EXPECT_EQ(r.s.verdict, VENSEG_VERDICT_COMPRESSIBLE) << flags_text(r.s.flags);
    EXPECT_EQ(r.s.medial_side_source, 2);
    EXPECT_NE(r.s.medial_side, 0);
}

TEST(TrackerIdentity, AVeinLeavingThePlaneAfterReleaseIsNotACollapse) {
    // 8 s exam-like clips: the vein shrinks and vanishes out of plane after the release, with
    // the probe no longer pressing; only the drop while the artery is pressed counts
    for (int thrombus = 0; thrombus <= 2; thrombus++) {
        venseg_phantom_config *pc = nullptr;
        ASSERT_EQ(venseg_phantom_config_create(&pc), VENSEG_OK);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_SEED, 80 + thrombus);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_THROMBUS, thrombus);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_WIDTH, 128);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_HEIGHT, 128);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_PIXEL_SPACING, 0.3);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_FRAMES, 240);
        ASSERT_EQ(venseg_phantom_config_set(pc, VENSEG_PHANTOM_BASELINE_S, 2.5), VENSEG_OK);
        ASSERT_EQ(venseg_phantom_config_set(pc, VENSEG_PHANTOM_OUT_OF_PLANE, 1), VENSEG_OK);
        venseg_phantom *raw = nullptr;
        ASSERT_EQ(venseg_phantom_create(pc, &raw), VENSEG_OK);
        venseg_phantom_config_free(pc);
        PhantomPtr p(raw);
        auto t = make_tracker(0.3, 2, VENSEG_SITE_COMMON_FEMORAL);
        std::vector<uint8_t> lab(128 * 128);
        int hidden = 0;
        for (int i = 0; i < 240; i++) {
            ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), 128), VENSEG_OK);
            venseg_phantom_truth tr{};
            tr.struct_size = sizeof tr;
            ASSERT_EQ(venseg_phantom_truth_at(p.get(), i, &tr), VENSEG_OK);
            hidden += !tr.vein_visible;
            ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 128, 128, 128), VENSEG_OK);
        }
        EXPECT_GE(hidden, 8);
        auto s = summary(t.get());
        EXPECT_EQ(s.verdict, expected_verdict(thrombus))
            << "thrombus " << thrombus << ": C " << s.compressibility_percent << " " << flags_text(s.flags);
        EXPECT_NEAR(s.compressibility_percent, true_compressibility(p.get()), 3.0);
    }
}

TEST(TrackerIdentity, AVeinShrinkingEveryWayIsNotACompression) {
    // a segmenter that loses a thrombosed vein under the probe: the mask shrinks around its
    // centre as the pressure rises (the vein itself barely compresses)
    PhantomSpec spec;
    spec.seed = 90;
    spec.thrombus = 2;
    spec.frames = 240;
    auto p = make_phantom(spec);
    auto t = make_tracker(spec.spacing, 2, VENSEG_SITE_COMMON_FEMORAL);
    std::vector<uint8_t> lab(size_t(spec.w) * spec.h), out(lab.size());
    for (int i = 0; i < spec.frames; i++) {
        ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), spec.w), VENSEG_OK);
        venseg_phantom_truth tr{};
        tr.struct_size = sizeof tr;
        ASSERT_EQ(venseg_phantom_truth_at(p.get(), i, &tr), VENSEG_OK);
        double cx = 0, cy = 0;
        int nv = 0;
        for (int y = 0; y < spec.h; y++)
            for (int x = 0; x < spec.w; x++)
                if (lab[size_t(y) * spec.w + x] == 2) cx += x, cy += y, nv++;
        cx /= std::max(nv, 1), cy /= std::max(nv, 1);
        const double k = std::sqrt(1.0 - 0.7 * tr.pressure); // area down to 30 %
        for (int y = 0; y < spec.h; y++)
            for (int x = 0; x < spec.w; x++) {
                uint8_t v = lab[size_t(y) * spec.w + x];
                if (v == 2) v = 0;
                int sx = int(std::lround(cx + (x - cx) / k)), sy = int(std::lround(cy + (y - cy) / k));
                if (sx >= 0 && sy >= 0 && sx < spec.w && sy < spec.h && lab[size_t(sy) * spec.w + sx] == 2) v = 2;
                out[size_t(y) * spec.w + x] = v;
            }
        ASSERT_EQ(venseg_tracker_push_labels(t.get(), out.data(), spec.w, spec.w, spec.h), VENSEG_OK);
    }
    auto s = summary(t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE) << "C " << s.compressibility_percent << " " << flags_text(s.flags);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_SHRANK_NOT_FLATTENED) << flags_text(s.flags);
    EXPECT_GT(s.compressibility_percent, 50); // what area alone would have claimed
}

TEST(TrackerIdentity, AFastFullCollapseIsTheNormalFindingNotALostVein) {
    // `venseg demo --frames 30`: one second, the vein shuts within a few frames
    for (int stride : {1, 2}) {
        PhantomSpec spec;
        spec.seed = 1;
        spec.frames = 30;
        auto t = make_tracker(spec.spacing, stride, "", 5);
        auto s = run_truth(spec, t.get());
        EXPECT_EQ(s.verdict, VENSEG_VERDICT_COMPRESSIBLE) << "stride " << stride << ": " << flags_text(s.flags);
        EXPECT_FALSE(s.flags & VENSEG_FLAG_VEIN_LOST) << flags_text(s.flags);
    }
    // half a second (tests/python/test_batch.py's clips): 100 %, 75 %, then shut for 6 frames
    PhantomSpec spec;
    spec.seed = 4;
    spec.frames = 16;
    spec.w = 160;
    auto t = make_tracker(spec.spacing, 1, "");
    auto s = run_truth(spec, t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_COMPRESSIBLE) << "C " << s.compressibility_percent << " " << flags_text(s.flags);
}

namespace {
// A drawn scene: a pulsing artery disc and, touching its side at the tip, a small vein
// ellipse (a sixth of the artery's area, as in several groin frames of the real-frame
// study) that the probe flattens to `squash_to` of its height; 240 frames at 30 fps.
struct TouchingScene {
    static constexpr int w = 160, h = 120, frames = 240;
    double squash_to = 0.0;
    bool vein_half_artery = false; // one vessel labelled half artery: must stay whole
    double gap = -1.0;             // from the artery's side to the vein's tip, px (< 0: overlapping)

    static double pressure(int i) {
        if (i < 100 || i >= 200) return 0.0;
        if (i < 130) return (i - 100) / 30.0;
        if (i < 170) return 1.0;
        return (200 - i) / 30.0;
    }
    std::vector<uint8_t> frame(int i, int64_t *vein_area) const {
        const double p = pressure(i), pulse = 1.0 + 0.06 * std::sin(2 * M_PI * 1.2 * i / 30.0);
        const double ra = 26 * pulse, arx = ra * (1 + 0.1 * p), ary = ra * (1 - 0.2 * p);
        const double vcx = 60 + arx + 14 + gap, vcy = 60, va = 14, vb = 8 * (1 - (1 - squash_to) * p);
        std::vector<uint8_t> lab(size_t(w) * h, 0);
        *vein_area = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const double ax = (x + 0.5 - 60) / arx, ay = (y + 0.5 - 60) / ary;
                const double vx = (x + 0.5 - vcx) / va, vy = vb > 0.3 ? (y + 0.5 - vcy) / vb : 2.0;
                uint8_t &v = lab[size_t(y) * w + x];
                if (ax * ax + ay * ay < 1) v = 1;
                if (vx * vx + vy * vy < 1) {
                    v = vein_half_artery && x + 0.5 < vcx ? 1 : 2;
                    ++*vein_area;
                }
            }
        return lab;
    }
};
} // namespace

TEST(TrackerIdentity, ASmallVeinTouchingItsArteryIsSplitByLabel) {
    // no neck (the vein is too thin beside the artery's radius) and no earlier frame apart:
    // the labels, meeting along a short contact, are what separates them
    for (double squash_to : {0.0, 0.5, 0.97}) {
        TouchingScene scene;
        scene.squash_to = squash_to;
        auto t = make_tracker(0.3, 2, VENSEG_SITE_COMMON_FEMORAL);
        int64_t rest = 0, least = INT64_MAX, area = 0;
        for (int i = 0; i < scene.frames; i++) {
            auto lab = scene.frame(i, &area);
            if (i == 0) rest = area;
            least = std::min(least, area);
            ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), scene.w, scene.w, scene.h), VENSEG_OK);
        }
        const double truth = 100.0 * double(rest - least) / double(rest);
        auto s = summary(t.get());
        const venseg_verdict want = truth >= 90   ? VENSEG_VERDICT_COMPRESSIBLE
                                    : truth >= 25 ? VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE
                                                  : VENSEG_VERDICT_NON_COMPRESSIBLE;
        EXPECT_EQ(s.verdict, want) << "squash to " << squash_to << ": C " << s.compressibility_percent << " truth "
                                   << truth << " " << flags_text(s.flags);
        EXPECT_NEAR(s.compressibility_percent, truth, 3.0) << "squash to " << squash_to;
        EXPECT_TRUE(s.flags & VENSEG_FLAG_VESSELS_MERGED) << flags_text(s.flags);
    }
}

TEST(TrackerIdentity, OneVesselLabelledHalfArteryIsNotCutInTwo) {
    // the labels meet along a chord, a large part of each half's outline: one vessel
    TouchingScene scene;
    scene.vein_half_artery = true;
    scene.gap = 12; // apart from the artery
    auto t = make_tracker(0.3, 1);
    int64_t area = 0;
    auto lab = scene.frame(0, &area);
    ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), scene.w, scene.w, scene.h), VENSEG_OK);
    int32_t n = 0;
    ASSERT_EQ(venseg_tracker_instance_count(t.get(), &n), VENSEG_OK);
    EXPECT_EQ(n, 2); // the artery, and the half-labelled vessel whole
}

TEST(Tracker, AVeinVanishingFromMostOfItsAreaUnderPressureIsLostNotCollapsed) {
    // the segmenter stops labelling a partly compressed vein while the probe presses: area
    // alone would read a full collapse (100 %); it vanished at more than LOST_FRACTION of its
    // baseline, so it is a loss
    PhantomSpec spec;
    spec.frames = 240;
    auto p = make_phantom(spec);
    auto t = make_tracker(spec.spacing, 2, VENSEG_SITE_COMMON_FEMORAL);
    std::vector<uint8_t> lab(size_t(spec.w) * spec.h);
    int64_t rest = -1;
    for (int i = 0; i < spec.frames; i++) {
        ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), spec.w), VENSEG_OK);
        venseg_phantom_truth tr{};
        tr.struct_size = sizeof tr;
        ASSERT_EQ(venseg_phantom_truth_at(p.get(), i, &tr), VENSEG_OK);
        const int64_t vein = std::count(lab.begin(), lab.end(), uint8_t(2));
        if (rest < 0) rest = vein;
        if (tr.pressure > 0 && vein < 0.8 * double(rest))
            std::replace(lab.begin(), lab.end(), uint8_t(2), uint8_t(0));
        ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), spec.w, spec.w, spec.h), VENSEG_OK);
    }
    auto s = summary(t.get());
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_INDETERMINATE) << "C " << s.compressibility_percent << " " << flags_text(s.flags);
    EXPECT_TRUE(s.flags & VENSEG_FLAG_VEIN_LOST) << flags_text(s.flags);
}

TEST(TrackerIdentity, VesselAccessorErrors) {
    auto t = make_tracker(0.3);
    int32_t n = -1;
    EXPECT_EQ(venseg_tracker_vessel_count(t.get(), &n), VENSEG_OK);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(venseg_tracker_vessel_count(nullptr, &n), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_vessel_count(t.get(), nullptr), VENSEG_E_INVALID_ARGUMENT);
    venseg_vessel v{};
    v.struct_size = sizeof v;
    EXPECT_EQ(venseg_tracker_vessel_at(t.get(), 0, &v), VENSEG_E_NOT_FOUND);
    EXPECT_EQ(venseg_tracker_vessel_at(t.get(), 0, nullptr), VENSEG_E_INVALID_ARGUMENT);
    // an old, shorter summary struct is filled up to its size and no further
    auto full = summary(t.get());
    (void)full;
    const size_t old_size = offsetof(venseg_track_summary, verdict_confidence);
    std::vector<unsigned char> buf(sizeof(venseg_track_summary) + 8, 0xAB);
    uint32_t sz = uint32_t(old_size);
    std::memcpy(buf.data(), &sz, sizeof sz);
    EXPECT_EQ(venseg_tracker_summary_get(t.get(), reinterpret_cast<venseg_track_summary *>(buf.data())), VENSEG_OK);
    for (size_t i = old_size; i < buf.size(); i++) EXPECT_EQ(buf[i], 0xAB) << "byte " << i;
    double lo, hi, def;
    EXPECT_EQ(venseg_tracker_config_bounds(VENSEG_TRACKER_MEDIAL_SIDE, &lo, &hi, &def), VENSEG_OK);
    EXPECT_EQ(lo, -1);
    EXPECT_EQ(hi, 1);
    EXPECT_EQ(def, 0);
    venseg_tracker_config *cfg = nullptr;
    ASSERT_EQ(venseg_tracker_config_create(&cfg), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_config_set(cfg, VENSEG_TRACKER_MEDIAL_SIDE, 0.5), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set(cfg, VENSEG_TRACKER_MIN_VERDICT_CONFIDENCE, 1.5), VENSEG_E_INVALID_ARGUMENT);
    venseg_tracker_config_free(cfg);
}

TEST(Tracker, StructSizeContract) {
    auto t = make_tracker(0.3);
    std::vector<uint8_t> lab(32 * 32, 0);
    ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 32, 32, 32), VENSEG_OK);
    // an "old" caller that knows only the first fields: nothing past them is written
    struct {
        venseg_track_summary s;
        char guard[16];
    } big;
    std::memset(&big, 0x5A, sizeof big);
    big.s.struct_size = offsetof(venseg_track_summary, frames_pushed);
    ASSERT_EQ(venseg_tracker_summary(t.get(), &big.s), VENSEG_OK);
    EXPECT_EQ(big.s.struct_size, offsetof(venseg_track_summary, frames_pushed));
    EXPECT_EQ(big.s.verdict, VENSEG_VERDICT_INDETERMINATE);
    const unsigned char *bytes = reinterpret_cast<const unsigned char *>(&big.s);
    for (size_t i = offsetof(venseg_track_summary, frames_pushed); i < sizeof big; i++) ASSERT_EQ(bytes[i], 0x5A);
    venseg_track_summary tiny;
    tiny.struct_size = 2;
    EXPECT_EQ(venseg_tracker_summary(t.get(), &tiny), VENSEG_E_INVALID_ARGUMENT);
}

// ------------------------------------------------------------ argument errors

TEST(Tracker, ConfigErrors) {
    venseg_tracker_config *c = nullptr;
    ASSERT_EQ(venseg_tracker_config_create(&c), VENSEG_OK);
    double lo, hi, def, v;
    ASSERT_EQ(venseg_tracker_config_bounds(VENSEG_TRACKER_COMPRESSIBLE_PERCENT, &lo, &hi, &def), VENSEG_OK);
    EXPECT_EQ(def, 90);
    ASSERT_EQ(venseg_tracker_config_bounds(VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT, &lo, &hi, &def), VENSEG_OK);
    EXPECT_EQ(def, 25);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_FRAME_STRIDE, 0), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_FRAME_STRIDE, 1.5), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_SMOOTH_WINDOW, 4), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_X, -1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_X, INFINITY), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set(c, (venseg_tracker_key)0, 1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_get(c, (venseg_tracker_key)99, &v), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set_site(c, std::string(64, 'a').c_str()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set_site(c, "bad\nsite"), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_config_set_site(c, nullptr), VENSEG_E_INVALID_ARGUMENT);
    ASSERT_EQ(venseg_tracker_config_set_site(c, "popliteal"), VENSEG_OK);
    EXPECT_STREQ(venseg_tracker_config_site(c), "popliteal");
    EXPECT_STREQ(venseg_tracker_config_site(nullptr), "");
    // spacing on one axis only
    ASSERT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_X, 0.2), VENSEG_OK);
    venseg_tracker *t = nullptr;
    EXPECT_EQ(venseg_tracker_create(c, &t), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(t, nullptr);
    ASSERT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_Y, 0.2), VENSEG_OK);
    ASSERT_EQ(venseg_tracker_config_set(c, VENSEG_TRACKER_VEIN_LABEL, 1), VENSEG_OK); // same as the artery's
    EXPECT_EQ(venseg_tracker_create(c, &t), VENSEG_E_INVALID_ARGUMENT);
    venseg_tracker_config_free(c);
    venseg_tracker_config_free(nullptr);
    venseg_tracker_free(nullptr);
    EXPECT_STREQ(venseg_verdict_name(VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE), "VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE");
    EXPECT_STREQ(venseg_verdict_name((venseg_verdict)17), "VENSEG_VERDICT_UNKNOWN");
    EXPECT_STREQ(venseg_flag_name(VENSEG_FLAG_PROBE_MOVED), "VENSEG_FLAG_PROBE_MOVED");
    EXPECT_STREQ(venseg_flag_name(VENSEG_FLAG_PROBE_MOVED | VENSEG_FLAG_NO_VEIN), "VENSEG_FLAG_UNKNOWN");
    EXPECT_STREQ(venseg_flag_name(0), "VENSEG_FLAG_UNKNOWN");
}

TEST(Tracker, PushErrorsLeaveTheTrackerUsable) {
    auto t = make_tracker(0.3, 1);
    std::vector<uint8_t> lab(64 * 64, 0);
    EXPECT_EQ(venseg_tracker_push_labels(nullptr, lab.data(), 64, 64, 64), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_push_labels(t.get(), nullptr, 64, 64, 64), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 63, 64, 64), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 64, 0, 64), VENSEG_E_INVALID_ARGUMENT);
    ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 64, 64, 64), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 64, 32, 64), VENSEG_E_INVALID_ARGUMENT); // size change
    EXPECT_NE(std::string(venseg_last_error()).find("venseg_tracker_reset"), std::string::npos);
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")));
    auto s = single_thread_session(m.get());
    EXPECT_EQ(venseg_tracker_push_frame(t.get(), nullptr, lab.data(), VENSEG_PIXEL_GRAY8, 64, 64, 64, nullptr, 0),
              VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_push_frame(t.get(), s.get(), lab.data(), (venseg_pixel_format)9, 64, 64, 64, nullptr, 0),
              VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_tracker_push_frame(t.get(), s.get(), lab.data(), VENSEG_PIXEL_RGB8, 64, 64, 64, nullptr, 0),
              VENSEG_E_INVALID_ARGUMENT); // stride < 3 x width
    EXPECT_EQ(venseg_tracker_push_frame(t.get(), s.get(), lab.data(), VENSEG_PIXEL_GRAY8, 64, 64, 64, lab.data(), 10),
              VENSEG_E_INVALID_ARGUMENT);
    std::vector<uint8_t> mask(64 * 64, 0xEE);
    ASSERT_EQ(venseg_tracker_push_frame(t.get(), s.get(), lab.data(), VENSEG_PIXEL_GRAY8, 64, 64, 64, mask.data(), 64),
              VENSEG_OK);
    for (uint8_t v : mask) ASSERT_LE(v, 2);
    venseg_track_frame f;
    std::memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    EXPECT_EQ(venseg_tracker_frame(t.get(), 2, &f), VENSEG_E_NOT_FOUND);
    ASSERT_EQ(venseg_tracker_frame(t.get(), 1, &f), VENSEG_OK);
    EXPECT_EQ(f.frame_index, 1);
    int32_t count = 0;
    venseg_tracked_instance in;
    in.struct_size = sizeof in;
    EXPECT_EQ(venseg_tracker_instance(t.get(), 1000, &in), VENSEG_E_NOT_FOUND);
    EXPECT_EQ(venseg_tracker_curve(t.get(), (venseg_area_unit)5, 0, &count, nullptr, nullptr, nullptr, nullptr),
              VENSEG_E_INVALID_ARGUMENT);
    ASSERT_EQ(venseg_tracker_reset(t.get()), VENSEG_OK);
    ASSERT_EQ(venseg_tracker_push_labels(t.get(), lab.data(), 32, 32, 32), VENSEG_OK); // a new size after reset
    auto r = summary(t.get());
    EXPECT_EQ(r.frames_pushed, 1);
    // spacing unknown: mm values NaN, the mm curve undefined
    auto u = make_tracker(0.0, 1);
    ASSERT_EQ(venseg_tracker_push_labels(u.get(), lab.data(), 64, 64, 64), VENSEG_OK);
    EXPECT_EQ(venseg_tracker_curve(u.get(), VENSEG_AREA_MM2, 10, &count, nullptr, nullptr, nullptr, nullptr),
              VENSEG_E_UNDEFINED);
    EXPECT_TRUE(summary(u.get()).flags & VENSEG_FLAG_SPACING_UNKNOWN);
}

// ----------------------------------------------------------------------- exam

TEST(Exam, TwoAndThreePointReports) {
    auto site_tracker = [](const char *site, int thrombus, double seed) {
        auto t = make_tracker(0.3, 2, site);
        PhantomSpec spec;
        spec.seed = seed;
        spec.thrombus = thrombus;
        run_truth(spec, t.get());
        return t;
    };
    auto cfv = site_tracker(VENSEG_SITE_COMMON_FEMORAL, 0, 1);
    auto pop_ok = site_tracker("Popliteal", 0, 2);
    auto pop_dvt = site_tracker(VENSEG_SITE_POPLITEAL, 2, 3);
    auto fv = site_tracker(VENSEG_SITE_FEMORAL, 1, 4);

    venseg_exam *e = nullptr;
    ASSERT_EQ(venseg_exam_create(VENSEG_EXAM_TWO_POINT, &e), VENSEG_OK);
    ExamPtr two(e);
    venseg_exam_report r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    ASSERT_EQ(venseg_exam_report_get(two.get(), &r), VENSEG_OK);
    EXPECT_EQ(r.outcome, VENSEG_EXAM_INCOMPLETE);
    EXPECT_EQ(r.site_count, 2);
    EXPECT_EQ(r.required_missing, 2);
    ASSERT_EQ(venseg_exam_add(two.get(), cfv.get()), VENSEG_OK);
    ASSERT_EQ(venseg_exam_report_get(two.get(), &r), VENSEG_OK);
    EXPECT_EQ(r.outcome, VENSEG_EXAM_INCOMPLETE);
    ASSERT_EQ(venseg_exam_add(two.get(), pop_ok.get()), VENSEG_OK); // case-insensitive site match
    ASSERT_EQ(venseg_exam_report_get(two.get(), &r), VENSEG_OK);
    EXPECT_EQ(r.outcome, VENSEG_EXAM_NORMAL);
    EXPECT_EQ(r.site_count, 2);
    EXPECT_EQ(r.compressible, 2);
    ASSERT_EQ(venseg_exam_add(two.get(), pop_dvt.get()), VENSEG_OK); // replaces the popliteal entry
    ASSERT_EQ(venseg_exam_report_get(two.get(), &r), VENSEG_OK);
    EXPECT_EQ(r.outcome, VENSEG_EXAM_ABNORMAL);
    EXPECT_EQ(r.non_compressible, 1);
    venseg_exam_site s;
    std::memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    ASSERT_EQ(venseg_exam_site_at(two.get(), 1, &s), VENSEG_OK);
    EXPECT_STREQ(s.site, "popliteal");
    EXPECT_EQ(s.required, 1);
    EXPECT_EQ(s.verdict, VENSEG_VERDICT_NON_COMPRESSIBLE);
    EXPECT_GT(s.residual_area_mm2, 10);
    EXPECT_EQ(venseg_exam_site_at(two.get(), 2, &s), VENSEG_E_NOT_FOUND);

    ASSERT_EQ(venseg_exam_create(VENSEG_EXAM_THREE_POINT, &e), VENSEG_OK);
    ExamPtr three(e);
    ASSERT_EQ(venseg_exam_add(three.get(), cfv.get()), VENSEG_OK);
    ASSERT_EQ(venseg_exam_add(three.get(), pop_ok.get()), VENSEG_OK);
    ASSERT_EQ(venseg_exam_report_get(three.get(), &r), VENSEG_OK);
    EXPECT_EQ(r.outcome, VENSEG_EXAM_INCOMPLETE); // the femoral vein is missing
    EXPECT_EQ(r.required_missing, 1);
    ASSERT_EQ(venseg_exam_site_at(three.get(), 1, &s), VENSEG_OK);
    EXPECT_STREQ(s.site, "femoral");
    EXPECT_EQ(s.recorded, 0);
    ASSERT_EQ(venseg_exam_add(three.get(), fv.get()), VENSEG_OK);
    ASSERT_EQ(venseg_exam_report_get(three.get(), &r), VENSEG_OK);
    EXPECT_EQ(r.outcome, VENSEG_EXAM_ABNORMAL);
    EXPECT_EQ(r.partially_compressible, 1);

    // errors
    auto nosite = make_tracker(0.3);
    EXPECT_EQ(venseg_exam_add(three.get(), nosite.get()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_exam_add(nullptr, cfv.get()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_exam_create((venseg_exam_protocol)1, &e), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_STREQ(venseg_exam_outcome_name(VENSEG_EXAM_ABNORMAL), "VENSEG_EXAM_ABNORMAL");
    venseg_exam_free(nullptr);
}

// -------------------------------------------------- the real FloWave cine

namespace {
// Decodes the FloWave cine's B-mode area (bmode_roi_xywh [30, 47, 468, 341], height
// rounded to 340 by the decoder) to RGB with the ffmpeg CLI. Empty when unavailable.
const int FW_W = 468, FW_H = 340;
std::vector<uint8_t> decode_flowave(int *frames) {
    *frames = 0;
    std::string video = std::string(VENSEG_SOURCE_DIR) + "/../shared/data/flowave-brachial-video/video/DemoBMode.mov";
    if (!std::filesystem::exists(video)) return {};
    if (std::system("ffmpeg -version > /dev/null 2>&1") != 0) return {};
    std::string cmd = "ffmpeg -v error -i '" + video + "' -vf crop=468:340:30:47 -f rawvideo -pix_fmt rgb24 -";
    FILE *f = popen(cmd.c_str(), "r");
    if (!f) return {};
    std::vector<uint8_t> all;
    std::vector<uint8_t> buf(1 << 16);
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) all.insert(all.end(), buf.begin(), buf.begin() + n);
    pclose(f);
    *frames = int(all.size() / (size_t(FW_W) * FW_H * 3));
    return all;
}

// A classical lumen mask: dark after a 9 x 9 box blur, or mostly colour-Doppler red
// (blood) in the box; the scanner's side bars (12 columns each side) are left out; the
// largest such region gets `label`.
std::vector<uint8_t> lumen_mask(const uint8_t *rgb, uint8_t label) {
    const int w = FW_W, h = FW_H;
    std::vector<float> ig((w + 1) * (h + 1), 0), ir((w + 1) * (h + 1), 0);
    std::vector<uint8_t> m(w * h, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = rgb + 3 * (y * w + x);
            float grey = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
            float red = (p[0] > 120 && p[0] > p[1] + 60 && p[0] > p[2] + 60) ? 1.0f : 0.0f;
            int a = (y + 1) * (w + 1) + x + 1, b = y * (w + 1) + x + 1, c = (y + 1) * (w + 1) + x, d = y * (w + 1) + x;
            ig[a] = grey + ig[b] + ig[c] - ig[d];
            ir[a] = red + ir[b] + ir[c] - ir[d];
        }
    auto box = [&](const std::vector<float> &in, int x0, int y0, int x1, int y1) {
        return in[y1 * (w + 1) + x1] - in[y0 * (w + 1) + x1] - in[y1 * (w + 1) + x0] + in[y0 * (w + 1) + x0];
    };
    for (int y = 0; y < h; y++)
        for (int x = 12; x < w - 12; x++) {
            int x0 = std::max(0, x - 4), x1 = std::min(w, x + 5), y0 = std::max(0, y - 4), y1 = std::min(h, y + 5);
            float n = float((x1 - x0) * (y1 - y0));
            m[y * w + x] = (box(ig, x0, y0, x1, y1) / n < 12.0f || box(ir, x0, y0, x1, y1) / n > 0.15f) ? 1 : 0;
        }
    // keep the largest 4-connected region
    std::vector<int> comp(w * h, -1), stack;
    int best = -1, best_n = 0, id = 0;
    for (int s = 0; s < w * h; s++) {
        if (!m[s] || comp[s] >= 0) continue;
        int n = 0;
        stack.assign(1, s);
        comp[s] = id;
        while (!stack.empty()) {
            int q = stack.back();
            stack.pop_back();
            n++;
            int qx = q % w, qy = q / w;
            const int nb[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
            for (auto &d : nb) {
                int nx = qx + d[0], ny = qy + d[1];
                if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                int r = ny * w + nx;
                if (m[r] && comp[r] < 0) comp[r] = id, stack.push_back(r);
            }
        }
        if (n > best_n) best_n = n, best = id;
        id++;
    }
    std::vector<uint8_t> out(w * h, 0);
    for (int i = 0; i < w * h; i++)
        if (comp[i] == best) out[i] = label;
    return out;
}
} // namespace

TEST(TrackerFloWave, PulsingArteryNeverYieldsACompressibleVein) {
    int frames = 0;
    auto rgb = decode_flowave(&frames);
    if (frames == 0)
        GTEST_SKIP() << "the FloWave cine (../shared/data/flowave-brachial-video) or the ffmpeg CLI is not available";
    ASSERT_GE(frames, 400);
    const size_t fb = size_t(FW_W) * FW_H * 3;
    // the paper's every-2nd-frame stride; the 2.5 cm display depth over 340 rows
    const double mm = 25.0 / FW_H;
    auto as_artery = make_tracker(mm, 2), as_vein = make_tracker(mm, 2), model = make_tracker(mm, 2);
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")));
    ASSERT_TRUE(m);
    auto s = single_thread_session(m.get());
    ASSERT_TRUE(s);
    int64_t lumen_px = 0;
    for (int i = 0; i < frames; i++) {
        const uint8_t *f = rgb.data() + i * fb;
        auto a = lumen_mask(f, 1), v = lumen_mask(f, 2);
        for (auto x : a) lumen_px += x != 0;
        ASSERT_EQ(venseg_tracker_push_labels(as_artery.get(), a.data(), FW_W, FW_W, FW_H), VENSEG_OK);
        ASSERT_EQ(venseg_tracker_push_labels(as_vein.get(), v.data(), FW_W, FW_W, FW_H), VENSEG_OK);
        ASSERT_EQ(venseg_tracker_push_frame(model.get(), s.get(), f, VENSEG_PIXEL_RGB8, FW_W, FW_H, FW_W * 3, nullptr, 0),
                  VENSEG_OK)
            << venseg_last_error();
    }
    EXPECT_GT(lumen_px / frames, 3000); // the mask found the lumen
    for (auto *t : {as_artery.get(), as_vein.get()}) {
        int32_t nv = 0;
        venseg_tracker_vessel_count(t, &nv);
        for (int i = 0; i < nv; i++) {
            venseg_vessel v{};
            v.struct_size = sizeof v;
            venseg_tracker_vessel_at(t, i, &v);
            std::printf("[ flowave  ] track %d: %s (confidence %.2f, %d frames)\n", v.track_id, v.evidence,
                        v.identity_confidence, v.frames_present);
        }
    }
    // 1. the lumen segmented as what it is, an artery: no vein, indeterminate
    auto r1 = summary(as_artery.get());
    EXPECT_EQ(r1.verdict, VENSEG_VERDICT_INDETERMINATE);
    EXPECT_TRUE(r1.flags & VENSEG_FLAG_NO_VEIN);
    // 2. worst case, a segmenter calling the pulsing artery a vein: it does not collapse
    auto r2 = summary(as_vein.get());
    EXPECT_NE(r2.verdict, VENSEG_VERDICT_COMPRESSIBLE) << flags_text(r2.flags);
    // where the crude mask merges the lumen with other dark tissue past the plausible size,
    // the "vein" vanishes while open: the percentage then means nothing, and a flag says so
    const uint32_t unsafe = VENSEG_FLAG_VEIN_LOST | VENSEG_FLAG_PROBE_MOVED | VENSEG_FLAG_UNSTABLE |
                            VENSEG_FLAG_NO_COMPRESSION;
    EXPECT_TRUE(r2.compressibility_percent < 90.0 || (r2.flags & unsafe)) << flags_text(r2.flags);
    // 3. the (untrained) model in the loop
    auto r3 = summary(model.get());
    EXPECT_NE(r3.verdict, VENSEG_VERDICT_COMPRESSIBLE) << flags_text(r3.flags) << " C " << r3.compressibility_percent;
    std::printf("[ flowave  ] %d frames; as artery: %s [%s]; as vein: C %.1f %% %s [%s]; tiny model: C %.1f %% %s [%s]\n",
                frames, venseg_verdict_name((venseg_verdict)r1.verdict), flags_text(r1.flags).c_str(),
                r2.compressibility_percent, venseg_verdict_name((venseg_verdict)r2.verdict), flags_text(r2.flags).c_str(),
                r3.compressibility_percent, venseg_verdict_name((venseg_verdict)r3.verdict), flags_text(r3.flags).c_str());
}
