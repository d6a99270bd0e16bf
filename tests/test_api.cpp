// The API contract: versions, status names, options, NULL and out-of-range arguments,
// free(NULL), and objects that stay usable after every error.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>

#include "test_helpers.hpp"

namespace {
ModelPtr tiny() {
    venseg_status st;
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")), &st);
    EXPECT_EQ(st, VENSEG_OK) << venseg_last_error();
    return m;
}
} // namespace

TEST(Api, Version) {
    EXPECT_EQ(venseg_version_number(), unsigned(VENSEG_VERSION_NUMBER));
    EXPECT_STREQ(venseg_version_string(), VENSEG_VERSION_STRING);
    EXPECT_NE(std::string(venseg_build_info()).find("backends="), std::string::npos);
}

TEST(Api, StatusNamesArePinned) {
    const std::pair<venseg_status, const char *> pinned[] = {
        {VENSEG_OK, "VENSEG_OK"}, {VENSEG_E_INVALID_ARGUMENT, "VENSEG_E_INVALID_ARGUMENT"},
        {VENSEG_E_OUT_OF_MEMORY, "VENSEG_E_OUT_OF_MEMORY"}, {VENSEG_E_IO, "VENSEG_E_IO"},
        {VENSEG_E_BAD_FILE, "VENSEG_E_BAD_FILE"}, {VENSEG_E_FILE_VERSION, "VENSEG_E_FILE_VERSION"},
        {VENSEG_E_BAD_MODEL, "VENSEG_E_BAD_MODEL"}, {VENSEG_E_UNSUPPORTED, "VENSEG_E_UNSUPPORTED"},
        {VENSEG_E_BACKEND, "VENSEG_E_BACKEND"}, {VENSEG_E_BUFFER_TOO_SMALL, "VENSEG_E_BUFFER_TOO_SMALL"},
        {VENSEG_E_NOT_FOUND, "VENSEG_E_NOT_FOUND"}, {VENSEG_E_BAD_STATE, "VENSEG_E_BAD_STATE"},
        {VENSEG_E_UNDEFINED, "VENSEG_E_UNDEFINED"}, {VENSEG_E_INTERNAL, "VENSEG_E_INTERNAL"}};
    int expected = 0;
    for (auto &p : pinned) {
        EXPECT_EQ(int(p.first), expected++) << "status values are ABI: never renumber";
        EXPECT_STREQ(venseg_status_name(p.first), p.second);
    }
    EXPECT_STREQ(venseg_status_name(static_cast<venseg_status>(999)), "VENSEG_E_UNKNOWN");
    EXPECT_STREQ(venseg_status_name(static_cast<venseg_status>(-1)), "VENSEG_E_UNKNOWN");
}

TEST(Api, LastErrorIsThreadLocalAndCleared) {
    venseg_options *o = nullptr;
    EXPECT_EQ(venseg_options_create(nullptr), VENSEG_E_INVALID_ARGUMENT);
    std::string here = venseg_last_error();
    EXPECT_FALSE(here.empty());
    std::string there = "unset";
    std::thread([&] { there = venseg_last_error(); }).join();
    EXPECT_EQ(there, "");
    ASSERT_EQ(venseg_options_create(&o), VENSEG_OK);
    EXPECT_STREQ(venseg_last_error(), "") << "a successful call clears the detail";
    venseg_options_free(o);
}

TEST(Api, FreeNullIsNoOp) {
    venseg_options_free(nullptr);
    venseg_model_free(nullptr);
    venseg_session_free(nullptr);
}

TEST(Api, OptionsSetGetBounds) {
    venseg_options *raw = nullptr;
    ASSERT_EQ(venseg_options_create(&raw), VENSEG_OK);
    OptionsPtr o(raw);
    const venseg_option keys[] = {VENSEG_OPT_BACKEND, VENSEG_OPT_NUM_THREADS, VENSEG_OPT_PRECISION,
                                  VENSEG_OPT_DEVICE, VENSEG_OPT_MIN_INSTANCE_AREA, VENSEG_OPT_THRESHOLD_PERMILLE};
    for (venseg_option k : keys) {
        int64_t lo = -7, hi = -7, v = -7;
        ASSERT_EQ(venseg_option_bounds(k, &lo, &hi), VENSEG_OK);
        EXPECT_LE(lo, hi);
        ASSERT_EQ(venseg_options_get(o.get(), k, &v), VENSEG_OK);
        EXPECT_GE(v, lo);
        EXPECT_LE(v, hi);
        EXPECT_EQ(venseg_options_set(o.get(), k, lo), VENSEG_OK);
        EXPECT_EQ(venseg_options_set(o.get(), k, hi), VENSEG_OK);
        EXPECT_EQ(venseg_options_get(o.get(), k, &v), VENSEG_OK);
        EXPECT_EQ(v, hi);
        EXPECT_EQ(venseg_options_set(o.get(), k, hi + 1), VENSEG_E_INVALID_ARGUMENT);
        EXPECT_EQ(venseg_options_set(o.get(), k, lo - 1), VENSEG_E_INVALID_ARGUMENT);
        EXPECT_EQ(venseg_options_get(o.get(), k, &v), VENSEG_OK);
        EXPECT_EQ(v, hi) << "a rejected set leaves the value";
    }
    venseg_option bad = static_cast<venseg_option>(12345);
    int64_t lo, hi, v;
    EXPECT_EQ(venseg_option_bounds(bad, &lo, &hi), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_options_set(o.get(), bad, 0), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_options_get(o.get(), bad, &v), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_option_bounds(VENSEG_OPT_BACKEND, nullptr, &hi), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_options_set(nullptr, VENSEG_OPT_BACKEND, 0), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_options_get(nullptr, VENSEG_OPT_BACKEND, &v), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_options_get(o.get(), VENSEG_OPT_BACKEND, nullptr), VENSEG_E_INVALID_ARGUMENT);
}

TEST(Api, NullArgumentsAreNamedErrors) {
    auto m = tiny();
    venseg_model *mp = nullptr;
    const char *str;
    int64_t i64;
    double d;
    int32_t a, b, c;
    EXPECT_EQ(venseg_model_load_file(nullptr, &mp), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_load_file("x", nullptr), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_load_memory(nullptr, 10, &mp), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_load_memory("x", 1, nullptr), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_input_size(nullptr, &a, &b, &c), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_input_size(m.get(), nullptr, &b, &c), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_num_classes(nullptr, &a), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_num_classes(m.get(), nullptr), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_class_name(m.get(), 0, nullptr), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_meta_string(m.get(), nullptr, &str), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_meta_string(nullptr, "input.width", &str), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_meta_int(m.get(), "input.width", nullptr), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_meta_double(m.get(), nullptr, &d), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_parameter_count(nullptr, &i64), VENSEG_E_INVALID_ARGUMENT);
    venseg_session *s = nullptr;
    EXPECT_EQ(venseg_session_create(nullptr, nullptr, &s), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_create(m.get(), nullptr, nullptr), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_get(nullptr, VENSEG_OPT_BACKEND, &i64), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_roi(nullptr, 0, 0, 1, 1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_set_pixel_spacing(nullptr, 0.1, 0.1), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_instance_count(nullptr, &a), VENSEG_E_INVALID_ARGUMENT);
    venseg_instance inst;
    inst.struct_size = sizeof inst;
    EXPECT_EQ(venseg_session_instance(nullptr, 0, &inst), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_STREQ(venseg_session_describe(nullptr), "");
    EXPECT_EQ(venseg_model_input_multiple(nullptr, &a), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_model_tensor_count(m.get(), nullptr), VENSEG_E_INVALID_ARGUMENT);
}

TEST(Api, SessionReportsWhatItRuns) {
    auto m = tiny();
    venseg_options *raw = nullptr;
    ASSERT_EQ(venseg_options_create(&raw), VENSEG_OK);
    OptionsPtr o(raw);
    ASSERT_EQ(venseg_options_set(o.get(), VENSEG_OPT_NUM_THREADS, 2), VENSEG_OK);
    auto s = make_session(m.get(), o.get());
    ASSERT_TRUE(s);
    int64_t v = -1;
    EXPECT_EQ(venseg_session_get(s.get(), VENSEG_OPT_BACKEND, &v), VENSEG_OK);
    const bool onednn = std::string(venseg_build_info()).find("onednn") != std::string::npos;
    /* AUTO takes a usable GPU first (checked in tests/test_cuda.cpp), else the CPU */
    const bool gpu = v == VENSEG_BACKEND_CUDA;
    if (!gpu) EXPECT_EQ(v, onednn ? VENSEG_BACKEND_ONEDNN : VENSEG_BACKEND_REFERENCE) << "AUTO resolves to a concrete backend";
    EXPECT_EQ(venseg_session_get(s.get(), VENSEG_OPT_NUM_THREADS, &v), VENSEG_OK);
    EXPECT_EQ(v, 2);
    EXPECT_EQ(venseg_session_get(s.get(), VENSEG_OPT_PRECISION, &v), VENSEG_OK);
    EXPECT_EQ(v, VENSEG_PRECISION_FP32);
    EXPECT_NE(std::string(venseg_session_describe(s.get())).find(gpu ? "cuda" : onednn ? "onednn" : "reference"),
              std::string::npos);
    EXPECT_EQ(venseg_session_get(s.get(), static_cast<venseg_option>(7), &v), VENSEG_E_INVALID_ARGUMENT);
}

TEST(Api, UnavailableBackendOrPrecisionIsUnsupported) {
    auto m = tiny();
    venseg_options *raw = nullptr;
    ASSERT_EQ(venseg_options_create(&raw), VENSEG_OK);
    OptionsPtr o(raw);
    venseg_session *s = nullptr;
    ASSERT_EQ(venseg_options_set(o.get(), VENSEG_OPT_BACKEND, VENSEG_BACKEND_CUDA), VENSEG_OK);
    EXPECT_EQ(venseg_session_create(m.get(), o.get(), &s), VENSEG_E_UNSUPPORTED);
    EXPECT_EQ(s, nullptr);
    EXPECT_NE(std::string(venseg_last_error()).find("CUDA"), std::string::npos);
    ASSERT_EQ(venseg_options_set(o.get(), VENSEG_OPT_BACKEND, VENSEG_BACKEND_REFERENCE), VENSEG_OK);
    ASSERT_EQ(venseg_options_set(o.get(), VENSEG_OPT_PRECISION, VENSEG_PRECISION_BF16), VENSEG_OK);
    EXPECT_EQ(venseg_session_create(m.get(), o.get(), &s), VENSEG_E_UNSUPPORTED);
    ASSERT_EQ(venseg_options_set(o.get(), VENSEG_OPT_PRECISION, VENSEG_PRECISION_FP32), VENSEG_OK);
    EXPECT_EQ(venseg_session_create(m.get(), o.get(), &s), VENSEG_OK) << "the options object stays usable";
    venseg_session_free(s);
}

TEST(Api, ModelOutlivedBySessions) {
    venseg_status st;
    auto bytes = read_bytes(data_path("tiny_plain_unet.vseg"));
    venseg_model *m = nullptr;
    ASSERT_EQ(venseg_model_load_memory(bytes.data(), bytes.size(), &m), VENSEG_OK);
    bytes.assign(bytes.size(), 0); // the model copied what it needs
    venseg_session *s = nullptr;
    ASSERT_EQ(venseg_session_create(m, nullptr, &s), VENSEG_OK);
    venseg_model_free(m); // released with the session
    std::vector<float> in(32 * 32, 0.5f), out(2 * 32 * 32);
    st = venseg_session_run_tensor(s, in.data(), 1, 1, 32, 32, 1, out.data());
    EXPECT_EQ(st, VENSEG_OK) << venseg_last_error();
    venseg_session_free(s);
}

TEST(Api, RunTensorArgumentErrors) {
    auto m = tiny();
    auto s = make_session(m.get());
    ASSERT_TRUE(s);
    std::vector<float> in(2 * 32 * 32, 0.5f), out(2 * 2 * 32 * 32), good(2 * 32 * 32);
    ASSERT_EQ(venseg_session_run_tensor(s.get(), in.data(), 1, 1, 32, 32, 1, good.data()), VENSEG_OK);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), nullptr, 1, 1, 32, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), 1, 1, 32, 32, 1, nullptr), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), 0, 1, 32, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), -3, 1, 32, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), 1, 3, 32, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), 1, 1, 30, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(venseg_last_error()).find("multiples of 4"), std::string::npos) << venseg_last_error();
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), 1, 1, 0, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), 1, 1, -32, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), in.data(), 1, 1, 1 << 20, 32, 1, out.data()), VENSEG_E_INVALID_ARGUMENT);
    // still usable, and a batch of two gives the single result twice
    std::fill(in.begin(), in.end(), 0.5f);
    ASSERT_EQ(venseg_session_run_tensor(s.get(), in.data(), 2, 1, 32, 32, 1, out.data()), VENSEG_OK);
    EXPECT_EQ(0, std::memcmp(out.data(), good.data(), good.size() * 4));
    EXPECT_EQ(0, std::memcmp(out.data() + good.size(), good.data(), good.size() * 4));
    // other sizes re-plan
    std::vector<float> big(64 * 96, 0.5f), bigout(2 * 64 * 96);
    EXPECT_EQ(venseg_session_run_tensor(s.get(), big.data(), 1, 1, 64, 96, 0, bigout.data()), VENSEG_OK);
}

TEST(Api, FlipAverageIsTheMeanOfTheFrameAndItsMirror) {
    auto m = tiny();
    venseg_options *raw = nullptr;
    ASSERT_EQ(venseg_options_create(&raw), VENSEG_OK);
    OptionsPtr o(raw);
    int64_t lo = -1, hi = -1, fallback = -1;
    ASSERT_EQ(venseg_session_config_bounds(VENSEG_OPT_FLIP_AVERAGE, &lo, &hi, &fallback), VENSEG_OK);
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 1);
    EXPECT_EQ(fallback, 0);
    EXPECT_EQ(venseg_options_set(o.get(), VENSEG_OPT_FLIP_AVERAGE, 2), VENSEG_E_INVALID_ARGUMENT);
    ASSERT_EQ(venseg_options_set(o.get(), VENSEG_OPT_BACKEND, VENSEG_BACKEND_REFERENCE), VENSEG_OK);
    auto plain = make_session(m.get(), o.get());
    ASSERT_EQ(venseg_options_set(o.get(), VENSEG_OPT_FLIP_AVERAGE, 1), VENSEG_OK);
    auto both = make_session(m.get(), o.get());
    ASSERT_TRUE(plain && both);
    int64_t v = -1;
    EXPECT_EQ(venseg_session_get(both.get(), VENSEG_OPT_FLIP_AVERAGE, &v), VENSEG_OK);
    EXPECT_EQ(v, 1);
    EXPECT_NE(std::string(venseg_session_describe(both.get())).find("mirror image"), std::string::npos);
    EXPECT_EQ(std::string(venseg_session_describe(plain.get())).find("mirror image"), std::string::npos);
    // a lopsided frame: a bright bar on the left, a gradient, a dark disc on the right
    const int w = 48, h = 40, k = 2;
    std::vector<uint8_t> frame(w * h), mirror(w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int dx = x - 34, dy = y - 20;
            uint8_t g = static_cast<uint8_t>(60 + 2 * x + (x < 8 ? 120 : 0));
            if (dx * dx + dy * dy < 64) g = 5;
            frame[y * w + x] = g;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) mirror[y * w + x] = frame[y * w + (w - 1 - x)];
    std::vector<float> p(k * w * h), pm(k * w * h), pb(k * w * h);
    std::vector<uint8_t> mask(w * h);
    ASSERT_EQ(venseg_segment(plain.get(), frame.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, p.data(), w),
              VENSEG_OK);
    ASSERT_EQ(venseg_segment(plain.get(), mirror.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, pm.data(), w),
              VENSEG_OK);
    ASSERT_EQ(venseg_segment(both.get(), frame.data(), VENSEG_PIXEL_GRAY8, w, h, w, mask.data(), w, pb.data(), w),
              VENSEG_OK);
    double worst = 0, spread = 0;
    for (int c = 0; c < k; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const size_t i = (size_t)(c * h + y) * w + x, j = (size_t)(c * h + y) * w + (w - 1 - x);
                worst = std::max(worst, (double)std::fabs(pb[i] - 0.5f * (p[i] + pm[j])));
                spread = std::max(spread, (double)std::fabs(p[i] - pm[j]));
            }
    EXPECT_LT(worst, 1e-5);
    EXPECT_GT(spread, 1e-3) << "the two views differ, so the test can tell an average from either";
}
