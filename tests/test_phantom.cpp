// The synthetic compression phantom: configuration, determinism, ground truth.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tracking_helpers.hpp"

namespace {

struct PhantomConfigFree { void operator()(venseg_phantom_config *c) const { venseg_phantom_config_free(c); } };

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

// ------------------------------------------------------------ 0.2.0: an exam that moves like one

namespace {

using Keys = std::vector<std::pair<venseg_phantom_key, double>>;
constexpr double kPi = 3.14159265358979323846;

// A phantom of the defaults changed by keys (applied in order).
PhantomPtr phantom_with(const Keys &keys) {
    venseg_phantom_config *c = nullptr;
    EXPECT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    std::unique_ptr<venseg_phantom_config, PhantomConfigFree> cfg(c);
    for (const auto &kv : keys)
        EXPECT_EQ(venseg_phantom_config_set(c, kv.first, kv.second), VENSEG_OK) << kv.first << " " << venseg_last_error();
    venseg_phantom *p = nullptr;
    EXPECT_EQ(venseg_phantom_create(c, &p), VENSEG_OK) << venseg_last_error();
    return PhantomPtr(p);
}

int frame_count(const venseg_phantom *p) {
    int n = 0;
    venseg_phantom_truth probe;
    std::memset(&probe, 0, sizeof probe);
    probe.struct_size = sizeof probe;
    while (venseg_phantom_truth_at(p, n, &probe) == VENSEG_OK) n++;
    return n;
}

// Frequency (Hz) of the largest DFT bin of x (mean removed), bins 1..n/2.
double peak_frequency(const std::vector<double> &x, double fps) {
    const size_t n = x.size();
    double mean = 0;
    for (double v : x) mean += v;
    mean /= double(n);
    double best = -1;
    size_t best_k = 0;
    for (size_t k = 1; k <= n / 2; k++) {
        double re = 0, im = 0;
        for (size_t i = 0; i < n; i++) {
            double a = 2 * kPi * double(k * i) / double(n);
            re += (x[i] - mean) * std::cos(a);
            im -= (x[i] - mean) * std::sin(a);
        }
        double pw = re * re + im * im;
        if (pw > best) best = pw, best_k = k;
    }
    return double(best_k) * fps / double(n);
}

uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

double pearson(const std::vector<double> &a, const std::vector<double> &b) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < a.size(); i++) ma += a[i], mb += b[i];
    ma /= double(a.size()), mb /= double(b.size());
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < a.size(); i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

} // namespace

TEST(PhantomExam, NewKeysBoundsAndDefaults) {
    struct {
        venseg_phantom_key key;
        double lo, hi, def;
    } expect[] = {{VENSEG_PHANTOM_VEIN_SIDE, 0, 2, 0},         {VENSEG_PHANTOM_VEIN_TO_ARTERY, 0, 3, 0},
                  {VENSEG_PHANTOM_PULSE_AMPLITUDE, 0, 0.2, 0.06}, {VENSEG_PHANTOM_RESPIRATION, 0, 0.5, 0},
                  {VENSEG_PHANTOM_RESPIRATORY_RATE, 4, 40, 15},  {VENSEG_PHANTOM_THROMBUS_AGE, 0, 1, 0},
                  {VENSEG_PHANTOM_PROBE_TILT, 0, 30, 0},         {VENSEG_PHANTOM_OUT_OF_PLANE, 0, 1, 0},
                  {VENSEG_PHANTOM_DECORRELATION, 0, 1, 0},       {VENSEG_PHANTOM_ATTENUATION, 0, 3, 0.75},
                  {VENSEG_PHANTOM_BASELINE_S, 0, 600, 0}};
    venseg_phantom_config *c = nullptr;
    ASSERT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    for (const auto &e : expect) {
        double lo, hi, def, v;
        ASSERT_EQ(venseg_phantom_config_bounds(e.key, &lo, &hi, &def), VENSEG_OK) << e.key;
        EXPECT_EQ(lo, e.lo) << e.key;
        EXPECT_EQ(hi, e.hi) << e.key;
        EXPECT_EQ(def, e.def) << e.key;
        ASSERT_EQ(venseg_phantom_config_get(c, e.key, &v), VENSEG_OK);
        EXPECT_EQ(v, e.def) << e.key;
        EXPECT_EQ(venseg_phantom_config_set(c, e.key, e.hi + 1), VENSEG_E_INVALID_ARGUMENT) << e.key;
    }
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_VEIN_SIDE, 1.5), VENSEG_E_INVALID_ARGUMENT); // integral
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_THROMBUS_AGE, 0.5), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_OUT_OF_PLANE, 0.5), VENSEG_E_INVALID_ARGUMENT);
    // the vein/artery ratio is 0 (seeded) or 0.5..3
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_VEIN_TO_ARTERY, 0.3), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(venseg_last_error()).find("VENSEG_PHANTOM_VEIN_TO_ARTERY"), std::string::npos);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_VEIN_TO_ARTERY, 0.5), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_VEIN_TO_ARTERY, 0), VENSEG_OK);
    EXPECT_EQ(venseg_phantom_config_set(c, VENSEG_PHANTOM_RESPIRATORY_RATE, 3), VENSEG_E_INVALID_ARGUMENT);
    venseg_phantom_config_free(c);
}

// Golden checksums of default-key frames, made BEFORE the 0.2.0 keys existed: the 0.1
// phantom (commit d982cd4) built Release with GCC on x86-64 glibc, rendering the configs
// below exactly as this test does (FNV-1a 64 of each sampled frame's pixels then labels,
// folded into one FNV-1a 64 per config). Every new key at its default must reproduce
// them bit for bit (the shipped demo and the other tests rely on today's frames).
// Other libms may round exp/sin differently, so the comparison runs on glibc x86-64 only.
TEST(PhantomExam, DefaultsBitIdenticalToGolden) {
#if !(defined(__GLIBC__) && defined(__x86_64__))
    GTEST_SKIP() << "golden checksums were made with glibc on x86-64";
#endif
    struct {
        double seed, w, h, frames, sp, thrombus, motion, vessels;
        uint64_t golden;
        double comp, rest, min;
    } cfgs[] = {
        {1, 256, 256, 90, 0.15, 0, 0, 1, 0x0796c97b4e96cc1eull, 100, 2249, 0},
        {7, 128, 128, 40, 0.3, 1, 0, 1, 0xa18b1d3e914aba8aull, 56.4183835, 631, 275},
        {11, 160, 120, 60, 0.2, 2, 3, 1, 0xd6989b6dbe6828bcull, 0.358102059, 1117, 1113},
        {3, 96, 80, 20, 0.3, 0, 0, 2, 0xfba466b6de465a75ull, NAN, 0, 0},
        {42, 200, 150, 30, 0.1, 1, 5, 1, 0x5fe1dd88b6d2c5a5ull, 19.5454545, 1100, 885},
        {5, 64, 64, 10, 0.15, 0, 0, 0, 0xcc659b9c9d89f004ull, NAN, 0, 0},
    };
    for (const auto &c : cfgs) {
        auto p = phantom_with({{VENSEG_PHANTOM_SEED, c.seed},
                               {VENSEG_PHANTOM_WIDTH, c.w},
                               {VENSEG_PHANTOM_HEIGHT, c.h},
                               {VENSEG_PHANTOM_FRAMES, c.frames},
                               {VENSEG_PHANTOM_PIXEL_SPACING, c.sp},
                               {VENSEG_PHANTOM_THROMBUS, c.thrombus},
                               {VENSEG_PHANTOM_PROBE_MOTION, c.motion},
                               {VENSEG_PHANTOM_VESSELS, c.vessels}});
        const int w = int(c.w), h = int(c.h), n = int(c.frames);
        std::vector<uint8_t> px(size_t(w) * h), lab(size_t(w) * h);
        uint64_t all = 0xcbf29ce484222325ull;
        for (int i = 0; i < n; i += (n > 30 ? 7 : 3)) {
            ASSERT_EQ(venseg_phantom_frame(p.get(), i, px.data(), w, lab.data(), w), VENSEG_OK);
            uint64_t f = fnv1a(fnv1a(0xcbf29ce484222325ull, px.data(), px.size()), lab.data(), lab.size());
            all = fnv1a(all, reinterpret_cast<const uint8_t *>(&f), 8); // little-endian, as made
        }
        EXPECT_EQ(all, c.golden) << "seed " << c.seed;
        auto t = truth(p.get(), n - 1);
        EXPECT_EQ(t.rest_vein_area_px, c.rest);
        EXPECT_EQ(t.min_vein_area_px, c.min);
        if (std::isnan(c.comp)) EXPECT_TRUE(std::isnan(t.true_compressibility_percent));
        else EXPECT_NEAR(t.true_compressibility_percent, c.comp, 1e-6);
    }
}

TEST(PhantomExam, PulseAmplitudeAtTheHeartRate) {
    struct {
        double bpm, amplitude;
    } cases[] = {{50, 0.03}, {75, 0.08}, {110, 0.10}};
    for (const auto &cs : cases) {
        const int n = 360; // 12 s at 30 fps: a whole number of beats at each rate, so the rate is a DFT bin
        auto p = phantom_with({{VENSEG_PHANTOM_SEED, 21}, {VENSEG_PHANTOM_FRAMES, n}, {VENSEG_PHANTOM_COMPRESSION, 0},
                               {VENSEG_PHANTOM_PIXEL_SPACING, 0.08}, {VENSEG_PHANTOM_HEART_RATE, cs.bpm},
                               {VENSEG_PHANTOM_PULSE_AMPLITUDE, cs.amplitude}});
        std::vector<double> artery(n), vein(n);
        for (int i = 0; i < n; i++) {
            auto t = truth(p.get(), i);
            artery[i] = double(t.artery_area_px);
            vein[i] = double(t.vein_area_px);
            EXPECT_EQ(t.heart_rate_bpm, cs.bpm);
        }
        EXPECT_NEAR(peak_frequency(artery, 30), cs.bpm / 60.0, 30.0 / n + 1e-9) << cs.bpm;
        double lo = *std::min_element(artery.begin(), artery.end()), hi = *std::max_element(artery.begin(), artery.end());
        EXPECT_NEAR(std::sqrt(hi / lo) - 1.0, cs.amplitude, 0.01) << cs.bpm; // diameter change
        EXPECT_EQ(*std::min_element(vein.begin(), vein.end()), *std::max_element(vein.begin(), vein.end()));
    }
}

TEST(PhantomExam, RespirationAtItsRateOnTheVeinOnly) {
    const int n = 270; // 9 s: three breaths at 20 / min
    auto p = phantom_with({{VENSEG_PHANTOM_SEED, 8}, {VENSEG_PHANTOM_FRAMES, n}, {VENSEG_PHANTOM_COMPRESSION, 0},
                           {VENSEG_PHANTOM_HEART_RATE, 0}, {VENSEG_PHANTOM_RESPIRATION, 0.3},
                           {VENSEG_PHANTOM_RESPIRATORY_RATE, 20}, {VENSEG_PHANTOM_VEIN_SIDE, 2}});
    std::vector<double> artery(n), vein(n);
    for (int i = 0; i < n; i++) {
        auto t = truth(p.get(), i);
        artery[i] = double(t.artery_area_px);
        vein[i] = double(t.vein_area_px);
    }
    EXPECT_NEAR(peak_frequency(vein, 30), 20 / 60.0, 30.0 / n + 1e-9);
    double lo = *std::min_element(vein.begin(), vein.end()), hi = *std::max_element(vein.begin(), vein.end());
    EXPECT_NEAR((hi - lo) / (0.5 * (hi + lo)), 0.3, 0.03); // peak-to-peak share of the area
    EXPECT_EQ(*std::min_element(artery.begin(), artery.end()), *std::max_element(artery.begin(), artery.end()));
    // breathing is not compression: no pressure, no true compressibility
    EXPECT_EQ(truth(p.get(), 0).true_compressibility_percent, 0.0);
    // and with a compression the truth is that of the same phantom without breathing
    for (int kind = 0; kind <= 2; kind++) {
        Keys k = {{VENSEG_PHANTOM_SEED, 30.0 + kind}, {VENSEG_PHANTOM_THROMBUS, double(kind)},
                  {VENSEG_PHANTOM_WIDTH, 128}, {VENSEG_PHANTOM_HEIGHT, 128}, {VENSEG_PHANTOM_PIXEL_SPACING, 0.3},
                  {VENSEG_PHANTOM_FRAMES, 60}};
        auto still = phantom_with(k);
        k.push_back({VENSEG_PHANTOM_RESPIRATION, 0.4});
        auto breathing = phantom_with(k);
        auto a = truth(still.get(), 0), b = truth(breathing.get(), 0);
        EXPECT_EQ(a.true_compressibility_percent, b.true_compressibility_percent) << kind;
        EXPECT_EQ(a.rest_vein_area_px, b.rest_vein_area_px);
        EXPECT_EQ(a.min_vein_area_px, b.min_vein_area_px);
    }
}

TEST(PhantomExam, VeinSideImposedAndReported) {
    std::vector<uint8_t> lab(256 * 256);
    for (int seed = 1; seed <= 8; seed++)
        for (int side = 0; side <= 2; side++) {
            auto p = phantom_with({{VENSEG_PHANTOM_SEED, double(seed)}, {VENSEG_PHANTOM_FRAMES, 10},
                                   {VENSEG_PHANTOM_VEIN_SIDE, double(side)}});
            auto t = truth(p.get(), 0);
            ASSERT_EQ(venseg_phantom_frame(p.get(), 0, nullptr, 0, lab.data(), 256), VENSEG_OK);
            double ax = 0, vx = 0, ay = 0, vy = 0;
            int64_t na = 0, nv = 0;
            for (int y = 0; y < 256; y++)
                for (int x = 0; x < 256; x++) {
                    uint8_t l = lab[size_t(y) * 256 + x];
                    if (l == 1) na++, ax += x + 0.5, ay += y + 0.5;
                    if (l == 2) nv++, vx += x + 0.5, vy += y + 0.5;
                }
            ASSERT_GT(na, 0);
            ASSERT_GT(nv, 0);
            EXPECT_NEAR(t.artery_centroid_x, ax / na, 1e-9);
            EXPECT_NEAR(t.artery_centroid_y, ay / na, 1e-9);
            EXPECT_NEAR(t.vein_centroid_x, vx / nv, 1e-9);
            EXPECT_NEAR(t.vein_centroid_y, vy / nv, 1e-9);
            EXPECT_EQ(t.vein_side, t.vein_centroid_x < t.artery_centroid_x ? -1 : 1) << seed << " " << side;
            if (side) EXPECT_EQ(t.vein_side, side == 1 ? -1 : 1) << seed;
            EXPECT_EQ(t.vein_visible, 1);
        }
    auto artery_only = phantom_with({{VENSEG_PHANTOM_FRAMES, 5}, {VENSEG_PHANTOM_VESSELS, 2}});
    auto t = truth(artery_only.get(), 0);
    EXPECT_EQ(t.vein_side, 0);
    EXPECT_EQ(t.vein_visible, 0);
    EXPECT_TRUE(std::isnan(t.vein_centroid_x) && std::isnan(t.vein_centroid_y));
    EXPECT_FALSE(std::isnan(t.artery_centroid_x));
}

TEST(PhantomExam, VeinToArteryRatio) {
    for (double ratio : {0.6, 1.0, 1.4, 2.0, 2.5})
        for (int side = 1; side <= 2; side++) {
            auto p = phantom_with({{VENSEG_PHANTOM_SEED, std::round(3 + 4 * ratio)}, {VENSEG_PHANTOM_FRAMES, 5},
                                   {VENSEG_PHANTOM_WIDTH, 448}, {VENSEG_PHANTOM_HEIGHT, 320},
                                   {VENSEG_PHANTOM_PIXEL_SPACING, 0.1}, {VENSEG_PHANTOM_HEART_RATE, 0},
                                   {VENSEG_PHANTOM_VEIN_SIDE, double(side)}, {VENSEG_PHANTOM_VEIN_TO_ARTERY, ratio}});
            auto t = truth(p.get(), 0);
            double measured = std::sqrt(double(t.vein_area_px) / double(t.artery_area_px));
            EXPECT_NEAR(measured / ratio, 1.0, 0.10) << ratio << " side " << side;
            EXPECT_EQ(t.vein_side, side == 1 ? -1 : 1);
        }
}

TEST(PhantomExam, OutOfPlaneWindowAfterTheCompression) {
    struct {
        double frames, baseline_s;
    } clips[] = {{90, 0}, {240, 3}, {120, 3.9}}; // the last ends right after its release
    for (const auto &clip : clips)
        for (int seed = 1; seed <= 4; seed++) {
            const int n = int(clip.frames);
            Keys k = {{VENSEG_PHANTOM_SEED, double(seed)}, {VENSEG_PHANTOM_FRAMES, clip.frames},
                      {VENSEG_PHANTOM_WIDTH, 160}, {VENSEG_PHANTOM_HEIGHT, 128}, {VENSEG_PHANTOM_PIXEL_SPACING, 0.25},
                      {VENSEG_PHANTOM_BASELINE_S, clip.baseline_s}, {VENSEG_PHANTOM_THROMBUS, seed % 2 ? 0.0 : 1.0}};
            auto in_plane = phantom_with(k);
            k.push_back({VENSEG_PHANTOM_OUT_OF_PLANE, 1});
            auto p = phantom_with(k);
            std::vector<uint8_t> lab(160 * 128);
            int first_gone = -1, last_gone = -1, gone = 0, first_press = -1, last_press = -1;
            int first_changed = -1, last_changed = -1;
            for (int i = 0; i < n; i++) {
                auto t = truth(p.get(), i), u = truth(in_plane.get(), i);
                if (t.pressure > 0) last_press = i, first_press = first_press < 0 ? i : first_press;
                if (t.vein_area_px != u.vein_area_px) last_changed = i, first_changed = first_changed < 0 ? i : first_changed;
                if (t.vein_visible) continue;
                gone++;
                last_gone = i, first_gone = first_gone < 0 ? i : first_gone;
                ASSERT_EQ(venseg_phantom_frame(p.get(), i, nullptr, 0, lab.data(), 160), VENSEG_OK);
                EXPECT_EQ(std::count(lab.begin(), lab.end(), 2), 0) << "frame " << i;
                EXPECT_EQ(t.vein_area_px, 0);
                EXPECT_TRUE(std::isnan(t.vein_centroid_x));
                EXPECT_NE(t.vein_side, 0); // the anatomy is still there
            }
            ASSERT_GT(gone, 0) << seed;
            EXPECT_EQ(last_gone - first_gone + 1, gone); // one window
            // the whole window (shrink, gone, back) spans ~10-20 % of the clip, no pressure in it
            const int span = last_changed - first_changed + 1;
            EXPECT_GE(span, 0.07 * n) << seed;
            EXPECT_LE(span, 0.21 * n) << seed;
            EXPECT_TRUE(first_changed > last_press || last_changed < first_press) << seed << " " << clip.frames;
            if (clip.baseline_s < 3.5) EXPECT_GT(first_changed, last_press); // after the release
            EXPECT_LT(last_changed, n - 1); // and the vein comes back
            // the true compressibility ignores it
            auto a = truth(p.get(), 0), b = truth(in_plane.get(), 0);
            EXPECT_EQ(a.true_compressibility_percent, b.true_compressibility_percent);
            EXPECT_EQ(a.min_vein_area_px, b.min_vein_area_px);
        }
}

TEST(PhantomExam, SpeckleDecorrelation) {
    const int w = 128, h = 128;
    auto corr = [&](double d, bool *identical) {
        auto p = phantom_with({{VENSEG_PHANTOM_SEED, 12}, {VENSEG_PHANTOM_WIDTH, w}, {VENSEG_PHANTOM_HEIGHT, h},
                               {VENSEG_PHANTOM_FRAMES, 10}, {VENSEG_PHANTOM_COMPRESSION, 0},
                               {VENSEG_PHANTOM_HEART_RATE, 0}, {VENSEG_PHANTOM_NOISE, 0},
                               {VENSEG_PHANTOM_DECORRELATION, d}});
        std::vector<uint8_t> a(w * h), b(w * h), lab(w * h);
        EXPECT_EQ(venseg_phantom_frame(p.get(), 4, a.data(), w, lab.data(), w), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_frame(p.get(), 5, b.data(), w, nullptr, 0), VENSEG_OK);
        *identical = a == b;
        std::vector<double> x, y;
        for (int j = 20; j < h; j++) // tissue below the skin
            for (int i = 0; i < w; i++)
                if (!lab[size_t(j) * w + i]) x.push_back(a[size_t(j) * w + i]), y.push_back(b[size_t(j) * w + i]);
        return pearson(x, y);
    };
    bool same0, same5, same1;
    double c0 = corr(0, &same0), c5 = corr(0.5, &same5), c1 = corr(1.0, &same1);
    EXPECT_TRUE(same0); // frozen speckle on a static phantom
    EXPECT_EQ(c0, 1.0);
    EXPECT_FALSE(same5);
    // the anatomy (layers, fascicles, TGC) is the same in both frames and dominates the
    // grey-level variance: measured 0.90 at d = 0.5 and 0.88 at d = 1 (seed 12)
    EXPECT_LT(c5, 0.95);
    EXPECT_LT(c1, c5); // more renewed, less alike
}

TEST(PhantomExam, ChronicThrombusBrighterThanAcute) {
    auto lumen_mean = [](double thrombus, double age) {
        auto p = phantom_with({{VENSEG_PHANTOM_SEED, 17}, {VENSEG_PHANTOM_FRAMES, 10}, {VENSEG_PHANTOM_THROMBUS, thrombus},
                               {VENSEG_PHANTOM_THROMBUS_AGE, age}, {VENSEG_PHANTOM_VEIN_TO_ARTERY, 1.4}});
        std::vector<uint8_t> px(256 * 256), lab(256 * 256);
        EXPECT_EQ(venseg_phantom_frame(p.get(), 0, px.data(), 256, lab.data(), 256), VENSEG_OK);
        double s = 0, n = 0, st = 0, nt = 0;
        for (size_t i = 0; i < px.size(); i++) {
            if (lab[i] == 2) s += px[i], n++;
            if (lab[i] == 0 && i > 256 * 40) st += px[i], nt++;
        }
        auto t = truth(p.get(), 0);
        EXPECT_EQ(t.vein_area_px, int64_t(n)); // label 2 includes the thrombus
        return std::make_pair(s / n, st / nt);
    };
    auto blood = lumen_mean(0, 0), acute = lumen_mean(2, 0), chronic = lumen_mean(2, 1);
    auto blood_aged = lumen_mean(0, 1);
    EXPECT_EQ(blood.first, blood_aged.first); // no thrombus, no age
    EXPECT_GT(acute.first, blood.first);           // faint echoes ...
    EXPECT_LT(acute.first, blood.first + 20);      // ... barely above the lumen
    EXPECT_LT(acute.first, acute.second - 20);     // and well below the tissue
    EXPECT_GT(chronic.first, acute.first + 25);    // organised thrombus: bright
    EXPECT_GT(chronic.first, chronic.second - 10); // about as bright as the tissue or brighter
}

TEST(PhantomExam, TiltElongatesSectionsAndDimsEchoes) {
    const int n = 41; // frame 20 is mid-clip: the peak tilt
    Keys k = {{VENSEG_PHANTOM_SEED, 6}, {VENSEG_PHANTOM_FRAMES, n}, {VENSEG_PHANTOM_COMPRESSION, 0},
              {VENSEG_PHANTOM_HEART_RATE, 0}, {VENSEG_PHANTOM_NOISE, 0}, {VENSEG_PHANTOM_VEIN_TO_ARTERY, 1.0}};
    auto flat = phantom_with(k);
    k.push_back({VENSEG_PHANTOM_PROBE_TILT, 30});
    auto tilted = phantom_with(k);
    auto a = truth(flat.get(), 20), b = truth(tilted.get(), 20);
    const double stretch = 1.0 / std::cos(30 * kPi / 180);
    EXPECT_NEAR(double(b.artery_area_px) / double(a.artery_area_px), stretch, 0.03);
    EXPECT_NEAR(double(b.vein_area_px) / double(a.vein_area_px), stretch, 0.03);
    EXPECT_EQ(truth(tilted.get(), 0).artery_area_px, truth(flat.get(), 0).artery_area_px); // no tilt yet
    EXPECT_EQ(b.true_compressibility_percent, 0.0);
    std::vector<uint8_t> pa(256 * 256), pb(256 * 256);
    ASSERT_EQ(venseg_phantom_frame(flat.get(), 20, pa.data(), 256, nullptr, 0), VENSEG_OK);
    ASSERT_EQ(venseg_phantom_frame(tilted.get(), 20, pb.data(), 256, nullptr, 0), VENSEG_OK);
    double sa = 0, sb = 0;
    for (size_t i = 0; i < pa.size(); i++) sa += pa[i], sb += pb[i];
    EXPECT_LT(sb, sa * 0.97); // dimmer
    EXPECT_GT(sb, sa * 0.70); // slightly
}

TEST(PhantomExam, AttenuationGivesPosteriorEnhancement) {
    // TGC compensates ATTENUATION - 0.13 dB/mm, so tissue keeps its level; below a lumen
    // (blood barely attenuates) the stronger the attenuation, the brighter the shadow's opposite
    auto enhancement = [](double atten) {
        auto p = phantom_with({{VENSEG_PHANTOM_SEED, 2}, {VENSEG_PHANTOM_FRAMES, 5}, {VENSEG_PHANTOM_COMPRESSION, 0},
                               {VENSEG_PHANTOM_NOISE, 0}, {VENSEG_PHANTOM_ATTENUATION, atten}});
        std::vector<uint8_t> px(256 * 256), lab(256 * 256);
        EXPECT_EQ(venseg_phantom_frame(p.get(), 0, px.data(), 256, lab.data(), 256), VENSEG_OK);
        std::vector<int> bottom(256, -1);
        for (int y = 0; y < 256; y++)
            for (int x = 0; x < 256; x++)
                if (lab[size_t(y) * 256 + x]) bottom[x] = y;
        int deepest = *std::max_element(bottom.begin(), bottom.end());
        double below = 0, beside = 0, nb = 0, ns = 0;
        for (int y = deepest + 10; y < std::min(256, deepest + 60); y++)
            for (int x = 0; x < 256; x++) {
                if (bottom[x] >= 0) below += px[size_t(y) * 256 + x], nb++;
                else beside += px[size_t(y) * 256 + x], ns++;
            }
        return below / nb - beside / ns;
    };
    double e0 = enhancement(0.3), e1 = enhancement(0.75), e2 = enhancement(2.0);
    EXPECT_LT(e0, e1);
    EXPECT_LT(e1 + 5, e2);
}

TEST(PhantomExam, BaselineSecondsDelaysThePress) {
    const int n = 240; // 8 s at 30 fps, 3 s of rest
    const double rest_s = 3, left = (n - 1) / 30.0 - rest_s; // the clip's time axis ends at its last frame
    auto p = phantom_with({{VENSEG_PHANTOM_FRAMES, n}, {VENSEG_PHANTOM_BASELINE_S, 3}, {VENSEG_PHANTOM_WIDTH, 128},
                           {VENSEG_PHANTOM_HEIGHT, 128}, {VENSEG_PHANTOM_PIXEL_SPACING, 0.3}});
    std::vector<double> rest_artery;
    for (int i = 0; i < n; i++) {
        auto t = truth(p.get(), i);
        const double s = i / 30.0;
        if (s <= 3.0) {
            EXPECT_EQ(t.pressure, 0.0) << i;
            rest_artery.push_back(double(t.artery_area_px));
        }
        // the rest of today's profile over the time left: press 25 %, hold 31 %, release 25 %, rest
        const double u = (s - rest_s) / left;
        if (u > 0 && u < 0.25) EXPECT_GT(t.pressure, 0.0) << i;
        if (u >= 0.25 && u <= 0.5625) EXPECT_EQ(t.pressure, 1.0) << i;
        if (u > 0.5625 && u < 0.8125) EXPECT_LT(t.pressure, 1.0) << i;
        if (u >= 0.8125) EXPECT_EQ(t.pressure, 0.0) << i;
    }
    // the artery pulses during the rest
    EXPECT_NEAR(peak_frequency(rest_artery, 30), 72 / 60.0, 30.0 / rest_artery.size() + 1e-9);
    EXPECT_GT(*std::max_element(rest_artery.begin(), rest_artery.end()),
              *std::min_element(rest_artery.begin(), rest_artery.end()) * 1.05);
    EXPECT_GT(truth(p.get(), 0).true_compressibility_percent, 97.0);
    // a rest longer than the clip: no press at all
    auto all_rest = phantom_with({{VENSEG_PHANTOM_FRAMES, 30}, {VENSEG_PHANTOM_BASELINE_S, 5}, {VENSEG_PHANTOM_WIDTH, 64},
                                  {VENSEG_PHANTOM_HEIGHT, 64}, {VENSEG_PHANTOM_PIXEL_SPACING, 0.6}});
    for (int i = 0; i < 30; i++) EXPECT_EQ(truth(all_rest.get(), i).pressure, 0.0);
}

TEST(PhantomExam, EveryKeyOnStaysDeterministicAndConsistent) {
    Keys k = {{VENSEG_PHANTOM_SEED, 77}, {VENSEG_PHANTOM_WIDTH, 144}, {VENSEG_PHANTOM_HEIGHT, 112},
              {VENSEG_PHANTOM_FRAMES, 60}, {VENSEG_PHANTOM_PIXEL_SPACING, 0.25}, {VENSEG_PHANTOM_THROMBUS, 1},
              {VENSEG_PHANTOM_THROMBUS_AGE, 1}, {VENSEG_PHANTOM_VEIN_SIDE, 1}, {VENSEG_PHANTOM_VEIN_TO_ARTERY, 1.3},
              {VENSEG_PHANTOM_PULSE_AMPLITUDE, 0.1}, {VENSEG_PHANTOM_RESPIRATION, 0.2}, {VENSEG_PHANTOM_PROBE_TILT, 15},
              {VENSEG_PHANTOM_PROBE_MOTION, 2}, {VENSEG_PHANTOM_OUT_OF_PLANE, 1}, {VENSEG_PHANTOM_DECORRELATION, 0.3},
              {VENSEG_PHANTOM_ATTENUATION, 1.0}, {VENSEG_PHANTOM_BASELINE_S, 0.5}};
    auto a = phantom_with(k), b = phantom_with(k);
    const int w = 144, h = 112;
    std::vector<uint8_t> junk(w * h), p1(w * h), l1(w * h), p2(w * h), l2(w * h);
    for (int i : {50, 3, 31}) ASSERT_EQ(venseg_phantom_frame(b.get(), i, junk.data(), w, nullptr, 0), VENSEG_OK);
    int invisible = 0;
    for (int i = 0; i < 60; i++) {
        ASSERT_EQ(venseg_phantom_frame(a.get(), i, p1.data(), w, l1.data(), w), VENSEG_OK);
        ASSERT_EQ(venseg_phantom_frame(b.get(), i, p2.data(), w, l2.data(), w), VENSEG_OK);
        ASSERT_EQ(p1, p2) << i;
        ASSERT_EQ(l1, l2) << i;
        auto t = truth(a.get(), i);
        EXPECT_EQ(t.vein_area_px, std::count(l1.begin(), l1.end(), 2)) << i;
        EXPECT_EQ(t.artery_area_px, std::count(l1.begin(), l1.end(), 1)) << i;
        EXPECT_EQ(t.vein_side, -1);
        invisible += !t.vein_visible;
    }
    EXPECT_GT(invisible, 0);
    EXPECT_EQ(frame_count(a.get()), 60);
}
