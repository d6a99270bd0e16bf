// Shared test helpers: file reading and RAII owners of the C handles.
#pragma once

#include <venseg/venseg.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#ifndef VENSEG_TEST_DATA_DIR
#error "VENSEG_TEST_DATA_DIR must be defined by the build"
#endif

inline std::string data_path(const std::string &name) { return std::string(VENSEG_TEST_DATA_DIR) + "/" + name; }

inline std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <class T> std::vector<T> read_array(const std::string &path) {
    auto b = read_bytes(path);
    std::vector<T> v(b.size() / sizeof(T));
    std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
    return v;
}

struct ModelFree { void operator()(venseg_model *m) const { venseg_model_free(m); } };
struct SessionFree { void operator()(venseg_session *s) const { venseg_session_free(s); } };
struct OptionsFree { void operator()(venseg_options *o) const { venseg_options_free(o); } };
using ModelPtr = std::unique_ptr<venseg_model, ModelFree>;
using SessionPtr = std::unique_ptr<venseg_session, SessionFree>;
using OptionsPtr = std::unique_ptr<venseg_options, OptionsFree>;

inline ModelPtr load_model(const std::vector<uint8_t> &bytes, venseg_status *st = nullptr) {
    venseg_model *m = nullptr;
    venseg_status s = venseg_model_load_memory(bytes.data(), bytes.size(), &m);
    if (st) *st = s;
    return ModelPtr(m);
}

inline SessionPtr make_session(const venseg_model *m, const venseg_options *o = nullptr) {
    venseg_session *s = nullptr;
    if (venseg_session_create(m, o, &s) != VENSEG_OK) return nullptr;
    return SessionPtr(s);
}

// A smooth, signed 1-channel test input (already normalised: run_tensor takes it as is).
inline std::vector<float> wave_input(int h, int w) {
    std::vector<float> x(size_t(h) * w);
    for (size_t i = 0; i < x.size(); i++) x[i] = float(std::sin(0.37 * double(i)) * 1.5);
    return x;
}

// The 2-class logits of a session on wave_input.
inline std::vector<float> session_logits(venseg_session *s, int h, int w) {
    std::vector<float> y(size_t(2) * h * w, NAN);
    const std::vector<float> x = wave_input(h, w);
    EXPECT_EQ(venseg_session_run_tensor(s, x.data(), 1, 1, h, w, 0, y.data()), VENSEG_OK) << venseg_last_error();
    return y;
}

inline bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
