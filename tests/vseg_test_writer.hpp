// A second, independent writer of the .vseg format (docs/weights-format.md), used by the
// tests to craft valid and deliberately broken files. f32 tensors only.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace vsegtest {

struct Value {
    enum Type { I64 = 1, F64 = 2, STR = 3, I64S = 4, F64S = 5, STRS = 6 } type;
    int64_t i = 0;
    double d = 0;
    std::string s;
    std::vector<int64_t> is;
    std::vector<double> ds;
    std::vector<std::string> ss;
};

inline Value I(int64_t v) { Value x{Value::I64}; x.i = v; return x; }
inline Value D(double v) { Value x{Value::F64}; x.d = v; return x; }
inline Value S(const std::string &v) { Value x{Value::STR}; x.s = v; return x; }
inline Value Is(std::vector<int64_t> v) { Value x{Value::I64S}; x.is = std::move(v); return x; }
inline Value Ds(std::vector<double> v) { Value x{Value::F64S}; x.ds = std::move(v); return x; }
inline Value Ss(std::vector<std::string> v) { Value x{Value::STRS}; x.ss = std::move(v); return x; }

struct Tensor {
    std::vector<int64_t> dims;
    std::vector<float> data;
};

struct File {
    std::vector<std::pair<std::string, Value>> meta; // in file order
    std::vector<std::pair<std::string, Tensor>> tensors;
    uint32_t version = 1;

    Value *find(const std::string &k) {
        for (auto &kv : meta) if (kv.first == k) return &kv.second;
        return nullptr;
    }
    void set(const std::string &k, Value v) {
        if (Value *p = find(k)) *p = std::move(v); else meta.emplace_back(k, std::move(v));
    }
    void erase_meta(const std::string &k) {
        for (size_t i = 0; i < meta.size(); i++) if (meta[i].first == k) { meta.erase(meta.begin() + i); return; }
    }
    Tensor *tensor(const std::string &n) {
        for (auto &t : tensors) if (t.first == n) return &t.second;
        return nullptr;
    }
    void erase_tensor(const std::string &n) {
        for (size_t i = 0; i < tensors.size(); i++) if (tensors[i].first == n) { tensors.erase(tensors.begin() + i); return; }
    }
};

inline void put32(std::vector<uint8_t> &b, uint32_t v) { for (int i = 0; i < 4; i++) b.push_back(uint8_t(v >> (8 * i))); }
inline void put64(std::vector<uint8_t> &b, uint64_t v) { for (int i = 0; i < 8; i++) b.push_back(uint8_t(v >> (8 * i))); }
inline void putstr(std::vector<uint8_t> &b, const std::string &s) { put32(b, uint32_t(s.size())); b.insert(b.end(), s.begin(), s.end()); }
inline void putf64(std::vector<uint8_t> &b, double d) { uint64_t u; std::memcpy(&u, &d, 8); put64(b, u); }
inline void set32(std::vector<uint8_t> &b, size_t at, uint32_t v) { for (int i = 0; i < 4; i++) b[at + i] = uint8_t(v >> (8 * i)); }
inline void set64(std::vector<uint8_t> &b, size_t at, uint64_t v) { for (int i = 0; i < 8; i++) b[at + i] = uint8_t(v >> (8 * i)); }
inline uint64_t get64(const std::vector<uint8_t> &b, size_t at) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | b[at + i]; return v; }

// Recomputes both CRCs of an encoded file in place (for structural corruption tests).
inline void fix_crcs(std::vector<uint8_t> &b) {
    if (b.size() < 80) return;
    uint64_t meta = get64(b, 32), off = get64(b, 40);
    if (meta > b.size() - 80) return;
    uLong c = crc32(0L, b.data(), 68);
    c = crc32(c, b.data() + 80, uInt(meta));
    set32(b, 68, uint32_t(c));
    uint32_t flags = b[8];
    if (!(flags & 1) && off <= b.size()) set32(b, 64, uint32_t(crc32(0L, b.data() + off, uInt(b.size() - off))));
}

inline std::vector<uint8_t> encode(const File &f) {
    const uint32_t align = 64;
    std::vector<uint8_t> meta, blob;
    for (auto &kv : f.meta) {
        putstr(meta, kv.first);
        const Value &v = kv.second;
        put32(meta, uint32_t(v.type));
        switch (v.type) {
        case Value::I64: put64(meta, uint64_t(v.i)); break;
        case Value::F64: putf64(meta, v.d); break;
        case Value::STR: putstr(meta, v.s); break;
        case Value::I64S: put32(meta, uint32_t(v.is.size())); for (auto x : v.is) put64(meta, uint64_t(x)); break;
        case Value::F64S: put32(meta, uint32_t(v.ds.size())); for (auto x : v.ds) putf64(meta, x); break;
        case Value::STRS: put32(meta, uint32_t(v.ss.size())); for (auto &x : v.ss) putstr(meta, x); break;
        }
    }
    for (auto &t : f.tensors) {
        while (blob.size() % align) blob.push_back(0);
        putstr(meta, t.first);
        put32(meta, 0);
        put32(meta, uint32_t(t.second.dims.size()));
        for (auto d : t.second.dims) put64(meta, uint64_t(d));
        put64(meta, blob.size());
        put64(meta, t.second.data.size() * 4);
        for (float x : t.second.data) { uint32_t u; std::memcpy(&u, &x, 4); put32(blob, u); }
    }
    std::vector<uint8_t> out;
    for (char ch : {'V', 'S', 'E', 'G'}) out.push_back(uint8_t(ch));
    put32(out, f.version);
    put32(out, 0);
    put32(out, align);
    put64(out, f.meta.size());
    put64(out, f.tensors.size());
    put64(out, meta.size());
    uint64_t data_offset = (80 + meta.size() + align - 1) / align * align;
    put64(out, data_offset);
    put64(out, blob.size());
    put64(out, blob.size());
    put32(out, uint32_t(crc32(0L, blob.data(), uInt(blob.size()))));
    put32(out, 0);
    put64(out, 0);
    out.insert(out.end(), meta.begin(), meta.end());
    out.resize(data_offset, 0);
    out.insert(out.end(), blob.begin(), blob.end());
    fix_crcs(out);
    return out;
}

// Seeded pseudo-random values in [-a, a].
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 6364136223846793005ull + 1442695040888963407ull) {}
    float next(float a) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return a * (float(s >> 40) / float(1ull << 24) * 2.0f - 1.0f);
    }
};

inline Tensor random_tensor(Rng &r, std::vector<int64_t> dims, float a, float offset = 0.0f) {
    Tensor t;
    t.dims = dims;
    size_t n = 1;
    for (auto d : dims) n *= size_t(d);
    t.data.resize(n);
    for (auto &x : t.data) x = offset + r.next(a);
    return t;
}

// A valid plain UNet (depth 1) with BN, for crafting variants.
inline File tiny_plain_unet(int base = 4, int depth = 1, int in_ch = 1, int classes = 2, int size = 16) {
    File f;
    Rng r(42);
    f.set("general.architecture", S("plain_unet"));
    f.set("plain_unet.base_channels", I(base));
    f.set("plain_unet.depth", I(depth));
    f.set("input.channels", I(in_ch));
    f.set("input.width", I(size));
    f.set("input.height", I(size));
    f.set("input.scale", D(1.0 / 255));
    f.set("input.mean", Ds(std::vector<double>(size_t(in_ch), 0.5)));
    f.set("input.std", Ds(std::vector<double>(size_t(in_ch), 0.25)));
    std::vector<std::string> names = {"artery", "vein", "c3", "c4"};
    names.resize(size_t(classes));
    f.set("output.classes", Ss(names));
    f.set("provenance.trained", I(0));
    auto conv_bn = [&](const std::string &c, const std::string &b, int cin, int cout) {
        f.tensors.emplace_back(c + ".weight", random_tensor(r, {cout, cin, 3, 3}, 0.5f));
        f.tensors.emplace_back(b + ".weight", random_tensor(r, {cout}, 0.2f, 1.0f));
        f.tensors.emplace_back(b + ".bias", random_tensor(r, {cout}, 0.1f));
        f.tensors.emplace_back(b + ".running_mean", random_tensor(r, {cout}, 0.1f));
        f.tensors.emplace_back(b + ".running_var", random_tensor(r, {cout}, 0.2f, 1.0f));
    };
    int prev = in_ch;
    for (int d = 0; d <= depth; d++) {
        int c = base << d;
        conv_bn("enc" + std::to_string(d) + ".conv1", "enc" + std::to_string(d) + ".bn1", prev, c);
        conv_bn("enc" + std::to_string(d) + ".conv2", "enc" + std::to_string(d) + ".bn2", c, c);
        prev = c;
    }
    for (int d = depth - 1; d >= 0; d--) {
        int c = base << d;
        f.tensors.emplace_back("up" + std::to_string(d) + ".weight", random_tensor(r, {2 * c, c, 2, 2}, 0.5f));
        f.tensors.emplace_back("up" + std::to_string(d) + ".bias", random_tensor(r, {c}, 0.1f));
        conv_bn("dec" + std::to_string(d) + ".conv1", "dec" + std::to_string(d) + ".bn1", 2 * c, c);
        conv_bn("dec" + std::to_string(d) + ".conv2", "dec" + std::to_string(d) + ".bn2", c, c);
    }
    f.tensors.emplace_back("head.weight", random_tensor(r, {classes, base, 1, 1}, 0.5f));
    f.tensors.emplace_back("head.bias", random_tensor(r, {classes}, 0.1f));
    return f;
}

} // namespace vsegtest
