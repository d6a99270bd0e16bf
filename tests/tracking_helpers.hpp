// Shared helpers of the tracking tests: RAII owners of the tracker and phantom handles and a
// checked summary read.
#pragma once

#include "test_helpers.hpp"

#include <venseg/venseg_tracking.h>

struct TrackerFree { void operator()(venseg_tracker *t) const { venseg_tracker_free(t); } };
struct TConfigFree { void operator()(venseg_tracker_config *c) const { venseg_tracker_config_free(c); } };
struct PhantomFree { void operator()(venseg_phantom *p) const { venseg_phantom_free(p); } };
using TrackerPtr = std::unique_ptr<venseg_tracker, TrackerFree>;
using PhantomPtr = std::unique_ptr<venseg_phantom, PhantomFree>;

inline venseg_track_summary summary(const venseg_tracker *t) {
    venseg_track_summary s;
    std::memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    EXPECT_EQ(venseg_tracker_summary_get(t, &s), VENSEG_OK) << venseg_last_error();
    return s;
}
