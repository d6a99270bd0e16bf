// The model keeps its weights as the file stores them (q8 stays int8 + scales) and
// makes f32 only where a backend needs it (docs/memory.md): oneDNN packs from a
// transient f32 buffer, the reference backend materialises f32 once into the model's
// packed store. Sessions of every backend and precision, made in any order or at once
// on one model, give the bits they give alone on a fresh model.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "core/packed.h"
}

#include "test_helpers.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VS_TEST_SANITIZED 1 // the sanitizer's allocator holds freed memory: RSS says nothing
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VS_TEST_SANITIZED 1
#endif
#endif

namespace {

bool has_onednn() { return std::string(venseg_build_info()).find("onednn") != std::string::npos; }

ModelPtr load(const std::string &path) {
    venseg_status st;
    auto m = load_model(read_bytes(path), &st);
    EXPECT_EQ(st, VENSEG_OK) << path << ": " << venseg_last_error();
    return m;
}

// Values of every tensor, and of the 4-D (convolution) ones, from the public tensor info.
struct Counts {
    int64_t all = 0, conv = 0;
};
Counts counts(const venseg_model *m) {
    Counts c;
    int32_t n = 0;
    EXPECT_EQ(venseg_model_tensor_count(m, &n), VENSEG_OK);
    for (int32_t i = 0; i < n; i++) {
        const char *name = nullptr;
        int32_t ndim = 0, dtype = 0;
        int64_t dims[4];
        EXPECT_EQ(venseg_model_tensor_info(m, i, &name, &ndim, dims, &dtype), VENSEG_OK);
        const int64_t v = dims[0] * dims[1] * dims[2] * dims[3];
        c.all += v;
        if (ndim == 4) c.conv += v;
    }
    return c;
}

long rss_kib() {
    long kib = -1;
    FILE *f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    while (std::fgets(line, sizeof line, f))
        if (!std::strncmp(line, "VmRSS:", 6)) kib = std::atol(line + 6);
    std::fclose(f);
    return kib;
}

struct Kind {
    const char *name;
    venseg_backend backend;
    venseg_precision precision;
};
const Kind kKinds[] = {
    {"reference fp32", VENSEG_BACKEND_REFERENCE, VENSEG_PRECISION_FP32},
    {"onednn fp32", VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_FP32},
    {"onednn bf16", VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_BF16},
    {"onednn int8", VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_INT8},
};
constexpr int kN = int(sizeof kKinds / sizeof kKinds[0]);

// A session of kind k (int8 with the calibration, else the model's ranges), or null when this build or CPU lacks it.
SessionPtr session(const venseg_model *m, const Kind &k, const venseg_calibration *cal) {
    venseg_options *o = nullptr;
    venseg_options_create(&o);
    venseg_options_set(o, VENSEG_OPT_BACKEND, k.backend);
    venseg_options_set(o, VENSEG_OPT_PRECISION, k.precision);
    venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 2);
    venseg_session *s = nullptr;
    venseg_status st = k.precision == VENSEG_PRECISION_INT8 && cal ? venseg_session_create_calibrated(m, o, cal, &s)
                                                                    : venseg_session_create(m, o, &s);
    venseg_options_free(o);
    if (st == VENSEG_E_UNSUPPORTED) return SessionPtr();
    EXPECT_EQ(st, VENSEG_OK) << k.name << ": " << venseg_last_error();
    return SessionPtr(s);
}


struct CalibrationFree {
    void operator()(venseg_calibration *c) const { venseg_calibration_free(c); }
};
using CalibrationPtr = std::unique_ptr<venseg_calibration, CalibrationFree>;

CalibrationPtr calibrate(const venseg_model *m, int h, int w) {
    venseg_calibration *c = nullptr;
    EXPECT_EQ(venseg_calibration_create(m, &c), VENSEG_OK);
    const std::vector<float> x = wave_input(h, w);
    EXPECT_EQ(venseg_calibration_add_tensor(c, x.data(), 1, h, w), VENSEG_OK) << venseg_last_error();
    return CalibrationPtr(c);
}

} // namespace

TEST(ModelWeights, KeepsTheStoredFormNotF32) {
    ModelPtr f32 = load(data_path("tiny_plain_unet.vseg"));
    ModelPtr q8 = load(data_path("tiny_plain_unet_q8.vseg"));
    ASSERT_TRUE(f32 && q8);
    const Counts c = counts(f32.get());
    const size_t f32_bytes = vs_model_weight_bytes(f32.get()), q8_bytes = vs_model_weight_bytes(q8.get());
    // f32 file: its tensors once (4 bytes a value) and the small f32 vectors; no second copy
    EXPECT_GE(f32_bytes, size_t(4 * c.all));
    EXPECT_LT(f32_bytes, size_t(4 * c.all) + size_t(4 * (c.all - c.conv)) * 2 + 4096);
    // q8: the conv weights at one byte a value (+ a scale a row), not four
    EXPECT_LT(q8_bytes, f32_bytes - size_t(2 * c.conv)) << "the q8 weights are held as f32";
    EXPECT_EQ(vs_packed_stats_of(vs_model_packed(q8.get())).bytes, size_t(0)) << "packed before any session";
}

TEST(ModelWeights, ReferenceMaterialisesF32OnceIntoTheStore) {
    ModelPtr m = load(data_path("tiny_plain_unet_q8.vseg"));
    ASSERT_TRUE(m);
    const Counts c = counts(m.get());
    const size_t held = vs_model_weight_bytes(m.get());
    vs_packed_store *store = vs_model_packed(m.get());
    SessionPtr a = session(m.get(), kKinds[0], nullptr);
    ASSERT_TRUE(a);
    const std::vector<float> ya = session_logits(a.get(), 32, 32);
    EXPECT_EQ(vs_packed_stats_of(store).bytes, size_t(4 * c.conv)) << "every conv's folded f32 weights, once";
    SessionPtr b = session(m.get(), kKinds[0], nullptr);
    session_logits(b.get(), 64, 32); // another size: a new plan, the same weights
    EXPECT_EQ(vs_packed_stats_of(store).bytes, size_t(4 * c.conv)) << "a second session made them again";
    EXPECT_EQ(vs_model_weight_bytes(m.get()), held);
    // an f32 file's weights without a folded BN are read in place (the head, the up-convs)
    ModelPtr f = load(data_path("tiny_plain_unet.vseg"));
    SessionPtr s = session(f.get(), kKinds[0], nullptr);
    session_logits(s.get(), 32, 32);
    EXPECT_LT(vs_packed_stats_of(vs_model_packed(f.get())).bytes, size_t(4 * c.conv));
}

TEST(ModelWeights, SessionsOfEveryKindInAnyOrderGiveTheirOwnBits) {
    // kinds this build lacks are left out (the TSan build has the reference backend only)
    for (const char *file : {"tiny_plain_unet_q8.vseg", "tiny_plain_unet.vseg"}) {
        SCOPED_TRACE(file);
        const int h = 32, w = 32;
        ModelPtr calm = load(data_path(file));
        CalibrationPtr cal = calibrate(calm.get(), h, w);
        // each kind alone on a fresh model
        std::vector<std::vector<float>> alone(kN);
        std::vector<bool> have(kN, false);
        for (int k = 0; k < kN; k++) {
            ModelPtr m = load(data_path(file));
            SessionPtr s = session(m.get(), kKinds[k], cal.get());
            if (!s) continue;
            have[size_t(k)] = true;
            alone[size_t(k)] = session_logits(s.get(), h, w);
        }
        ASSERT_TRUE(have[0]);
        // the orders: forward, backward, int8 first, all at once from threads
        const std::vector<std::vector<int>> orders = {{0, 1, 2, 3}, {3, 2, 1, 0}, {3, 0, 2, 1}};
        for (const auto &order : orders) {
            ModelPtr m = load(data_path(file));
            const size_t held = vs_model_weight_bytes(m.get());
            std::vector<SessionPtr> live;
            for (int k : order) {
                SessionPtr s = session(m.get(), kKinds[k], cal.get());
                if (!s) continue;
                EXPECT_TRUE(same_bits(session_logits(s.get(), h, w), alone[size_t(k)])) << kKinds[k].name << " in order";
                live.push_back(std::move(s));
            }
            EXPECT_EQ(vs_model_weight_bytes(m.get()), held) << "a session changed the model's own weights";
        }
        ModelPtr m = load(data_path(file));
        std::vector<std::vector<float>> got(2 * kN);
        std::atomic<int> ready{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < 2 * kN; t++)
            pool.emplace_back([&, t] {
                ready++;
                while (ready.load() < 2 * kN) std::this_thread::yield();
                SessionPtr s = session(m.get(), kKinds[t % kN], cal.get());
                if (s) got[size_t(t)] = session_logits(s.get(), h, w);
            });
        for (auto &th : pool) th.join();
        for (int t = 0; t < 2 * kN; t++)
            if (have[size_t(t % kN)])
                EXPECT_TRUE(same_bits(got[size_t(t)], alone[size_t(t % kN)])) << kKinds[t % kN].name << " in a thread";
    }
}

// The shipped ResUNet-34 (q8, 24 M values): loading it and running an int8 oneDNN
// session costs less resident memory than its f32 weights alone would (4 bytes a
// value, 97 MB; before, the model held them: +134 MB here).
TEST(ModelWeights, ShippedModelAndAnInt8SessionCostLessThanItsF32Weights) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    const std::string path = std::string(VENSEG_SOURCE_DIR) + "/weights/resunet34.vseg";
    if (read_bytes(path).empty()) GTEST_SKIP() << path << " is absent";
    const long before = rss_kib();
    if (before < 0) GTEST_SKIP() << "no /proc/self/status";
    ModelPtr m = load(path);
    ASSERT_TRUE(m);
    const Counts c = counts(m.get());
    EXPECT_LT(vs_model_weight_bytes(m.get()), size_t(c.all + c.all / 8)) << "more than a byte a value held";
    int32_t w = 0, h = 0, ch = 0;
    ASSERT_EQ(venseg_model_input_size(m.get(), &w, &h, &ch), VENSEG_OK);
    const Kind int8 = kKinds[3];
    SessionPtr s = session(m.get(), int8, nullptr); // the shipped model carries its ranges
    if (!s) GTEST_SKIP() << "int8 unsupported here: " << venseg_last_error();
    std::vector<float> x = wave_input(h, w), y(size_t(2) * h * w);
    ASSERT_EQ(venseg_session_run_tensor(s.get(), x.data(), 1, ch, h, w, 0, y.data()), VENSEG_OK) << venseg_last_error();
    const vs_packed_stats packed = vs_packed_stats_of(vs_model_packed(m.get()));
    EXPECT_LT(packed.bytes, size_t(c.all + c.all / 4)) << "the int8 store holds more than s8 weights and scales";
#ifndef VS_TEST_SANITIZED
    const long grown_kib = rss_kib() - before;
    EXPECT_LT(grown_kib * 1024.0, 4.0 * double(c.all)) << "RSS grew " << grown_kib << " KiB";
#endif
}
