// The tracker on corrupted ground-truth masks (issue 16, part 3): a short seeded subset of
// the study benchmarks/tracker_study runs in full (docs/tracking.md, "Study: corrupted
// ground-truth masks"). Sequences 0..5 (two of each kind) through every corruption family,
// with MEDIAL_SIDE = the vein's side; per family the targets are asserted:
// accuracy >= 95 % (here: all six right), mean |compressibility error| <= 3 points, no wrong
// verdict without a flag. The sequences and corruptions are tests/tracker_corruption.c.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "tracker_corruption.h"

namespace {

constexpr int kSequences = 6; // sequences 0..5: kinds normal, partial, thrombosed, twice

struct Sequences {
    std::vector<tc_sequence> seqs;
    std::string error;
    Sequences() {
        seqs.resize(kSequences);
        for (int i = 0; i < kSequences; i++) {
            tc_sequence_params(i, 256, 256, &seqs[i]);
            char err[256] = "";
            if (tc_sequence_load(&seqs[i], err, sizeof err) != VENSEG_OK) {
                error = "sequence " + std::to_string(i) + ": " + err;
                seqs.resize(i);
                return;
            }
        }
    }
    ~Sequences() {
        for (auto &s : seqs) tc_sequence_free(&s);
    }
};

// Loaded once per process (ctest runs each test in its own process: one load per test there).
const Sequences &sequences() {
    static Sequences s;
    return s;
}

std::string flags_text(uint32_t f) {
    std::string s;
    for (int b = 0; b < 32; b++)
        if (f & (1u << b)) s += std::string(s.empty() ? "" : " ") + venseg_flag_name(1u << b);
    return s.empty() ? "none" : s;
}

std::string describe(const tc_result &r) {
    std::ostringstream o;
    o << "seq " << r.number << " (" << tc_kind_name(r.kind) << ", phantom seed " << (long long)r.phantom_seed
      << "): truth " << venseg_verdict_name((venseg_verdict)r.truth_verdict) << " C " << r.true_compressibility
      << " %, got " << venseg_verdict_name((venseg_verdict)r.verdict) << " C " << r.compressibility
      << " %, flags " << flags_text(r.flags) << ", verdict confidence " << r.verdict_confidence
      << ", identity confidence " << r.identity_confidence;
    if (r.status) o << ", run error: " << r.error;
    if (r.wrong_unflagged) o << "  <-- WRONG WITH NO FLAG";
    o << "\n    curve: tracker_study --curve " << r.number << " " << tc_family_name(r.family) << " "
      << (r.medial_known ? "known" : "unknown");
    return o.str();
}

struct FamilyRun {
    tc_tally tally{};
    std::vector<tc_result> results;
};

FamilyRun run_family(int family, int medial_known) {
    FamilyRun fr;
    for (const auto &s : sequences().seqs) {
        tc_result r;
        tc_run(&s, family, medial_known, &r, nullptr, nullptr);
        tc_tally_add(&fr.tally, &r);
        fr.results.push_back(r);
    }
    return fr;
}

void print_line(const char *variant, int family, const tc_tally &t) {
    std::printf("[ corrupt  ] %-8s %-18s n %d: right %d, indeterminate %d, wrong %d (no flag %d), accuracy %.1f %%, "
                "mean |err| %.2f points\n",
                variant, tc_family_name(family), t.n, t.right, t.indeterminate, t.wrong, t.wrong_unflagged,
                tc_tally_accuracy(&t), tc_tally_mean_error(&t));
}

class TrackerCorruption : public ::testing::TestWithParam<int> {};

} // namespace

TEST_P(TrackerCorruption, MeetsTheTargetsWithTheMedialSideKnown) {
    const int family = GetParam();
    ASSERT_TRUE(sequences().error.empty()) << sequences().error;
    ASSERT_EQ((int)sequences().seqs.size(), kSequences);
    FamilyRun fr = run_family(family, 1);
    const tc_tally &t = fr.tally;
    print_line("known", family, t);
    std::string failing;
    for (const auto &r : fr.results)
        if (tc_result_failed(&r)) failing += "\n  " + describe(r);
    RecordProperty("accuracy_percent", std::to_string(tc_tally_accuracy(&t)));
    RecordProperty("mean_abs_error_points", std::to_string(tc_tally_mean_error(&t)));
    RecordProperty("wrong_unflagged", std::to_string(t.wrong_unflagged));
    EXPECT_EQ(t.errors, 0) << failing;
    EXPECT_EQ(t.wrong_unflagged, TC_TARGET_WRONG_UNFLAGGED)
        << "wrong verdicts with no flag but informational ones:" << failing;
    EXPECT_GE(tc_tally_accuracy(&t), TC_TARGET_ACCURACY_PERCENT) << "failing sequences:" << failing;
    // nothing judged (all indeterminate) already fails the accuracy target
    if (t.judged) {
        EXPECT_LE(tc_tally_mean_error(&t), TC_TARGET_MEAN_ABS_ERROR) << "failing sequences:" << failing;
    }
}

INSTANTIATE_TEST_SUITE_P(Families, TrackerCorruption, ::testing::Range(0, (int)TC_FAMILY_COUNT),
                         [](const ::testing::TestParamInfo<int> &info) {
                             std::string n = tc_family_name(info.param);
                             for (auto &ch : n)
                                 if (ch == '_') ch = 'X'; // gtest names: alphanumeric only
                             std::string out;
                             bool up = true;
                             for (char ch : n) {
                                 if (ch == 'X') {
                                     up = true;
                                     continue;
                                 }
                                 out += up ? (char)std::toupper((unsigned char)ch) : ch;
                                 up = false;
                             }
                             return out;
                         });

// The same with MEDIAL_SIDE = 0: reported (the study's second table), not held to the targets,
// and left out of CI (it doubles the test's time; tracker_study reports it on 60 sequences).
TEST(TrackerCorruptionReport, MedialSideUnknown) {
    if (!std::getenv("VENSEG_CORRUPTION_UNKNOWN"))
        GTEST_SKIP() << "set VENSEG_CORRUPTION_UNKNOWN=1 to report the subset with MEDIAL_SIDE = 0 (not asserted)";
    ASSERT_TRUE(sequences().error.empty()) << sequences().error;
    for (int f = 0; f < TC_FAMILY_COUNT; f++) {
        FamilyRun fr = run_family(f, 0);
        print_line("unknown", f, fr.tally);
        EXPECT_EQ(fr.tally.errors, 0);
    }
}

// ------------------------------------------------- the corruptions themselves

TEST(TrackerCorruptionDesign, SequencesAreDeterministicAndExamLike) {
    tc_sequence a, b;
    tc_sequence_params(17, 0, 0, &a);
    tc_sequence_params(17, 0, 0, &b);
    EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
    EXPECT_EQ(a.width, 256);
    for (int i = 0; i < 30; i++) {
        tc_sequence s;
        tc_sequence_params(i, 0, 0, &s);
        EXPECT_EQ(s.kind, i % 3);
        EXPECT_GE(s.frames, 180);
        EXPECT_LE(s.frames, 240);
        EXPECT_GE(s.baseline_s, 2.5);
        EXPECT_LE(s.baseline_s, 3.0);
        EXPECT_GE(s.heart_rate_bpm, 50);
        EXPECT_LE(s.heart_rate_bpm, 110);
        EXPECT_GE(s.vein_to_artery, 0.8);
        EXPECT_LE(s.vein_to_artery, 1.8);
        EXPECT_LE(s.probe_motion_mm, 1.0);
        EXPECT_GE(s.bridge_px, 3);
        EXPECT_LE(s.bridge_px, 5);
    }
    for (const auto &s : sequences().seqs) {
        EXPECT_NE(s.vein_side, 0) << "seq " << s.number;
        EXPECT_EQ(s.truth_verdict, s.kind == 0   ? VENSEG_VERDICT_COMPRESSIBLE
                                   : s.kind == 1 ? VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE
                                                 : VENSEG_VERDICT_NON_COMPRESSIBLE)
            << "seq " << s.number << " truth C " << s.true_compressibility;
    }
}

TEST(TrackerCorruptionDesign, CorruptionsDependOnlyOnSequenceFamilyAndFrame) {
    ASSERT_FALSE(sequences().seqs.empty());
    const tc_sequence &s = sequences().seqs[0];
    const size_t plane = size_t(s.width) * s.height;
    std::vector<uint8_t> x(plane), y(plane);
    for (int f = 0; f < TC_FAMILY_COUNT; f++) {
        tc_corrupt(&s, f, 40, x.data());
        tc_corrupt(&s, f, 3, y.data()); // another frame in between
        tc_corrupt(&s, f, 40, y.data());
        EXPECT_EQ(x, y) << tc_family_name(f);
    }
}

TEST(TrackerCorruptionDesign, CorruptionsDoWhatTheySay) {
    ASSERT_FALSE(sequences().seqs.empty());
    int frames = 0, swapped = 0, missed = 0, vein_frames = 0, blob_frames = 0;
    long long blob_px = 0, bad_swap = 0, bad_merge = 0, bad_blob = 0;
    for (const auto &s : sequences().seqs) {
        const size_t plane = size_t(s.width) * s.height;
        std::vector<uint8_t> out(plane);
        for (int i = 0; i < s.frames; i++) {
            const uint8_t *truth = s.labels + plane * i;
            long long ta = 0, tv = 0;
            for (size_t k = 0; k < plane; k++) {
                ta += truth[k] == 1;
                tv += truth[k] == 2;
            }
            frames++;
            vein_frames += tv > 0;
            // swapped everywhere
            tc_corrupt(&s, TC_SWAP_ALL, i, out.data());
            for (size_t k = 0; k < plane; k++) bad_swap += out[k] != (truth[k] == 1 ? 2 : truth[k] == 2 ? 1 : truth[k]);
            // swapped in some frames: all or nothing
            tc_corrupt(&s, TC_SWAP_30, i, out.data());
            bool sw = std::memcmp(out.data(), truth, plane) != 0;
            swapped += sw && (ta || tv);
            // vein missed in some frames, the artery untouched
            tc_corrupt(&s, TC_VEIN_MISSED_30, i, out.data());
            long long oa = 0, ov = 0;
            for (size_t k = 0; k < plane; k++) {
                oa += out[k] == 1;
                ov += out[k] == 2;
            }
            EXPECT_EQ(oa, ta);
            EXPECT_TRUE(ov == tv || ov == 0);
            missed += tv > 0 && ov == 0;
            // merged: no artery label, every vessel pixel kept, more pixels (the bridge) when both show
            tc_corrupt(&s, TC_MERGED, i, out.data());
            long long ma = 0, mv = 0;
            for (size_t k = 0; k < plane; k++) {
                ma += out[k] == 1;
                mv += out[k] == 2;
                bad_merge += truth[k] && out[k] != 2;
            }
            EXPECT_EQ(ma, 0);
            if (ta && tv) {
                EXPECT_GT(mv, ta + tv);
            }
            // spurious: the vessels untouched, blobs only on background away from them
            tc_corrupt(&s, TC_SPURIOUS, i, out.data());
            long long extra = 0;
            for (size_t k = 0; k < plane; k++) {
                bad_blob += truth[k] && out[k] != truth[k];
                extra += !truth[k] && out[k];
            }
            blob_frames += extra > 0;
            blob_px += extra;
        }
    }
    EXPECT_EQ(bad_swap, 0);
    EXPECT_EQ(bad_merge, 0);
    EXPECT_EQ(bad_blob, 0);
    const double vf = vein_frames;
    std::printf("[ corrupt  ] %d frames: swapped %.1f %%, vein missed %.1f %% of vein frames, blobs in %.1f %% of "
                "frames (%.0f px per frame)\n",
                frames, 100.0 * swapped / frames, 100.0 * missed / vf, 100.0 * blob_frames / frames,
                double(blob_px) / frames);
    EXPECT_NEAR(double(swapped) / frames, 0.3, 0.05);
    EXPECT_NEAR(missed / vf, 0.3, 0.05);
    EXPECT_GT(double(blob_frames) / frames, 0.6);
}
