// The CUDA backend (the separately loaded module libvenseg_cuda). Without a GPU the
// CPU-side contract is tested: libvenseg needs no CUDA library, asking for CUDA gives a
// named error at session creation, AUTO falls back to the CPU and says so, a missing
// or foreign module is a named error. With a GPU: fp32 parity against the reference
// backend (tiny and shipped model), fp16 masks against fp32 (Dice), batches, CUDA-graph
// replay and device selection. GPU tests skip, saying why, when no device is usable.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <elf.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "test_helpers.hpp"

namespace {

bool cuda_built() { return std::string(venseg_build_info()).find(",cuda") != std::string::npos; }

OptionsPtr options(int backend, int precision, int device = 0, int tf32 = 0) {
    venseg_options *raw = nullptr;
    EXPECT_EQ(venseg_options_create(&raw), VENSEG_OK);
    OptionsPtr o(raw);
    EXPECT_EQ(venseg_options_set(o.get(), VENSEG_OPT_BACKEND, backend), VENSEG_OK);
    EXPECT_EQ(venseg_options_set(o.get(), VENSEG_OPT_PRECISION, precision), VENSEG_OK);
    EXPECT_EQ(venseg_options_set(o.get(), VENSEG_OPT_DEVICE, device), VENSEG_OK);
    EXPECT_EQ(venseg_options_set(o.get(), VENSEG_OPT_ALLOW_TF32, tf32), VENSEG_OK);
    return o;
}

SessionPtr open_session(const venseg_model *m, int backend, int precision, venseg_status *st = nullptr, int device = 0,
                int tf32 = 0) {
    auto o = options(backend, precision, device, tf32);
    venseg_session *s = nullptr;
    venseg_status r = venseg_session_create(m, o.get(), &s);
    if (st) *st = r;
    return SessionPtr(s);
}

ModelPtr load(const std::string &path) {
    venseg_status st;
    auto m = load_model(read_bytes(path), &st);
    EXPECT_EQ(st, VENSEG_OK) << path << ": " << venseg_last_error();
    return m;
}

ModelPtr tiny() { return load(data_path("tiny_plain_unet.vseg")); }
std::string shipped_path() { return std::string(VENSEG_SOURCE_DIR) + "/weights/resunet34.vseg"; }

// Why CUDA cannot run here ("" when it can).
std::string cuda_unavailable() {
    static const std::string why = [] {
        auto m = tiny();
        venseg_status st;
        auto s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
        return st == VENSEG_OK ? std::string() : std::string(venseg_status_name(st)) + ": " + venseg_last_error();
    }();
    return why;
}

#define REQUIRE_GPU()                                                                        \
    do {                                                                                     \
        if (!cuda_unavailable().empty()) GTEST_SKIP() << "no usable CUDA backend: " << cuda_unavailable(); \
    } while (0)

std::string library_path() {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void *>(&venseg_version_string), &info) || !info.dli_fname) return "";
    return info.dli_fname;
}

// DT_NEEDED entries of an ELF64 shared object, read from its section headers.
std::vector<std::string> needed(const std::string &path) {
    auto b = read_bytes(path);
    std::vector<std::string> out;
    if (b.size() < sizeof(Elf64_Ehdr) || std::memcmp(b.data(), ELFMAG, SELFMAG) != 0 || b[EI_CLASS] != ELFCLASS64)
        return out;
    Elf64_Ehdr eh;
    std::memcpy(&eh, b.data(), sizeof eh);
    auto section = [&](int i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, b.data() + eh.e_shoff + size_t(i) * eh.e_shentsize, sizeof sh);
        return sh;
    };
    for (int i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh = section(i);
        if (sh.sh_type != SHT_DYNAMIC) continue;
        Elf64_Shdr str = section(int(sh.sh_link));
        for (size_t off = 0; off + sizeof(Elf64_Dyn) <= sh.sh_size; off += sizeof(Elf64_Dyn)) {
            Elf64_Dyn d;
            std::memcpy(&d, b.data() + sh.sh_offset + off, sizeof d);
            if (d.d_tag == DT_NULL) break;
            if (d.d_tag == DT_NEEDED) out.emplace_back(reinterpret_cast<const char *>(b.data() + str.sh_offset + d.d_un.d_val));
        }
    }
    return out;
}

std::vector<float> random_input(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    std::vector<float> x(n);
    for (auto &v : x) v = u(rng);
    return x;
}

std::vector<float> logits(venseg_session *s, const std::vector<float> &x, int n, int c, int h, int w, int classes) {
    std::vector<float> y(size_t(n) * classes * h * w, NAN);
    EXPECT_EQ(venseg_session_run_tensor(s, x.data(), n, c, h, w, 0, y.data()), VENSEG_OK) << venseg_last_error();
    return y;
}

double max_abs_diff(const std::vector<float> &a, const std::vector<float> &b) {
    double e = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs(double(a[i]) - double(b[i]));
        if (!(d <= e)) e = std::isnan(d) ? INFINITY : d;
    }
    return e;
}

// Logits of the CUDA backend against the reference on one input.
void expect_fp32_parity(const venseg_model *m, int n, int h, int w, double tolerance) {
    int32_t classes = 0;
    ASSERT_EQ(venseg_model_num_classes(m, &classes), VENSEG_OK);
    venseg_status st;
    auto gpu = open_session(m, VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    auto ref = open_session(m, VENSEG_BACKEND_REFERENCE, VENSEG_PRECISION_FP32, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    const int c = 1;
    auto x = random_input(size_t(n) * c * h * w, 7);
    auto a = logits(gpu.get(), x, n, c, h, w, classes), b = logits(ref.get(), x, n, c, h, w, classes);
    const double e = max_abs_diff(a, b);
    testing::Test::RecordProperty("max_abs_diff", std::to_string(e));
    EXPECT_LE(e, tolerance) << venseg_session_describe(gpu.get());
    std::printf("fp32 parity %dx%dx%d: max |cuda - reference| = %.3g (%s)\n", n, h, w, e,
                venseg_session_describe(gpu.get()));
}

} // namespace

// ------------------------------------------------------------------ CPU side

TEST(Cuda, LibraryNeedsNoCudaLibraries) {
    const std::string lib = library_path();
    ASSERT_FALSE(lib.empty());
    auto deps = needed(lib);
    ASSERT_FALSE(deps.empty()) << lib << " has no DT_NEEDED entries (not a shared library?)";
    for (const auto &d : deps)
        for (const char *cuda : {"cudart", "cudnn", "libcuda", "cublas", "nvrtc"})
            EXPECT_EQ(d.find(cuda), std::string::npos) << lib << " needs " << d;
    if (!cuda_built()) return;
    const std::string module = lib.substr(0, lib.rfind('/') + 1) + "libvenseg_cuda.so." + std::to_string(VENSEG_ABI_VERSION);
    auto mdeps = needed(module);
    ASSERT_FALSE(mdeps.empty()) << module << " is missing next to " << lib;
    bool cudnn = false;
    for (const auto &d : mdeps) cudnn = cudnn || d.find("libcudnn") == 0;
    EXPECT_TRUE(cudnn) << "the module links cuDNN";
}

TEST(Cuda, RequestWithoutDeviceIsNamedErrorAtSessionCreation) {
    if (cuda_unavailable().empty()) GTEST_SKIP() << "a CUDA device is usable here: nothing to refuse";
    auto m = tiny();
    venseg_status st;
    auto s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(st, VENSEG_E_UNSUPPORTED) << venseg_last_error();
    const std::string why = venseg_last_error();
    EXPECT_NE(why.find("CUDA"), std::string::npos) << why;
    if (cuda_built())
        EXPECT_TRUE(why.find("no usable CUDA device") != std::string::npos || why.find("not installed") != std::string::npos)
            << why;
    else
        EXPECT_NE(why.find("not built"), std::string::npos) << why;
}

TEST(Cuda, AutoFallsBackToCpuAndSaysSo) {
    auto m = tiny();
    venseg_status st;
    auto s = open_session(m.get(), VENSEG_BACKEND_AUTO, VENSEG_PRECISION_FP32, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    int64_t backend = -1;
    ASSERT_EQ(venseg_session_get(s.get(), VENSEG_OPT_BACKEND, &backend), VENSEG_OK);
    if (cuda_unavailable().empty()) {
        EXPECT_EQ(backend, VENSEG_BACKEND_CUDA) << "AUTO takes a usable GPU";
        return;
    }
    EXPECT_NE(backend, VENSEG_BACKEND_CUDA);
    if (!cuda_built()) return; /* nothing to fall back from */
    EXPECT_NE(std::string(venseg_session_describe(s.get())).find("AUTO fell back to the CPU"), std::string::npos)
        << venseg_session_describe(s.get());
    int32_t mult = 0;
    ASSERT_EQ(venseg_model_input_multiple(m.get(), &mult), VENSEG_OK);
    int32_t classes = 0;
    ASSERT_EQ(venseg_model_num_classes(m.get(), &classes), VENSEG_OK);
    auto x = random_input(size_t(mult) * mult, 1);
    logits(s.get(), x, 1, 1, mult, mult, classes);
    const std::string planned = venseg_session_describe(s.get());
    EXPECT_NE(planned.find("AUTO fell back to the CPU"), std::string::npos) << planned;
    EXPECT_EQ(planned.find("not planned"), std::string::npos) << "the description is the plan's: " << planned;
}

TEST(Cuda, MissingOrForeignModuleIsNamedError) {
    if (!cuda_built()) GTEST_SKIP() << "CUDA module not built (" << venseg_build_info() << ")";
    auto m = tiny();
    struct Restore {
        ~Restore() { unsetenv("VENSEG_CUDA_MODULE"); }
    } restore;
    venseg_status st;
    setenv("VENSEG_CUDA_MODULE", "/nonexistent/libvenseg_cuda.so.1", 1);
    auto s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(st, VENSEG_E_UNSUPPORTED);
    EXPECT_NE(std::string(venseg_last_error()).find("no such file"), std::string::npos) << venseg_last_error();

    setenv("VENSEG_CUDA_MODULE", data_path("tiny_plain_unet.vseg").c_str(), 1); /* not a shared object */
    s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
    EXPECT_EQ(st, VENSEG_E_BACKEND);
    EXPECT_NE(std::string(venseg_last_error()).find("cannot load"), std::string::npos) << venseg_last_error();

    setenv("VENSEG_CUDA_MODULE", library_path().c_str(), 1); /* a shared object without the entry point */
    s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
    EXPECT_EQ(st, VENSEG_E_BACKEND);
    EXPECT_NE(std::string(venseg_last_error()).find("venseg_cuda_module_open"), std::string::npos) << venseg_last_error();

    /* AUTO still gets a CPU session, and says why */
    s = open_session(m.get(), VENSEG_BACKEND_AUTO, VENSEG_PRECISION_FP32, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    EXPECT_NE(std::string(venseg_session_describe(s.get())).find("AUTO fell back to the CPU"), std::string::npos);
}

TEST(Cuda, OnlyFp32AndFp16) {
    auto m = tiny();
    for (int p : {VENSEG_PRECISION_BF16, VENSEG_PRECISION_INT8}) {
        venseg_status st;
        auto s = open_session(m.get(), VENSEG_BACKEND_CUDA, p, &st);
        EXPECT_EQ(st, VENSEG_E_UNSUPPORTED);
        EXPECT_EQ(s, nullptr);
    }
}

TEST(Cuda, Tf32OptionIsBounded) {
    int64_t lo = -1, hi = -1;
    ASSERT_EQ(venseg_option_bounds(VENSEG_OPT_ALLOW_TF32, &lo, &hi), VENSEG_OK);
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 1);
    venseg_options *raw = nullptr;
    ASSERT_EQ(venseg_options_create(&raw), VENSEG_OK);
    OptionsPtr o(raw);
    int64_t v = -1;
    ASSERT_EQ(venseg_options_get(o.get(), VENSEG_OPT_ALLOW_TF32, &v), VENSEG_OK);
    EXPECT_EQ(v, 0) << "strict fp32 by default";
    EXPECT_EQ(venseg_options_set(o.get(), VENSEG_OPT_ALLOW_TF32, 2), VENSEG_E_INVALID_ARGUMENT);
}

// ------------------------------------------------------------------ GPU

TEST(Cuda, DeviceSelection) {
    REQUIRE_GPU();
    auto m = tiny();
    venseg_status st;
    auto s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st, 64);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(st, VENSEG_E_UNSUPPORTED);
    EXPECT_NE(std::string(venseg_last_error()).find("device 64 requested"), std::string::npos) << venseg_last_error();
    s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st, 0);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    int64_t dev = -1;
    ASSERT_EQ(venseg_session_get(s.get(), VENSEG_OPT_DEVICE, &dev), VENSEG_OK);
    EXPECT_EQ(dev, 0);
}

TEST(Cuda, TinyModelFp32MatchesReference) {
    REQUIRE_GPU();
    auto m = tiny();
    int32_t mult = 0;
    ASSERT_EQ(venseg_model_input_multiple(m.get(), &mult), VENSEG_OK);
    expect_fp32_parity(m.get(), 1, 4 * mult, 6 * mult, 1e-3);
    expect_fp32_parity(m.get(), 3, 2 * mult, 2 * mult, 1e-3);
}

TEST(Cuda, ShippedModelFp32MatchesReference) {
    REQUIRE_GPU();
    auto m = load(shipped_path());
    expect_fp32_parity(m.get(), 2, 256, 256, 1e-3);
}

TEST(Cuda, BatchEqualsImageByImage) {
    REQUIRE_GPU();
    auto m = load(shipped_path());
    venseg_status st;
    auto s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    const int n = 5, h = 128, w = 160;
    auto x = random_input(size_t(n) * h * w, 3);
    auto batch = logits(s.get(), x, n, 1, h, w, 2);
    const size_t in = size_t(h) * w, out = 2 * in;
    double e = 0;
    for (int i = 0; i < n; i++) {
        std::vector<float> xi(x.begin() + i * in, x.begin() + (i + 1) * in);
        auto yi = logits(s.get(), xi, 1, 1, h, w, 2);
        e = std::max(e, max_abs_diff(yi, std::vector<float>(batch.begin() + i * out, batch.begin() + (i + 1) * out)));
    }
    EXPECT_LE(e, 1e-4) << "batch of 5 against 5 single images";
}

TEST(Cuda, GraphReplayIsBitIdenticalAndMatchesEagerRuns) {
    REQUIRE_GPU();
    auto m = load(shipped_path());
    venseg_status st;
    auto s = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP16, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    auto x = random_input(size_t(2) * 256 * 256, 5);
    auto a = logits(s.get(), x, 2, 1, 256, 256, 2), b = logits(s.get(), x, 2, 1, 256, 256, 2);
    EXPECT_EQ(max_abs_diff(a, b), 0.0) << "replays of one CUDA graph";
    const std::string d = venseg_session_describe(s.get());
    EXPECT_NE(d.find("CUDA graph"), std::string::npos) << d;
    setenv("VENSEG_CUDA_GRAPHS", "0", 1);
    auto eager = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP16, &st);
    unsetenv("VENSEG_CUDA_GRAPHS");
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    auto c = logits(eager.get(), x, 2, 1, 256, 256, 2);
    EXPECT_NE(std::string(venseg_session_describe(eager.get())).find("no CUDA graph"), std::string::npos);
    double scale = 0;
    for (float v : a) scale = std::max(scale, double(std::fabs(v)));
    /* separate plans may measure different algorithms: fp16 rounding apart */
    EXPECT_LE(max_abs_diff(a, c), 2e-2 * std::max(1.0, scale));
}

// fp16 (and TF32) label masks against fp32 on phantom frames: Dice per class >= 0.99.
TEST(Cuda, ShippedModelFp16MasksMatchFp32) {
    REQUIRE_GPU();
    auto m = load(shipped_path());
    venseg_phantom *raw = nullptr;
    ASSERT_EQ(venseg_phantom_create(nullptr, &raw), VENSEG_OK);
    std::unique_ptr<venseg_phantom, void (*)(venseg_phantom *)> ph(raw, venseg_phantom_free);
    venseg_status st;
    auto f32 = open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    for (int variant = 0; variant < 2; variant++) {
        auto other = variant == 0 ? open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP16, &st)
                                  : open_session(m.get(), VENSEG_BACKEND_CUDA, VENSEG_PRECISION_FP32, &st, 0, 1);
        ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
        long long inter[3] = {0, 0, 0}, sum[3] = {0, 0, 0};
        const int W = 256, H = 256;
        std::vector<uint8_t> px(size_t(W) * H), a(px.size()), b(px.size());
        for (int f = 0; f < 90; f += 10) {
            ASSERT_EQ(venseg_phantom_frame(ph.get(), f, px.data(), W, nullptr, 0), VENSEG_OK);
            ASSERT_EQ(venseg_segment(f32.get(), px.data(), VENSEG_PIXEL_GRAY8, W, H, W, a.data(), W, nullptr, 0), VENSEG_OK)
                << venseg_last_error();
            ASSERT_EQ(venseg_segment(other.get(), px.data(), VENSEG_PIXEL_GRAY8, W, H, W, b.data(), W, nullptr, 0),
                      VENSEG_OK)
                << venseg_last_error();
            for (size_t i = 0; i < px.size(); i++)
                for (int c = 1; c <= 2; c++) {
                    inter[c] += a[i] == c && b[i] == c;
                    sum[c] += (a[i] == c) + (b[i] == c);
                }
        }
        const char *name = variant == 0 ? "fp16" : "tf32";
        int checked = 0;
        for (int c = 1; c <= 2; c++) {
            if (sum[c] < 400) { /* too few pixels for a Dice of 0.99 to mean anything */
                std::printf("%s vs fp32, class %d: only %lld px in the masks, not compared\n", name, c, sum[c] / 2);
                continue;
            }
            checked++;
            const double dice = 2.0 * double(inter[c]) / double(sum[c]);
            std::printf("%s vs fp32, class %d: Dice %.5f over %lld px\n", name, c, dice, sum[c] / 2);
            EXPECT_GE(dice, 0.99) << name << " class " << c << " (" << venseg_session_describe(other.get()) << ")";
        }
        EXPECT_GT(checked, 0) << "the shipped model found no vessel in the phantom frames: nothing to compare";
    }
}
