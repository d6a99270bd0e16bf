// Packed weights made once per model (lib/core/packed.h): the store itself under
// racing threads, and the oneDNN backend's use of it — sessions of one model share
// the packed weights (no entry is made twice) and give bit-identical results to a plan
// that packs its own, alone or in threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "backends/registry.h"
#include "core/packed.h"
}

#include "test_helpers.hpp"

namespace {

struct Counter {
    std::atomic<int> made{0}, released{0};
};

int g_tag; // an owner address of its own

venseg_status make_int(void *ctx, void **data, void **desc, size_t *bytes) {
    auto *c = static_cast<Counter *>(ctx);
    c->made++;
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // widen the race window
    *data = new int(42);
    *desc = nullptr;
    *bytes = sizeof(int);
    return VENSEG_OK;
}

Counter *g_counter; // release has no context: the test's counter

void release_int(void *data, void *) {
    delete static_cast<int *>(data);
    if (g_counter) g_counter->released++;
}

venseg_status make_fails(void *, void **, void **, size_t *) { return VENSEG_E_OUT_OF_MEMORY; }

int same_int(const void *desc, const void *want) { return desc == want; }

bool has_onednn() { return std::string(venseg_build_info()).find("onednn") != std::string::npos; }

const vs_backend_ops *onednn() {
    const vs_backend_ops *ops = nullptr;
    char note[256];
    if (vs_backend_pick("test", VENSEG_BACKEND_ONEDNN, VENSEG_PRECISION_FP32, 0, &ops, note, sizeof note) != VENSEG_OK)
        return nullptr;
    return ops;
}

// Logits of one plan on the tiny model, with the model's store or (packed = nullptr) alone.
std::vector<float> plan_logits(const vs_backend_ops *ops, const venseg_model *m, vs_packed_store *packed,
                               venseg_precision prec, const double *value_max, int h, int w) {
    vs_plan_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.height = h, cfg.width = w, cfg.threads = 2, cfg.batch = 1, cfg.precision = prec;
    cfg.value_max = value_max;
    cfg.packed = packed;
    void *plan = nullptr;
    std::vector<float> y(size_t(2) * h * w, NAN);
    EXPECT_EQ(ops->plan_create(vs_model_graph(m), &cfg, &plan), VENSEG_OK) << venseg_last_error();
    if (!plan) return y;
    const std::vector<float> x = wave_input(h, w);
    EXPECT_EQ(ops->run(plan, x.data(), y.data()), VENSEG_OK) << venseg_last_error();
    ops->plan_free(plan);
    return y;
}

ModelPtr tiny() {
    venseg_status st;
    auto m = load_model(read_bytes(data_path("tiny_plain_unet.vseg")), &st);
    EXPECT_EQ(st, VENSEG_OK) << venseg_last_error();
    return m;
}

SessionPtr onednn_session(const venseg_model *m, venseg_precision prec) {
    venseg_options *o = nullptr;
    venseg_options_create(&o);
    venseg_options_set(o, VENSEG_OPT_BACKEND, VENSEG_BACKEND_ONEDNN);
    venseg_options_set(o, VENSEG_OPT_PRECISION, prec);
    venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 2);
    venseg_session *s = nullptr;
    EXPECT_EQ(venseg_session_create(m, o, &s), VENSEG_OK) << venseg_last_error();
    venseg_options_free(o);
    return SessionPtr(s);
}


} // namespace

TEST(PackedStore, RacingThreadsMakeAnEntryOnce) {
    Counter c;
    g_counter = &c;
    vs_packed_store store;
    vs_packed_init(&store);
    constexpr int kThreads = 8;
    std::vector<void *> got(kThreads * 2, nullptr);
    std::vector<venseg_status> st(kThreads * 2, VENSEG_E_INTERNAL);
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; t++)
        pool.emplace_back([&, t] {
            ready++;
            while (ready.load() < kThreads) std::this_thread::yield();
            for (int node = 0; node < 2; node++) { // two entries, asked for in the same order by all
                vs_packed_request r = {&g_tag, node, 0, nullptr, nullptr, make_int, release_int, &c};
                st[size_t(t * 2 + node)] = vs_packed_get(&store, &r, &got[size_t(t * 2 + node)]);
            }
        });
    for (auto &th : pool) th.join();
    for (int t = 0; t < kThreads; t++)
        for (int node = 0; node < 2; node++) {
            ASSERT_EQ(st[size_t(t * 2 + node)], VENSEG_OK);
            EXPECT_EQ(got[size_t(t * 2 + node)], got[size_t(node)]) << "one copy per entry";
        }
    EXPECT_NE(got[0], got[1]);
    EXPECT_EQ(c.made.load(), 2);
    vs_packed_stats stats = vs_packed_stats_of(&store);
    EXPECT_EQ(stats.entries, 2);
    EXPECT_EQ(stats.bytes, 2 * sizeof(int));
    vs_packed_release(&store);
    EXPECT_EQ(c.released.load(), 2);
    g_counter = nullptr;
}

TEST(PackedStore, KeysSeparateOwnersKindsAndLayouts) {
    Counter c;
    g_counter = &c;
    vs_packed_store store;
    vs_packed_init(&store);
    int other_owner = 0, layout_a = 0;
    void *d[6] = {};
    vs_packed_request r = {&g_tag, 3, 0, nullptr, nullptr, make_int, release_int, &c};
    ASSERT_EQ(vs_packed_get(&store, &r, &d[0]), VENSEG_OK);
    r.kind = 1;
    ASSERT_EQ(vs_packed_get(&store, &r, &d[1]), VENSEG_OK);
    r.owner = &other_owner;
    ASSERT_EQ(vs_packed_get(&store, &r, &d[2]), VENSEG_OK);
    EXPECT_EQ(c.made.load(), 3);
    // a layout that must match: make_int leaves desc NULL, so entries with want = NULL match
    r = {&g_tag, 4, 0, nullptr, same_int, make_int, release_int, &c};
    ASSERT_EQ(vs_packed_get(&store, &r, &d[3]), VENSEG_OK);
    ASSERT_EQ(vs_packed_get(&store, &r, &d[4]), VENSEG_OK);
    EXPECT_EQ(d[3], d[4]);
    r.want = &layout_a; // differs from the stored NULL desc: a new entry
    ASSERT_EQ(vs_packed_get(&store, &r, &d[5]), VENSEG_OK);
    EXPECT_NE(d[5], d[3]);
    EXPECT_EQ(c.made.load(), 5);
    // a failed make leaves no entry and says why
    vs_packed_request bad = {&g_tag, 9, 0, nullptr, nullptr, make_fails, release_int, &c};
    void *none = nullptr;
    EXPECT_EQ(vs_packed_get(&store, &bad, &none), VENSEG_E_OUT_OF_MEMORY);
    EXPECT_EQ(none, nullptr);
    EXPECT_EQ(vs_packed_stats_of(&store).entries, 5);
    vs_packed_release(&store);
    EXPECT_EQ(c.released.load(), 5);
    g_counter = nullptr;
}

TEST(PackedWeights, SessionsOfOneModelShareTheOnednnWeights) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    ModelPtr m = tiny();
    ASSERT_TRUE(m);
    vs_packed_store *store = vs_model_packed(m.get());
    EXPECT_EQ(vs_packed_stats_of(store).entries, 0) << "nothing is packed before a plan needs it";
    SessionPtr a = onednn_session(m.get(), VENSEG_PRECISION_FP32);
    const std::vector<float> ya = session_logits(a.get(), 64, 48);
    const vs_packed_stats after_one = vs_packed_stats_of(store);
    EXPECT_GT(after_one.entries, 0);
    EXPECT_GT(after_one.bytes, size_t(0));

    // a second session: no new entry, same bits
    SessionPtr b = onednn_session(m.get(), VENSEG_PRECISION_FP32);
    const std::vector<float> yb = session_logits(b.get(), 64, 48);
    EXPECT_TRUE(same_bits(ya, yb));
    const vs_packed_stats after_two = vs_packed_stats_of(store);
    EXPECT_EQ(after_two.entries, after_one.entries) << "the second session packed weights again";
    EXPECT_EQ(after_two.bytes, after_one.bytes);

    // a plan that packs its own (no store) computes the same bits
    const vs_backend_ops *ops = onednn();
    ASSERT_NE(ops, nullptr);
    EXPECT_TRUE(same_bits(ya, plan_logits(ops, m.get(), nullptr, VENSEG_PRECISION_FP32, nullptr, 64, 48)));
    EXPECT_TRUE(same_bits(ya, plan_logits(ops, m.get(), store, VENSEG_PRECISION_FP32, nullptr, 64, 48)));
    EXPECT_EQ(vs_packed_stats_of(store).entries, after_one.entries);

    // another model has its own store
    ModelPtr m2 = tiny();
    SessionPtr c = onednn_session(m2.get(), VENSEG_PRECISION_FP32);
    EXPECT_TRUE(same_bits(ya, session_logits(c.get(), 64, 48)));
    EXPECT_EQ(vs_packed_stats_of(vs_model_packed(m2.get())).entries, after_one.entries);
}

TEST(PackedWeights, Int8SessionsShareWeightsAcrossCalibrations) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    ModelPtr m = tiny();
    const int h = 32, w = 32;
    const std::vector<float> x = wave_input(h, w);
    std::vector<venseg_calibration *> cals(2, nullptr);
    for (int k = 0; k < 2; k++) {
        ASSERT_EQ(venseg_calibration_create(m.get(), &cals[size_t(k)]), VENSEG_OK);
        std::vector<float> xs(x);
        for (float &v : xs) v *= k ? 2.0f : 1.0f; // other ranges
        ASSERT_EQ(venseg_calibration_add_tensor(cals[size_t(k)], xs.data(), 1, h, w), VENSEG_OK) << venseg_last_error();
    }
    venseg_options *o = nullptr;
    venseg_options_create(&o);
    venseg_options_set(o, VENSEG_OPT_BACKEND, VENSEG_BACKEND_ONEDNN);
    venseg_options_set(o, VENSEG_OPT_PRECISION, VENSEG_PRECISION_INT8);
    venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 2);
    venseg_session *s[3] = {};
    venseg_status st = venseg_session_create_calibrated(m.get(), o, cals[0], &s[0]);
    if (st == VENSEG_E_UNSUPPORTED) {
        venseg_options_free(o);
        for (auto *c : cals) venseg_calibration_free(c);
        GTEST_SKIP() << venseg_last_error();
    }
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    ASSERT_EQ(venseg_session_create_calibrated(m.get(), o, cals[0], &s[1]), VENSEG_OK);
    ASSERT_EQ(venseg_session_create_calibrated(m.get(), o, cals[1], &s[2]), VENSEG_OK);
    venseg_options_free(o);
    vs_packed_store *store = vs_model_packed(m.get());
    const std::vector<float> y0 = session_logits(s[0], h, w);
    const int entries = vs_packed_stats_of(store).entries;
    EXPECT_GT(entries, 0);
    EXPECT_TRUE(same_bits(y0, session_logits(s[1], h, w)));
    EXPECT_EQ(vs_packed_stats_of(store).entries, entries);
    // other activation ranges: other output scales and biases (per plan), the same s8 weights
    const std::vector<float> y2 = session_logits(s[2], h, w);
    EXPECT_FALSE(same_bits(y0, y2)) << "the second calibration should quantise differently";
    EXPECT_EQ(vs_packed_stats_of(store).entries, entries);
    for (auto *p : s) venseg_session_free(p);
    for (auto *c : cals) venseg_calibration_free(c);
}

TEST(PackedWeights, FirstPlansRacingOnAFreshModelAgree) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN backend not built in";
    const int h = 64, w = 64;
    std::vector<float> expect;
    int entries = 0;
    {
        ModelPtr alone = tiny();
        SessionPtr s = onednn_session(alone.get(), VENSEG_PRECISION_FP32);
        expect = session_logits(s.get(), h, w);
        entries = vs_packed_stats_of(vs_model_packed(alone.get())).entries;
    }
    ModelPtr m = tiny();
    constexpr int kThreads = 4;
    std::vector<std::vector<float>> got(kThreads);
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; t++)
        pool.emplace_back([&, t] {
            SessionPtr s = onednn_session(m.get(), VENSEG_PRECISION_FP32);
            ready++;
            while (ready.load() < kThreads) std::this_thread::yield();
            for (int r = 0; r < 2; r++) got[size_t(t)] = session_logits(s.get(), h, w);
        });
    for (auto &th : pool) th.join();
    for (int t = 0; t < kThreads; t++) EXPECT_TRUE(same_bits(got[size_t(t)], expect)) << "thread " << t;
    EXPECT_EQ(vs_packed_stats_of(vs_model_packed(m.get())).entries, entries) << "an entry was made twice";
}
