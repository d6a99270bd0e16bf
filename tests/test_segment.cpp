// Segmenting frames: pixel formats, strides, ROI, spacing, instances, determinism and
// every argument error, with the session still usable afterwards.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "test_helpers.hpp"
#include "vseg_test_writer.hpp"

namespace {

ModelPtr tiny() {
    venseg_status st;
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")), &st);
    EXPECT_EQ(st, VENSEG_OK) << venseg_last_error();
    return m;
}

// A synthetic frame: dark discs on speckle-like texture.
std::vector<uint8_t> frame(int w, int h) {
    std::vector<uint8_t> f(size_t(w) * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double d1 = std::hypot(x - w * 0.3, y - h * 0.5), d2 = std::hypot(x - w * 0.7, y - h * 0.45);
            int v = 90 + int(60 * std::sin(x * 0.7 + y * 1.3)) + int(30 * std::cos(x * y * 0.01));
            if (d1 < w * 0.12 || d2 < w * 0.09) v = 10;
            f[size_t(y) * w + x] = uint8_t(std::min(255, std::max(0, v)));
        }
    return f;
}

struct Result {
    std::vector<uint8_t> mask;
    std::vector<float> probs;
    std::vector<venseg_instance> instances;
};

Result run(venseg_session *s, const void *px, venseg_pixel_format fmt, int w, int h, int64_t stride) {
    Result r;
    r.mask.assign(size_t(w) * h, 0xEE);
    r.probs.assign(size_t(2) * w * h, -1.0f);
    venseg_status st = venseg_segment(s, px, fmt, w, h, stride, r.mask.data(), w, r.probs.data(), w);
    EXPECT_EQ(st, VENSEG_OK) << venseg_last_error();
    int32_t n = 0;
    EXPECT_EQ(venseg_session_instance_count(s, &n), VENSEG_OK);
    for (int32_t i = 0; i < n; i++) {
        venseg_instance inst;
        std::memset(&inst, 0, sizeof inst);
        inst.struct_size = sizeof inst;
        EXPECT_EQ(venseg_session_instance(s, i, &inst), VENSEG_OK);
        r.instances.push_back(inst);
    }
    return r;
}

} // namespace

TEST(Segment, MaskProbabilitiesAndInstancesAgree) {
    auto m = tiny();
    auto s = make_session(m.get());
    ASSERT_TRUE(s);
    const int w = 80, h = 60;
    auto f = frame(w, h);
    Result r = run(s.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w);
    std::map<int, int64_t> mask_area, inst_area;
    for (size_t i = 0; i < r.mask.size(); i++) {
        int lab = r.mask[i];
        ASSERT_LE(lab, 2);
        mask_area[lab]++;
        float pa = r.probs[i], pv = r.probs[size_t(w) * h + i];
        ASSERT_GE(pa, 0.0f);
        ASSERT_LE(pa, 1.0f);
        if (lab == 1) EXPECT_TRUE(pa > 0.5f && pa >= pv);
        if (lab == 2) EXPECT_TRUE(pv > 0.5f && pv >= pa);
    }
    int prev_label = 0;
    int64_t prev_area = 0;
    for (auto &in : r.instances) {
        inst_area[in.label] += in.area_px;
        EXPECT_GE(in.area_px, 16);
        EXPECT_TRUE(std::isnan(in.area_mm2)) << "no spacing set";
        EXPECT_NEAR(in.equivalent_diameter_px, std::sqrt(4.0 * in.area_px / M_PI), 1e-9);
        EXPECT_GE(in.centroid_x, in.bbox_x);
        EXPECT_LE(in.centroid_x, in.bbox_x + in.bbox_width);
        EXPECT_GT(in.mean_probability, 0.5);
        if (in.label == prev_label) EXPECT_LE(in.area_px, prev_area) << "sorted by decreasing area";
        EXPECT_GE(in.label, prev_label) << "sorted by label";
        prev_label = in.label;
        prev_area = in.area_px;
    }
    EXPECT_EQ(mask_area[1], inst_area[1]);
    EXPECT_EQ(mask_area[2], inst_area[2]);
    EXPECT_GT(mask_area[1] + mask_area[2], 0) << "the random tiny model labels something";
}

TEST(Segment, FrameAtNetworkSizeEqualsTheRawTensor) {
    // A frame of exactly the network size is sampled 1:1, so the probabilities equal
    // run_tensor on the normalised pixels: checks normalisation and both resamplers.
    auto m = tiny();
    auto s = make_session(m.get());
    int32_t w, h, c;
    ASSERT_EQ(venseg_model_input_size(m.get(), &w, &h, &c), VENSEG_OK);
    double scale, mean = 0, sd = 1;
    ASSERT_EQ(venseg_model_meta_double(m.get(), "input.scale", &scale), VENSEG_OK);
    auto f = frame(w, h);
    std::vector<float> x(f.size()), ref(size_t(2) * w * h);
    // mean/std of the fixture: read from metadata when present (arrays are not queryable: use 0/1 default check)
    for (size_t i = 0; i < f.size(); i++) x[i] = float((f[i] * scale - mean) / sd);
    Result r = run(s.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w);
    ASSERT_EQ(venseg_session_run_tensor(s.get(), x.data(), 1, 1, h, w, 1, ref.data()), VENSEG_OK);
    double e = 0;
    for (size_t i = 0; i < ref.size(); i++) e = std::max(e, double(std::fabs(ref[i] - r.probs[i])));
    EXPECT_LE(e, 1e-5);
}

TEST(Segment, PixelFormatsAndStridesGiveTheSameResult) {
    auto m = tiny();
    auto s = make_session(m.get());
    const int w = 45, h = 37; // odd sizes: resampling in both directions
    auto g = frame(w, h);
    Result base = run(s.get(), g.data(), VENSEG_PIXEL_GRAY8, w, h, w);

    const int64_t pad = 13;
    std::vector<uint8_t> strided(size_t(w + pad) * h, 0xAB);
    std::vector<uint8_t> rgb(size_t(w) * h * 3), bgr(rgb.size());
    std::vector<uint16_t> g16(size_t(w) * h);
    std::vector<float> gf(size_t(w) * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t v = g[size_t(y) * w + x];
            strided[size_t(y) * (w + pad) + x] = v;
            for (int k = 0; k < 3; k++) rgb[(size_t(y) * w + x) * 3 + k] = bgr[(size_t(y) * w + x) * 3 + k] = v;
            g16[size_t(y) * w + x] = uint16_t(v * 257);
            gf[size_t(y) * w + x] = v / 255.0f;
        }
    struct Case { const char *name; const void *px; venseg_pixel_format f; int64_t stride; double tol; };
    const Case cases[] = {
        {"gray8 strided", strided.data(), VENSEG_PIXEL_GRAY8, w + pad, 0},
        {"rgb8", rgb.data(), VENSEG_PIXEL_RGB8, 3 * w, 1e-4},
        {"bgr8", bgr.data(), VENSEG_PIXEL_BGR8, 3 * w, 1e-4},
        {"gray16", g16.data(), VENSEG_PIXEL_GRAY16, 2 * w, 1e-4},
        {"float32", gf.data(), VENSEG_PIXEL_FLOAT32, 4 * w, 1e-4},
    };
    for (const Case &c : cases) {
        Result r = run(s.get(), c.px, c.f, w, h, c.stride);
        double e = 0;
        for (size_t i = 0; i < r.probs.size(); i++) e = std::max(e, double(std::fabs(r.probs[i] - base.probs[i])));
        EXPECT_LE(e, c.tol) << c.name;
        size_t differ = 0;
        for (size_t i = 0; i < r.mask.size(); i++) differ += r.mask[i] != base.mask[i];
        EXPECT_LE(differ, c.tol == 0 ? 0u : 2u) << c.name;
    }
}

TEST(Segment, RegionOfInterestAndSpacing) {
    auto m = tiny();
    auto s = make_session(m.get());
    const int w = 100, h = 70, rx = 20, ry = 10, rw = 64, rh = 48;
    std::vector<uint8_t> f(size_t(w) * h, 255);
    auto inner = frame(rw, rh);
    for (int y = 0; y < rh; y++) std::memcpy(&f[size_t(y + ry) * w + rx], &inner[size_t(y) * rw], size_t(rw));
    Result alone = run(s.get(), inner.data(), VENSEG_PIXEL_GRAY8, rw, rh, rw);
    ASSERT_EQ(venseg_session_set_roi(s.get(), rx, ry, rw, rh), VENSEG_OK);
    ASSERT_EQ(venseg_session_set_pixel_spacing(s.get(), 0.1, 0.2), VENSEG_OK);
    Result r = run(s.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            bool in = x >= rx && x < rx + rw && y >= ry && y < ry + rh;
            uint8_t lab = r.mask[size_t(y) * w + x];
            if (!in) {
                ASSERT_EQ(lab, 0) << "outside the ROI at " << x << "," << y;
                ASSERT_EQ(r.probs[size_t(y) * w + x], 0.0f);
            } else {
                ASSERT_EQ(lab, alone.mask[size_t(y - ry) * rw + (x - rx)]);
            }
        }
    ASSERT_EQ(r.instances.size(), alone.instances.size());
    for (size_t i = 0; i < r.instances.size(); i++) {
        EXPECT_EQ(r.instances[i].area_px, alone.instances[i].area_px);
        EXPECT_NEAR(r.instances[i].centroid_x, alone.instances[i].centroid_x + rx, 1e-9);
        EXPECT_NEAR(r.instances[i].centroid_y, alone.instances[i].centroid_y + ry, 1e-9);
        EXPECT_EQ(r.instances[i].bbox_x, alone.instances[i].bbox_x + rx);
        EXPECT_NEAR(r.instances[i].area_mm2, r.instances[i].area_px * 0.02, 1e-9);
        EXPECT_NEAR(r.instances[i].equivalent_diameter_mm, std::sqrt(4 * r.instances[i].area_mm2 / M_PI), 1e-9);
    }
    // an ROI that does not fit the next frame is an error naming it; clearing it works
    std::vector<uint8_t> small(50 * 40, 128), mask(50 * 40);
    EXPECT_EQ(venseg_segment(s.get(), small.data(), VENSEG_PIXEL_GRAY8, 50, 40, 50, mask.data(), 50, nullptr, 0),
              VENSEG_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(venseg_last_error()).find("outside"), std::string::npos);
    ASSERT_EQ(venseg_session_set_roi(s.get(), 0, 0, 0, 0), VENSEG_OK);
    EXPECT_EQ(venseg_segment(s.get(), small.data(), VENSEG_PIXEL_GRAY8, 50, 40, 50, mask.data(), 50, nullptr, 0), VENSEG_OK);
    EXPECT_EQ(venseg_session_set_roi(s.get(), -1, 0, 10, 10), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_roi(s.get(), 0, 0, -10, 10), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_roi(s.get(), 2147483000, 0, 1000, 10), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_pixel_spacing(s.get(), -0.1, 0.1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_pixel_spacing(s.get(), 0.1, 0.0), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_pixel_spacing(s.get(), NAN, 0.1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_pixel_spacing(s.get(), INFINITY, 0.1), VENSEG_E_INVALID_ARGUMENT);
}

TEST(Segment, MinimumInstanceAreaFiltersMaskToo) {
    auto m = tiny();
    const int w = 80, h = 60;
    auto f = frame(w, h);
    auto count_labelled = [&](int64_t min_area, size_t *instances) {
        venseg_options *raw = nullptr;
        venseg_options_create(&raw);
        OptionsPtr o(raw);
        EXPECT_EQ(venseg_options_set(o.get(), VENSEG_OPT_MIN_INSTANCE_AREA, min_area), VENSEG_OK);
        auto s = make_session(m.get(), o.get());
        Result r = run(s.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w);
        *instances = r.instances.size();
        size_t n = 0;
        for (auto v : r.mask) n += v != 0;
        return n;
    };
    size_t i0, i1, ibig;
    size_t all = count_labelled(0, &i0), some = count_labelled(16, &i1), none = count_labelled(int64_t(w) * h + 1, &ibig);
    EXPECT_GE(all, some);
    EXPECT_GE(i0, i1);
    EXPECT_EQ(none, 0u);
    EXPECT_EQ(ibig, 0u);
}

TEST(Segment, ThreadCountDoesNotChangeResults) {
    auto m = tiny();
    const int w = 96, h = 64;
    auto f = frame(w, h);
    std::vector<Result> results;
    for (int threads : {1, 2, 3}) {
        venseg_options *raw = nullptr;
        venseg_options_create(&raw);
        OptionsPtr o(raw);
        venseg_options_set(o.get(), VENSEG_OPT_NUM_THREADS, threads);
        auto s = make_session(m.get(), o.get());
        results.push_back(run(s.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w));
    }
    for (size_t i = 1; i < results.size(); i++) {
        EXPECT_EQ(results[i].mask, results[0].mask);
        EXPECT_EQ(0, std::memcmp(results[i].probs.data(), results[0].probs.data(), results[0].probs.size() * 4))
            << "bit-identical for any thread count";
    }
}

TEST(Segment, SessionsOnManyThreadsShareOneModel) {
    auto m = tiny();
    const int w = 64, h = 48;
    auto f = frame(w, h);
    auto s0 = make_session(m.get());
    Result expect = run(s0.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w);
    std::vector<std::thread> pool;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; t++)
        pool.emplace_back([&, t] {
            venseg_options *raw = nullptr;
            venseg_options_create(&raw);
            venseg_options_set(raw, VENSEG_OPT_NUM_THREADS, 1);
            venseg_session *s = nullptr;
            if (venseg_session_create(m.get(), raw, &s) != VENSEG_OK) return;
            venseg_options_free(raw);
            int good = 1;
            for (int i = 0; i < 3; i++) {
                std::vector<uint8_t> mask(size_t(w) * h);
                good &= venseg_segment(s, f.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, nullptr, 0) == VENSEG_OK;
                good &= mask == expect.mask;
            }
            venseg_session_free(s);
            ok[size_t(t)] = good;
        });
    for (auto &th : pool) th.join();
    for (int t = 0; t < 4; t++) EXPECT_EQ(ok[size_t(t)], 1) << "thread " << t;
}

TEST(Segment, ArgumentErrorsLeaveTheSessionUsable) {
    auto m = tiny();
    auto s = make_session(m.get());
    const int w = 40, h = 30;
    auto f = frame(w, h);
    std::vector<uint8_t> mask(size_t(w) * h, 7);
    std::vector<float> probs(size_t(2) * w * h);
    struct Case { const char *what; const void *px; int fmt; int w, h; int64_t stride; uint8_t *mask; int64_t ms; float *pr; int64_t ps; };
    const Case cases[] = {
        {"NULL pixels", nullptr, VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, nullptr, 0},
        {"NULL mask", f.data(), VENSEG_PIXEL_GRAY8, w, h, w, nullptr, w, nullptr, 0},
        {"unknown format", f.data(), 0, w, h, w, mask.data(), w, nullptr, 0},
        {"format 99", f.data(), 99, w, h, w, mask.data(), w, nullptr, 0},
        {"zero width", f.data(), VENSEG_PIXEL_GRAY8, 0, h, w, mask.data(), w, nullptr, 0},
        {"zero height", f.data(), VENSEG_PIXEL_GRAY8, w, 0, w, mask.data(), w, nullptr, 0},
        {"negative width", f.data(), VENSEG_PIXEL_GRAY8, -w, h, w, mask.data(), w, nullptr, 0},
        {"negative height", f.data(), VENSEG_PIXEL_GRAY8, w, -h, w, mask.data(), w, nullptr, 0},
        {"huge width", f.data(), VENSEG_PIXEL_GRAY8, 1 << 30, h, int64_t(1) << 30, mask.data(), int64_t(1) << 30, nullptr, 0},
        {"stride < width", f.data(), VENSEG_PIXEL_GRAY8, w, h, w - 1, mask.data(), w, nullptr, 0},
        {"rgb stride < 3 width", f.data(), VENSEG_PIXEL_RGB8, w, h, 2 * w, mask.data(), w, nullptr, 0},
        {"negative stride", f.data(), VENSEG_PIXEL_GRAY8, w, h, -w, mask.data(), w, nullptr, 0},
        {"mask stride < width", f.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w - 1, nullptr, 0},
        {"prob stride < width", f.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, probs.data(), w - 1},
        {"overflowing stride", f.data(), VENSEG_PIXEL_GRAY8, w, h, INT64_MAX / 2, mask.data(), w, nullptr, 0},
    };
    for (const Case &c : cases) {
        EXPECT_EQ(venseg_segment(s.get(), c.px, venseg_pixel_format(c.fmt), c.w, c.h, c.stride, c.mask, c.ms, c.pr, c.ps),
                  VENSEG_E_INVALID_ARGUMENT)
            << c.what;
        EXPECT_STRNE(venseg_last_error(), "") << c.what;
        EXPECT_EQ(mask[0], 7) << c.what << ": outputs untouched";
    }
    EXPECT_EQ(venseg_segment(nullptr, f.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, nullptr, 0),
              VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_segment(s.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, probs.data(), w), VENSEG_OK)
        << "usable after all errors: " << venseg_last_error();
    venseg_instance inst;
    inst.struct_size = 2; // too small to hold even the label
    EXPECT_EQ(venseg_session_instance(s.get(), 0, &inst), VENSEG_E_INVALID_ARGUMENT);
    inst.struct_size = sizeof inst;
    EXPECT_EQ(venseg_session_instance(s.get(), -1, &inst), VENSEG_E_NOT_FOUND);
    EXPECT_EQ(venseg_session_instance(s.get(), 1 << 20, &inst), VENSEG_E_NOT_FOUND);
}

TEST(Segment, OlderCallersGetTruncatedInstances) {
    auto m = tiny();
    auto s = make_session(m.get());
    const int w = 80, h = 60;
    auto f = frame(w, h);
    Result r = run(s.get(), f.data(), VENSEG_PIXEL_GRAY8, w, h, w);
    ASSERT_FALSE(r.instances.empty());
    struct Old { uint32_t struct_size; int32_t label; int64_t area_px; } old{sizeof(Old), 0, 0};
    ASSERT_EQ(venseg_session_instance(s.get(), 0, reinterpret_cast<venseg_instance *>(&old)), VENSEG_OK);
    EXPECT_EQ(old.struct_size, sizeof(Old));
    EXPECT_EQ(old.label, r.instances[0].label);
    EXPECT_EQ(old.area_px, r.instances[0].area_px);
}

TEST(Segment, LetterboxKeepsAspect) {
    // A letterboxed model sees a wide frame squeezed uniformly; a frame with the model's
    // own aspect gives the same result as stretch.
    vsegtest::File fl = vsegtest::tiny_plain_unet(4, 1, 1, 2, 16);
    vsegtest::File fs = fl;
    fl.set("input.resize", vsegtest::S("letterbox"));
    venseg_status st;
    auto ml = load_model(vsegtest::encode(fl), &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    auto ms = load_model(vsegtest::encode(fs), &st);
    ASSERT_EQ(st, VENSEG_OK);
    auto sl = make_session(ml.get()), ss = make_session(ms.get());
    auto square = frame(32, 32);
    Result a = run(sl.get(), square.data(), VENSEG_PIXEL_GRAY8, 32, 32, 32);
    Result b = run(ss.get(), square.data(), VENSEG_PIXEL_GRAY8, 32, 32, 32);
    EXPECT_EQ(0, std::memcmp(a.probs.data(), b.probs.data(), a.probs.size() * 4));
    auto wide = frame(64, 16);
    Result c = run(sl.get(), wide.data(), VENSEG_PIXEL_GRAY8, 64, 16, 64);
    EXPECT_EQ(c.mask.size(), size_t(64 * 16));
}
