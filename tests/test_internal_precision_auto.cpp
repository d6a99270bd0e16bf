// VENSEG_PRECISION_AUTO (0.3.0): what a session resolves it to for each backend, model and
// CPU. The CPU's answer is forced through vs_cpu_features_override, so every branch is
// checked on any machine; one case runs on the real CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

extern "C" {
#include "backends/registry.h"
}

#include "test_helpers.hpp"

namespace {

bool has_onednn() { return std::string(venseg_build_info()).find("onednn") != std::string::npos; }

// The shipped UNet-16 carries int8 ranges (weights/unet16.md); the tiny fixture does not.
ModelPtr load_file(const std::string &path) {
    venseg_model *m = nullptr;
    if (venseg_model_load_file(path.c_str(), &m) != VENSEG_OK) return nullptr;
    return ModelPtr(m);
}
ModelPtr with_ranges() { return load_file(std::string(VENSEG_SOURCE_DIR) + "/weights/unet16.vseg"); }
ModelPtr without_ranges() { return load_file(data_path("tiny_plain_unet.vseg")); }

struct Resolved {
    venseg_status status = VENSEG_E_INTERNAL;
    int64_t precision = -1;
    std::string describe;
};

Resolved resolve(const venseg_model *m, venseg_backend backend, int cpu, const venseg_calibration *cal = nullptr) {
    vs_cpu_features_override(cpu);
    venseg_options *o = nullptr;
    Resolved r;
    EXPECT_EQ(venseg_options_create(&o), VENSEG_OK);
    OptionsPtr opts(o);
    EXPECT_EQ(venseg_options_set(o, VENSEG_OPT_PRECISION, VENSEG_PRECISION_AUTO), VENSEG_OK);
    EXPECT_EQ(venseg_options_set(o, VENSEG_OPT_BACKEND, backend), VENSEG_OK);
    EXPECT_EQ(venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1), VENSEG_OK);
    venseg_session *s = nullptr;
    r.status = cal ? venseg_session_create_calibrated(m, o, cal, &s) : venseg_session_create(m, o, &s);
    SessionPtr session(s);
    if (s) {
        EXPECT_EQ(venseg_session_get(s, VENSEG_OPT_PRECISION, &r.precision), VENSEG_OK);
        r.describe = venseg_session_describe(s);
    }
    vs_cpu_features_override(-1);
    return r;
}

class PrecisionAuto : public ::testing::Test {
protected:
    void SetUp() override {
        if (!has_onednn()) GTEST_SKIP() << "the oneDNN backend is not built in: " << venseg_build_info();
        ranged = with_ranges();
        plain = without_ranges();
        ASSERT_TRUE(ranged) << "weights/unet16.vseg: " << venseg_last_error();
        ASSERT_TRUE(plain) << venseg_last_error();
        const char *v = nullptr;
        ASSERT_NE(venseg_model_meta_string(ranged.get(), "int8.activation_names", &v), VENSEG_E_NOT_FOUND)
            << "weights/unet16.vseg should carry int8 ranges";
        ASSERT_EQ(venseg_model_meta_string(plain.get(), "int8.activation_names", &v), VENSEG_E_NOT_FOUND);
    }
    ModelPtr ranged, plain;
};

} // namespace

TEST(PrecisionAutoOption, BoundsTakeAutoAndTheDefaultStaysFp32) {
    int64_t lo = -1, hi = -1, def = -1;
    ASSERT_EQ(venseg_session_config_bounds(VENSEG_OPT_PRECISION, &lo, &hi, &def), VENSEG_OK);
    EXPECT_EQ(lo, VENSEG_PRECISION_FP32);
    EXPECT_EQ(hi, VENSEG_PRECISION_AUTO);
    EXPECT_EQ(def, VENSEG_PRECISION_FP32);
    EXPECT_STREQ(vs_precision_name(VENSEG_PRECISION_AUTO), "auto");
}

TEST_F(PrecisionAuto, RangesAndAvx512VnniGiveInt8) {
    Resolved r = resolve(ranged.get(), VENSEG_BACKEND_ONEDNN, VS_CPU_AVX512_VNNI);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_INT8);
    EXPECT_NE(r.describe.find("auto precision: int8 (the model has int8 ranges, the CPU has AVX512-VNNI)"),
              std::string::npos)
        << r.describe;
}

TEST_F(PrecisionAuto, RangesAndAvxVnniGiveInt8) {
    Resolved r = resolve(ranged.get(), VENSEG_BACKEND_ONEDNN, VS_CPU_AVX_VNNI);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_INT8);
    EXPECT_NE(r.describe.find("the CPU has AVX-VNNI"), std::string::npos) << r.describe;
}

TEST_F(PrecisionAuto, NoRangesGiveFp32) {
    Resolved r = resolve(plain.get(), VENSEG_BACKEND_ONEDNN, VS_CPU_AVX512_VNNI);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_FP32);
    EXPECT_NE(r.describe.find("auto precision: fp32 (the model has no int8 ranges; the CPU has no AMX)"),
              std::string::npos)
        << r.describe;
}

TEST_F(PrecisionAuto, NoVnniGivesFp32) {
    Resolved r = resolve(ranged.get(), VENSEG_BACKEND_ONEDNN, 0);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_FP32);
    EXPECT_NE(r.describe.find("fp32 (the CPU has no VNNI; the CPU has no AMX)"), std::string::npos) << r.describe;
}

TEST_F(PrecisionAuto, AmxWithoutRangesGivesBf16) {
    Resolved r = resolve(plain.get(), VENSEG_BACKEND_ONEDNN, VS_CPU_AMX_BF16 | VS_CPU_AVX512_VNNI);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_BF16);
    EXPECT_NE(r.describe.find("auto precision: bf16 (the CPU has AMX; the model has no int8 ranges)"),
              std::string::npos)
        << r.describe;
}

TEST_F(PrecisionAuto, AmxWithRangesStillGivesInt8) {
    Resolved r = resolve(ranged.get(), VENSEG_BACKEND_ONEDNN, VS_CPU_AMX_BF16 | VS_CPU_AVX512_VNNI);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_INT8);
}

TEST_F(PrecisionAuto, ReferenceBackendGivesFp32) {
    Resolved r = resolve(ranged.get(), VENSEG_BACKEND_REFERENCE, VS_CPU_AVX512_VNNI | VS_CPU_AMX_BF16);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_FP32);
    EXPECT_NE(r.describe.find("auto precision: fp32 (the reference backend runs fp32 only)"), std::string::npos)
        << r.describe;
}

TEST_F(PrecisionAuto, ACalibrationGivesRangesToAModelWithout) {
    venseg_calibration *c = nullptr;
    ASSERT_EQ(venseg_calibration_create(plain.get(), &c), VENSEG_OK) << venseg_last_error();
    std::vector<float> x(32 * 32);
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.1f * float(i));
    ASSERT_EQ(venseg_calibration_add_tensor(c, x.data(), 1, 32, 32), VENSEG_OK) << venseg_last_error();
    Resolved r = resolve(plain.get(), VENSEG_BACKEND_ONEDNN, VS_CPU_AVX512_VNNI, c);
    venseg_calibration_free(c);
    ASSERT_EQ(r.status, VENSEG_OK) << venseg_last_error();
    EXPECT_EQ(r.precision, VENSEG_PRECISION_INT8);
}

TEST_F(PrecisionAuto, ExplicitPrecisionsAreKeptAndSayNothingOfAuto) {
    vs_cpu_features_override(VS_CPU_AVX512_VNNI);
    venseg_options *o = nullptr;
    ASSERT_EQ(venseg_options_create(&o), VENSEG_OK);
    OptionsPtr opts(o);
    venseg_options_set(o, VENSEG_OPT_BACKEND, VENSEG_BACKEND_ONEDNN);
    SessionPtr s = make_session(ranged.get(), o);
    vs_cpu_features_override(-1);
    ASSERT_TRUE(s) << venseg_last_error();
    int64_t p = -1;
    ASSERT_EQ(venseg_session_get(s.get(), VENSEG_OPT_PRECISION, &p), VENSEG_OK);
    EXPECT_EQ(p, VENSEG_PRECISION_FP32); // the library's default stays fp32
    EXPECT_EQ(std::string(venseg_session_describe(s.get())).find("auto precision"), std::string::npos);
}

// CUDA, without a GPU: the rule alone (what a CUDA build's AUTO would resolve to).
TEST(PrecisionAutoRule, CudaTakesFp16WhenTheCalibratedRangesFitFp16) {
    char why[160];
    vs_auto_facts fits = {1, 812.5}, huge = {1, 40000.0}, none = {0, NAN};
    EXPECT_EQ(vs_auto_precision(VENSEG_BACKEND_CUDA, &fits, why, sizeof why), VENSEG_PRECISION_FP16);
    EXPECT_NE(std::string(why).find("fp16 (the model's calibrated activations, max |x| 812.5, fit fp16)"),
              std::string::npos)
        << why;
    EXPECT_EQ(vs_auto_precision(VENSEG_BACKEND_CUDA, &huge, why, sizeof why), VENSEG_PRECISION_FP32);
    EXPECT_NE(std::string(why).find("reach 4e+04"), std::string::npos) << why;
    EXPECT_EQ(vs_auto_precision(VENSEG_BACKEND_CUDA, &none, why, sizeof why), VENSEG_PRECISION_FP32);
    EXPECT_NE(std::string(why).find("no calibrated ranges"), std::string::npos) << why;
    EXPECT_EQ(vs_auto_precision(VENSEG_BACKEND_REFERENCE, &fits, why, sizeof why), VENSEG_PRECISION_FP32);
}

// The real CPU: AUTO takes what vs_cpu_features() reports and the plan runs with it.
TEST_F(PrecisionAuto, OnThisCpuTheResolvedPrecisionRuns) {
    const unsigned cpu = vs_cpu_features();
    venseg_options *o = nullptr;
    ASSERT_EQ(venseg_options_create(&o), VENSEG_OK);
    OptionsPtr opts(o);
    venseg_options_set(o, VENSEG_OPT_PRECISION, VENSEG_PRECISION_AUTO);
    venseg_options_set(o, VENSEG_OPT_BACKEND, VENSEG_BACKEND_ONEDNN);
    venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1);
    SessionPtr s = make_session(ranged.get(), o);
    ASSERT_TRUE(s) << venseg_last_error();
    int64_t p = -1;
    ASSERT_EQ(venseg_session_get(s.get(), VENSEG_OPT_PRECISION, &p), VENSEG_OK);
    const int64_t want = (cpu & (VS_CPU_AVX512_VNNI | VS_CPU_AVX_VNNI)) ? VENSEG_PRECISION_INT8
                         : (cpu & VS_CPU_AMX_BF16)                     ? VENSEG_PRECISION_BF16
                                                                       : VENSEG_PRECISION_FP32;
    EXPECT_EQ(p, want) << "CPU features " << cpu;
    int32_t w = 0, h = 0, ch = 0;
    ASSERT_EQ(venseg_model_input_size(ranged.get(), &w, &h, &ch), VENSEG_OK);
    std::vector<uint8_t> frame(size_t(w) * h), mask(frame.size());
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) frame[size_t(y) * w + x] = uint8_t((x * 7 + y * 3) & 255);
    ASSERT_EQ(venseg_segment(s.get(), frame.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, nullptr, 0),
              VENSEG_OK)
        << venseg_last_error();
    const std::string d = venseg_session_describe(s.get());
    EXPECT_NE(d.find(vs_precision_name(venseg_precision(want))), std::string::npos) << d;
    EXPECT_NE(d.find("auto precision: "), std::string::npos) << d; // after planning too
    std::printf("this CPU: %s\n", d.c_str());
}
