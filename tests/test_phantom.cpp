// The synthetic compression phantom: configuration, determinism, ground truth.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "test_helpers.hpp"

namespace {

struct PhantomConfigFree { void operator()(venseg_phantom_config *c) const { venseg_phantom_config_free(c); } };
struct PhantomFree { void operator()(venseg_phantom *p) const { venseg_phantom_free(p); } };
using PhantomPtr = std::unique_ptr<venseg_phantom, PhantomFree>;

PhantomPtr make_phantom(double seed, int thrombus, int w = 128, int h = 128, int frames = 40) {
    venseg_phantom_config *c = nullptr;
    EXPECT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    std::unique_ptr<venseg_phantom_config, PhantomConfigFree> cfg(c);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_SEED, seed), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_WIDTH, w), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_HEIGHT, h), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_FRAMES, frames), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_PIXEL_SPACING, 0.3), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_THROMBUS, thrombus), VENSEG_OK);
    venseg_phantom *p = nullptr;
    EXPECT_EQ(venseg_phantom_create(c, &p), VENSEG_OK) << venseg_last_error();
    return PhantomPtr(p);
}

venseg_phantom_truth truth(const venseg_phantom *p, int i) {
    venseg_phantom_truth t;
    std::memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    EXPECT_EQ(venseg_phantom_truth_get(p, i, &t), VENSEG_OK) << venseg_last_error();
    return t;
}

} // namespace

TEST(Phantom, ConfigKeysBoundsAndErrors) {
    venseg_phantom_config *c = nullptr;
    ASSERT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    double lo, hi, def, v;
    ASSERT_EQ(venseg_phantom_config_bounds(VENSEG_PHANTOM_WIDTH, &lo, &hi, &def), VENSEG_OK);
    EXPECT_EQ(def, 256);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_WIDTH, hi + 1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(venseg_last_error()).find("VENSEG_PHANTOM_WIDTH"), std::string::npos);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_WIDTH, 100.5), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_NOISE, NAN), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_config_set(c, (venseg_phantom_key)999, 1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_config_bounds((venseg_phantom_key)0, &lo, &hi, nullptr), VENSEG_E_INVALID_ARGUMENT);
    ASSERT_EQ(venseg_phantom_config_get(c, VENSEG_PHANTOM_WIDTH, &v), VENSEG_OK);
    EXPECT_EQ(v, 256); // unchanged by the failed sets
    EXPECT_EQ(venseg_phantom_config_set(nullptr, VENSEG_PHANTOM_WIDTH, 64), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_create(c, nullptr), VENSEG_E_INVALID_ARGUMENT);
    venseg_phantom_config_free(c);
    venseg_phantom_config_free(nullptr);
    venseg_phantom_free(nullptr);
}

TEST(Phantom, FrameArgumentErrors) {
    auto p = make_phantom(3, 0, 64, 64, 10);
    std::vector<uint8_t> px(64 * 64), lab(64 * 64);
    EXPECT_EQ(venseg_phantom_frame(nullptr, 0, px.data(), 64, lab.data(), 64), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_frame(p.get(), 10, px.data(), 64, lab.data(), 64), VENSEG_E_NOT_FOUND);
    EXPECT_EQ(venseg_phantom_frame(p.get(), -1, px.data(), 64, lab.data(), 64), VENSEG_E_NOT_FOUND);
    EXPECT_EQ(venseg_phantom_frame(p.get(), 0, px.data(), 63, lab.data(), 64), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_frame(p.get(), 0, px.data(), 64, lab.data(), 10), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_frame(p.get(), 0, nullptr, 0, nullptr, 0), VENSEG_OK); // nothing asked
    venseg_phantom_truth t;
    std::memset(&t, 0, sizeof t);
    EXPECT_EQ(venseg_phantom_truth_get(p.get(), 0, &t), VENSEG_E_INVALID_ARGUMENT); // struct_size 0
    t.struct_size = sizeof t;
    EXPECT_EQ(venseg_phantom_truth_get(p.get(), 99, &t), VENSEG_E_NOT_FOUND);
    EXPECT_EQ(venseg_phantom_frame(p.get(), 0, px.data(), 64, lab.data(), 64), VENSEG_OK); // still usable
}

TEST(Phantom, DeterministicAndOrderIndependent) {
    auto a = make_phantom(42, 1, 96, 80, 20), b = make_phantom(42, 1, 96, 80, 20), c = make_phantom(43, 1, 96, 80, 20);
    const int w = 96, h = 80, stride = 100;
    std::vector<uint8_t> p1(stride * h, 0xAB), l1(stride * h, 0xAB), p2(stride * h, 0xAB), l2(stride * h, 0xAB);
    // b renders other frames first: order must not matter
    std::vector<uint8_t> junk(w * h);
    for (int i : {19, 3, 11}) ASSERT_EQ(venseg_phantom_frame(b.get(), i, junk.data(), w, nullptr, 0), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_frame(a.get(), 7, p1.data(), stride, l1.data(), stride), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_frame(b.get(), 7, p2.data(), stride, l2.data(), stride), VENSEG_OK);
    EXPECT_EQ(p1, p2);
    EXPECT_EQ(l1, l2);
    for (int y = 0; y < h; y++) // padding untouched
        for (int x = w; x < stride; x++) ASSERT_EQ(p1[y * stride + x], 0xAB);
    ASSERT_EQ(venseg_phantom_frame(c.get(), 7, p2.data(), stride, l2.data(), stride), VENSEG_OK);
    EXPECT_NE(p1, p2); // another seed, another phantom
    // frames differ over time (speckle noise, pulsation) but labels only through geometry
    ASSERT_EQ(venseg_phantom_frame(a.get(), 8, p2.data(), stride, nullptr, 0), VENSEG_OK);
    EXPECT_NE(p1, p2);
}

TEST(Phantom, TruthMatchesLabelsAndThrombusKinds) {
    for (int kind = 0; kind <= 2; kind++) {
        auto p = make_phantom(100 + kind, kind, 128, 128, 60);
        std::vector<uint8_t> lab(128 * 128);
        int64_t min_vein = INT64_MAX;
        for (int i = 0; i < 60; i++) {
            ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), 128), VENSEG_OK);
            int64_t a = 0, v = 0;
            for (uint8_t l : lab) {
                ASSERT_LE(l, 2);
                a += l == 1;
                v += l == 2;
            }
            auto t = truth(p.get(), i);
            EXPECT_EQ(t.artery_area_px, a);
            EXPECT_EQ(t.vein_area_px, v);
            EXPECT_NEAR(t.vein_area_mm2, v * 0.09, 1e-9);
            EXPECT_GE(t.pressure, 0.0);
            min_vein = std::min(min_vein, v);
        }
        auto t = truth(p.get(), 0);
        EXPECT_EQ(t.pressure, 0.0); // the sequence starts at rest
        EXPECT_EQ(t.thrombus, kind);
        EXPECT_EQ(t.min_vein_area_px, double(min_vein));
        EXPECT_GT(t.rest_vein_area_px, 100);
        if (kind == 0) EXPECT_GT(t.true_compressibility_percent, 97.0);
        if (kind == 1) {
            EXPECT_GT(t.true_compressibility_percent, 35.0);
            EXPECT_LT(t.true_compressibility_percent, 80.0);
        }
        if (kind == 2) EXPECT_LT(t.true_compressibility_percent, 15.0);
    }
}

TEST(Phantom, LooksLikeUltrasound) {
    // crude statistics: anechoic lumens dark, tissue mid-grey with speckle, bright specular lines present
    auto p = make_phantom(5, 0, 160, 160, 10);
    std::vector<uint8_t> px(160 * 160), lab(160 * 160);
    ASSERT_EQ(venseg_phantom_frame(p.get(), 0, px.data(), 160, lab.data(), 160), VENSEG_OK);
    double lumen = 0, tissue = 0, tissue2 = 0;
    int nl = 0, nt = 0, bright = 0;
    for (size_t i = 0; i < px.size(); i++) {
        if (lab[i]) {
            lumen += px[i];
            nl++;
        } else {
            tissue += px[i];
            tissue2 += double(px[i]) * px[i];
            nt++;
        }
        bright += px[i] > 110;
    }
    lumen /= nl;
    tissue /= nt;
    double sd = std::sqrt(tissue2 / nt - tissue * tissue);
    EXPECT_LT(lumen, 20.0);
    EXPECT_GT(tissue, 25.0);
    EXPECT_LT(tissue, 90.0);
    EXPECT_GT(sd, 10.0); // speckle, not flat
    EXPECT_GT(bright, 30); // fascia / walls
}

TEST(Phantom, NoVesselsAndGain) {
    venseg_phantom_config *c = nullptr;
    ASSERT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_VESSELS, 0), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_WIDTH, 64), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_HEIGHT, 64), VENSEG_OK);
    venseg_phantom *p = nullptr, *q = nullptr;
    ASSERT_EQ(venseg_phantom_create(c, &p), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_GAIN_DB, 10), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_create(c, &q), VENSEG_OK);
    venseg_phantom_config_free(c);
    std::vector<uint8_t> a(64 * 64), b(64 * 64), lab(64 * 64, 9);
    ASSERT_EQ(venseg_phantom_frame(p, 0, a.data(), 64, lab.data(), 64), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_frame(q, 0, b.data(), 64, nullptr, 0), VENSEG_OK);
    for (uint8_t l : lab) ASSERT_EQ(l, 0);
    double sa = 0, sb = 0;
    for (size_t i = 0; i < a.size(); i++) sa += a[i], sb += b[i];
    EXPECT_GT(sb, sa); // more gain, brighter
    venseg_phantom_truth t;
    std::memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    ASSERT_EQ(venseg_phantom_truth_get(p, 0, &t), VENSEG_OK);
    EXPECT_TRUE(std::isnan(t.true_compressibility_percent));
    venseg_phantom_free(p);
    venseg_phantom_free(q);
}
