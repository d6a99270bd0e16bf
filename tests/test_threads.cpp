// N threads share one model through their own sessions (and trackers) and must get
// bit-identical masks, probabilities, instances and tracker results to one thread
// doing the same work alone. Built and run in every preset, and under ThreadSanitizer
// by tests/ci/run_all.sh's tsan stage (VENSEG_SANITIZE=thread, OpenMP and oneDNN off:
// libgomp is not TSan-instrumented, so its barriers would show up as false races; see
// ABI.md "Threading").
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test_helpers.hpp"

namespace {

constexpr int kThreads = 4, kFrames = 6, kRounds = 2, kW = 72, kH = 56;

struct Frames {
    std::vector<std::vector<uint8_t>> pixels;
};

Frames phantom_frames() {
    Frames f;
    venseg_phantom_config *c = nullptr;
    EXPECT_EQ(venseg_phantom_config_create(&c), VENSEG_OK);
    venseg_phantom_config_set(c, VENSEG_PHANTOM_WIDTH, kW);
    venseg_phantom_config_set(c, VENSEG_PHANTOM_HEIGHT, kH);
    venseg_phantom_config_set(c, VENSEG_PHANTOM_FRAMES, kFrames);
    venseg_phantom *p = nullptr;
    EXPECT_EQ(venseg_phantom_create(c, &p), VENSEG_OK) << venseg_last_error();
    venseg_phantom_config_free(c);
    for (int i = 0; i < kFrames; i++) {
        std::vector<uint8_t> px(size_t(kW) * kH);
        EXPECT_EQ(venseg_phantom_frame(p, i, px.data(), kW, nullptr, 0), VENSEG_OK);
        f.pixels.push_back(std::move(px));
    }
    venseg_phantom_free(p);
    return f;
}

// What one thread produces for the whole sequence.
struct Output {
    std::vector<uint8_t> masks;
    std::vector<float> probs;
    std::vector<std::vector<double>> instances; // per frame: label, area, centroid, mean probability
    std::vector<double> curve;
    int32_t verdict = -1;
    uint32_t flags = 0;
    bool ok = false;
    std::string error;
};

Output work(venseg_session *s, const Frames &f, int first) {
    Output o;
    venseg_tracker *t = nullptr;
    if (venseg_tracker_create(nullptr, &t) != VENSEG_OK) return o;
    o.masks.resize(size_t(kFrames) * kW * kH);
    o.probs.resize(size_t(kFrames) * 2 * kW * kH);
    o.instances.resize(kFrames);
    for (int k = 0; k < kFrames; k++) {
        const int i = (first + k) % kFrames; // each thread starts elsewhere; results are stored by frame
        uint8_t *mask = &o.masks[size_t(i) * kW * kH];
        if (venseg_segment(s, f.pixels[size_t(i)].data(), VENSEG_PIXEL_GRAY8, kW, kH, kW, mask, kW,
                           &o.probs[size_t(i) * 2 * kW * kH], kW) != VENSEG_OK) {
            o.error = venseg_last_error();
            venseg_tracker_free(t);
            return o;
        }
        int32_t n = 0;
        venseg_session_instance_count(s, &n);
        for (int32_t j = 0; j < n; j++) {
            venseg_instance inst;
            std::memset(&inst, 0, sizeof inst);
            inst.struct_size = sizeof inst;
            venseg_session_instance(s, j, &inst);
            o.instances[size_t(i)].insert(o.instances[size_t(i)].end(),
                                          {double(inst.label), double(inst.area_px), inst.centroid_x, inst.centroid_y,
                                           inst.mean_probability});
        }
    }
    for (int i = 0; i < kFrames; i++) { // the tracker sees the frames in order
        if (venseg_tracker_push_labels(t, &o.masks[size_t(i) * kW * kH], kW, kW, kH) != VENSEG_OK) {
            o.error = venseg_last_error();
            venseg_tracker_free(t);
            return o;
        }
    }
    venseg_track_summary sum;
    std::memset(&sum, 0, sizeof sum);
    sum.struct_size = sizeof sum;
    venseg_tracker_summary(t, &sum);
    o.verdict = sum.verdict;
    o.flags = sum.flags;
    int32_t count = 0;
    o.curve.resize(kFrames);
    venseg_tracker_curve(t, VENSEG_AREA_PX, kFrames, &count, nullptr, o.curve.data(), nullptr, nullptr);
    venseg_tracker_free(t);
    o.ok = true;
    return o;
}

// Backends this build has: the reference always, oneDNN when built in.
std::vector<int> backends() {
    std::vector<int> b{VENSEG_BACKEND_REFERENCE};
    if (std::string(venseg_build_info()).find("onednn") != std::string::npos) b.push_back(VENSEG_BACKEND_ONEDNN);
    return b;
}

venseg_session *session_for(const venseg_model *m, int backend) {
    venseg_options *o = nullptr;
    venseg_session *s = nullptr;
    venseg_options_create(&o);
    venseg_options_set(o, VENSEG_OPT_BACKEND, backend);
    venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 2); // the same team size in every thread
    venseg_options_set(o, VENSEG_OPT_MIN_INSTANCE_AREA, 4);
    venseg_options_set(o, VENSEG_OPT_THRESHOLD_PERMILLE, 600); // the random tiny model: a mix of labels
    if (venseg_session_create(m, o, &s) != VENSEG_OK) s = nullptr;
    venseg_options_free(o);
    return s;
}

} // namespace

TEST(Threads, SessionsSharingOneModelGiveBitIdenticalResults) {
    const Frames frames = phantom_frames();
    for (int backend : backends()) {
        SCOPED_TRACE("backend " + std::to_string(backend));
        venseg_model *model = nullptr;
        ASSERT_EQ(venseg_model_load_file((std::string(VENSEG_TEST_DATA_DIR) + "/tiny_plain_unet.vseg").c_str(), &model),
                  VENSEG_OK)
            << venseg_last_error();
        venseg_session *alone = session_for(model, backend);
        ASSERT_NE(alone, nullptr) << venseg_last_error();
        const Output expect = work(alone, frames, 0);
        venseg_session_free(alone);
        ASSERT_TRUE(expect.ok) << expect.error;
        const auto labelled = std::count_if(expect.masks.begin(), expect.masks.end(), [](uint8_t v) { return v != 0; });
        ASSERT_GT(labelled, 0) << "the comparison would be vacuous";
        ASSERT_LT(size_t(labelled), expect.masks.size());

        // The threads make their sessions concurrently from the shared model; once all
        // have one, this thread drops its reference: the last session frees the model.
        std::atomic<int> created{0};
        std::vector<Output> out(kThreads * kRounds);
        std::vector<std::thread> pool;
        for (int t = 0; t < kThreads; t++)
            pool.emplace_back([&, t] {
                venseg_session *s = session_for(model, backend);
                created++;
                if (!s) return;
                for (int r = 0; r < kRounds; r++) out[size_t(t * kRounds + r)] = work(s, frames, t + r);
                venseg_session_free(s);
            });
        while (created.load() < kThreads) std::this_thread::yield();
        venseg_model_free(model);
        for (auto &th : pool) th.join();

        for (int k = 0; k < kThreads * kRounds; k++) {
            SCOPED_TRACE("thread " + std::to_string(k / kRounds) + " round " + std::to_string(k % kRounds));
            const Output &o = out[size_t(k)];
            ASSERT_TRUE(o.ok) << o.error;
            EXPECT_EQ(o.masks, expect.masks);
            EXPECT_EQ(0, std::memcmp(o.probs.data(), expect.probs.data(), expect.probs.size() * sizeof(float)))
                << "probabilities must be bit-identical";
            EXPECT_EQ(o.instances, expect.instances);
            EXPECT_EQ(o.curve, expect.curve);
            EXPECT_EQ(o.verdict, expect.verdict);
            EXPECT_EQ(o.flags, expect.flags);
        }
    }
}

TEST(Threads, ErrorDetailIsPerThread) {
    std::vector<std::string> seen(kThreads);
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; t++)
        pool.emplace_back([&, t] {
            venseg_options *o = nullptr;
            venseg_options_create(&o);
            for (int i = 0; i < 200; i++) venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 5000 + t);
            seen[size_t(t)] = venseg_last_error();
            venseg_options_free(o);
        });
    for (auto &th : pool) th.join();
    for (int t = 0; t < kThreads; t++)
        EXPECT_NE(seen[size_t(t)].find(std::to_string(5000 + t)), std::string::npos) << seen[size_t(t)];
}
