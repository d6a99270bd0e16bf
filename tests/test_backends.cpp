// Every backend and precision against the reference backend on the tiny model, the
// int8 calibration API, and the shipped ResUNet-34 at int8. Backends not built in are
// skipped, saying so.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "test_helpers.hpp"
#include "vseg_test_writer.hpp"

namespace {

bool has_onednn() { return std::string(venseg_build_info()).find("onednn") != std::string::npos; }

ModelPtr tiny() {
    venseg_status st;
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")), &st);
    EXPECT_EQ(st, VENSEG_OK) << venseg_last_error();
    return m;
}

SessionPtr session(venseg_model *m, venseg_backend b, venseg_precision p, venseg_calibration *cal = nullptr,
                   venseg_status *status = nullptr) {
    venseg_options *raw = nullptr;
    venseg_options_create(&raw);
    OptionsPtr o(raw);
    venseg_options_set(o.get(), VENSEG_OPT_BACKEND, b);
    venseg_options_set(o.get(), VENSEG_OPT_PRECISION, p);
    venseg_session *s = nullptr;
    venseg_status st = cal ? venseg_session_create_calibrated(m, o.get(), cal, &s) : venseg_session_create(m, o.get(), &s);
    if (status) *status = st;
    return SessionPtr(s);
}

std::vector<float> run(venseg_session *s, const std::vector<float> &x, int h, int w, int activation = 1) {
    std::vector<float> y(size_t(2) * h * w, NAN);
    venseg_status st = venseg_session_run_tensor(s, x.data(), 1, 1, h, w, activation, y.data());
    EXPECT_EQ(st, VENSEG_OK) << venseg_last_error();
    return y;
}

double max_diff(const std::vector<float> &a, const std::vector<float> &b) {
    double e = 0;
    for (size_t i = 0; i < a.size(); i++) e = std::max(e, double(std::fabs(a[i] - b[i])));
    return e;
}

struct CalibrationFree { void operator()(venseg_calibration *c) const { venseg_calibration_free(c); } };
using CalibrationPtr = std::unique_ptr<venseg_calibration, CalibrationFree>;

CalibrationPtr calibrate(venseg_model *m, const std::vector<float> &x, int h, int w) {
    venseg_calibration *c = nullptr;
    EXPECT_EQ(venseg_calibration_create(m, &c), VENSEG_OK);
    EXPECT_EQ(venseg_calibration_add_tensor(c, x.data(), 1, h, w), VENSEG_OK) << venseg_last_error();
    return CalibrationPtr(c);
}

} // namespace

TEST(Backends, OnednnFp32MatchesReference) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in (" << venseg_build_info() << ")";
    auto m = tiny();
    auto x = read_array<float>(data_path("tiny_plain_unet_input.bin"));
    auto ref = session(m.get(), VENSEG_BACKEND_REFERENCE, VENSEG_PRECISION_FP32);
    auto dnn = session(m.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_FP32);
    ASSERT_TRUE(ref && dnn) << venseg_last_error();
    for (auto hw : {std::pair<int, int>{32, 32}, {64, 96}}) {
        std::vector<float> in(size_t(hw.first) * hw.second);
        for (size_t i = 0; i < in.size(); i++) in[i] = x[i % x.size()];
        EXPECT_LE(max_diff(run(ref.get(), in, hw.first, hw.second), run(dnn.get(), in, hw.first, hw.second)), 1e-5);
        EXPECT_LE(max_diff(run(ref.get(), in, hw.first, hw.second, 0), run(dnn.get(), in, hw.first, hw.second, 0)), 1e-4)
            << "logits";
    }
    EXPECT_NE(std::string(venseg_session_describe(dnn.get())).find("onednn"), std::string::npos);
}

TEST(Backends, OnednnBf16StaysClose) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    auto m = tiny();
    auto x = read_array<float>(data_path("tiny_plain_unet_input.bin"));
    venseg_status st;
    auto bf = session(m.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_BF16, nullptr, &st);
    if (st == VENSEG_E_UNSUPPORTED) GTEST_SKIP() << venseg_last_error();
    ASSERT_TRUE(bf) << venseg_last_error();
    auto ref = session(m.get(), VENSEG_BACKEND_REFERENCE, VENSEG_PRECISION_FP32);
    double e = max_diff(run(ref.get(), x, 32, 32), run(bf.get(), x, 32, 32));
    std::printf("bf16 vs fp32 reference, tiny model: max |dprob| = %.5f\n", e);
    EXPECT_LT(e, 0.02);
    EXPECT_NE(std::string(venseg_session_describe(bf.get())).find("bf16"), std::string::npos);
}

TEST(Backends, OnednnInt8WithCalibration) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    auto m = tiny();
    auto x = read_array<float>(data_path("tiny_plain_unet_input.bin"));
    auto cal = calibrate(m.get(), x, 32, 32);
    venseg_status st;
    auto q = session(m.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_INT8, cal.get(), &st);
    ASSERT_TRUE(q) << venseg_last_error();
    auto ref = session(m.get(), VENSEG_BACKEND_REFERENCE, VENSEG_PRECISION_FP32);
    double e = max_diff(run(ref.get(), x, 32, 32), run(q.get(), x, 32, 32));
    std::printf("int8 vs fp32 reference, tiny model: max |dprob| = %.5f\n", e);
    EXPECT_LT(e, 0.02);
    EXPECT_NE(std::string(venseg_session_describe(q.get())).find("int8"), std::string::npos);
}

TEST(Backends, Int8RangesStoredInTheModel) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    // calibrate, write the ranges as metadata, reload: plain session_create then runs int8
    vsegtest::File f = vsegtest::tiny_plain_unet(4, 1, 1, 2, 16);
    venseg_status st;
    auto m = load_model(vsegtest::encode(f), &st);
    ASSERT_EQ(st, VENSEG_OK);
    std::vector<float> x(16 * 16);
    for (size_t i = 0; i < x.size(); i++) x[i] = float(std::sin(0.3 * double(i)));
    auto cal = calibrate(m.get(), x, 16, 16);
    int32_t n = 0;
    ASSERT_EQ(venseg_calibration_count(cal.get(), &n), VENSEG_OK);
    std::vector<std::string> names;
    std::vector<double> maxima;
    for (int32_t i = 0; i < n; i++) {
        const char *name;
        double mx;
        ASSERT_EQ(venseg_calibration_entry(cal.get(), i, &name, &mx), VENSEG_OK);
        names.push_back(name);
        maxima.push_back(mx);
        EXPECT_GE(mx, 0.0);
    }
    EXPECT_EQ(names[0], "input");
    const char *dummy;
    double d;
    EXPECT_EQ(venseg_calibration_entry(cal.get(), n, &dummy, &d), VENSEG_E_NOT_FOUND);
    auto plain = session(m.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_INT8, nullptr, &st);
    EXPECT_EQ(st, VENSEG_E_UNSUPPORTED) << "no ranges anywhere";
    EXPECT_NE(std::string(venseg_last_error()).find("int8.activation"), std::string::npos);
    f.set("int8.activation_names", vsegtest::Ss(names));
    f.set("int8.activation_max", vsegtest::Ds(maxima));
    auto m2 = load_model(vsegtest::encode(f), &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    auto q = session(m2.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_INT8, nullptr, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    auto ref = session(m2.get(), VENSEG_BACKEND_REFERENCE, VENSEG_PRECISION_FP32);
    std::vector<float> y(2 * 16 * 16), yr(2 * 16 * 16);
    ASSERT_EQ(venseg_session_run_tensor(q.get(), x.data(), 1, 1, 16, 16, 1, y.data()), VENSEG_OK);
    ASSERT_EQ(venseg_session_run_tensor(ref.get(), x.data(), 1, 1, 16, 16, 1, yr.data()), VENSEG_OK);
    EXPECT_LT(max_diff(y, yr), 0.03);
    // a range missing for one layer is named
    names.pop_back();
    maxima.pop_back();
    f.set("int8.activation_names", vsegtest::Ss(names));
    f.set("int8.activation_max", vsegtest::Ds(maxima));
    auto m3 = load_model(vsegtest::encode(f), &st);
    ASSERT_EQ(st, VENSEG_OK);
    auto bad = session(m3.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_INT8, nullptr, &st);
    EXPECT_EQ(st, VENSEG_E_BAD_MODEL);
    EXPECT_NE(std::string(venseg_last_error()).find("head.weight"), std::string::npos) << venseg_last_error();
}

TEST(Backends, CalibrationArgumentErrors) {
    auto m = tiny();
    venseg_calibration *c = nullptr;
    EXPECT_EQ(venseg_calibration_create(nullptr, &c), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_calibration_create(m.get(), nullptr), VENSEG_E_INVALID_ARGUMENT);
    ASSERT_EQ(venseg_calibration_create(m.get(), &c), VENSEG_OK);
    CalibrationPtr owner(c);
    const char *name;
    double mx;
    EXPECT_EQ(venseg_calibration_entry(c, 0, &name, &mx), VENSEG_E_BAD_STATE) << "no samples yet";
    std::vector<float> x(32 * 32, 0.1f);
    EXPECT_EQ(venseg_calibration_add_tensor(c, x.data(), 3, 32, 32), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_calibration_add_tensor(c, x.data(), 1, 30, 32), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_calibration_add_tensor(c, nullptr, 1, 32, 32), VENSEG_E_INVALID_ARGUMENT);
    std::vector<uint8_t> frame(50 * 40, 100);
    EXPECT_EQ(venseg_calibration_add_frame(c, frame.data(), VENSEG_PIXEL_GRAY8, 50, 40, 49), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_calibration_add_frame(c, frame.data(), VENSEG_PIXEL_GRAY8, 50, 40, 50), VENSEG_OK)
        << venseg_last_error();
    EXPECT_EQ(venseg_calibration_entry(c, 0, &name, &mx), VENSEG_OK);
    EXPECT_EQ(venseg_session_create_calibrated(m.get(), nullptr, nullptr, nullptr), VENSEG_E_INVALID_ARGUMENT);
    venseg_calibration_free(nullptr);
    auto ref = session(m.get(), VENSEG_BACKEND_REFERENCE, VENSEG_PRECISION_INT8, c, nullptr);
    EXPECT_FALSE(ref) << "the reference backend is fp32 only";
}

// run_tensor with n images: whole batches of up to 16 in one backend call, the tail one by one.
// Every image of a batch must equal the same image run alone, on every backend.
TEST(Backends, BatchEqualsImageByImage) {
    auto m = tiny();
    auto x = read_array<float>(data_path("tiny_plain_unet_input.bin"));
    const int h = 32, w = 32, n = 19; // one batch of 16 and a tail of 3
    const size_t plane = size_t(h) * w;
    std::vector<float> in(plane * n);
    for (size_t i = 0; i < in.size(); i++) in[i] = x[(i * 7 + i / plane) % x.size()];
    std::vector<venseg_backend> backends = {VENSEG_BACKEND_REFERENCE};
    if (has_onednn()) backends.push_back(VENSEG_BACKEND_ONEDNN);
    for (venseg_backend b : backends) {
        auto s = session(m.get(), b, VENSEG_PRECISION_FP32);
        ASSERT_TRUE(s) << venseg_last_error();
        std::vector<float> all(2 * plane * n, NAN);
        ASSERT_EQ(venseg_session_run_tensor(s.get(), in.data(), n, 1, h, w, 1, all.data()), VENSEG_OK)
            << venseg_last_error();
        for (int i = 0; i < n; i++) {
            std::vector<float> one(in.begin() + i * plane, in.begin() + (i + 1) * plane);
            std::vector<float> got(all.begin() + i * 2 * plane, all.begin() + (i + 1) * 2 * plane);
            EXPECT_LE(max_diff(run(s.get(), one, h, w), got), 1e-6) << "backend " << b << " image " << i;
        }
    }
}

// The shipped ResUNet-34 at int8 with its file's ranges: the residual blocks whose shortcut is
// a downsample (no ReLU, s8) sum into u8 ReLU outputs through a sum post-op that reads the
// s8 bytes (lib/backends/onednn). Against the oneDNN fp32 session on a synthetic frame
// (speckle with dark, bright-rimmed ellipses): probabilities close, labels agreeing; a batch
// of 2 equals its images run alone (the sums in place in the batched plan too).
TEST(Backends, ShippedResidualNetworkAtInt8StaysCloseToFp32) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    const std::string path = std::string(VENSEG_SOURCE_DIR) + "/weights/resunet34.vseg";
    venseg_model *raw = nullptr;
    if (venseg_model_load_file(path.c_str(), &raw) != VENSEG_OK) GTEST_SKIP() << path << ": " << venseg_last_error();
    ModelPtr m(raw);
    venseg_status st;
    auto q = session(m.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_INT8, nullptr, &st);
    if (st == VENSEG_E_UNSUPPORTED) GTEST_SKIP() << venseg_last_error();
    ASSERT_TRUE(q) << venseg_last_error();
    auto f = session(m.get(), VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_FP32);
    ASSERT_TRUE(f) << venseg_last_error();
    const int w = 200, h = 160;
    std::vector<uint8_t> px(size_t(w) * h);
    const double ell[3][4] = {{60, 70, 22, 14}, {130, 60, 16, 16}, {110, 115, 30, 12}}; // cx, cy, rx, ry
    uint32_t seed = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            seed = seed * 1664525u + 1013904223u;
            double v = 70 + 30 * std::sin(0.05 * y) + double(seed >> 26); // tissue and speckle
            for (const auto &e : ell) {
                const double r = std::hypot((x - e[0]) / e[2], (y - e[1]) / e[3]);
                if (r < 1.0) v = 8 + double(seed >> 29);
                else if (r < 1.25) v = 170;
            }
            px[size_t(y) * w + x] = uint8_t(std::min(255.0, v));
        }
    std::vector<uint8_t> mq(px.size()), mf(px.size());
    std::vector<float> pq(2 * px.size()), pf(2 * px.size());
    ASSERT_EQ(venseg_segment(q.get(), px.data(), VENSEG_PIXEL_GRAY8, w, h, w, mq.data(), w, pq.data(), w), VENSEG_OK)
        << venseg_last_error();
    ASSERT_EQ(venseg_segment(f.get(), px.data(), VENSEG_PIXEL_GRAY8, w, h, w, mf.data(), w, pf.data(), w), VENSEG_OK)
        << venseg_last_error();
    double sum = 0;
    size_t same = 0;
    for (size_t i = 0; i < pq.size(); i++) sum += std::fabs(pq[i] - pf[i]);
    for (size_t i = 0; i < mq.size(); i++) same += mq[i] == mf[i];
    const double mean = sum / double(pq.size()), agree = double(same) / double(mq.size());
    std::printf("shipped ResUNet-34, int8 vs fp32: mean |dprob| %.5f, max %.4f, labels agree %.5f\n", mean,
                max_diff(pq, pf), agree);
    EXPECT_LT(mean, 0.005);
    EXPECT_GT(agree, 0.995);
    const int s = 160;
    const size_t plane = size_t(s) * s;
    std::vector<float> x(2 * plane), both(4 * plane);
    for (size_t i = 0; i < x.size(); i++) x[i] = float(std::sin(0.001 * double(i)) + 0.3 * std::cos(0.37 * double(i)));
    ASSERT_EQ(venseg_session_run_tensor(q.get(), x.data(), 2, 1, s, s, 1, both.data()), VENSEG_OK) << venseg_last_error();
    for (int b = 0; b < 2; b++) {
        std::vector<float> one(2 * plane);
        ASSERT_EQ(venseg_session_run_tensor(q.get(), x.data() + b * plane, 1, 1, s, s, 1, one.data()), VENSEG_OK);
        EXPECT_EQ(std::memcmp(one.data(), both.data() + b * 2 * plane, one.size() * sizeof(float)), 0) << "image " << b;
    }
}
