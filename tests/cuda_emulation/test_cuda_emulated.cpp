// The CUDA backend's host-side lowering on an emulated device (emulated_device.c) against
// the reference backend: fp32 (NCHW), TF32 (NHWC with padded input/logits channels; exact
// arithmetic on the emulated device) and fp16 (NHWC, fp16 storage), batches, the fused and
// unfused convolution epilogues and the NHWC -> NCHW fallback. What this cannot show (the
// CUDA kernels themselves, real cuDNN algorithms, CUDA graphs) is tests/test_cuda.cpp's,
// on a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "emu_glue.h"
#include "test_helpers.hpp"

namespace {

ModelPtr load(const std::string &path) {
    venseg_status st;
    auto m = load_model(read_bytes(path), &st);
    EXPECT_EQ(st, VENSEG_OK) << path << ": " << venseg_last_error();
    return m;
}

struct Result {
    venseg_status status;
    std::vector<float> logits;
    std::string describe;
};

Result forward(const venseg_model *m, int cuda, int precision, int tf32, int batch, int h, int w,
               const std::vector<float> &x) {
    int32_t classes = 0;
    venseg_model_num_classes(m, &classes);
    Result r;
    r.logits.assign(size_t(batch) * classes * h * w, NAN);
    char d[512] = "";
    r.status = emu_forward(m, cuda, precision, tf32, batch, h, w, x.data(), r.logits.data(), d, sizeof d);
    r.describe = d;
    return r;
}

std::vector<float> input(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    std::vector<float> x(n);
    for (auto &v : x) v = u(rng);
    return x;
}

// max |a - b| (infinite when a NaN shows up), and max |b|
std::pair<double, double> compare(const std::vector<float> &a, const std::vector<float> &b) {
    double e = 0, scale = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs(double(a[i]) - double(b[i]));
        if (std::isnan(d)) d = INFINITY;
        e = std::max(e, d);
        scale = std::max(scale, double(std::fabs(b[i])));
    }
    return {e, scale};
}

// CUDA (emulated) against the reference: exact precisions to `tol`, fp16 relative to the logits' scale.
void expect_match(const venseg_model *m, int precision, int tf32, int batch, int h, int w, double tol,
                  const char *layout) {
    auto x = input(size_t(batch) * h * w, 11);
    auto ref = forward(m, 0, VENSEG_PRECISION_FP32, 0, batch, h, w, x);
    ASSERT_EQ(ref.status, VENSEG_OK) << venseg_last_error();
    auto gpu = forward(m, 1, precision, tf32, batch, h, w, x);
    ASSERT_EQ(gpu.status, VENSEG_OK) << venseg_last_error();
    auto [e, scale] = compare(gpu.logits, ref.logits);
    const double limit = precision == VENSEG_PRECISION_FP16 ? tol * std::max(1.0, scale) : tol;
    EXPECT_LE(e, limit) << gpu.describe;
    EXPECT_NE(gpu.describe.find(layout), std::string::npos) << gpu.describe;
    std::printf("%s: max |emulated cuda - reference| = %.3g (logits up to %.3g)\n", gpu.describe.c_str(), e, scale);
}

struct EnvSet {
    const char *name;
    EnvSet(const char *n, const char *v) : name(n) { setenv(n, v, 1); }
    ~EnvSet() { unsetenv(name); }
};

std::string tiny_path() { return data_path("tiny_plain_unet.vseg"); }

int multiple(const venseg_model *m) {
    int32_t k = 0;
    venseg_model_input_multiple(m, &k);
    return k;
}

} // namespace

TEST(CudaEmulated, TinyModelAllPrecisions) {
    auto m = load(tiny_path());
    const int k = multiple(m.get());
    expect_match(m.get(), VENSEG_PRECISION_FP32, 0, 2, 2 * k, 3 * k, 1e-4, "fp32 NCHW");
    expect_match(m.get(), VENSEG_PRECISION_FP32, 1, 2, 2 * k, 3 * k, 1e-4, "tf32 NHWC");
    expect_match(m.get(), VENSEG_PRECISION_FP16, 0, 2, 2 * k, 3 * k, 2e-2, "fp16 NHWC");
}

TEST(CudaEmulated, ShippedModels) {
    for (const char *name : {"resunet34.vseg", "unet16.vseg"}) {
        SCOPED_TRACE(name);
        auto m = load(std::string(VENSEG_SOURCE_DIR) + "/weights/" + name);
        const int side = std::max(multiple(m.get()), 32); /* small: the emulated device is slow */
        expect_match(m.get(), VENSEG_PRECISION_FP32, 0, 1, side, side, 1e-3, "fp32 NCHW");
        expect_match(m.get(), VENSEG_PRECISION_FP32, 1, 1, side, side, 1e-3, "tf32 NHWC");
        expect_match(m.get(), VENSEG_PRECISION_FP16, 0, 1, side, side, 3e-2, "fp16 NHWC");
    }
}

TEST(CudaEmulated, UnfusedEpilogueWhenCudnnRefusesTheFusedCall) {
    auto m = load(tiny_path());
    const int k = multiple(m.get());
    auto fused = forward(m.get(), 1, VENSEG_PRECISION_FP32, 0, 1, 2 * k, 2 * k, input(size_t(4) * k * k, 3));
    ASSERT_EQ(fused.status, VENSEG_OK);
    EXPECT_EQ(fused.describe.find(" 0/"), std::string::npos) << "some convolutions fused: " << fused.describe;
    EnvSet off("VENSEG_EMU_NO_FUSED", "1");
    expect_match(m.get(), VENSEG_PRECISION_FP32, 0, 1, 2 * k, 2 * k, 1e-4, " 0/");
    expect_match(m.get(), VENSEG_PRECISION_FP16, 0, 1, 2 * k, 2 * k, 2e-2, " 0/");
}

TEST(CudaEmulated, NchwWhenCudnnRefusesNhwc) {
    auto m = load(tiny_path());
    const int k = multiple(m.get());
    EnvSet off("VENSEG_EMU_NO_NHWC", "1");
    expect_match(m.get(), VENSEG_PRECISION_FP16, 0, 2, 2 * k, 2 * k, 2e-2, "fp16 NCHW");
    auto r = forward(m.get(), 1, VENSEG_PRECISION_FP16, 0, 1, 2 * k, 2 * k, input(size_t(4) * k * k, 3));
    EXPECT_NE(r.describe.find("NHWC refused"), std::string::npos) << r.describe;
}

// Plans through the model's packed store (as sessions make them) upload each filter,
// bias and BN vector once per precision and layout, and compute the same bits as a
// plan with uploads of its own.
TEST(CudaEmulated, PlansShareUploadsThroughTheModel) {
    auto m = load(tiny_path());
    const int k = multiple(m.get());
    const int h = 2 * k, w = 2 * k;
    const auto x = input(size_t(h) * w, 5);
    EXPECT_EQ(emu_packed_entries(m.get()), 0);
    int entries = 0;
    for (int precision : {int(VENSEG_PRECISION_FP32), int(VENSEG_PRECISION_FP16)}) {
        SCOPED_TRACE("precision " + std::to_string(precision));
        auto own = forward(m.get(), 1, precision, 0, 1, h, w, x);
        ASSERT_EQ(own.status, VENSEG_OK) << venseg_last_error();
        std::vector<float> a(own.logits.size(), NAN), b(own.logits.size(), NAN);
        ASSERT_EQ(emu_forward_shared(m.get(), precision, 0, 1, h, w, x.data(), a.data()), VENSEG_OK)
            << venseg_last_error();
        const int after_first = emu_packed_entries(m.get());
        EXPECT_GT(after_first, entries) << "the first plan of a precision uploads into the store";
        ASSERT_EQ(emu_forward_shared(m.get(), precision, 0, 1, h, w, x.data(), b.data()), VENSEG_OK);
        EXPECT_EQ(emu_packed_entries(m.get()), after_first) << "the second plan uploaded again";
        EXPECT_EQ(0, std::memcmp(a.data(), own.logits.data(), a.size() * sizeof(float)));
        EXPECT_EQ(0, std::memcmp(b.data(), own.logits.data(), b.size() * sizeof(float)));
        entries = after_first;
    }
}

TEST(CudaEmulated, BadShapesAreNamedErrors) {
    auto m = load(tiny_path());
    const int k = multiple(m.get());
    auto r = forward(m.get(), 1, VENSEG_PRECISION_FP32, 0, 1, k + 1, k, input(size_t(k + 1) * k, 3));
    EXPECT_EQ(r.status, VENSEG_E_INVALID_ARGUMENT) << venseg_last_error();
    auto b = forward(m.get(), 1, VENSEG_PRECISION_BF16, 0, 1, k, k, input(size_t(k) * k, 3));
    EXPECT_EQ(b.status, VENSEG_E_UNSUPPORTED);
}
