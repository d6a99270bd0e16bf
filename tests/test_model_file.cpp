// The weights reader: valid files in every storage form, every structural error, and
// the corruption loop (truncate / flip a bit at every byte offset).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "test_helpers.hpp"
#include "vseg_test_writer.hpp"

using namespace vsegtest;

namespace {

// Max |difference| of the tiny model's output against the PyTorch golden.
double golden_error(venseg_model *m) {
    auto in = read_array<float>(data_path("tiny_plain_unet_input.bin"));
    auto golden = read_array<float>(data_path("tiny_plain_unet_golden.bin"));
    auto s = make_session(m);
    if (!s) return 1e9;
    std::vector<float> out(golden.size());
    int32_t w, h, c;
    venseg_model_input_size(m, &w, &h, &c);
    if (venseg_session_run_tensor(s.get(), in.data(), 1, c, h, w, 1, out.data()) != VENSEG_OK) return 1e9;
    double e = 0;
    for (size_t i = 0; i < out.size(); i++) e = std::max(e, double(std::fabs(out[i] - golden[i])));
    return e;
}

venseg_status load_status(const std::vector<uint8_t> &b) {
    venseg_model *m = nullptr;
    venseg_status st = venseg_model_load_memory(b.data(), b.size(), &m);
    venseg_model_free(m);
    return st;
}

venseg_status load_status(const File &f) { return load_status(encode(f)); }

} // namespace

TEST(ModelFile, FixturesMatchPyTorchGolden) {
    for (const char *name : {"tiny_plain_unet.vseg", "tiny_plain_unet_deflate.vseg"}) {
        venseg_status st;
        auto m = load_model(read_bytes(data_path(name)), &st);
        ASSERT_EQ(st, VENSEG_OK) << name << ": " << venseg_last_error();
        EXPECT_LE(golden_error(m.get()), 1e-5) << name;
    }
}

TEST(ModelFile, Int8StorageStaysClose) {
    venseg_status st;
    auto m = load_model(read_bytes(data_path("tiny_plain_unet_q8.vseg")), &st);
    ASSERT_EQ(st, VENSEG_OK) << venseg_last_error();
    double e = golden_error(m.get());
    EXPECT_LT(e, 0.05); // quantisation moves probabilities a little, never wildly
    std::printf("q8 storage vs fp32 golden: max |dprob| = %.6f\n", e);
}

TEST(ModelFile, LoadFileAndMetadataQueries) {
    venseg_model *m = nullptr;
    ASSERT_EQ(venseg_model_load_file(data_path("tiny_plain_unet.vseg").c_str(), &m), VENSEG_OK) << venseg_last_error();
    ModelPtr owner(m);
    const char *arch = nullptr;
    ASSERT_EQ(venseg_model_meta_string(m, "general.architecture", &arch), VENSEG_OK);
    EXPECT_STREQ(arch, "plain_unet");
    int64_t trained = -1;
    EXPECT_EQ(venseg_model_meta_int(m, "provenance.trained", &trained), VENSEG_OK);
    EXPECT_EQ(trained, 0);
    double scale = 0;
    EXPECT_EQ(venseg_model_meta_double(m, "input.scale", &scale), VENSEG_OK);
    EXPECT_GT(scale, 0);
    EXPECT_EQ(venseg_model_meta_string(m, "no.such.key", &arch), VENSEG_E_NOT_FOUND);
    EXPECT_NE(std::string(venseg_last_error()).find("no.such.key"), std::string::npos);
    EXPECT_EQ(venseg_model_meta_int(m, "general.architecture", &trained), VENSEG_E_INVALID_ARGUMENT);
    int32_t n = 0;
    ASSERT_EQ(venseg_model_num_classes(m, &n), VENSEG_OK);
    EXPECT_EQ(n, 2);
    const char *name = nullptr;
    EXPECT_EQ(venseg_model_class_name(m, 0, &name), VENSEG_OK);
    EXPECT_STREQ(name, "artery");
    EXPECT_EQ(venseg_model_class_name(m, 1, &name), VENSEG_OK);
    EXPECT_STREQ(name, "vein");
    EXPECT_EQ(venseg_model_class_name(m, 2, &name), VENSEG_E_NOT_FOUND);
    EXPECT_EQ(venseg_model_class_name(m, -1, &name), VENSEG_E_NOT_FOUND);
    int32_t count = 0;
    ASSERT_EQ(venseg_model_tensor_count(m, &count), VENSEG_OK);
    EXPECT_GT(count, 0);
    const char *tname;
    int32_t ndim, dtype;
    int64_t dims[4];
    EXPECT_EQ(venseg_model_tensor_info(m, 0, &tname, &ndim, dims, &dtype), VENSEG_OK);
    EXPECT_EQ(venseg_model_tensor_info(m, count, &tname, &ndim, dims, &dtype), VENSEG_E_NOT_FOUND);
    int64_t params = 0;
    EXPECT_EQ(venseg_model_parameter_count(m, &params), VENSEG_OK);
    EXPECT_GT(params, 0);
}

TEST(ModelFile, MissingFileIsIoError) {
    venseg_model *m = reinterpret_cast<venseg_model *>(0x1);
    EXPECT_EQ(venseg_model_load_file("/nonexistent/model.vseg", &m), VENSEG_E_IO);
    EXPECT_EQ(m, reinterpret_cast<venseg_model *>(0x1)) << "output must stay untouched on failure";
    EXPECT_NE(std::string(venseg_last_error()).find("/nonexistent/model.vseg"), std::string::npos);
}

TEST(ModelFile, WriterCrossCheck) {
    // The independent C++ writer produces files the reader accepts.
    File f = tiny_plain_unet();
    ASSERT_EQ(load_status(f), VENSEG_OK) << venseg_last_error();
    File g = tiny_plain_unet(3, 3, 3, 3, 20);
    EXPECT_EQ(load_status(g), VENSEG_E_BAD_MODEL) << "20 is not a multiple of 8";
    g.set("input.width", I(32));
    g.set("input.height", I(16));
    g.set("input.resize", S("letterbox"));
    EXPECT_EQ(load_status(g), VENSEG_OK) << venseg_last_error();
}

TEST(ModelFile, HeaderErrors) {
    auto good = encode(tiny_plain_unet());
    auto b = good;
    b[0] = 'X';
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    EXPECT_NE(std::string(venseg_last_error()).find("magic"), std::string::npos);

    File f = tiny_plain_unet();
    f.version = 2;
    EXPECT_EQ(load_status(f), VENSEG_E_FILE_VERSION);
    f.version = 0;
    EXPECT_EQ(load_status(f), VENSEG_E_FILE_VERSION);

    b = good;
    b[8] = 2; // unknown flag
    fix_crcs(b);
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    b = good;
    set32(b, 12, 48); // alignment not a power of two
    fix_crcs(b);
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    b = good;
    set64(b, 16, uint64_t(1) << 40); // absurd metadata count
    fix_crcs(b);
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    b = good;
    set64(b, 32, uint64_t(-1)); // metadata size past the end
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    b = good;
    b.push_back(0); // trailing byte
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    b = good;
    b[70] ^= 1; // meta CRC itself
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    EXPECT_NE(std::string(venseg_last_error()).find("CRC"), std::string::npos);
    b = good;
    b.back() ^= 0x10; // data byte
    EXPECT_EQ(load_status(b), VENSEG_E_BAD_FILE);
    EXPECT_NE(std::string(venseg_last_error()).find("CRC"), std::string::npos);
    venseg_model *m = nullptr;
    EXPECT_EQ(venseg_model_load_memory("", 0, &m), VENSEG_E_BAD_FILE) << "empty buffer";
    EXPECT_EQ(load_status(std::vector<uint8_t>(79, 0)), VENSEG_E_BAD_FILE);
}

TEST(ModelFile, ArchitectureErrorsNameTheProblem) {
    struct Case {
        const char *what;
        void (*edit)(File &);
        const char *needle;
    };
    const Case cases[] = {
        {"unknown architecture", [](File &f) { f.set("general.architecture", S("transformer")); }, "transformer"},
        {"architecture missing", [](File &f) { f.erase_meta("general.architecture"); }, "general.architecture"},
        {"architecture wrong type", [](File &f) { f.set("general.architecture", I(3)); }, "general.architecture"},
        {"missing tensor", [](File &f) { f.erase_tensor("enc1.conv2.weight"); }, "enc1.conv2.weight"},
        {"unexpected tensor", [](File &f) { Rng r(1); f.tensors.emplace_back("enc9.conv1.weight", random_tensor(r, {4}, 1)); }, "enc9.conv1.weight"},
        {"wrong shape", [](File &f) { Tensor *t = f.tensor("enc0.conv1.weight"); t->dims = {2, 1, 3, 3}; t->data.resize(18); }, "enc0.conv1.weight"},
        {"partial batch-norm", [](File &f) { f.erase_tensor("enc0.bn1.running_var"); }, "enc0.bn1"},
        {"negative variance", [](File &f) { f.tensor("enc0.bn2.running_var")->data[1] = -5.0f; }, "enc0.bn2"},
        {"bad channels", [](File &f) { f.set("input.channels", I(2)); }, "input.channels"},
        {"no classes", [](File &f) { f.set("output.classes", Ss({})); }, "output.classes"},
        {"bad activation", [](File &f) { f.set("output.activation", S("relu")); }, "output.activation"},
        {"bad resize", [](File &f) { f.set("input.resize", S("crop")); }, "input.resize"},
        {"zero std", [](File &f) { f.set("input.std", Ds({0.0})); }, "input.std"},
        {"std count", [](File &f) { f.set("input.std", Ds({1.0, 1.0, 1.0})); }, "input.std"},
        {"input size", [](File &f) { f.set("input.width", I(15)); }, "input.width"},
        {"depth range", [](File &f) { f.set("plain_unet.depth", I(9)); }, "plain_unet.depth"},
        {"threshold", [](File &f) { f.set("output.threshold", D(1.5)); }, "output.threshold"},
        {"unknown encoder", [](File &f) { f.set("general.architecture", S("resnet_unet")); f.set("encoder.name", S("resnet101")); f.set("encoder.style", S("keras")); }, "resnet101"},
        {"unknown style", [](File &f) { f.set("general.architecture", S("resnet_unet")); f.set("encoder.name", S("resnet34")); f.set("encoder.style", S("caffe")); }, "caffe"},
        {"resnet tensors missing", [](File &f) { f.set("general.architecture", S("resnet_unet")); f.set("encoder.name", S("resnet18")); f.set("encoder.style", S("torchvision")); f.set("input.width", I(32)); f.set("input.height", I(32)); }, "encoder.conv1.weight"},
    };
    for (const Case &c : cases) {
        File f = tiny_plain_unet();
        c.edit(f);
        EXPECT_EQ(load_status(f), VENSEG_E_BAD_MODEL) << c.what;
        EXPECT_NE(std::string(venseg_last_error()).find(c.needle), std::string::npos)
            << c.what << ": message was '" << venseg_last_error() << "'";
    }
}

TEST(ModelFile, UnknownMetadataKeysAreIgnored) {
    File f = tiny_plain_unet();
    f.set("vendor.future_key", Ss({"a", "b"}));
    f.set("vendor.numbers", Is({1, 2, 3}));
    EXPECT_EQ(load_status(f), VENSEG_OK) << venseg_last_error();
}

TEST(ModelFile, DuplicatesAreRejected) {
    File f = tiny_plain_unet();
    f.meta.emplace_back("input.width", I(16));
    EXPECT_EQ(load_status(f), VENSEG_E_BAD_FILE);
    File g = tiny_plain_unet();
    g.tensors.push_back(g.tensors.front());
    EXPECT_EQ(load_status(g), VENSEG_E_BAD_FILE);
    EXPECT_NE(std::string(venseg_last_error()).find("duplicate"), std::string::npos);
}

// Every truncation and every single-bit flip is rejected (CRCs, sizes), never a crash.
TEST(ModelFile, CorruptionLoopRawFile) {
    const auto good = read_bytes(data_path("tiny_plain_unet.vseg"));
    ASSERT_GT(good.size(), 80u);
    for (size_t cut = 0; cut < good.size(); cut++) {
        std::vector<uint8_t> b(good.begin(), good.begin() + long(cut));
        ASSERT_NE(load_status(b), VENSEG_OK) << "truncated at " << cut;
    }
    for (size_t at = 0; at < good.size(); at++) {
        auto b = good;
        b[at] ^= uint8_t(1u << (at % 8));
        ASSERT_NE(load_status(b), VENSEG_OK) << "bit flip at byte " << at;
    }
}

// With the CRCs recomputed after each flip, the structural checks alone must hold:
// an error, or a model that runs.
TEST(ModelFile, CorruptionLoopWithValidCrcs) {
    const auto good = encode(tiny_plain_unet());
    const uint64_t data_offset = get64(good, 40);
    std::vector<float> in(16 * 16, 0.25f), out(2 * 16 * 16);
    size_t valid = 0, ran = 0;
    for (size_t at = 0; at < good.size(); at++) {
        for (int bit = 0; bit < 8; bit++) {
            if (at >= data_offset && bit != int(at % 8)) continue; // data: one bit per byte is plenty
            auto b = good;
            b[at] ^= uint8_t(1u << bit);
            fix_crcs(b);
            venseg_model *m = nullptr;
            venseg_status st = venseg_model_load_memory(b.data(), b.size(), &m);
            if (st != VENSEG_OK) {
                ASSERT_EQ(m, nullptr);
                ASSERT_STRNE(venseg_last_error(), "") << "error without detail at byte " << at;
                continue;
            }
            valid++;
            if (valid % 16 == 0 || at < data_offset) {
                int32_t w, h, c;
                ASSERT_EQ(venseg_model_input_size(m, &w, &h, &c), VENSEG_OK);
                venseg_session *s = nullptr;
                if (venseg_session_create(m, nullptr, &s) == VENSEG_OK) {
                    std::vector<float> x(size_t(c) * 16 * 16, 0.25f);
                    int32_t k = 0;
                    venseg_model_num_classes(m, &k);
                    std::vector<float> y(size_t(k) * 16 * 16);
                    int32_t mult = 1;
                    venseg_model_input_multiple(m, &mult);
                    if (16 % mult == 0) (void)venseg_session_run_tensor(s, x.data(), 1, c, 16, 16, 1, y.data());
                    ran++;
                }
                venseg_session_free(s);
            }
            venseg_model_free(m);
        }
    }
    std::printf("corruption loop with valid CRCs: %zu bytes, %zu flips loaded as valid models, %zu of them run\n",
                good.size(), valid, ran);
}
