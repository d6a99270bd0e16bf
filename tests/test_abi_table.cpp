// Walks the bad-argument table of ABI.md ("Bad arguments: what each function returns"):
// the table is the single source of truth; this file has one case per row. For each row
// the call is made on fresh objects, its result compared with the table, the detail
// message checked, and then every object is used normally and must still work.
// Fails on a row without a case, a case without a row, and a public function of
// venseg.h / venseg_tracking.h without a row. ABI 1 aliases have the rows of the names
// they stand for.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "vseg_test_writer.hpp"

namespace {

constexpr int W = 64, H = 48;

// One of every object, set up and used once, so every call has something real to act on.
struct World {
    venseg_model *model = nullptr;
    venseg_options *options = nullptr;
    venseg_session *session = nullptr;
    venseg_tracker_config *tcfg = nullptr;
    venseg_tracker *tracker = nullptr;
    venseg_exam *exam = nullptr;
    venseg_phantom_config *pcfg = nullptr;
    venseg_phantom *phantom = nullptr;
    std::vector<uint8_t> pixels = std::vector<uint8_t>(size_t(W) * H), labels = std::vector<uint8_t>(size_t(W) * H),
                         mask = std::vector<uint8_t>(size_t(W) * H);
    std::vector<float> probs = std::vector<float>(size_t(2) * W * H);

    World() {
        EXPECT_EQ(venseg_model_load_file(data_path("tiny_plain_unet.vseg").c_str(), &model), VENSEG_OK);
        EXPECT_EQ(venseg_options_create(&options), VENSEG_OK);
        EXPECT_EQ(venseg_options_set(options, VENSEG_OPT_BACKEND, VENSEG_BACKEND_REFERENCE), VENSEG_OK);
        EXPECT_EQ(venseg_options_set(options, VENSEG_OPT_NUM_THREADS, 1), VENSEG_OK);
        EXPECT_EQ(venseg_options_set(options, VENSEG_OPT_MIN_INSTANCE_AREA, 1), VENSEG_OK);
        EXPECT_EQ(venseg_session_create(model, options, &session), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_config_create(&tcfg), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_config_set_site(tcfg, "popliteal"), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_create(tcfg, &tracker), VENSEG_OK);
        EXPECT_EQ(venseg_exam_create(VENSEG_EXAM_TWO_POINT, &exam), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_config_create(&pcfg), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_config_set(pcfg, VENSEG_PHANTOM_WIDTH, W), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_config_set(pcfg, VENSEG_PHANTOM_HEIGHT, H), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_config_set(pcfg, VENSEG_PHANTOM_FRAMES, 3), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_create(pcfg, &phantom), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_frame(phantom, 0, pixels.data(), W, labels.data(), W), VENSEG_OK);
        EXPECT_EQ(segment(), VENSEG_OK) << venseg_last_error();
        EXPECT_EQ(venseg_tracker_push_labels(tracker, labels.data(), W, W, H), VENSEG_OK);
    }
    ~World() {
        venseg_phantom_free(phantom);
        venseg_phantom_config_free(pcfg);
        venseg_exam_free(exam);
        venseg_tracker_free(tracker);
        venseg_tracker_config_free(tcfg);
        venseg_session_free(session);
        venseg_options_free(options);
        venseg_model_free(model);
    }
    World(const World &) = delete;
    World &operator=(const World &) = delete;

    venseg_status segment() {
        return venseg_segment(session, pixels.data(), VENSEG_PIXEL_GRAY8, W, H, W, mask.data(), W, probs.data(), W);
    }

    // A normal call on every object succeeds.
    void expect_usable() {
        int64_t v = 0;
        double d = 0;
        int32_t a = 0, b = 0, c = 0;
        EXPECT_EQ(venseg_options_set(options, VENSEG_OPT_NUM_THREADS, 1), VENSEG_OK) << venseg_last_error();
        EXPECT_EQ(venseg_options_get(options, VENSEG_OPT_BACKEND, &v), VENSEG_OK);
        EXPECT_EQ(venseg_model_input_size(model, &a, &b, &c), VENSEG_OK);
        EXPECT_EQ(venseg_session_set_roi(session, 0, 0, 0, 0), VENSEG_OK);
        EXPECT_EQ(segment(), VENSEG_OK) << venseg_last_error();
        EXPECT_EQ(venseg_session_instance_count(session, &a), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_config_set(tcfg, VENSEG_TRACKER_MIN_AREA_PX, 8), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_config_get(tcfg, VENSEG_TRACKER_MIN_AREA_PX, &d), VENSEG_OK);
        EXPECT_EQ(venseg_tracker_push_labels(tracker, labels.data(), W, W, H), VENSEG_OK) << venseg_last_error();
        EXPECT_EQ(venseg_tracker_push_frame(tracker, session, pixels.data(), VENSEG_PIXEL_GRAY8, W, H, W, nullptr, 0),
                  VENSEG_OK)
            << venseg_last_error();
        venseg_track_summary s;
        std::memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        EXPECT_EQ(venseg_tracker_summary(tracker, &s), VENSEG_OK);
        EXPECT_EQ(venseg_exam_add(exam, tracker), VENSEG_OK) << venseg_last_error();
        venseg_exam_report r;
        std::memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        EXPECT_EQ(venseg_exam_report_get(exam, &r), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_config_set(pcfg, VENSEG_PHANTOM_SEED, 2), VENSEG_OK);
        EXPECT_EQ(venseg_phantom_frame(phantom, 1, pixels.data(), W, nullptr, 0), VENSEG_OK);
    }
};

// What a call gave, in the table's notation, and the detail right after it.
struct Result {
    std::string value, detail;
    bool is_status = false;
};

Result st(venseg_status s) {
    std::string name = venseg_status_name(s);
    if (name.rfind("VENSEG_", 0) == 0) name = name.substr(7);
    return {name, venseg_last_error(), true};
}
Result str(const char *s) { return {std::string("\"") + (s ? s : "(null)") + "\"", ""}; }
Result noop() { return {"*no-op*", ""}; }
Result never(bool ok) { return {ok ? "*never fails*" : "(failed)", ""}; }

template <class T> T sized(uint32_t size) {
    T t;
    std::memset(&t, 0, sizeof t);
    t.struct_size = size;
    return t;
}

using Case = std::function<Result(World &)>;

std::map<std::string, Case> cases() {
    std::map<std::string, Case> c;
    auto add = [&](const std::string &fn, const std::string &what, Case f) {
        EXPECT_TRUE(c.emplace(fn + " | " + what, std::move(f)).second) << "duplicate case " << fn << " | " << what;
    };
    static int64_t counts[3];
    static venseg_model *m_out; // out-pointers of calls that must fail (nothing is ever written)

    add("venseg_version_number", "none", [](World &) { return never(venseg_version_number() == VENSEG_VERSION_NUMBER); });
    add("venseg_version_string", "none", [](World &) { return never(std::string(venseg_version_string()) == VENSEG_VERSION_STRING); });
    add("venseg_build_info", "none", [](World &) { return never(std::string(venseg_build_info()).find("abi=1") != std::string::npos); });
    add("venseg_status_name", "value not in the enum", [](World &) { return str(venseg_status_name(venseg_status(9999))); });
    add("venseg_last_error", "after a successful call", [](World &w) {
        venseg_options_set(w.options, venseg_option(1), 0); // leaves a detail, which the next successful call clears
        int64_t v;
        venseg_options_get(w.options, VENSEG_OPT_BACKEND, &v);
        return str(venseg_last_error());
    });

    // options
    add("venseg_session_config_create", "NULL out", [](World &) { return st(venseg_session_config_create(nullptr)); });
    add("venseg_options_create", "NULL out", [](World &) { return st(venseg_options_create(nullptr)); });
    add("venseg_session_config_free", "NULL config", [](World &) { venseg_session_config_free(nullptr); return noop(); });
    add("venseg_options_free", "NULL options", [](World &) { venseg_options_free(nullptr); return noop(); });
    add("venseg_session_config_set", "NULL config", [](World &) { return st(venseg_session_config_set(nullptr, VENSEG_OPT_NUM_THREADS, 1)); });
    add("venseg_options_set", "NULL options", [](World &) { return st(venseg_options_set(nullptr, VENSEG_OPT_NUM_THREADS, 1)); });
    add("venseg_session_config_set", "unknown key", [](World &w) { return st(venseg_session_config_set(w.options, venseg_option(99), 1)); });
    add("venseg_options_set", "unknown key", [](World &w) { return st(venseg_options_set(w.options, venseg_option(99), 1)); });
    add("venseg_session_config_set", "value below the key's range", [](World &w) { return st(venseg_session_config_set(w.options, VENSEG_OPT_NUM_THREADS, -1)); });
    add("venseg_options_set", "value below the key's range", [](World &w) { return st(venseg_options_set(w.options, VENSEG_OPT_NUM_THREADS, -1)); });
    add("venseg_session_config_set", "value above the key's range", [](World &w) { return st(venseg_session_config_set(w.options, VENSEG_OPT_BACKEND, 4)); });
    add("venseg_options_set", "value above the key's range", [](World &w) { return st(venseg_options_set(w.options, VENSEG_OPT_BACKEND, 4)); });
    add("venseg_session_config_get", "NULL config", [](World &) { int64_t v; return st(venseg_session_config_get(nullptr, VENSEG_OPT_BACKEND, &v)); });
    add("venseg_options_get", "NULL options", [](World &) { int64_t v; return st(venseg_options_get(nullptr, VENSEG_OPT_BACKEND, &v)); });
    add("venseg_session_config_get", "NULL value", [](World &w) { return st(venseg_session_config_get(w.options, VENSEG_OPT_BACKEND, nullptr)); });
    add("venseg_options_get", "NULL value", [](World &w) { return st(venseg_options_get(w.options, VENSEG_OPT_BACKEND, nullptr)); });
    add("venseg_session_config_get", "unknown key", [](World &w) { int64_t v; return st(venseg_session_config_get(w.options, venseg_option(99), &v)); });
    add("venseg_options_get", "unknown key", [](World &w) { int64_t v; return st(venseg_options_get(w.options, venseg_option(99), &v)); });
    add("venseg_session_config_bounds", "NULL lower or upper", [](World &) { int64_t l; return st(venseg_session_config_bounds(VENSEG_OPT_BACKEND, &l, nullptr, nullptr)); });
    add("venseg_option_bounds", "NULL lower or upper", [](World &) { int64_t l; return st(venseg_option_bounds(VENSEG_OPT_BACKEND, &l, nullptr)); });
    add("venseg_session_config_bounds", "unknown key", [](World &) { int64_t l, u; return st(venseg_session_config_bounds(venseg_option(0), &l, &u, nullptr)); });
    add("venseg_option_bounds", "unknown key", [](World &) { int64_t l, u; return st(venseg_option_bounds(venseg_option(0), &l, &u)); });

    // model
    add("venseg_model_load_file", "NULL path", [](World &) { return st(venseg_model_load_file(nullptr, &m_out)); });
    add("venseg_model_load_file", "NULL out", [](World &) { return st(venseg_model_load_file(data_path("tiny_plain_unet.vseg").c_str(), nullptr)); });
    add("venseg_model_load_file", "file does not exist", [](World &) { return st(venseg_model_load_file(data_path("no-such-file.vseg").c_str(), &m_out)); });
    add("venseg_model_load_file", "not a weights file", [](World &) { return st(venseg_model_load_file(data_path("README.md").c_str(), &m_out)); });
    auto tiny_bytes = [] { return read_bytes(data_path("tiny_plain_unet.vseg")); };
    add("venseg_model_load_memory", "NULL data", [](World &) { return st(venseg_model_load_memory(nullptr, 100, &m_out)); });
    add("venseg_model_load_memory", "NULL out", [=](World &) { auto b = tiny_bytes(); return st(venseg_model_load_memory(b.data(), b.size(), nullptr)); });
    add("venseg_model_load_memory", "size 0", [=](World &) { auto b = tiny_bytes(); return st(venseg_model_load_memory(b.data(), 0, &m_out)); });
    add("venseg_model_load_memory", "truncated by one byte", [=](World &) { auto b = tiny_bytes(); return st(venseg_model_load_memory(b.data(), b.size() - 1, &m_out)); });
    add("venseg_model_load_memory", "one byte flipped (CRC)", [=](World &) { auto b = tiny_bytes(); b[b.size() / 2] ^= 0x10; return st(venseg_model_load_memory(b.data(), b.size(), &m_out)); });
    add("venseg_model_load_memory", "unknown format version", [=](World &) {
        auto b = tiny_bytes();
        b[4] = 2;
        vsegtest::fix_crcs(b);
        return st(venseg_model_load_memory(b.data(), b.size(), &m_out));
    });
    add("venseg_model_load_memory", "well-formed file, unknown architecture", [](World &) {
        vsegtest::File f;
        f.set("general.architecture", vsegtest::S("transformer"));
        f.set("input.channels", vsegtest::I(1));
        f.set("output.classes", vsegtest::Ss({"vein"}));
        auto b = vsegtest::encode(f);
        return st(venseg_model_load_memory(b.data(), b.size(), &m_out));
    });
    add("venseg_model_free", "NULL model", [](World &) { venseg_model_free(nullptr); return noop(); });
    add("venseg_model_input_size", "NULL model", [](World &) { int32_t a, b, c; return st(venseg_model_input_size(nullptr, &a, &b, &c)); });
    add("venseg_model_input_size", "NULL out", [](World &w) { int32_t a, b; return st(venseg_model_input_size(w.model, &a, &b, nullptr)); });
    add("venseg_model_class_count", "NULL model", [](World &) { int32_t n; return st(venseg_model_class_count(nullptr, &n)); });
    add("venseg_model_num_classes", "NULL model", [](World &) { int32_t n; return st(venseg_model_num_classes(nullptr, &n)); });
    add("venseg_model_class_count", "NULL out", [](World &w) { return st(venseg_model_class_count(w.model, nullptr)); });
    add("venseg_model_num_classes", "NULL out", [](World &w) { return st(venseg_model_num_classes(w.model, nullptr)); });
    add("venseg_model_class_name_at", "NULL model", [](World &) { const char *n; return st(venseg_model_class_name_at(nullptr, 0, &n)); });
    add("venseg_model_class_name", "NULL model", [](World &) { const char *n; return st(venseg_model_class_name(nullptr, 0, &n)); });
    add("venseg_model_class_name_at", "NULL out", [](World &w) { return st(venseg_model_class_name_at(w.model, 0, nullptr)); });
    add("venseg_model_class_name", "NULL out", [](World &w) { return st(venseg_model_class_name(w.model, 0, nullptr)); });
    add("venseg_model_class_name_at", "index -1", [](World &w) { const char *n; return st(venseg_model_class_name_at(w.model, -1, &n)); });
    add("venseg_model_class_name", "index -1", [](World &w) { const char *n; return st(venseg_model_class_name(w.model, -1, &n)); });
    add("venseg_model_class_name_at", "index = number of classes", [](World &w) { const char *n; return st(venseg_model_class_name_at(w.model, 2, &n)); });
    add("venseg_model_class_name", "index = number of classes", [](World &w) { const char *n; return st(venseg_model_class_name(w.model, 2, &n)); });
    // the three metadata getters share their argument classes
    using MetaCall = std::function<venseg_status(const venseg_model *, const char *, bool)>;
    const std::vector<std::tuple<std::string, MetaCall, const char *>> getters = {
        {"venseg_model_meta_string", [](const venseg_model *m, const char *k, bool out) { const char *v; return venseg_model_meta_string(m, k, out ? &v : nullptr); }, "input.width"},
        {"venseg_model_meta_int", [](const venseg_model *m, const char *k, bool out) { int64_t v; return venseg_model_meta_int(m, k, out ? &v : nullptr); }, "general.name"},
        {"venseg_model_meta_double", [](const venseg_model *m, const char *k, bool out) { double v; return venseg_model_meta_double(m, k, out ? &v : nullptr); }, "general.name"},
    };
    for (const auto &g : getters) {
        const MetaCall call = std::get<1>(g);
        const char *other = std::get<2>(g);
        add(std::get<0>(g), "NULL model", [=](World &) { return st(call(nullptr, "general.name", true)); });
        add(std::get<0>(g), "NULL key", [=](World &w) { return st(call(w.model, nullptr, true)); });
        add(std::get<0>(g), "NULL out", [=](World &w) { return st(call(w.model, "general.name", false)); });
        add(std::get<0>(g), "unknown key", [=](World &w) { return st(call(w.model, "no.such.key", true)); });
        add(std::get<0>(g), "key of another type", [=](World &w) { return st(call(w.model, other, true)); });
    }
    add("venseg_model_parameter_count", "NULL model", [](World &) { int64_t n; return st(venseg_model_parameter_count(nullptr, &n)); });
    add("venseg_model_parameter_count", "NULL out", [](World &w) { return st(venseg_model_parameter_count(w.model, nullptr)); });

    // session
    static venseg_session *s_out;
    add("venseg_session_create", "NULL model", [](World &w) { return st(venseg_session_create(nullptr, w.options, &s_out)); });
    add("venseg_session_create", "NULL out", [](World &w) { return st(venseg_session_create(w.model, w.options, nullptr)); });
    add("venseg_session_create", "CUDA backend at bf16 (CUDA runs fp32, fp16; or is not there)", [](World &w) {
        venseg_options_set(w.options, VENSEG_OPT_BACKEND, VENSEG_BACKEND_CUDA);
        venseg_options_set(w.options, VENSEG_OPT_PRECISION, VENSEG_PRECISION_BF16);
        Result r = st(venseg_session_create(w.model, w.options, &s_out));
        venseg_options_set(w.options, VENSEG_OPT_BACKEND, VENSEG_BACKEND_REFERENCE);
        venseg_options_set(w.options, VENSEG_OPT_PRECISION, VENSEG_PRECISION_FP32);
        return r;
    });
    add("venseg_session_create", "precision the backend lacks (reference fp16)", [](World &w) {
        venseg_options_set(w.options, VENSEG_OPT_PRECISION, VENSEG_PRECISION_FP16);
        Result r = st(venseg_session_create(w.model, w.options, &s_out));
        venseg_options_set(w.options, VENSEG_OPT_PRECISION, VENSEG_PRECISION_FP32);
        return r;
    });
    add("venseg_session_free", "NULL session", [](World &) { venseg_session_free(nullptr); return noop(); });
    add("venseg_session_get", "NULL session", [](World &) { int64_t v; return st(venseg_session_get(nullptr, VENSEG_OPT_BACKEND, &v)); });
    add("venseg_session_get", "NULL value", [](World &w) { return st(venseg_session_get(w.session, VENSEG_OPT_BACKEND, nullptr)); });
    add("venseg_session_get", "unknown key", [](World &w) { int64_t v; return st(venseg_session_get(w.session, venseg_option(7), &v)); });
    add("venseg_session_describe", "NULL session", [](World &) { return str(venseg_session_describe(nullptr)); });
    add("venseg_session_set_roi", "NULL session", [](World &) { return st(venseg_session_set_roi(nullptr, 0, 0, 8, 8)); });
    add("venseg_session_set_roi", "negative x", [](World &w) { return st(venseg_session_set_roi(w.session, -1, 0, 8, 8)); });
    add("venseg_session_set_roi", "negative width", [](World &w) { return st(venseg_session_set_roi(w.session, 0, 0, -8, 8)); });
    add("venseg_session_set_roi", "beyond 32768 px", [](World &w) { return st(venseg_session_set_roi(w.session, 32760, 0, 16, 8)); });
    add("venseg_session_set_pixel_spacing", "NULL session", [](World &) { return st(venseg_session_set_pixel_spacing(nullptr, 0.1, 0.1)); });
    add("venseg_session_set_pixel_spacing", "negative", [](World &w) { return st(venseg_session_set_pixel_spacing(w.session, -0.1, 0.1)); });
    add("venseg_session_set_pixel_spacing", "NaN", [](World &w) { return st(venseg_session_set_pixel_spacing(w.session, NAN, 0.1)); });
    add("venseg_session_set_pixel_spacing", "one 0, one > 0", [](World &w) { return st(venseg_session_set_pixel_spacing(w.session, 0, 0.1)); });
    auto seg = [](World &w, venseg_session *s, const void *px, int fmt, int wd, int ht, int64_t rs, uint8_t *mask, int64_t ms, float *pr, int64_t ps) {
        (void)w;
        return st(venseg_segment(s, px, venseg_pixel_format(fmt), wd, ht, rs, mask, ms, pr, ps));
    };
    add("venseg_segment", "NULL session", [=](World &w) { return seg(w, nullptr, w.pixels.data(), 1, W, H, W, w.mask.data(), W, nullptr, 0); });
    add("venseg_segment", "NULL pixels", [=](World &w) { return seg(w, w.session, nullptr, 1, W, H, W, w.mask.data(), W, nullptr, 0); });
    add("venseg_segment", "NULL label_mask", [=](World &w) { return seg(w, w.session, w.pixels.data(), 1, W, H, W, nullptr, W, nullptr, 0); });
    add("venseg_segment", "unknown pixel format", [=](World &w) { return seg(w, w.session, w.pixels.data(), 6, W, H, W, w.mask.data(), W, nullptr, 0); });
    add("venseg_segment", "width 0", [=](World &w) { return seg(w, w.session, w.pixels.data(), 1, 0, H, W, w.mask.data(), W, nullptr, 0); });
    add("venseg_segment", "height above 32768", [=](World &w) { return seg(w, w.session, w.pixels.data(), 1, W, 32769, W, w.mask.data(), W, nullptr, 0); });
    add("venseg_segment", "row_stride < width x pixel size", [=](World &w) { return seg(w, w.session, w.pixels.data(), 4, W / 2, H, W - 1, w.mask.data(), W, nullptr, 0); });
    add("venseg_segment", "mask_stride < width", [=](World &w) { return seg(w, w.session, w.pixels.data(), 1, W, H, W, w.mask.data(), W - 1, nullptr, 0); });
    add("venseg_segment", "prob_row_stride < width", [=](World &w) { return seg(w, w.session, w.pixels.data(), 1, W, H, W, w.mask.data(), W, w.probs.data(), W - 1); });
    add("venseg_segment", "ROI outside the frame", [=](World &w) {
        venseg_session_set_roi(w.session, W - 4, 0, 8, 8);
        return seg(w, w.session, w.pixels.data(), 1, W, H, W, w.mask.data(), W, nullptr, 0);
    });
    add("venseg_session_instance_count", "NULL session", [](World &) { int32_t n; return st(venseg_session_instance_count(nullptr, &n)); });
    add("venseg_session_instance_count", "NULL count", [](World &w) { return st(venseg_session_instance_count(w.session, nullptr)); });
    add("venseg_session_instance_at", "NULL session", [](World &) { auto i = sized<venseg_instance>(sizeof(venseg_instance)); return st(venseg_session_instance_at(nullptr, 0, &i)); });
    add("venseg_session_instance", "NULL session", [](World &) { auto i = sized<venseg_instance>(sizeof(venseg_instance)); return st(venseg_session_instance(nullptr, 0, &i)); });
    add("venseg_session_instance_at", "NULL out", [](World &w) { return st(venseg_session_instance_at(w.session, 0, nullptr)); });
    add("venseg_session_instance", "NULL out", [](World &w) { return st(venseg_session_instance(w.session, 0, nullptr)); });
    add("venseg_session_instance_at", "struct_size 0", [](World &w) { auto i = sized<venseg_instance>(0); return st(venseg_session_instance_at(w.session, 0, &i)); });
    add("venseg_session_instance", "struct_size 0", [](World &w) { auto i = sized<venseg_instance>(0); return st(venseg_session_instance(w.session, 0, &i)); });
    add("venseg_session_instance_at", "index -1", [](World &w) { auto i = sized<venseg_instance>(sizeof(venseg_instance)); return st(venseg_session_instance_at(w.session, -1, &i)); });
    add("venseg_session_instance", "index -1", [](World &w) { auto i = sized<venseg_instance>(sizeof(venseg_instance)); return st(venseg_session_instance(w.session, -1, &i)); });
    add("venseg_session_instance_at", "index = instance count", [](World &w) {
        int32_t n = 0;
        venseg_session_instance_count(w.session, &n);
        auto i = sized<venseg_instance>(sizeof(venseg_instance));
        return st(venseg_session_instance_at(w.session, n, &i));
    });
    add("venseg_session_instance", "index = instance count", [](World &w) {
        int32_t n = 0;
        venseg_session_instance_count(w.session, &n);
        auto i = sized<venseg_instance>(sizeof(venseg_instance));
        return st(venseg_session_instance(w.session, n, &i));
    });

    // metrics (no objects: the World's buffers serve as images)
    const uint32_t A = VENSEG_LABEL_BIT(1);
    add("venseg_overlap_counts", "NULL pred or truth", [=](World &w) { return st(venseg_overlap_counts(nullptr, W, A, w.labels.data(), W, A, 0, W, H, counts)); });
    add("venseg_overlap_counts", "NULL counts", [=](World &w) { return st(venseg_overlap_counts(w.mask.data(), W, A, w.labels.data(), W, A, 0, W, H, nullptr)); });
    add("venseg_overlap_counts", "width 0", [=](World &w) { return st(venseg_overlap_counts(w.mask.data(), W, A, w.labels.data(), W, A, 0, 0, H, counts)); });
    add("venseg_overlap_counts", "stride < width", [=](World &w) { return st(venseg_overlap_counts(w.mask.data(), W - 1, A, w.labels.data(), W, A, 0, W, H, counts)); });
    add("venseg_overlap_counts_prob", "NULL prob", [=](World &w) { return st(venseg_overlap_counts_prob(nullptr, W, 0.5f, w.labels.data(), W, A, 0, W, H, counts)); });
    add("venseg_overlap_counts_prob", "NaN threshold", [=](World &w) { return st(venseg_overlap_counts_prob(w.probs.data(), W, NAN, w.labels.data(), W, A, 0, W, H, counts)); });
    add("venseg_overlap_counts_prob", "height 0", [=](World &w) { return st(venseg_overlap_counts_prob(w.probs.data(), W, 0.5f, w.labels.data(), W, A, 0, W, 0, counts)); });
    using Score = venseg_status (*)(const int64_t[3], venseg_empty_rule, double, double *);
    for (auto &[name, fn] : std::vector<std::pair<std::string, Score>>{{"venseg_dice", venseg_dice}, {"venseg_jaccard", venseg_jaccard}}) {
        Score f = fn;
        add(name, "NULL counts", [=](World &) { double v; return st(f(nullptr, VENSEG_EMPTY_NAN, 0, &v)); });
        add(name, "NULL out", [=](World &) { const int64_t k[3] = {1, 0, 0}; return st(f(k, VENSEG_EMPTY_NAN, 0, nullptr)); });
        add(name, "negative count", [=](World &) { const int64_t k[3] = {1, -1, 0}; double v; return st(f(k, VENSEG_EMPTY_NAN, 0, &v)); });
        add(name, "both empty, SMOOTH rule, smooth 0", [=](World &) { const int64_t k[3] = {0, 0, 0}; double v; return st(f(k, VENSEG_EMPTY_SMOOTH, 0, &v)); });
    }
    add("venseg_dice", "unknown rule", [](World &) { const int64_t k[3] = {1, 0, 0}; double v; return st(venseg_dice(k, venseg_empty_rule(3), 0, &v)); });
    add("venseg_dice", "smooth with a rule other than SMOOTH", [](World &) { const int64_t k[3] = {1, 0, 0}; double v; return st(venseg_dice(k, VENSEG_EMPTY_MONAI, 1e-5, &v)); });
    auto ssim = [](World &w, const float *x, double range, int win, int window, int32_t side, double *out, int64_t map_stride) {
        return st(venseg_ssim(x, W, w.probs.data(), W, side, side, venseg_ssim_window(window), win, 1, range, out,
                              map_stride ? w.probs.data() + W * H : nullptr, map_stride));
    };
    add("venseg_ssim", "NULL x or y", [=](World &w) { double v; return ssim(w, nullptr, 1, 7, 0, 32, &v, 0); });
    add("venseg_ssim", "NULL mssim", [=](World &w) { return ssim(w, w.probs.data(), 1, 7, 0, 32, nullptr, 0); });
    add("venseg_ssim", "data_range 0", [=](World &w) { double v; return ssim(w, w.probs.data(), 0, 7, 0, 32, &v, 0); });
    add("venseg_ssim", "even win_size", [=](World &w) { double v; return ssim(w, w.probs.data(), 1, 8, 0, 32, &v, 0); });
    add("venseg_ssim", "unknown window", [=](World &w) { double v; return ssim(w, w.probs.data(), 1, 7, 2, 32, &v, 0); });
    add("venseg_ssim", "image smaller than the window", [=](World &w) { double v; return ssim(w, w.probs.data(), 1, 7, 0, 5, &v, 0); });
    add("venseg_ssim", "map_stride < width", [=](World &w) { double v; return ssim(w, w.probs.data(), 1, 7, 0, 32, &v, 31); });
    auto sd = [=](World &w, const uint8_t *p, int64_t stride, double spacing, double pct) {
        double hd;
        return st(venseg_surface_distance(p, stride, A, w.labels.data(), W, A, W, H, spacing, spacing, pct, &hd, nullptr, nullptr));
    };
    add("venseg_surface_distance", "NULL pred or truth", [=](World &w) { return sd(w, nullptr, W, 1, 95); });
    add("venseg_surface_distance", "spacing 0", [=](World &w) { return sd(w, w.mask.data(), W, 0, 95); });
    add("venseg_surface_distance", "percentile above 100", [=](World &w) { return sd(w, w.mask.data(), W, 1, 100.5); });
    add("venseg_surface_distance", "stride < width", [=](World &w) { return sd(w, w.mask.data(), W - 1, 1, 95); });
    add("venseg_compressibility", "NULL percent", [](World &) { return st(venseg_compressibility(10, 1, nullptr)); });
    add("venseg_compressibility", "negative area", [](World &) { double p; return st(venseg_compressibility(10, -1, &p)); });
    add("venseg_compressibility", "area before compression 0", [](World &) { double p; return st(venseg_compressibility(0, 0, &p)); });

    // tracker configuration
    add("venseg_tracker_config_create", "NULL out", [](World &) { return st(venseg_tracker_config_create(nullptr)); });
    add("venseg_tracker_config_free", "NULL config", [](World &) { venseg_tracker_config_free(nullptr); return noop(); });
    add("venseg_tracker_config_set", "NULL config", [](World &) { return st(venseg_tracker_config_set(nullptr, VENSEG_TRACKER_MIN_AREA_PX, 4)); });
    add("venseg_tracker_config_set", "unknown key", [](World &w) { return st(venseg_tracker_config_set(w.tcfg, venseg_tracker_key(0), 4)); });
    add("venseg_tracker_config_set", "NaN", [](World &w) { return st(venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_FRAME_RATE, NAN)); });
    add("venseg_tracker_config_set", "value above the key's range", [](World &w) { return st(venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_LOST_FRACTION, 1.5)); });
    add("venseg_tracker_config_set", "fraction for an integral key", [](World &w) { return st(venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_FRAME_STRIDE, 1.5)); });
    add("venseg_tracker_config_set", "even smoothing window", [](World &w) { return st(venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_SMOOTH_WINDOW, 4)); });
    add("venseg_tracker_config_get", "NULL config", [](World &) { double v; return st(venseg_tracker_config_get(nullptr, VENSEG_TRACKER_MIN_AREA_PX, &v)); });
    add("venseg_tracker_config_get", "NULL value", [](World &w) { return st(venseg_tracker_config_get(w.tcfg, VENSEG_TRACKER_MIN_AREA_PX, nullptr)); });
    add("venseg_tracker_config_get", "unknown key", [](World &w) { double v; return st(venseg_tracker_config_get(w.tcfg, venseg_tracker_key(99), &v)); });
    add("venseg_tracker_config_bounds", "NULL lower or upper", [](World &) { double l; return st(venseg_tracker_config_bounds(VENSEG_TRACKER_MIN_AREA_PX, &l, nullptr, nullptr)); });
    add("venseg_tracker_config_bounds", "unknown key", [](World &) { double l, u; return st(venseg_tracker_config_bounds(venseg_tracker_key(-1), &l, &u, nullptr)); });
    add("venseg_tracker_config_set_site", "NULL config", [](World &) { return st(venseg_tracker_config_set_site(nullptr, "femoral")); });
    add("venseg_tracker_config_set_site", "NULL site", [](World &w) { return st(venseg_tracker_config_set_site(w.tcfg, nullptr)); });
    add("venseg_tracker_config_set_site", "64 bytes or more", [](World &w) { return st(venseg_tracker_config_set_site(w.tcfg, std::string(64, 'a').c_str())); });
    add("venseg_tracker_config_set_site", "non-printable byte", [](World &w) { return st(venseg_tracker_config_set_site(w.tcfg, "pop\tliteal")); });
    add("venseg_tracker_config_site", "NULL config", [](World &) { return str(venseg_tracker_config_site(nullptr)); });
    add("venseg_verdict_name", "value not in the enum", [](World &) { return str(venseg_verdict_name(venseg_verdict(4))); });
    add("venseg_flag_name", "two flags at once", [](World &) { return str(venseg_flag_name(VENSEG_FLAG_NO_VEIN | VENSEG_FLAG_NO_ARTERY)); });

    // tracker
    static venseg_tracker *t_out;
    add("venseg_tracker_create", "NULL out", [](World &w) { return st(venseg_tracker_create(w.tcfg, nullptr)); });
    add("venseg_tracker_create", "spacing in x only", [](World &w) {
        venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_PIXEL_SPACING_X, 0.2);
        Result r = st(venseg_tracker_create(w.tcfg, &t_out));
        venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_PIXEL_SPACING_X, 0);
        return r;
    });
    add("venseg_tracker_create", "artery label = vein label", [](World &w) {
        venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_VEIN_LABEL, 1);
        Result r = st(venseg_tracker_create(w.tcfg, &t_out));
        venseg_tracker_config_set(w.tcfg, VENSEG_TRACKER_VEIN_LABEL, 2);
        return r;
    });
    add("venseg_tracker_free", "NULL tracker", [](World &) { venseg_tracker_free(nullptr); return noop(); });
    add("venseg_tracker_reset", "NULL tracker", [](World &) { return st(venseg_tracker_reset(nullptr)); });
    add("venseg_tracker_push_labels", "NULL tracker", [](World &w) { return st(venseg_tracker_push_labels(nullptr, w.labels.data(), W, W, H)); });
    add("venseg_tracker_push_labels", "NULL labels", [](World &w) { return st(venseg_tracker_push_labels(w.tracker, nullptr, W, W, H)); });
    add("venseg_tracker_push_labels", "width 0", [](World &w) { return st(venseg_tracker_push_labels(w.tracker, w.labels.data(), W, 0, H)); });
    add("venseg_tracker_push_labels", "stride < width", [](World &w) { return st(venseg_tracker_push_labels(w.tracker, w.labels.data(), W - 1, W, H)); });
    add("venseg_tracker_push_labels", "size differs from the sequence's", [](World &w) { return st(venseg_tracker_push_labels(w.tracker, w.labels.data(), W, W, H - 1)); });
    auto pf = [](World &w, venseg_tracker *t, venseg_session *s, const void *px, int fmt, int ht, int64_t rs, int64_t ms) {
        return st(venseg_tracker_push_frame(t, s, px, venseg_pixel_format(fmt), W, ht, rs, w.mask.data(), ms));
    };
    add("venseg_tracker_push_frame", "NULL tracker", [=](World &w) { return pf(w, nullptr, w.session, w.pixels.data(), 1, H, W, W); });
    add("venseg_tracker_push_frame", "NULL session", [=](World &w) { return pf(w, w.tracker, nullptr, w.pixels.data(), 1, H, W, W); });
    add("venseg_tracker_push_frame", "NULL pixels", [=](World &w) { return pf(w, w.tracker, w.session, nullptr, 1, H, W, W); });
    add("venseg_tracker_push_frame", "unknown pixel format", [=](World &w) { return pf(w, w.tracker, w.session, w.pixels.data(), 0, H, W, W); });
    add("venseg_tracker_push_frame", "row_stride < width x pixel size", [=](World &w) { return pf(w, w.tracker, w.session, w.pixels.data(), 2, H / 4, W, W); });
    add("venseg_tracker_push_frame", "mask_stride < width", [=](World &w) { return pf(w, w.tracker, w.session, w.pixels.data(), 1, H, W, W - 1); });
    add("venseg_tracker_push_frame", "size differs from the sequence's", [=](World &w) { return pf(w, w.tracker, w.session, w.pixels.data(), 1, H - 1, W, W); });
    add("venseg_tracker_push_frame", "session ROI outside the frame", [=](World &w) {
        venseg_session_set_roi(w.session, 0, H - 2, 4, 4);
        return pf(w, w.tracker, w.session, w.pixels.data(), 1, H, W, W);
    });
    add("venseg_tracker_push_labels_ex", "NULL tracker", [](World &w) { auto r = sized<venseg_push_result>(sizeof(venseg_push_result)); return st(venseg_tracker_push_labels_ex(nullptr, w.labels.data(), W, W, H, &r)); });
    add("venseg_tracker_push_labels_ex", "NULL labels", [](World &w) { auto r = sized<venseg_push_result>(sizeof(venseg_push_result)); return st(venseg_tracker_push_labels_ex(w.tracker, nullptr, W, W, H, &r)); });
    add("venseg_tracker_push_labels_ex", "stride < width", [](World &w) { auto r = sized<venseg_push_result>(sizeof(venseg_push_result)); return st(venseg_tracker_push_labels_ex(w.tracker, w.labels.data(), W - 1, W, H, &r)); });
    add("venseg_tracker_push_labels_ex", "result struct_size 0", [](World &w) { auto r = sized<venseg_push_result>(0); return st(venseg_tracker_push_labels_ex(w.tracker, w.labels.data(), W, W, H, &r)); });
    add("venseg_tracker_push_labels_ex", "NULL result", [](World &w) { return st(venseg_tracker_push_labels_ex(w.tracker, w.labels.data(), W, W, H, nullptr)); });
    auto pfx = [](World &w, venseg_tracker *t, const void *px, int fmt, venseg_push_result *r) {
        return st(venseg_tracker_push_frame_ex(t, w.session, px, venseg_pixel_format(fmt), W, H, W, w.mask.data(), W, r));
    };
    add("venseg_tracker_push_frame_ex", "NULL tracker", [=](World &w) { auto r = sized<venseg_push_result>(sizeof(venseg_push_result)); return pfx(w, nullptr, w.pixels.data(), 1, &r); });
    add("venseg_tracker_push_frame_ex", "NULL pixels", [=](World &w) { auto r = sized<venseg_push_result>(sizeof(venseg_push_result)); return pfx(w, w.tracker, nullptr, 1, &r); });
    add("venseg_tracker_push_frame_ex", "unknown pixel format", [=](World &w) { auto r = sized<venseg_push_result>(sizeof(venseg_push_result)); return pfx(w, w.tracker, w.pixels.data(), 0, &r); });
    add("venseg_tracker_push_frame_ex", "result struct_size 0", [=](World &w) { auto r = sized<venseg_push_result>(0); return pfx(w, w.tracker, w.pixels.data(), 1, &r); });
    add("venseg_tracker_push_frame_ex", "NULL result", [=](World &w) { return pfx(w, w.tracker, w.pixels.data(), 1, nullptr); });
    add("venseg_tracker_frame_count", "NULL tracker", [](World &) { int32_t n; return st(venseg_tracker_frame_count(nullptr, &n)); });
    add("venseg_tracker_frame_count", "NULL count", [](World &w) { return st(venseg_tracker_frame_count(w.tracker, nullptr)); });
    add("venseg_tracker_frame_at", "NULL tracker", [](World &) { auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame)); return st(venseg_tracker_frame_at(nullptr, 0, &f)); });
    add("venseg_tracker_frame", "NULL tracker", [](World &) { auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame)); return st(venseg_tracker_frame(nullptr, 0, &f)); });
    add("venseg_tracker_frame_at", "NULL out", [](World &w) { return st(venseg_tracker_frame_at(w.tracker, 0, nullptr)); });
    add("venseg_tracker_frame", "NULL out", [](World &w) { return st(venseg_tracker_frame(w.tracker, 0, nullptr)); });
    add("venseg_tracker_frame_at", "struct_size 0", [](World &w) { auto f = sized<venseg_track_frame>(0); return st(venseg_tracker_frame_at(w.tracker, 0, &f)); });
    add("venseg_tracker_frame", "struct_size 0", [](World &w) { auto f = sized<venseg_track_frame>(0); return st(venseg_tracker_frame(w.tracker, 0, &f)); });
    add("venseg_tracker_frame_at", "index = analysed frames", [](World &w) { auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame)); return st(venseg_tracker_frame_at(w.tracker, 1, &f)); });
    add("venseg_tracker_frame", "index = analysed frames", [](World &w) { auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame)); return st(venseg_tracker_frame(w.tracker, 1, &f)); });
    add("venseg_tracker_frame_at", "index -2", [](World &w) { auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame)); return st(venseg_tracker_frame_at(w.tracker, -2, &f)); });
    add("venseg_tracker_frame", "index -2", [](World &w) { auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame)); return st(venseg_tracker_frame(w.tracker, -2, &f)); });
    add("venseg_tracker_frame_at", "latest (-1) before any frame", [](World &w) {
        venseg_tracker_reset(w.tracker);
        auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame));
        return st(venseg_tracker_frame_at(w.tracker, -1, &f));
    });
    add("venseg_tracker_frame", "latest (-1) before any frame", [](World &w) {
        venseg_tracker_reset(w.tracker);
        auto f = sized<venseg_track_frame>(sizeof(venseg_track_frame));
        return st(venseg_tracker_frame(w.tracker, -1, &f));
    });
    add("venseg_tracker_vessel_count", "NULL tracker", [](World &) { int32_t n; return st(venseg_tracker_vessel_count(nullptr, &n)); });
    add("venseg_tracker_vessel_count", "NULL count", [](World &w) { return st(venseg_tracker_vessel_count(w.tracker, nullptr)); });
    add("venseg_tracker_vessel_at", "NULL tracker", [](World &) { auto v = sized<venseg_vessel>(sizeof(venseg_vessel)); return st(venseg_tracker_vessel_at(nullptr, 0, &v)); });
    add("venseg_tracker_vessel_at", "NULL out", [](World &w) { return st(venseg_tracker_vessel_at(w.tracker, 0, nullptr)); });
    add("venseg_tracker_vessel_at", "struct_size 0", [](World &w) { auto v = sized<venseg_vessel>(0); return st(venseg_tracker_vessel_at(w.tracker, 0, &v)); });
    add("venseg_tracker_vessel_at", "index = vessel count", [](World &w) { int32_t n = 0; venseg_tracker_vessel_count(w.tracker, &n); auto v = sized<venseg_vessel>(sizeof(venseg_vessel)); return st(venseg_tracker_vessel_at(w.tracker, n, &v)); });
    add("venseg_identity_name", "value not in the enum", [](World &) { return str(venseg_identity_name(venseg_vessel_identity(9))); });
    add("venseg_tracker_instance_count", "NULL tracker", [](World &) { int32_t n; return st(venseg_tracker_instance_count(nullptr, &n)); });
    add("venseg_tracker_instance_count", "NULL count", [](World &w) { return st(venseg_tracker_instance_count(w.tracker, nullptr)); });
    add("venseg_tracker_instance_at", "NULL tracker", [](World &) { auto i = sized<venseg_tracked_instance>(sizeof(venseg_tracked_instance)); return st(venseg_tracker_instance_at(nullptr, 0, &i)); });
    add("venseg_tracker_instance", "NULL tracker", [](World &) { auto i = sized<venseg_tracked_instance>(sizeof(venseg_tracked_instance)); return st(venseg_tracker_instance(nullptr, 0, &i)); });
    add("venseg_tracker_instance_at", "NULL out", [](World &w) { return st(venseg_tracker_instance_at(w.tracker, 0, nullptr)); });
    add("venseg_tracker_instance", "NULL out", [](World &w) { return st(venseg_tracker_instance(w.tracker, 0, nullptr)); });
    add("venseg_tracker_instance_at", "struct_size 0", [](World &w) { auto i = sized<venseg_tracked_instance>(0); return st(venseg_tracker_instance_at(w.tracker, 0, &i)); });
    add("venseg_tracker_instance", "struct_size 0", [](World &w) { auto i = sized<venseg_tracked_instance>(0); return st(venseg_tracker_instance(w.tracker, 0, &i)); });
    add("venseg_tracker_instance_at", "index -1", [](World &w) { auto i = sized<venseg_tracked_instance>(sizeof(venseg_tracked_instance)); return st(venseg_tracker_instance_at(w.tracker, -1, &i)); });
    add("venseg_tracker_instance", "index -1", [](World &w) { auto i = sized<venseg_tracked_instance>(sizeof(venseg_tracked_instance)); return st(venseg_tracker_instance(w.tracker, -1, &i)); });
    add("venseg_tracker_summary_get", "NULL tracker", [](World &) { auto s = sized<venseg_track_summary>(sizeof(venseg_track_summary)); return st(venseg_tracker_summary_get(nullptr, &s)); });
    add("venseg_tracker_summary", "NULL tracker", [](World &) { auto s = sized<venseg_track_summary>(sizeof(venseg_track_summary)); return st(venseg_tracker_summary(nullptr, &s)); });
    add("venseg_tracker_summary_get", "NULL out", [](World &w) { return st(venseg_tracker_summary_get(w.tracker, nullptr)); });
    add("venseg_tracker_summary", "NULL out", [](World &w) { return st(venseg_tracker_summary(w.tracker, nullptr)); });
    add("venseg_tracker_summary_get", "struct_size 0", [](World &w) { auto s = sized<venseg_track_summary>(0); return st(venseg_tracker_summary_get(w.tracker, &s)); });
    add("venseg_tracker_summary", "struct_size 0", [](World &w) { auto s = sized<venseg_track_summary>(0); return st(venseg_tracker_summary(w.tracker, &s)); });
    auto curve = [](venseg_tracker *t, int unit, int32_t cap, bool count) {
        static int32_t n, fi[4];
        static double v[4];
        return st(venseg_tracker_curve(t, venseg_area_unit(unit), cap, count ? &n : nullptr, fi, v, v, v));
    };
    add("venseg_tracker_curve", "NULL tracker", [=](World &) { return curve(nullptr, 0, 4, true); });
    add("venseg_tracker_curve", "NULL count", [=](World &w) { return curve(w.tracker, 0, 4, false); });
    add("venseg_tracker_curve", "unknown unit", [=](World &w) { return curve(w.tracker, 2, 4, true); });
    add("venseg_tracker_curve", "negative capacity", [=](World &w) { return curve(w.tracker, 0, -1, true); });
    add("venseg_tracker_curve", "capacity < analysed frames", [=](World &w) { return curve(w.tracker, 0, 0, true); });
    add("venseg_tracker_curve", "mm2 without pixel spacing", [=](World &w) { return curve(w.tracker, 1, 4, true); });

    // exam
    static venseg_exam *e_out;
    add("venseg_exam_outcome_name", "value not in the enum", [](World &) { return str(venseg_exam_outcome_name(venseg_exam_outcome(-1))); });
    add("venseg_exam_create", "NULL out", [](World &) { return st(venseg_exam_create(VENSEG_EXAM_CUSTOM, nullptr)); });
    add("venseg_exam_create", "unknown protocol", [](World &) { return st(venseg_exam_create(venseg_exam_protocol(1), &e_out)); });
    add("venseg_exam_free", "NULL exam", [](World &) { venseg_exam_free(nullptr); return noop(); });
    add("venseg_exam_add", "NULL exam", [](World &w) { return st(venseg_exam_add(nullptr, w.tracker)); });
    add("venseg_exam_add", "NULL tracker", [](World &w) { return st(venseg_exam_add(w.exam, nullptr)); });
    add("venseg_exam_add", "tracker without a site", [](World &w) {
        venseg_tracker *t = nullptr;
        venseg_tracker_create(nullptr, &t);
        Result r = st(venseg_exam_add(w.exam, t));
        venseg_tracker_free(t);
        return r;
    });
    add("venseg_exam_add", "a 65th site (exam full)", [](World &w) {
        // new sites until one is refused; the World tracker's "popliteal" is among them
        // (the protocol's required sites count too), so re-adding it still works after
        venseg_exam_add(w.exam, w.tracker);
        venseg_tracker_config *c = nullptr;
        venseg_tracker_config_create(&c);
        venseg_status s = VENSEG_OK;
        for (int i = 0; i < 100 && s == VENSEG_OK; i++) {
            venseg_tracker *t = nullptr;
            venseg_tracker_config_set_site(c, ("site" + std::to_string(i)).c_str());
            venseg_tracker_create(c, &t);
            s = venseg_exam_add(w.exam, t);
            venseg_tracker_free(t);
        }
        Result r = st(s);
        venseg_tracker_config_free(c);
        auto rep = sized<venseg_exam_report>(sizeof(venseg_exam_report));
        venseg_exam_report_get(w.exam, &rep);
        if (rep.site_count != 64) r.value += " after " + std::to_string(rep.site_count) + " sites, not 64";
        return r;
    });
    add("venseg_exam_report_get", "NULL exam", [](World &) { auto r = sized<venseg_exam_report>(sizeof(venseg_exam_report)); return st(venseg_exam_report_get(nullptr, &r)); });
    add("venseg_exam_report_get", "NULL out", [](World &w) { return st(venseg_exam_report_get(w.exam, nullptr)); });
    add("venseg_exam_report_get", "struct_size 0", [](World &w) { auto r = sized<venseg_exam_report>(0); return st(venseg_exam_report_get(w.exam, &r)); });
    add("venseg_exam_site_count", "NULL exam", [](World &) { int32_t n; return st(venseg_exam_site_count(nullptr, &n)); });
    add("venseg_exam_site_count", "NULL count", [](World &w) { return st(venseg_exam_site_count(w.exam, nullptr)); });
    add("venseg_exam_site_at", "NULL exam", [](World &) { auto s = sized<venseg_exam_site>(sizeof(venseg_exam_site)); return st(venseg_exam_site_at(nullptr, 0, &s)); });
    add("venseg_exam_site_at", "NULL out", [](World &w) { return st(venseg_exam_site_at(w.exam, 0, nullptr)); });
    add("venseg_exam_site_at", "struct_size 0", [](World &w) { auto s = sized<venseg_exam_site>(0); return st(venseg_exam_site_at(w.exam, 0, &s)); });
    add("venseg_exam_site_at", "index = site count", [](World &w) {
        auto r = sized<venseg_exam_report>(sizeof(venseg_exam_report));
        venseg_exam_report_get(w.exam, &r);
        auto s = sized<venseg_exam_site>(sizeof(venseg_exam_site));
        return st(venseg_exam_site_at(w.exam, r.site_count, &s));
    });

    // phantom
    add("venseg_phantom_config_create", "NULL out", [](World &) { return st(venseg_phantom_config_create(nullptr)); });
    add("venseg_phantom_config_free", "NULL config", [](World &) { venseg_phantom_config_free(nullptr); return noop(); });
    add("venseg_phantom_config_set", "NULL config", [](World &) { return st(venseg_phantom_config_set(nullptr, VENSEG_PHANTOM_SEED, 1)); });
    add("venseg_phantom_config_set", "unknown key", [](World &w) { return st(venseg_phantom_config_set(w.pcfg, venseg_phantom_key(99), 1)); });
    add("venseg_phantom_config_set", "NaN", [](World &w) { return st(venseg_phantom_config_set(w.pcfg, VENSEG_PHANTOM_NOISE, NAN)); });
    add("venseg_phantom_config_set", "value above the key's range", [](World &w) { return st(venseg_phantom_config_set(w.pcfg, VENSEG_PHANTOM_NOISE, 2)); });
    add("venseg_phantom_config_set", "fraction for an integral key", [](World &w) { return st(venseg_phantom_config_set(w.pcfg, VENSEG_PHANTOM_FRAMES, 2.5)); });
    add("venseg_phantom_config_get", "NULL config", [](World &) { double v; return st(venseg_phantom_config_get(nullptr, VENSEG_PHANTOM_SEED, &v)); });
    add("venseg_phantom_config_get", "NULL value", [](World &w) { return st(venseg_phantom_config_get(w.pcfg, VENSEG_PHANTOM_SEED, nullptr)); });
    add("venseg_phantom_config_get", "unknown key", [](World &w) { double v; return st(venseg_phantom_config_get(w.pcfg, venseg_phantom_key(0), &v)); });
    add("venseg_phantom_config_bounds", "NULL lower or upper", [](World &) { double l; return st(venseg_phantom_config_bounds(VENSEG_PHANTOM_SEED, &l, nullptr, nullptr)); });
    add("venseg_phantom_config_bounds", "unknown key", [](World &) { double l, u; return st(venseg_phantom_config_bounds(venseg_phantom_key(99), &l, &u, nullptr)); });
    add("venseg_phantom_create", "NULL out", [](World &w) { return st(venseg_phantom_create(w.pcfg, nullptr)); });
    add("venseg_phantom_free", "NULL phantom", [](World &) { venseg_phantom_free(nullptr); return noop(); });
    add("venseg_phantom_frame", "NULL phantom", [](World &w) { return st(venseg_phantom_frame(nullptr, 0, w.pixels.data(), W, nullptr, 0)); });
    add("venseg_phantom_frame", "index -1", [](World &w) { return st(venseg_phantom_frame(w.phantom, -1, w.pixels.data(), W, nullptr, 0)); });
    add("venseg_phantom_frame", "index = frame count", [](World &w) { return st(venseg_phantom_frame(w.phantom, 3, w.pixels.data(), W, nullptr, 0)); });
    add("venseg_phantom_frame", "pixel stride < width", [](World &w) { return st(venseg_phantom_frame(w.phantom, 0, w.pixels.data(), W - 1, nullptr, 0)); });
    add("venseg_phantom_frame", "label stride < width", [](World &w) { return st(venseg_phantom_frame(w.phantom, 0, nullptr, 0, w.labels.data(), W - 1)); });
    add("venseg_phantom_truth_at", "NULL phantom", [](World &) { auto t = sized<venseg_phantom_truth>(sizeof(venseg_phantom_truth)); return st(venseg_phantom_truth_at(nullptr, 0, &t)); });
    add("venseg_phantom_truth_get", "NULL phantom", [](World &) { auto t = sized<venseg_phantom_truth>(sizeof(venseg_phantom_truth)); return st(venseg_phantom_truth_get(nullptr, 0, &t)); });
    add("venseg_phantom_truth_at", "NULL out", [](World &w) { return st(venseg_phantom_truth_at(w.phantom, 0, nullptr)); });
    add("venseg_phantom_truth_get", "NULL out", [](World &w) { return st(venseg_phantom_truth_get(w.phantom, 0, nullptr)); });
    add("venseg_phantom_truth_at", "struct_size 0", [](World &w) { auto t = sized<venseg_phantom_truth>(0); return st(venseg_phantom_truth_at(w.phantom, 0, &t)); });
    add("venseg_phantom_truth_get", "struct_size 0", [](World &w) { auto t = sized<venseg_phantom_truth>(0); return st(venseg_phantom_truth_get(w.phantom, 0, &t)); });
    add("venseg_phantom_truth_at", "index = frame count", [](World &w) { auto t = sized<venseg_phantom_truth>(sizeof(venseg_phantom_truth)); return st(venseg_phantom_truth_at(w.phantom, 3, &t)); });
    add("venseg_phantom_truth_get", "index = frame count", [](World &w) { auto t = sized<venseg_phantom_truth>(sizeof(venseg_phantom_truth)); return st(venseg_phantom_truth_get(w.phantom, 3, &t)); });
    return c;
}

struct Row {
    std::string function, what, returns;
    int line;
};

std::string strip(std::string s) {
    const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
    if (s.size() >= 2 && s.front() == '`' && s.back() == '`') s = s.substr(1, s.size() - 2);
    return s;
}

std::vector<Row> table() {
    std::ifstream in(std::string(VENSEG_SOURCE_DIR) + "/ABI.md");
    std::vector<Row> rows;
    std::string line;
    bool inside = false;
    for (int n = 1; std::getline(in, line); n++) {
        if (line.find("<!-- abi-table:begin -->") != std::string::npos) inside = true;
        else if (line.find("<!-- abi-table:end -->") != std::string::npos) inside = false;
        else if (inside && line.rfind("| `venseg_", 0) == 0) {
            std::vector<std::string> cells;
            std::stringstream ss(line.substr(1));
            for (std::string cell; std::getline(ss, cell, '|');) cells.push_back(strip(cell));
            EXPECT_EQ(cells.size(), 3u) << "ABI.md:" << n << ": " << line;
            if (cells.size() >= 3) rows.push_back({cells[0], cells[1], cells[2], n});
        }
    }
    return rows;
}

std::set<std::string> public_functions() {
    std::set<std::string> names;
    const std::regex decl(R"(VENSEG_API[^(]*?\b(venseg_[a-z0-9_]+)\s*\()");
    for (const char *h : {"venseg.h", "venseg_tracking.h"}) {
        std::ifstream in(std::string(VENSEG_SOURCE_DIR) + "/include/venseg/" + h);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string text = ss.str();
        EXPECT_FALSE(text.empty()) << h;
        for (std::sregex_iterator it(text.begin(), text.end(), decl), end; it != end; ++it) names.insert((*it)[1]);
    }
    return names;
}

} // namespace

TEST(AbiTable, EveryRowHoldsAndObjectsStayUsable) {
    const auto rows = table();
    ASSERT_GT(rows.size(), 100u) << "the table in ABI.md was not found";
    auto impl = cases();
    std::set<std::string> seen;
    for (const Row &r : rows) {
        const std::string key = r.function + " | " + r.what;
        SCOPED_TRACE("ABI.md:" + std::to_string(r.line) + ": " + key);
        EXPECT_TRUE(seen.insert(key).second) << "duplicate row";
        auto it = impl.find(key);
        if (it == impl.end()) {
            ADD_FAILURE() << "row without a case in tests/test_abi_table.cpp";
            continue;
        }
        World w;
        const Result got = it->second(w);
        EXPECT_EQ(got.value, r.returns);
        if (got.is_status && got.value != "OK") EXPECT_NE(got.detail, "") << "a failed call must say why";
        w.expect_usable();
    }
    for (const auto &kv : impl) EXPECT_TRUE(seen.count(kv.first)) << "case without a row in ABI.md: " << kv.first;
}

TEST(AbiTable, EveryPublicFunctionHasARow) {
    std::set<std::string> in_table;
    for (const Row &r : table()) in_table.insert(r.function);
    const auto api = public_functions();
    EXPECT_GT(api.size(), 60u);
    for (const auto &f : api) EXPECT_TRUE(in_table.count(f)) << f << " (declared in a public header) has no row in ABI.md";
    for (const auto &f : in_table) EXPECT_TRUE(api.count(f)) << f << " is in ABI.md's table but in no public header";
}
