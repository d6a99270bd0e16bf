// The metrics API (venseg.h, "metrics"): overlap counts, Dice/Jaccard with the three
// empty-mask rules, SSIM (scikit-image structural_similarity), MONAI surface distances
// and compressibility. Reference values: the test vectors of the reference specification
// (network-and-metrics-spec.md section 4: scikit-image 0.19.3 and scipy), values computed
// by hand, and values computed with scikit-image 0.19.3 / scipy 1.10 / MONAI 1.3.2 (noted
// at each use). tests/python/test_metrics_vs_skimage.py compares random cases live.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "test_helpers.hpp"

namespace {

constexpr double kTol = 1e-6;     // float maps, SSIM
constexpr double kExact = 1e-12;  // double arithmetic on small integers
constexpr double kDist = 1e-9;    // exact Euclidean distances
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// A w x h uint8 label image in a buffer of `stride` bytes per row; the padding holds
// labels that are in every class set used here, so reading it changes the results.
struct Mask {
    int w, h;
    int64_t stride;
    std::vector<uint8_t> buf;
    Mask(int w_, int h_, int64_t stride_ = 0) : w(w_), h(h_), stride(stride_ ? stride_ : w_) {
        buf.assign(size_t(stride * h), 0);
        for (int y = 0; y < h; y++)
            for (int64_t x = w; x < stride; x++) buf[size_t(y * stride + x)] = uint8_t(1 + (x + y) % 3);
    }
    uint8_t &at(int x, int y) { return buf[size_t(y * stride + x)]; }
    uint8_t at(int x, int y) const { return buf[size_t(y * stride + x)]; }
    const uint8_t *data() const { return buf.data(); }
    Mask restrided(int64_t s) const {
        Mask m(w, h, s);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) m.at(x, y) = at(x, y);
        return m;
    }
};

// A w x h float image with `stride` floats per row, NaN in the padding.
struct Image {
    int w, h;
    int64_t stride;
    std::vector<float> buf;
    Image(int w_, int h_, int64_t stride_ = 0) : w(w_), h(h_), stride(stride_ ? stride_ : w_) {
        buf.assign(size_t(stride * h), std::numeric_limits<float>::quiet_NaN());
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) at(x, y) = 0.f;
    }
    float &at(int x, int y) { return buf[size_t(y * stride + x)]; }
    float at(int x, int y) const { return buf[size_t(y * stride + x)]; }
    const float *data() const { return buf.data(); }
    Image restrided(int64_t s) const {
        Image m(w, h, s);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) m.at(x, y) = at(x, y);
        return m;
    }
    Image transposed() const {
        Image m(h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) m.at(y, x) = at(x, y);
        return m;
    }
};

// The spec's images, 24 rows x 32 columns (i = row = y, j = column = x).
Image spec_a() {
    Image a(32, 24);
    for (int i = 0; i < 24; i++)
        for (int j = 0; j < 32; j++) a.at(j, i) = float((37 * i + 101 * j + 13 * ((i * j) % 17)) % 256);
    return a;
}
Image spec_b() {
    Image b(32, 24);
    for (int i = 0; i < 24; i++)
        for (int j = 0; j < 32; j++) {
            int a = (37 * i + 101 * j + 13 * ((i * j) % 17)) % 256;
            int v = a + (7 * i + 3 * j) % 61 - 30;
            b.at(j, i) = float(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    return b;
}
// Disk (i - ci)^2 + (j - cj)^2 <= r2 of label `label` on a 32 x 24 background of 0.
Mask spec_disk(int ci, int cj, int r2, uint8_t label = 1, int64_t stride = 0) {
    Mask m(32, 24, stride);
    for (int i = 0; i < 24; i++)
        for (int j = 0; j < 32; j++)
            if ((i - ci) * (i - ci) + (j - cj) * (j - cj) <= r2) m.at(j, i) = label;
    return m;
}
Mask m1(uint8_t label = 1, int64_t stride = 0) { return spec_disk(11, 15, 49, label, stride); }  // truth G
Mask m2(uint8_t label = 1, int64_t stride = 0) { return spec_disk(12, 17, 36, label, stride); }  // prediction P
Image as_image(const Mask &m) {
    Image im(m.w, m.h);
    for (int y = 0; y < m.h; y++)
        for (int x = 0; x < m.w; x++) im.at(x, y) = m.at(x, y) ? 1.f : 0.f;
    return im;
}

constexpr uint32_t B(unsigned v) { return VENSEG_LABEL_BIT(v); }

struct Counts {
    int64_t c[3] = {-1, -1, -1};
};

Counts counts(const Mask &p, uint32_t pl, const Mask &t, uint32_t tl, uint32_t ignore = 0) {
    Counts r;
    EXPECT_EQ(venseg_overlap_counts(p.data(), p.stride, pl, t.data(), t.stride, tl, ignore, p.w, p.h, r.c),
              VENSEG_OK)
        << venseg_last_error();
    return r;
}

double dice(int64_t tp, int64_t fp, int64_t fn, venseg_empty_rule rule, double smooth = 0.0) {
    const int64_t c[3] = {tp, fp, fn};
    double d = -7.0;
    EXPECT_EQ(venseg_dice(c, rule, smooth, &d), VENSEG_OK) << venseg_last_error();
    return d;
}
double jaccard(int64_t tp, int64_t fp, int64_t fn, venseg_empty_rule rule, double smooth = 0.0) {
    const int64_t c[3] = {tp, fp, fn};
    double d = -7.0;
    EXPECT_EQ(venseg_jaccard(c, rule, smooth, &d), VENSEG_OK) << venseg_last_error();
    return d;
}

double ssim(const Image &x, const Image &y, venseg_ssim_window win, int win_size, int sample_cov, double range,
            float *map = nullptr, int64_t map_stride = 0) {
    double m = -7.0;
    EXPECT_EQ(venseg_ssim(x.data(), x.stride, y.data(), y.stride, x.w, x.h, win, win_size, sample_cov, range, &m, map,
                          map_stride),
              VENSEG_OK)
        << venseg_last_error();
    return m;
}

struct Dist {
    double hd = -7, mean = -7, sym = -7;
};
Dist surface(const Mask &p, uint32_t pl, const Mask &t, uint32_t tl, double sx = 1, double sy = 1,
             double pct = 100) {
    Dist d;
    EXPECT_EQ(venseg_surface_distance(p.data(), p.stride, pl, t.data(), t.stride, tl, p.w, p.h, sx, sy, pct, &d.hd,
                                      &d.mean, &d.sym),
              VENSEG_OK)
        << venseg_last_error();
    return d;
}

// An error: the status, a detail, and (convention) the output left untouched.
#define EXPECT_INVALID(call)                                                            \
    do {                                                                                \
        EXPECT_EQ((call), VENSEG_E_INVALID_ARGUMENT) << #call;                          \
        EXPECT_STRNE(venseg_last_error(), "") << #call << ": no detail";                \
    } while (0)

} // namespace

// ------------------------------------------------------------ overlap counts

TEST(Metrics, OverlapCountsHandComputed) {
    // 5 wide x 3 high (non-square), labels 0..3; pred classes {1, 2}, truth classes {1, 2, 3}.
    const uint8_t pred[3][5] = {{0, 1, 2, 3, 1}, {2, 0, 0, 1, 3}, {0, 0, 2, 2, 0}};
    const uint8_t truth[3][5] = {{0, 3, 0, 1, 2}, {1, 1, 0, 0, 3}, {2, 0, 0, 3, 0}};
    // pred positive (1|2):  (0,1)(0,2)(0,4) (1,0)(1,3) (2,2)(2,3)      (row, col)
    // truth positive (1|2|3): (0,1)(0,3)(0,4) (1,0)(1,1)(1,4) (2,0)(2,3)
    // tp: (0,1)(0,4)(1,0)(2,3) = 4; fp: (0,2)(1,3)(2,2) = 3; fn: (0,3)(1,1)(1,4)(2,0) = 4
    Mask p(5, 3), t(5, 3);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++) p.at(x, y) = pred[y][x], t.at(x, y) = truth[y][x];
    Counts c = counts(p, B(1) | B(2), t, B(1) | B(2) | B(3));
    EXPECT_EQ(c.c[0], 4);
    EXPECT_EQ(c.c[1], 3);
    EXPECT_EQ(c.c[2], 4);
    EXPECT_STREQ(venseg_last_error(), "") << "a successful call clears the detail";
    // Truth class {1, 2} (label 3 negative): truth positive (0,3)(0,4)(1,0)(1,1)(2,0);
    // tp (0,4)(1,0) = 2; fp 7 - 2 = 5; fn 5 - 2 = 3.
    c = counts(p, B(1) | B(2), t, B(1) | B(2));
    EXPECT_EQ(c.c[0], 2);
    EXPECT_EQ(c.c[1], 5);
    EXPECT_EQ(c.c[2], 3);
    // Transposed image (3 wide x 5 high) gives the same counts: no x/y mix-up.
    Mask pt(3, 5), tt(3, 5);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++) pt.at(y, x) = pred[y][x], tt.at(y, x) = truth[y][x];
    c = counts(pt, B(1) | B(2), tt, B(1) | B(2) | B(3));
    EXPECT_EQ(c.c[0], 4);
    EXPECT_EQ(c.c[1], 3);
    EXPECT_EQ(c.c[2], 4);
}

TEST(Metrics, OverlapCountsIgnoreLabels) {
    // truth label 4 = "ignore"; label 3 both in the truth class and ignored: ignore wins.
    Mask p(4, 2), t(4, 2);
    const uint8_t pv[2][4] = {{1, 1, 0, 1}, {1, 0, 1, 0}};
    const uint8_t tv[2][4] = {{4, 1, 4, 3}, {3, 1, 0, 0}};
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++) p.at(x, y) = pv[y][x], t.at(x, y) = tv[y][x];
    Counts c = counts(p, B(1), t, B(1) | B(3));
    EXPECT_EQ(c.c[0], 3);  // (0,1) (0,3) (1,0)
    EXPECT_EQ(c.c[1], 2);  // (0,0) pred 1 truth 4, (1,2)
    EXPECT_EQ(c.c[2], 1);  // (1,1)
    c = counts(p, B(1), t, B(1) | B(3), B(4) | B(3));
    EXPECT_EQ(c.c[0], 1);  // (0,1)
    EXPECT_EQ(c.c[1], 1);  // (1,2)
    EXPECT_EQ(c.c[2], 1);  // (1,1)
    // ignore_labels looks at the truth only: a predicted label 4 is just a label.
    c = counts(t, B(4), p, B(1), 0);
    EXPECT_EQ(c.c[0] + c.c[1], 2);
}

TEST(Metrics, OverlapCountsLabelsAbove31AreInNoSet) {
    // Labels 32..255 (255 is a common "void" label) cannot be named by a 32-bit set: they
    // must never match, even with all bits set (a shift by v >= 32 is no answer).
    Mask p(4, 1), t(4, 1);
    const uint8_t pv[4] = {255, 63, 33, 1}, tv[4] = {255, 31, 32, 1};
    for (int x = 0; x < 4; x++) p.at(x, 0) = pv[x], t.at(x, 0) = tv[x];
    Counts c = counts(p, 0xFFFFFFFFu, t, 0xFFFFFFFFu);
    EXPECT_EQ(c.c[0], 1);  // x = 3
    EXPECT_EQ(c.c[1], 0);
    EXPECT_EQ(c.c[2], 1);  // x = 1: truth 31
    c = counts(p, B(31), t, B(31), B(31));
    EXPECT_EQ(c.c[0] + c.c[1] + c.c[2], 0);
}

TEST(Metrics, OverlapCountsSpecDisksAndVesselBits) {
    // P = M2 prediction, G = M1 truth: |P| = 113, |G| = 149, |P n G| = 100.
    Counts c = counts(m2(), B(1), m1(), B(1));
    EXPECT_EQ(c.c[0], 100);
    EXPECT_EQ(c.c[1], 13);
    EXPECT_EQ(c.c[2], 49);
    // "vessel": prediction labels 1 (artery) | 2 (vein), truth 1 | 2 | 3 (unknown vessel).
    Mask p = m2(2), t = m1(3);
    for (int x = 0; x < 32; x++) p.at(x, 12) = p.at(x, 12) ? 1 : 0, t.at(x, 11) = t.at(x, 11) ? 2 : 0;
    c = counts(p, B(1) | B(2), t, B(1) | B(2) | B(3));
    EXPECT_EQ(c.c[0], 100);
    EXPECT_EQ(c.c[1], 13);
    EXPECT_EQ(c.c[2], 49);
    // Artery only in the prediction: row 12 of P, j = 11..23 (13 px), of which j = 11..21
    // are inside M1 ((j - 15)^2 <= 48).
    c = counts(p, B(1), t, B(1) | B(2) | B(3));
    EXPECT_EQ(c.c[0], 11);
    EXPECT_EQ(c.c[1], 2);
    EXPECT_EQ(c.c[2], 149 - 11);
}

TEST(Metrics, OverlapCountsStrided) {
    Counts ref = counts(m2(), B(1), m1(), B(1));
    for (int64_t sp : {32, 33, 40, 64})
        for (int64_t st : {32, 37, 48}) {
            Counts c = counts(m2(1, sp), B(1) | B(2) | B(3), m1(1, st), B(1) | B(2) | B(3));
            EXPECT_EQ(c.c[0], ref.c[0]) << sp << " " << st;
            EXPECT_EQ(c.c[1], ref.c[1]) << sp << " " << st;
            EXPECT_EQ(c.c[2], ref.c[2]) << sp << " " << st;
        }
}

TEST(Metrics, OverlapCountsProbStrictThreshold) {
    // 3 wide x 2 high, truth class {1}.
    Mask t(3, 2);
    const uint8_t tv[2][3] = {{1, 1, 0}, {0, 1, 5}};
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) t.at(x, y) = tv[y][x];
    const float nextafter_half = std::nextafter(0.5f, 1.0f);
    for (int64_t ps : {3, 4, 11}) {
        std::vector<float> prob(size_t(ps * 2), 0.99f);  // padding: would be positive
        float *r0 = prob.data(), *r1 = prob.data() + ps;
        r0[0] = 0.5f, r0[1] = nextafter_half, r0[2] = 1.0f;
        r1[0] = 0.25f, r1[1] = 0.0f, r1[2] = 0.75f;
        int64_t c[3] = {-1, -1, -1};
        ASSERT_EQ(venseg_overlap_counts_prob(prob.data(), ps, 0.5f, t.data(), t.stride, B(1), 0, 3, 2, c), VENSEG_OK)
            << venseg_last_error();
        // positive: (0,1) (0,2) (1,2); p == 0.5 at (0,0) is negative
        EXPECT_EQ(c[0], 1);  // (0,1)
        EXPECT_EQ(c[1], 2);  // (0,2) (1,2)
        EXPECT_EQ(c[2], 2);  // (0,0) (1,1)
        ASSERT_EQ(venseg_overlap_counts_prob(prob.data(), ps, 0.5f, t.data(), t.stride, B(1), B(5), 3, 2, c),
                  VENSEG_OK);
        EXPECT_EQ(c[0], 1);
        EXPECT_EQ(c[1], 1);  // (1,2) is ignored now
        EXPECT_EQ(c[2], 2);
        // threshold 0: p == 0 is negative, everything else positive
        ASSERT_EQ(venseg_overlap_counts_prob(prob.data(), ps, 0.0f, t.data(), t.stride, B(1), 0, 3, 2, c), VENSEG_OK);
        EXPECT_EQ(c[0], 2);  // (0,0) (0,1)
        EXPECT_EQ(c[1], 3);  // (0,2) (1,0) (1,2)
        EXPECT_EQ(c[2], 1);  // (1,1)
    }
    // The disks as a probability map (0 / 1 floats) give the label-mask counts.
    Image p = as_image(m2()).restrided(45);
    Mask g = m1(1, 35);
    int64_t c[3];
    ASSERT_EQ(venseg_overlap_counts_prob(p.data(), p.stride, 0.5f, g.data(), g.stride, B(1), 0, 32, 24, c), VENSEG_OK);
    EXPECT_EQ(c[0], 100);
    EXPECT_EQ(c[1], 13);
    EXPECT_EQ(c[2], 49);
}

// ------------------------------------------------------------- Dice, Jaccard

TEST(Metrics, DiceJaccardSpecVector) {
    EXPECT_NEAR(dice(100, 13, 49, VENSEG_EMPTY_NAN), 200.0 / 262.0, kExact);
    EXPECT_NEAR(dice(100, 13, 49, VENSEG_EMPTY_NAN), 0.763358778626, 1e-12);
    EXPECT_NEAR(dice(100, 13, 49, VENSEG_EMPTY_MONAI), 0.763358778626, 1e-12);
    EXPECT_NEAR(jaccard(100, 13, 49, VENSEG_EMPTY_NAN), 0.617283950617, 1e-12);
    EXPECT_NEAR(jaccard(100, 13, 49, VENSEG_EMPTY_MONAI), 100.0 / 162.0, kExact);
    // segmentation_models f1 / iou with SMOOTH = 1e-5
    EXPECT_NEAR(dice(100, 13, 49, VENSEG_EMPTY_SMOOTH, 1e-5), 0.763358787658, 1e-12);
    EXPECT_NEAR(dice(100, 13, 49, VENSEG_EMPTY_SMOOTH, 1e-5), (200 + 1e-5) / (262 + 1e-5), kExact);
    EXPECT_NEAR(jaccard(100, 13, 49, VENSEG_EMPTY_SMOOTH, 1e-5), (100 + 1e-5) / (162 + 1e-5), kExact);
    // smooth 0 with the smooth rule is the plain ratio
    EXPECT_NEAR(dice(100, 13, 49, VENSEG_EMPTY_SMOOTH, 0.0), 200.0 / 262.0, kExact);
    // Perfect and disjoint.
    for (venseg_empty_rule r : {VENSEG_EMPTY_NAN, VENSEG_EMPTY_MONAI}) {
        EXPECT_EQ(dice(7, 0, 0, r), 1.0);
        EXPECT_EQ(jaccard(7, 0, 0, r), 1.0);
        EXPECT_EQ(dice(0, 3, 4, r), 0.0);
        EXPECT_EQ(jaccard(0, 3, 4, r), 0.0);
    }
}

TEST(Metrics, DiceJaccardEmptyRules) {
    const double s = 1e-5;
    // Both empty.
    EXPECT_TRUE(std::isnan(dice(0, 0, 0, VENSEG_EMPTY_NAN)));
    EXPECT_TRUE(std::isnan(jaccard(0, 0, 0, VENSEG_EMPTY_NAN)));
    EXPECT_EQ(dice(0, 0, 0, VENSEG_EMPTY_MONAI), 1.0);
    EXPECT_EQ(jaccard(0, 0, 0, VENSEG_EMPTY_MONAI), 1.0);
    EXPECT_NEAR(dice(0, 0, 0, VENSEG_EMPTY_SMOOTH, s), 1.0, kExact);
    EXPECT_NEAR(jaccard(0, 0, 0, VENSEG_EMPTY_SMOOTH, s), 1.0, kExact);
    // Truth empty, prediction not.
    EXPECT_TRUE(std::isnan(dice(0, 5, 0, VENSEG_EMPTY_NAN)));
    EXPECT_TRUE(std::isnan(jaccard(0, 5, 0, VENSEG_EMPTY_NAN)));
    EXPECT_EQ(dice(0, 5, 0, VENSEG_EMPTY_MONAI), 0.0);
    EXPECT_EQ(jaccard(0, 5, 0, VENSEG_EMPTY_MONAI), 0.0);
    EXPECT_NEAR(dice(0, 5, 0, VENSEG_EMPTY_SMOOTH, s), s / (5 + s), kExact);
    EXPECT_NEAR(jaccard(0, 5, 0, VENSEG_EMPTY_SMOOTH, s), s / (5 + s), kExact);
    // Prediction empty, truth not: 0 for NAN and MONAI (the truth is not empty).
    EXPECT_EQ(dice(0, 0, 5, VENSEG_EMPTY_NAN), 0.0);
    EXPECT_EQ(jaccard(0, 0, 5, VENSEG_EMPTY_NAN), 0.0);
    EXPECT_EQ(dice(0, 0, 5, VENSEG_EMPTY_MONAI), 0.0);
    EXPECT_EQ(jaccard(0, 0, 5, VENSEG_EMPTY_MONAI), 0.0);
    EXPECT_NEAR(dice(0, 0, 5, VENSEG_EMPTY_SMOOTH, s), s / (5 + s), kExact);
    // 1-pixel masks: the same pixel, and two different pixels.
    for (venseg_empty_rule r : {VENSEG_EMPTY_NAN, VENSEG_EMPTY_MONAI}) {
        EXPECT_EQ(dice(1, 0, 0, r), 1.0);
        EXPECT_EQ(jaccard(1, 0, 0, r), 1.0);
        EXPECT_EQ(dice(0, 1, 1, r), 0.0);
        EXPECT_EQ(jaccard(0, 1, 1, r), 0.0);
    }
    EXPECT_NEAR(dice(1, 0, 0, VENSEG_EMPTY_SMOOTH, s), 1.0, kExact);
    EXPECT_NEAR(dice(0, 1, 1, VENSEG_EMPTY_SMOOTH, s), s / (2 + s), kExact);
    EXPECT_NEAR(jaccard(0, 1, 1, VENSEG_EMPTY_SMOOTH, s), s / (2 + s), kExact);
    // Counts from real 1-pixel masks.
    Mask a(3, 2), b(3, 2);
    a.at(2, 1) = 1, b.at(2, 1) = 2;
    Counts c = counts(a, B(1), b, B(2));
    EXPECT_EQ(c.c[0], 1);
    EXPECT_EQ(c.c[1] + c.c[2], 0);
    b.at(2, 1) = 0, b.at(0, 0) = 2;
    c = counts(a, B(1), b, B(2));
    EXPECT_EQ(c.c[0], 0);
    EXPECT_EQ(c.c[1], 1);
    EXPECT_EQ(c.c[2], 1);
}

TEST(Metrics, DiceJaccardErrors) {
    const int64_t c[3] = {1, 2, 3};
    double d = -7.0;
    EXPECT_INVALID(venseg_dice(nullptr, VENSEG_EMPTY_NAN, 0.0, &d));
    EXPECT_INVALID(venseg_dice(c, VENSEG_EMPTY_NAN, 0.0, nullptr));
    EXPECT_INVALID(venseg_jaccard(nullptr, VENSEG_EMPTY_MONAI, 0.0, &d));
    EXPECT_INVALID(venseg_jaccard(c, VENSEG_EMPTY_MONAI, 0.0, nullptr));
    EXPECT_INVALID(venseg_dice(c, static_cast<venseg_empty_rule>(3), 0.0, &d));
    EXPECT_INVALID(venseg_dice(c, static_cast<venseg_empty_rule>(-1), 0.0, &d));
    EXPECT_INVALID(venseg_jaccard(c, static_cast<venseg_empty_rule>(3), 0.0, &d));
    // smooth must be 0 unless the rule is VENSEG_EMPTY_SMOOTH
    EXPECT_INVALID(venseg_dice(c, VENSEG_EMPTY_NAN, 1e-5, &d));
    EXPECT_INVALID(venseg_jaccard(c, VENSEG_EMPTY_MONAI, 1e-5, &d));
    const int64_t negative[3] = {1, -1, 0};
    EXPECT_INVALID(venseg_dice(negative, VENSEG_EMPTY_MONAI, 0.0, &d));
    EXPECT_INVALID(venseg_jaccard(negative, VENSEG_EMPTY_SMOOTH, 1e-5, &d));
    for (double s : {-1e-5, kNaN, kInf}) {
        SCOPED_TRACE(s);
        EXPECT_INVALID(venseg_dice(c, VENSEG_EMPTY_SMOOTH, s, &d));
    }
    EXPECT_EQ(d, -7.0) << "outputs are left untouched on failure";
}

// ----------------------------------------------------------------------- SSIM

TEST(Metrics, SsimSpecVectorsAB) {
    const Image a = spec_a(), b = spec_b();
    EXPECT_NEAR(ssim(a, b, VENSEG_SSIM_UNIFORM, 0, 1, 255.0), 0.974414383109415, kTol);
    EXPECT_NEAR(ssim(a, b, VENSEG_SSIM_UNIFORM, 7, 1, 255.0), 0.974414383109415, kTol);
    EXPECT_NEAR(ssim(a, b, VENSEG_SSIM_GAUSSIAN, 0, 0, 255.0), 0.975694013732290, kTol);
    EXPECT_NEAR(ssim(a, b, VENSEG_SSIM_GAUSSIAN, 0, 1, 255.0), 0.975692973764223, kTol);
    // win_size is ignored (11) for the Gaussian window
    EXPECT_NEAR(ssim(a, b, VENSEG_SSIM_GAUSSIAN, 7, 0, 255.0), 0.975694013732290, kTol);
    // Symmetric in x, y; 1 for identical images; the transposed (24 wide x 32 high) pair
    // has the same value (the window and the crop are symmetric): no width/height mix-up.
    EXPECT_NEAR(ssim(b, a, VENSEG_SSIM_UNIFORM, 0, 1, 255.0), 0.974414383109415, kTol);
    EXPECT_NEAR(ssim(a, a, VENSEG_SSIM_UNIFORM, 0, 1, 255.0), 1.0, 1e-12);
    EXPECT_NEAR(ssim(a.transposed(), b.transposed(), VENSEG_SSIM_UNIFORM, 0, 1, 255.0), 0.974414383109415, kTol);
    EXPECT_NEAR(ssim(a.transposed(), b.transposed(), VENSEG_SSIM_GAUSSIAN, 0, 0, 255.0), 0.975694013732290, kTol);
}

TEST(Metrics, SsimSpecVectorsDisks) {
    const Image x = as_image(m1()), y = as_image(m2());
    EXPECT_NEAR(ssim(x, y, VENSEG_SSIM_UNIFORM, 0, 1, 1.0), 0.494227102558339, kTol);
    EXPECT_NEAR(ssim(x, y, VENSEG_SSIM_GAUSSIAN, 0, 0, 1.0), 0.283251680810967, kTol);
    // scikit-image 0.19.3's silent data_range 2 for floats
    EXPECT_NEAR(ssim(x, y, VENSEG_SSIM_UNIFORM, 0, 1, 2.0), 0.502228188720441, kTol);
}

TEST(Metrics, SsimMapMatchesScikitImageAndMeanOverCrop) {
    const Image a = spec_a(), b = spec_b();
    struct Case {
        venseg_ssim_window win;
        int sample_cov, pad;
        double mssim;
        double v[7];  // S at (row, col) (0,0) (0,31) (23,0) (23,31) (1,2) (12,16) (5,30), skimage full=True
    } cases[] = {
        {VENSEG_SSIM_UNIFORM, 1, 3, 0.974414383109415,
         {0.983547138425, 0.992551087336, 0.994286446073, 0.943671416346, 0.987621029356, 0.974350659584,
          0.972960472119}},
        {VENSEG_SSIM_GAUSSIAN, 0, 5, 0.975694013732290,
         {0.969325257564, 0.994010620007, 0.993503059723, 0.932518192764, 0.985572828982, 0.954109877172,
          0.966031777932}},
    };
    const int at[7][2] = {{0, 0}, {0, 31}, {23, 0}, {23, 31}, {1, 2}, {12, 16}, {5, 30}};
    for (const Case &c : cases)
        for (int64_t ms : {32, 39}) {
            const float sentinel = -1234.5f;
            std::vector<float> map(size_t(ms * 24), sentinel);
            double m = ssim(a, b, c.win, 0, c.sample_cov, 255.0, map.data(), ms);
            EXPECT_NEAR(m, c.mssim, kTol);
            for (int k = 0; k < 7; k++)
                EXPECT_NEAR(map[size_t(at[k][0] * ms + at[k][1])], c.v[k], kTol)
                    << "window " << c.win << " at row " << at[k][0] << " col " << at[k][1];
            double sum = 0.0;
            int n = 0;
            for (int yy = 0; yy < 24; yy++)
                for (int xx = 0; xx < 32; xx++) {
                    float s = map[size_t(yy * ms + xx)];
                    EXPECT_TRUE(std::isfinite(s));
                    EXPECT_LE(s, 1.0f + 1e-6f);
                    if (yy >= c.pad && yy < 24 - c.pad && xx >= c.pad && xx < 32 - c.pad) sum += s, n++;
                }
            EXPECT_NEAR(sum / n, m, kTol) << "mssim is the mean of the map cropped by (win - 1) / 2";
            for (int yy = 0; yy < 24; yy++)
                for (int64_t xx = 32; xx < ms; xx++) EXPECT_EQ(map[size_t(yy * ms + xx)], sentinel) << "padding written";
        }
    // Disk masks: the map at a few points (skimage full=True, uniform 7, L = 1).
    const Image x = as_image(m1()), y = as_image(m2());
    std::vector<float> map(32 * 24);
    ssim(x, y, VENSEG_SSIM_UNIFORM, 0, 1, 1.0, map.data(), 32);
    EXPECT_NEAR(map[0], 1.0, kTol);
    EXPECT_NEAR(map[4 * 32 + 15], 0.193932594867, kTol);
    EXPECT_NEAR(map[11 * 32 + 8], 0.00794305715624, kTol);
    EXPECT_NEAR(map[18 * 32 + 17], 0.789125964574, kTol);
}

TEST(Metrics, SsimStridedAndSmallImages) {
    const Image a = spec_a(), b = spec_b();
    const double ref = ssim(a, b, VENSEG_SSIM_UNIFORM, 0, 1, 255.0);
    const double refg = ssim(a, b, VENSEG_SSIM_GAUSSIAN, 0, 0, 255.0);
    for (int64_t sa : {32, 33, 40})
        for (int64_t sb : {32, 47}) {
            Image x = a.restrided(sa), y = b.restrided(sb);  // NaN in the padding
            EXPECT_EQ(ssim(x, y, VENSEG_SSIM_UNIFORM, 0, 1, 255.0), ref) << sa << " " << sb;
            EXPECT_EQ(ssim(x, y, VENSEG_SSIM_GAUSSIAN, 0, 0, 255.0), refg) << sa << " " << sb;
        }
    // The smallest images for each window: side == window (crop leaves one pixel).
    Image s(7, 9), t(7, 9);
    for (int yy = 0; yy < 9; yy++)
        for (int xx = 0; xx < 7; xx++) s.at(xx, yy) = float(a.at(xx, yy)), t.at(xx, yy) = float(b.at(xx, yy));
    double m = ssim(s, t, VENSEG_SSIM_UNIFORM, 7, 1, 255.0);
    EXPECT_TRUE(std::isfinite(m));
    EXPECT_LE(m, 1.0);
    Image g(11, 11), h(11, 11);
    for (int yy = 0; yy < 11; yy++)
        for (int xx = 0; xx < 11; xx++) g.at(xx, yy) = float(a.at(xx, yy)), h.at(xx, yy) = float(b.at(xx, yy));
    EXPECT_TRUE(std::isfinite(ssim(g, h, VENSEG_SSIM_GAUSSIAN, 0, 0, 255.0)));
    Image u(3, 3), v(3, 3);
    EXPECT_NEAR(ssim(u, v, VENSEG_SSIM_UNIFORM, 3, 1, 1.0), 1.0, 1e-12) << "two constant images";
}

TEST(Metrics, SsimErrors) {
    const Image a = spec_a(), b = spec_b();
    const float *x = a.data(), *y = b.data();
    double m = -7.0;
    std::vector<float> map(32 * 24);
    const venseg_ssim_window U = VENSEG_SSIM_UNIFORM, G = VENSEG_SSIM_GAUSSIAN;
    EXPECT_INVALID(venseg_ssim(nullptr, 32, y, 32, 32, 24, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, nullptr, 32, 32, 24, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 24, U, 0, 1, 255, nullptr, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 0, 24, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 0, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, -32, 24, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, -24, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 31, y, 32, 32, 24, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 31, 32, 24, U, 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 24, U, 0, 1, 255, &m, map.data(), 31));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 24, static_cast<venseg_ssim_window>(2), 0, 1, 255, &m, nullptr, 0));
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 24, static_cast<venseg_ssim_window>(-1), 0, 1, 255, &m, nullptr, 0));
    for (int ws : {1, 2, 4, 8, -1, -7, 25, 33}) {  // even, < 3, > the 24-pixel height
        SCOPED_TRACE(ws);
        EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 24, U, ws, 1, 255, &m, nullptr, 0));
    }
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 6, 24, U, 7, 1, 255, &m, nullptr, 0));   // wider than the image
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 6, U, 0, 1, 255, &m, nullptr, 0));   // default 7 > 6 rows
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 10, 24, G, 0, 0, 255, &m, nullptr, 0));  // Gaussian needs 11
    EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 10, G, 0, 0, 255, &m, nullptr, 0));
    for (double r : {0.0, -1.0, kNaN, kInf}) {
        SCOPED_TRACE(r);
        EXPECT_INVALID(venseg_ssim(x, 32, y, 32, 32, 24, U, 0, 1, r, &m, nullptr, 0));
    }
    EXPECT_EQ(m, -7.0) << "outputs are left untouched on failure";
}

// --------------------------------------------------------- surface distances

TEST(Metrics, SurfaceDistanceSpecDisks) {
    // P = M2 prediction, G = M1 truth (spec 4.4; scipy following MONAI).
    Dist d = surface(m2(), B(1), m1(), B(1));
    EXPECT_NEAR(d.hd, std::sqrt(10.0), kDist);
    EXPECT_NEAR(d.mean, 1.36265551136391, kDist);
    EXPECT_NEAR(d.sym, 1.45378693767202, kDist);
    d = surface(m2(), B(1), m1(), B(1), 1, 1, 95);
    EXPECT_NEAR(d.hd, 3.04056941504209, kDist);
    EXPECT_NEAR(d.mean, 1.36265551136391, kDist);
    EXPECT_NEAR(surface(m2(), B(1), m1(), B(1), 1, 1, 50).hd, std::sqrt(2.0), kDist);
    EXPECT_NEAR(surface(m2(), B(1), m1(), B(1), 1, 1, 0).hd, 0.0, kDist);
    // Roles swapped: HD and the symmetric mean stay, the directed mean is G -> P now.
    d = surface(m1(), B(1), m2(), B(1));
    EXPECT_NEAR(d.hd, std::sqrt(10.0), kDist);
    EXPECT_NEAR(d.mean, 1.5347926499458904, kDist);
    EXPECT_NEAR(d.sym, 1.45378693767202, kDist);
    // Identical regions: 0.
    d = surface(m1(), B(1), m1(5), B(5));
    EXPECT_EQ(d.hd, 0.0);
    EXPECT_EQ(d.mean, 0.0);
    EXPECT_EQ(d.sym, 0.0);
}

TEST(Metrics, SurfaceDistanceSpacing) {
    // 0.1 mm isotropic: everything x 0.1.
    Dist d = surface(m2(), B(1), m1(), B(1), 0.1, 0.1);
    EXPECT_NEAR(d.hd, 0.316227766016838, kDist);
    EXPECT_NEAR(d.mean, 0.136265551136391, kDist);
    EXPECT_NEAR(d.sym, 0.145378693767202, kDist);
    EXPECT_NEAR(surface(m2(), B(1), m1(), B(1), 0.1, 0.1, 95).hd, 0.30405694150421, kDist);
    // Anisotropic; reference: scipy distance_transform_edt(sampling=(sy, sx)) and
    // MONAI 1.3.2 compute_hausdorff_distance(spacing=(sy, sx)) (float32, agrees to 1e-7).
    d = surface(m2(), B(1), m1(), B(1), /*sx*/ 0.2, /*sy*/ 0.3);
    EXPECT_NEAR(d.hd, 0.721110255092798, kDist);
    EXPECT_NEAR(d.mean, 0.323044596369123, kDist);
    EXPECT_NEAR(d.sym, 0.343510521533961, kDist);
    EXPECT_NEAR(surface(m2(), B(1), m1(), B(1), 0.2, 0.3, 95).hd, 0.683392858710652, kDist);
    EXPECT_NEAR(surface(m2(), B(1), m1(), B(1), 0.2, 0.3, 50).hd, 0.360555127546399, kDist);
    d = surface(m2(), B(1), m1(), B(1), /*sx*/ 0.25, /*sy*/ 0.1);
    EXPECT_NEAR(d.hd, 0.756637297521078, kDist);
    EXPECT_NEAR(d.mean, 0.193461561971163, kDist);
    EXPECT_NEAR(d.sym, 0.227298826756253, kDist);
    EXPECT_NEAR(surface(m2(), B(1), m1(), B(1), 0.25, 0.1, 95).hd, 0.597399498049219, kDist);
    EXPECT_NEAR(surface(m2(), B(1), m1(), B(1), 0.25, 0.1, 50).hd, 0.2, kDist);
}

TEST(Metrics, SurfaceDistanceSmallCases) {
    // Two 1-pixel regions at (x, y) = (3, 4) and (6, 8): 5 px; with sx 0.5, sy 2: hypot(1.5, 8).
    Mask p(9, 11), t(9, 11);
    p.at(3, 4) = 1, t.at(6, 8) = 2;
    Dist d = surface(p, B(1), t, B(2));
    EXPECT_NEAR(d.hd, 5.0, kDist);
    EXPECT_NEAR(d.mean, 5.0, kDist);
    EXPECT_NEAR(d.sym, 5.0, kDist);
    d = surface(p, B(1), t, B(2), 0.5, 2.0, 95);
    EXPECT_NEAR(d.hd, std::hypot(1.5, 8.0), kDist);
    EXPECT_NEAR(d.mean, std::hypot(1.5, 8.0), kDist);
    // The whole 6 x 5 image as truth: its boundary is the image border ring (18 px,
    // outside the image counts as outside); prediction one pixel at (x, y) = (3, 2).
    Mask full(6, 5), dot(6, 5);
    for (int yy = 0; yy < 5; yy++)
        for (int xx = 0; xx < 6; xx++) full.at(xx, yy) = 3;
    dot.at(3, 2) = 1;
    d = surface(dot, B(1), full, B(3));
    EXPECT_NEAR(d.hd, std::sqrt(13.0), kDist);  // from corners (0,0) and (0,4)
    EXPECT_NEAR(d.mean, 2.0, kDist);
    EXPECT_NEAR(d.sym, 2.592935486065697, kDist);  // scipy
    EXPECT_NEAR(surface(dot, B(1), full, B(3), 1, 1, 95).hd, std::sqrt(13.0), kDist);
    d = surface(dot, B(1), full, B(3), 0.5, 2.0);
    EXPECT_NEAR(d.mean, 1.0, kDist);  // to column 5: 2 x 0.5
    EXPECT_NEAR(d.hd, 4.272001872658765, kDist);  // scipy, sampling (2, 0.5)
    // Nullable outputs.
    double hd = -7;
    ASSERT_EQ(venseg_surface_distance(dot.data(), dot.stride, B(1), full.data(), full.stride, B(3), 6, 5, 1, 1, 100,
                                      &hd, nullptr, nullptr),
              VENSEG_OK);
    EXPECT_NEAR(hd, std::sqrt(13.0), kDist);
    double sym = -7;
    ASSERT_EQ(venseg_surface_distance(dot.data(), dot.stride, B(1), full.data(), full.stride, B(3), 6, 5, 1, 1, 100,
                                      nullptr, nullptr, &sym),
              VENSEG_OK);
    EXPECT_NEAR(sym, 2.592935486065697, kDist);
    EXPECT_EQ(venseg_surface_distance(dot.data(), dot.stride, B(1), full.data(), full.stride, B(3), 6, 5, 1, 1, 100,
                                      nullptr, nullptr, nullptr),
              VENSEG_OK);
}

TEST(Metrics, SurfaceDistanceLabelSetsAndStrides) {
    // Prediction: the M2 disk split into labels 1 and 2; truth: M1 split into 1, 2 and 3.
    Mask p = m2(2), t = m1(3);
    for (int x = 0; x < 32; x++) {
        if (p.at(x, 12)) p.at(x, 12) = 1;
        if (t.at(x, 9)) t.at(x, 9) = 1;
        if (t.at(x, 10)) t.at(x, 10) = 2;
    }
    Dist ref = surface(m2(), B(1), m1(), B(1), 0.2, 0.3, 95);
    for (int64_t sp : {32, 41})
        for (int64_t st : {32, 36}) {
            Dist d = surface(p.restrided(sp), B(1) | B(2), t.restrided(st), B(1) | B(2) | B(3), 0.2, 0.3, 95);
            EXPECT_NEAR(d.hd, ref.hd, 1e-12) << sp << " " << st;
            EXPECT_NEAR(d.mean, ref.mean, 1e-12) << sp << " " << st;
            EXPECT_NEAR(d.sym, ref.sym, 1e-12) << sp << " " << st;
        }
}

TEST(Metrics, SurfaceDistanceEmptyRegions) {
    Mask z(32, 24), g = m1();
    for (double pct : {100.0, 95.0}) {
        Dist d = surface(z, B(1), z, B(1), 1, 1, pct);
        EXPECT_TRUE(std::isnan(d.hd));
        EXPECT_TRUE(std::isnan(d.mean));
        EXPECT_TRUE(std::isnan(d.sym));
        // Labels that are not in the set make an empty region too.
        d = surface(g, B(2), g, B(3), 1, 1, pct);
        EXPECT_TRUE(std::isnan(d.hd));
        for (int k = 0; k < 2; k++) {
            d = k ? surface(z, B(1), g, B(1), 0.1, 0.1, pct) : surface(g, B(1), z, B(1), 0.1, 0.1, pct);
            EXPECT_EQ(d.hd, kInf) << "one region empty, pct " << pct;
            EXPECT_EQ(d.mean, kInf);
            EXPECT_EQ(d.sym, kInf);
        }
    }
}

TEST(Metrics, SurfaceDistanceErrors) {
    Mask p = m2(), t = m1();
    const uint8_t *a = p.data(), *b = t.data();
    double hd = -7, mean = -7, sym = -7;
    EXPECT_INVALID(venseg_surface_distance(nullptr, 32, 2, b, 32, 2, 32, 24, 1, 1, 100, &hd, &mean, &sym));
    EXPECT_INVALID(venseg_surface_distance(a, 32, 2, nullptr, 32, 2, 32, 24, 1, 1, 100, &hd, &mean, &sym));
    EXPECT_INVALID(venseg_surface_distance(a, 32, 2, b, 32, 2, 0, 24, 1, 1, 100, &hd, &mean, &sym));
    EXPECT_INVALID(venseg_surface_distance(a, 32, 2, b, 32, 2, 32, 0, 1, 1, 100, &hd, &mean, &sym));
    EXPECT_INVALID(venseg_surface_distance(a, 32, 2, b, 32, 2, -1, 24, 1, 1, 100, &hd, &mean, &sym));
    EXPECT_INVALID(venseg_surface_distance(a, 31, 2, b, 32, 2, 32, 24, 1, 1, 100, &hd, &mean, &sym));
    EXPECT_INVALID(venseg_surface_distance(a, 32, 2, b, 31, 2, 32, 24, 1, 1, 100, &hd, &mean, &sym));
    for (double s : {0.0, -0.1, kNaN, kInf}) {
        SCOPED_TRACE(s);
        EXPECT_INVALID(venseg_surface_distance(a, 32, 2, b, 32, 2, 32, 24, s, 1, 100, &hd, &mean, &sym));
        EXPECT_INVALID(venseg_surface_distance(a, 32, 2, b, 32, 2, 32, 24, 1, s, 100, &hd, &mean, &sym));
    }
    for (double pct : {-1e-9, -1.0, 100.0001, 1000.0, kNaN, kInf}) {
        SCOPED_TRACE(pct);
        EXPECT_INVALID(venseg_surface_distance(a, 32, 2, b, 32, 2, 32, 24, 1, 1, pct, &hd, &mean, &sym));
    }
    EXPECT_EQ(hd, -7);
    EXPECT_EQ(mean, -7);
    EXPECT_EQ(sym, -7);
}

// ----------------------------------------------------------- overlap errors

TEST(Metrics, OverlapCountsErrors) {
    Mask p = m2(), t = m1();
    const uint8_t *a = p.data(), *b = t.data();
    std::vector<float> prob(32 * 24, 0.f);
    const float *f = prob.data();
    int64_t c[3] = {-7, -7, -7};
    EXPECT_INVALID(venseg_overlap_counts(nullptr, 32, 2, b, 32, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts(a, 32, 2, nullptr, 32, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts(a, 32, 2, b, 32, 2, 0, 32, 24, nullptr));
    EXPECT_INVALID(venseg_overlap_counts(a, 32, 2, b, 32, 2, 0, 0, 24, c));
    EXPECT_INVALID(venseg_overlap_counts(a, 32, 2, b, 32, 2, 0, 32, 0, c));
    EXPECT_INVALID(venseg_overlap_counts(a, 32, 2, b, 32, 2, 0, -32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts(a, 32, 2, b, 32, 2, 0, 32, -24, c));
    EXPECT_INVALID(venseg_overlap_counts(a, 31, 2, b, 32, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts(a, 32, 2, b, 31, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts(a, -32, 2, b, 32, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts_prob(nullptr, 32, 0.5f, b, 32, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts_prob(f, 32, 0.5f, nullptr, 32, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts_prob(f, 32, 0.5f, b, 32, 2, 0, 32, 24, nullptr));
    EXPECT_INVALID(venseg_overlap_counts_prob(f, 32, 0.5f, b, 32, 2, 0, 0, 24, c));
    EXPECT_INVALID(venseg_overlap_counts_prob(f, 32, 0.5f, b, 32, 2, 0, 32, 0, c));
    EXPECT_INVALID(venseg_overlap_counts_prob(f, 31, 0.5f, b, 32, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts_prob(f, 32, 0.5f, b, 31, 2, 0, 32, 24, c));
    EXPECT_INVALID(venseg_overlap_counts_prob(f, 32, std::numeric_limits<float>::quiet_NaN(), b, 32, 2, 0, 32, 24, c));
    EXPECT_EQ(c[0], -7);
    EXPECT_EQ(c[1], -7);
    EXPECT_EQ(c[2], -7);
}

// ------------------------------------------------------------ compressibility

TEST(Metrics, Compressibility) {
    double c = -7;
    ASSERT_EQ(venseg_compressibility(149, 29, &c), VENSEG_OK) << venseg_last_error();
    EXPECT_NEAR(c, 80.5369, 1e-4);
    EXPECT_NEAR(c, 12000.0 / 149.0, kExact);
    // The disks' areas counted by the library: 149 px (r = 7) and 29 px (r = 3).
    Counts a7 = counts(m1(), B(1), m1(), B(1)), a3 = counts(spec_disk(12, 17, 9), B(1), m1(), 0);
    EXPECT_EQ(a7.c[0], 149);
    EXPECT_EQ(a3.c[1], 29);
    ASSERT_EQ(venseg_compressibility(double(a7.c[0]), double(a3.c[1]), &c), VENSEG_OK);
    EXPECT_NEAR(c, 80.53691275167785, kExact);
    ASSERT_EQ(venseg_compressibility(14.9, 2.9, &c), VENSEG_OK) << "mm^2 work the same";
    EXPECT_NEAR(c, 80.53691275167785, 1e-9);
    ASSERT_EQ(venseg_compressibility(10, 10, &c), VENSEG_OK);
    EXPECT_EQ(c, 0.0);
    ASSERT_EQ(venseg_compressibility(10, 0, &c), VENSEG_OK);
    EXPECT_EQ(c, 100.0);
    // Undefined: no vein before compression.
    c = -7;
    EXPECT_EQ(venseg_compressibility(0, 0, &c), VENSEG_E_UNDEFINED);
    EXPECT_STRNE(venseg_last_error(), "");
    EXPECT_EQ(venseg_compressibility(0, 5, &c), VENSEG_E_UNDEFINED);
    EXPECT_EQ(c, -7) << "outputs are left untouched on failure";
    EXPECT_INVALID(venseg_compressibility(149, 29, nullptr));
    EXPECT_INVALID(venseg_compressibility(-1, 29, &c));
    EXPECT_INVALID(venseg_compressibility(149, -1, &c));
    EXPECT_INVALID(venseg_compressibility(kNaN, 29, &c));
    EXPECT_INVALID(venseg_compressibility(149, kNaN, &c));
    EXPECT_INVALID(venseg_compressibility(kInf, 29, &c));
    EXPECT_INVALID(venseg_compressibility(0, kNaN, &c));
    EXPECT_EQ(c, -7);
}
