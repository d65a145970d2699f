#!/usr/bin/python3
"""Independent GGUF (v2/v3) reader and dequantizer, numpy only.

Part of the edgebench reference implementation (see README.md in this folder).
Written from the GGUF format description and the block layouts of the ggml
quantization types; it shares no code with the C++ engine.

All dequantizers return float64.  A tensor whose GGUF dims are
[ne0, ne1, ...] (ne0 = contiguous dimension) is returned as a numpy array of
shape (..., ne1, ne0), i.e. the dims reversed.
"""

import mmap
import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32


class GGUFError(Exception):
    """Any problem reading a GGUF file or one of its tensors."""


# --- metadata value types --------------------------------------------------

T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, \
    T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(13)

# scalar value type -> (struct format, byte size)
_SCALAR_FMT = {
    T_UINT8: ("<B", 1),
    T_INT8: ("<b", 1),
    T_UINT16: ("<H", 2),
    T_INT16: ("<h", 2),
    T_UINT32: ("<I", 4),
    T_INT32: ("<i", 4),
    T_FLOAT32: ("<f", 4),
    T_BOOL: ("<?", 1),
    T_UINT64: ("<Q", 8),
    T_INT64: ("<q", 8),
    T_FLOAT64: ("<d", 8),
}

# scalar value type -> numpy dtype, for fast reading of long arrays
_SCALAR_NP = {
    T_UINT8: "<u1", T_INT8: "<i1", T_UINT16: "<u2", T_INT16: "<i2",
    T_UINT32: "<u4", T_INT32: "<i4", T_FLOAT32: "<f4", T_BOOL: "<u1",
    T_UINT64: "<u8", T_INT64: "<i8", T_FLOAT64: "<f8",
}

# --- ggml tensor types -----------------------------------------------------

GGML_F32 = 0
GGML_F16 = 1
GGML_Q4_0 = 2
GGML_Q8_0 = 8
GGML_Q4_K = 12
GGML_Q6_K = 14
GGML_BF16 = 30

# type id -> (name, weights per block, bytes per block), supported types only
TYPE_INFO = {
    GGML_F32: ("F32", 1, 4),
    GGML_F16: ("F16", 1, 2),
    GGML_Q4_0: ("Q4_0", 32, 18),
    GGML_Q8_0: ("Q8_0", 32, 34),
    GGML_Q4_K: ("Q4_K", 256, 144),
    GGML_Q6_K: ("Q6_K", 256, 210),
    GGML_BF16: ("BF16", 1, 2),
}

# names of other ggml types, only for error messages
_OTHER_TYPE_NAMES = {
    3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K",
    13: "Q5_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS",
    19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS",
    24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
    34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
}

# types whose dequantized values are exactly representable in float32
# (F32/F16/BF16 trivially; Q4_0 and Q8_0 are an fp16 scale times a small
# integer: at most 11 + 8 significant bits).  K-quants are not.
EXACT_IN_F32 = frozenset([GGML_F32, GGML_F16, GGML_BF16, GGML_Q4_0, GGML_Q8_0])


def type_name(t):
    if t in TYPE_INFO:
        return TYPE_INFO[t][0]
    return _OTHER_TYPE_NAMES.get(t, "type%d" % t)


# --- dequantizers (raw uint8 bytes -> flat float64) --------------------------

def _fp16(raw_pairs):
    """(n, 2) uint8 little-endian half floats -> (n,) float64."""
    return np.ascontiguousarray(raw_pairs).view("<f2").reshape(-1).astype(np.float64)


def dequant_f32(raw):
    return raw.view("<f4").astype(np.float64)


def dequant_f16(raw):
    return raw.view("<f2").astype(np.float64)


def dequant_bf16(raw):
    bits = raw.view("<u2").astype(np.uint32) << np.uint32(16)
    return bits.view(np.float32).astype(np.float64)


def dequant_q4_0(raw):
    blk = raw.reshape(-1, 18)
    d = _fp16(blk[:, 0:2])                          # (nb,)
    qs = blk[:, 2:18]                               # (nb, 16)
    lo = (qs & 0x0F).astype(np.float64) - 8.0       # weights 0..15
    hi = (qs >> 4).astype(np.float64) - 8.0         # weights 16..31
    out = np.concatenate([lo, hi], axis=1) * d[:, None]
    return out.reshape(-1)


def dequant_q8_0(raw):
    blk = raw.reshape(-1, 34)
    d = _fp16(blk[:, 0:2])
    qs = np.ascontiguousarray(blk[:, 2:34]).view(np.int8).astype(np.float64)
    return (qs * d[:, None]).reshape(-1)


def q4k_scale_min(scales):
    """scales: (nb, 12) uint8 -> (sc, m), each (nb, 8) int64 (6-bit values)."""
    s = scales.astype(np.int64)
    sc = np.empty((s.shape[0], 8), dtype=np.int64)
    m = np.empty((s.shape[0], 8), dtype=np.int64)
    # sub-blocks 0..3: low 6 bits of bytes 0..3 (scale) and 4..7 (min)
    sc[:, 0:4] = s[:, 0:4] & 63
    m[:, 0:4] = s[:, 4:8] & 63
    # sub-blocks 4..7: low/high nibble of bytes 8..11 plus the top two bits
    # of bytes 0..3 (scale) and 4..7 (min)
    sc[:, 4:8] = (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:8] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, m


def dequant_q4_k(raw):
    blk = raw.reshape(-1, 144)
    nb = blk.shape[0]
    d = _fp16(blk[:, 0:2])
    dmin = _fp16(blk[:, 2:4])
    sc, m = q4k_scale_min(blk[:, 4:16])
    qs = blk[:, 16:144].reshape(nb, 4, 32)          # chunk c covers 64 weights
    q = np.empty((nb, 4, 2, 32), dtype=np.float64)
    q[:, :, 0, :] = qs & 0x0F                       # sub-block 2c
    q[:, :, 1, :] = qs >> 4                         # sub-block 2c+1
    q = q.reshape(nb, 8, 32)
    scale = d[:, None] * sc                         # (nb, 8)
    offset = dmin[:, None] * m                      # (nb, 8)
    out = scale[:, :, None] * q - offset[:, :, None]
    return out.reshape(-1)


def dequant_q6_k(raw):
    blk = raw.reshape(-1, 210)
    nb = blk.shape[0]
    ql = blk[:, 0:128].reshape(nb, 2, 64).astype(np.int64)
    qh = blk[:, 128:192].reshape(nb, 2, 32).astype(np.int64)
    sc = np.ascontiguousarray(blk[:, 192:208]).view(np.int8).astype(np.float64)
    sc = sc.reshape(nb, 2, 4, 2)                    # [half, group g, l // 16]
    d = _fp16(blk[:, 208:210])
    q = np.empty((nb, 2, 4, 32), dtype=np.int64)    # [half, group g, l]
    q[:, :, 0, :] = (ql[:, :, 0:32] & 0x0F) | (((qh >> 0) & 3) << 4)
    q[:, :, 1, :] = (ql[:, :, 32:64] & 0x0F) | (((qh >> 2) & 3) << 4)
    q[:, :, 2, :] = (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4)
    q[:, :, 3, :] = (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4)
    q = (q - 32).astype(np.float64).reshape(nb, 2, 4, 2, 16)
    # group g, position l uses scale index (l // 16) + 2g within the half
    out = d[:, None, None, None, None] * sc[:, :, :, :, None] * q
    return out.reshape(-1)


_DEQUANT = {
    GGML_F32: dequant_f32,
    GGML_F16: dequant_f16,
    GGML_BF16: dequant_bf16,
    GGML_Q4_0: dequant_q4_0,
    GGML_Q8_0: dequant_q8_0,
    GGML_Q4_K: dequant_q4_k,
    GGML_Q6_K: dequant_q6_k,
}


def dequantize(raw, ggml_type, n_elements):
    """Dequantize raw bytes (uint8 array) of a tensor to a flat float64 array."""
    if ggml_type not in _DEQUANT:
        raise GGUFError("unsupported tensor type %s (%d)" % (type_name(ggml_type), ggml_type))
    _, blk_w, blk_b = TYPE_INFO[ggml_type]
    if n_elements % blk_w != 0:
        raise GGUFError("%d elements is not a multiple of the %s block size %d"
                        % (n_elements, type_name(ggml_type), blk_w))
    n_blocks = n_elements // blk_w
    if raw.size != n_blocks * blk_b:
        raise GGUFError("byte size mismatch for %s: %d bytes for %d elements"
                        % (type_name(ggml_type), raw.size, n_elements))
    fn = _DEQUANT[ggml_type]
    # chunk over blocks to bound temporary memory on large tensors
    chunk = max(1, (1 << 22) // blk_w) if blk_w > 1 else (1 << 24)
    if n_blocks <= chunk:
        return fn(raw)
    out = np.empty(n_elements, dtype=np.float64)
    for b0 in range(0, n_blocks, chunk):
        b1 = min(n_blocks, b0 + chunk)
        out[b0 * blk_w:b1 * blk_w] = fn(raw[b0 * blk_b:b1 * blk_b])
    return out


# --- file reader -------------------------------------------------------------

class TensorInfo:
    __slots__ = ("name", "dims", "type", "offset", "n_elements", "n_bytes")

    def __init__(self, name, dims, ggml_type, offset):
        self.name = name
        self.dims = tuple(dims)            # GGUF order: dims[0] is contiguous
        self.type = ggml_type
        self.offset = offset               # relative to the data section
        n = 1
        for x in dims:
            n *= x
        self.n_elements = n
        self.n_bytes = None
        if ggml_type in TYPE_INFO:
            _, bw, bb = TYPE_INFO[ggml_type]
            if n % bw == 0:
                self.n_bytes = (n // bw) * bb

    @property
    def shape(self):
        """numpy shape (dims reversed)."""
        return tuple(reversed(self.dims))

    def __repr__(self):
        return "TensorInfo(%r, dims=%r, type=%s, offset=%d)" % (
            self.name, self.dims, type_name(self.type), self.offset)


class _Cursor:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0
        self.size = len(buf)

    def need(self, n, what):
        if n < 0 or self.pos + n > self.size:
            raise GGUFError("truncated file while reading %s at byte %d" % (what, self.pos))

    def scalar(self, vtype, what="value"):
        fmt, n = _SCALAR_FMT[vtype]
        self.need(n, what)
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return v

    def u32(self, what):
        return self.scalar(T_UINT32, what)

    def u64(self, what):
        return self.scalar(T_UINT64, what)

    def string(self, what="string"):
        n = self.u64(what + " length")
        self.need(n, what)
        b = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            # keep going on odd vocab entries; the forward pass never needs them
            return b.decode("utf-8", errors="surrogateescape")

    def value(self, vtype, what):
        if vtype in _SCALAR_FMT:
            v = self.scalar(vtype, what)
            return bool(v) if vtype == T_BOOL else v
        if vtype == T_STRING:
            return self.string(what)
        if vtype == T_ARRAY:
            etype = self.u32(what + " array type")
            count = self.u64(what + " array count")
            if etype in _SCALAR_NP:
                n = _SCALAR_FMT[etype][1] * count
                self.need(n, what)
                arr = np.frombuffer(self.buf, dtype=_SCALAR_NP[etype], count=count, offset=self.pos)
                self.pos += n
                if etype == T_BOOL:
                    return [bool(x) for x in arr]
                return arr.tolist()
            return [self.value(etype, what) for _ in range(count)]
        raise GGUFError("unknown metadata value type %d for %s" % (vtype, what))


class GGUFReader:
    """Reads a GGUF file.  Attributes: version, metadata (dict key -> value),
    metadata_types (key -> value type id), tensors (dict name -> TensorInfo,
    in file order), alignment, data_offset."""

    def __init__(self, path):
        self.path = path
        try:
            self._file = open(path, "rb")
        except OSError as e:
            raise GGUFError("cannot open %s: %s" % (path, e))
        try:
            self._mm = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError) as e:
            raise GGUFError("cannot map %s: %s" % (path, e))
        finally:
            self._file.close()          # the mapping stays valid without it
        self._parse()

    def close(self):
        self._data = None
        try:
            self._mm.close()
        except BufferError:
            pass  # numpy views still alive; released at exit

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _parse(self):
        c = _Cursor(self._mm)
        c.need(4, "magic")
        magic = bytes(self._mm[0:4])
        if magic != GGUF_MAGIC:
            raise GGUFError("%s is not a GGUF file (magic %r)" % (self.path, magic))
        c.pos = 4
        self.version = c.u32("version")
        if self.version not in (2, 3):
            if self.version in (0x02000000, 0x03000000):
                raise GGUFError("big-endian GGUF files are not supported")
            raise GGUFError("unsupported GGUF version %d (need 2 or 3)" % self.version)
        n_tensors = c.u64("tensor count")
        n_kv = c.u64("kv count")

        self.metadata = {}
        self.metadata_types = {}
        for i in range(n_kv):
            key = c.string("metadata key %d" % i)
            vtype = c.u32("value type of " + key)
            self.metadata[key] = c.value(vtype, key)
            self.metadata_types[key] = vtype

        align = self.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if "general.alignment" in self.metadata and self.metadata_types["general.alignment"] != T_UINT32:
            raise GGUFError("general.alignment must be uint32")
        if align <= 0 or (align & (align - 1)) != 0:
            raise GGUFError("general.alignment %d is not a power of two" % align)
        self.alignment = align

        self.tensors = {}
        for i in range(n_tensors):
            name = c.string("tensor name %d" % i)
            n_dims = c.u32("n_dims of " + name)
            if n_dims == 0 or n_dims > 4:
                raise GGUFError("tensor %s has %d dims" % (name, n_dims))
            dims = [c.u64("dims of " + name) for _ in range(n_dims)]
            ttype = c.u32("type of " + name)
            offset = c.u64("offset of " + name)
            if name in self.tensors:
                raise GGUFError("duplicate tensor name %s" % name)
            if offset % align != 0:
                raise GGUFError("tensor %s offset %d is not aligned to %d" % (name, offset, align))
            self.tensors[name] = TensorInfo(name, dims, ttype, offset)

        pos = c.pos
        self.data_offset = (pos + align - 1) // align * align
        size = len(self._mm)
        self._data = np.frombuffer(self._mm, dtype=np.uint8)
        for t in self.tensors.values():
            if t.n_bytes is not None and self.data_offset + t.offset + t.n_bytes > size:
                raise GGUFError("tensor %s extends past the end of the file" % t.name)

    # --- accessors --------------------------------------------------------

    def get(self, key, default=None):
        return self.metadata.get(key, default)

    def raw_bytes(self, name):
        t = self.tensor_info(name)
        if t.n_bytes is None:
            raise GGUFError("tensor %s: unsupported type %s (%d)" % (name, type_name(t.type), t.type))
        start = self.data_offset + t.offset
        return self._data[start:start + t.n_bytes]

    def tensor_info(self, name):
        try:
            return self.tensors[name]
        except KeyError:
            raise GGUFError("tensor %s not found" % name)

    def tensor(self, name):
        """Dequantized tensor as float64, numpy shape = reversed GGUF dims."""
        t = self.tensor_info(name)
        if t.type not in TYPE_INFO:
            raise GGUFError("tensor %s: unsupported type %s (%d)" % (name, type_name(t.type), t.type))
        flat = dequantize(self.raw_bytes(name), t.type, t.n_elements)
        return flat.reshape(t.shape)


def _main(argv):
    import sys
    if len(argv) != 2:
        print("usage: gguf_reader.py FILE.gguf", file=sys.stderr)
        return 2
    try:
        r = GGUFReader(argv[1])
    except GGUFError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    print("GGUF v%d, %d kv, %d tensors, alignment %d, data at %d"
          % (r.version, len(r.metadata), len(r.tensors), r.alignment, r.data_offset))
    for k, v in r.metadata.items():
        if isinstance(v, list) and len(v) > 8:
            v = "[%s, ... (%d items)]" % (", ".join(repr(x) for x in v[:4]), len(v))
        print("  %s = %s" % (k, v))
    for t in r.tensors.values():
        print("  %-32s %-6s %s" % (t.name, type_name(t.type), list(t.dims)))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(_main(sys.argv))
