// Shared test helpers: file reading and RAII owners of the C handles.
#pragma once

#include <venseg/venseg.h>

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
