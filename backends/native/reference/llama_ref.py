#!/usr/bin/python3
"""Independent float64 reference forward pass for Llama-family GGUF models.

Supports general.architecture "llama" (adjacent-pair "normal" RoPE) and
"qwen2" (half-split "neox" RoPE).  Everything is computed in float64 from
weights dequantized to float64, so that this result is the accurate one and
a float32 engine can be compared against it.

CLI (contract with the C++ test):
  python3 llama_ref.py --model FILE.gguf --tokens 1,2,3 [--n-gen N]
                       [--logits-out FILE] [--gen-out FILE]
  --logits-out: little-endian float32 [n_prompt_tokens, n_vocab]
  --gen-out:    JSON {"tokens": [...]} of N greedy tokens after the prompt
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_reader import (EXACT_IN_F32, GGUFError, GGUFReader,  # noqa: E402
                         type_name)

SUPPORTED_ARCHS = ("llama", "qwen2")


class ModelError(Exception):
    pass


class HParams:
    pass


def _scalar_or_layers(value, n_layer, key):
    """A hyperparameter given either as one number or one per layer."""
    if isinstance(value, list):
        if len(value) != n_layer:
            raise ModelError("%s has %d entries, expected %d" % (key, len(value), n_layer))
        return [int(v) for v in value]
    return [int(value)] * n_layer


def load_hparams(reader):
    md = reader.metadata
    arch = md.get("general.architecture")
    if arch is None:
        raise ModelError("missing metadata key general.architecture")
    if arch not in SUPPORTED_ARCHS:
        raise ModelError("unsupported architecture %r (supported: %s)" % (arch, ", ".join(SUPPORTED_ARCHS)))

    def req(key):
        full = "%s.%s" % (arch, key)
        if full not in md:
            raise ModelError("missing metadata key %s" % full)
        return md[full]

    def opt(key, default):
        return md.get("%s.%s" % (arch, key), default)

    hp = HParams()
    hp.arch = arch
    hp.n_ctx_train = int(req("context_length"))
    hp.n_embd = int(req("embedding_length"))
    hp.n_layer = int(req("block_count"))
    hp.n_ff = _scalar_or_layers(req("feed_forward_length"), hp.n_layer, arch + ".feed_forward_length")
    hp.n_head = _scalar_or_layers(req("attention.head_count"), hp.n_layer, arch + ".attention.head_count")
    hp.n_head_kv = _scalar_or_layers(opt("attention.head_count_kv", req("attention.head_count")),
                                     hp.n_layer, arch + ".attention.head_count_kv")
    hp.eps = float(req("attention.layer_norm_rms_epsilon"))
    if hp.n_head[0] <= 0:
        raise ModelError("attention.head_count must be positive")
    hp.head_dim = int(opt("attention.key_length", hp.n_embd // hp.n_head[0]))
    hp.head_dim_v = int(opt("attention.value_length", hp.n_embd // hp.n_head[0]))
    if hp.head_dim_v != hp.head_dim:
        raise ModelError("key_length %d != value_length %d is not supported" % (hp.head_dim, hp.head_dim_v))
    hp.n_rot = int(opt("rope.dimension_count", hp.head_dim))
    if hp.n_rot % 2 != 0 or hp.n_rot > hp.head_dim or hp.n_rot <= 0:
        raise ModelError("invalid rope.dimension_count %d for head dim %d" % (hp.n_rot, hp.head_dim))
    hp.freq_base = float(opt("rope.freq_base", 10000.0))

    # llama.cpp: scaling type defaults to "linear"; the factor comes from
    # rope.scaling.factor (or the older rope.scale_linear); type "none"
    # disables it.  freq_scale = 1 / factor multiplies the rotation angle.
    stype = opt("rope.scaling.type", "linear")
    factor = opt("rope.scaling.factor", None)
    if factor is None:
        factor = opt("rope.scale_linear", None)
    factor = 0.0 if factor is None else float(factor)
    if stype == "none":
        hp.freq_scale = 1.0
    elif stype == "linear":
        hp.freq_scale = 1.0 if factor == 0.0 else 1.0 / factor
    else:
        raise ModelError("unsupported rope.scaling.type %r (only linear/none)" % stype)
    hp.rope_neox = (arch == "qwen2")

    n_expert = int(opt("expert_count", 0))
    if n_expert > 0:
        raise ModelError("mixture-of-experts models are not supported")
    for i in range(hp.n_layer):
        if hp.n_head_kv[i] <= 0 or hp.n_head[i] % hp.n_head_kv[i] != 0:
            raise ModelError("layer %d: head_count %d not a multiple of head_count_kv %d"
                             % (i, hp.n_head[i], hp.n_head_kv[i]))
    return hp


class KVCache:
    """Keys (after RoPE) and values per layer, shape (n_head_kv, n_pos, head_dim)."""

    def __init__(self, n_layer):
        self.k = [None] * n_layer
        self.v = [None] * n_layer
        self.n_past = 0


class Model:
    def __init__(self, path, storage="f32"):
        """storage: "f32" (default) keeps dequantized weights whose values are
        exactly representable in float32 (F32/F16/BF16/Q4_0/Q8_0) as float32,
        to halve memory, and K-quant weights as float64; "f64" keeps all as
        float64.  Each product upcasts to float64 first (exactly), so the
        results are bit-identical either way."""
        self.reader = GGUFReader(path)
        self.hp = load_hparams(self.reader)
        if storage not in ("f64", "f32"):
            raise ModelError("storage must be f32 or f64")
        self.storage = storage
        self.keep_f32_exact = (storage == "f32")
        self._cache = {}
        self._check_tensors()

    # --- weights ----------------------------------------------------------

    def has(self, name):
        return name in self.reader.tensors

    def w(self, name, shape=None):
        """Dequantized tensor as a numpy array (numpy shape = reversed GGUF dims).
        Stored as float32 only where that is exact; every use upcasts to float64."""
        arr = self._cache.get(name)
        if arr is None:
            info = self.reader.tensor_info(name)
            arr = self.reader.tensor(name)
            if self.keep_f32_exact and info.type in EXACT_IN_F32:
                arr = arr.astype(np.float32)
            self._cache[name] = arr
        if shape is not None and arr.shape != tuple(shape):
            raise ModelError("tensor %s has numpy shape %s, expected %s" % (name, arr.shape, tuple(shape)))
        return arr

    def opt_w(self, name, shape=None):
        return self.w(name, shape) if self.has(name) else None

    def _need(self, name, dims):
        if not self.has(name):
            raise ModelError("missing tensor %s" % name)
        info = self.reader.tensor_info(name)
        if list(info.dims) != list(dims):
            raise ModelError("tensor %s has dims %s, expected %s" % (name, list(info.dims), list(dims)))
        if info.n_bytes is None:
            raise ModelError("tensor %s has unsupported type %s (%d)" % (name, type_name(info.type), info.type))

    def _check_tensors(self):
        hp = self.hp
        tok = self.reader.tensors.get("token_embd.weight")
        if tok is None:
            raise ModelError("missing tensor token_embd.weight")
        if len(tok.dims) != 2 or tok.dims[0] != hp.n_embd:
            raise ModelError("token_embd.weight has dims %s" % list(tok.dims))
        hp.n_vocab = int(tok.dims[1])
        self._need("token_embd.weight", [hp.n_embd, hp.n_vocab])
        self._need("output_norm.weight", [hp.n_embd])
        self.output_name = "output.weight" if self.has("output.weight") else "token_embd.weight"
        self._need(self.output_name, [hp.n_embd, hp.n_vocab])
        for i in range(hp.n_layer):
            p = "blk.%d." % i
            nq = hp.n_head[i] * hp.head_dim
            nkv = hp.n_head_kv[i] * hp.head_dim
            self._need(p + "attn_norm.weight", [hp.n_embd])
            if self.has(p + "attn_qkv.weight"):
                self._need(p + "attn_qkv.weight", [hp.n_embd, nq + 2 * nkv])
            else:
                self._need(p + "attn_q.weight", [hp.n_embd, nq])
                self._need(p + "attn_k.weight", [hp.n_embd, nkv])
                self._need(p + "attn_v.weight", [hp.n_embd, nkv])
            self._need(p + "attn_output.weight", [nq, hp.n_embd])
            self._need(p + "ffn_norm.weight", [hp.n_embd])
            self._need(p + "ffn_gate.weight", [hp.n_embd, hp.n_ff[i]])
            self._need(p + "ffn_up.weight", [hp.n_embd, hp.n_ff[i]])
            self._need(p + "ffn_down.weight", [hp.n_ff[i], hp.n_embd])
        if self.has("rope_freqs.weight") and hp.arch == "llama":
            self._need("rope_freqs.weight", [hp.n_rot // 2])

    # --- building blocks --------------------------------------------------

    @staticmethod
    def linear(x, W, b=None):
        """x: (T, in) float64, W: (out, in) -> (T, out) float64."""
        if W.dtype != np.float64:
            W = W.astype(np.float64)       # exact; lets the float64 BLAS path run
        y = np.matmul(x, W.T)
        if b is not None:
            y = y + b
        return y

    def rmsnorm(self, x, weight):
        ms = np.mean(x * x, axis=-1, keepdims=True)
        return x / np.sqrt(ms + self.hp.eps) * weight

    def rope_cos_sin(self, positions):
        hp = self.hp
        half = hp.n_rot // 2
        i = np.arange(half, dtype=np.float64)
        inv_freq = hp.freq_base ** (-2.0 * i / hp.n_rot)
        if hp.arch == "llama" and self.has("rope_freqs.weight"):
            # llama 3.x frequency factors: theta_i is divided by factor_i
            inv_freq = inv_freq / self.w("rope_freqs.weight").astype(np.float64)
        theta = (np.asarray(positions, dtype=np.float64) * hp.freq_scale)[:, None] * inv_freq[None, :]
        return np.cos(theta), np.sin(theta)          # (T, n_rot/2)

    def apply_rope(self, x, cos, sin):
        """x: (T, n_heads, head_dim); rotates the first n_rot dims of each head."""
        n_rot = self.hp.n_rot
        out = x.copy()
        c = cos[:, None, :]
        s = sin[:, None, :]
        if self.hp.rope_neox:
            a = x[:, :, 0:n_rot // 2]
            b = x[:, :, n_rot // 2:n_rot]
            out[:, :, 0:n_rot // 2] = a * c - b * s
            out[:, :, n_rot // 2:n_rot] = a * s + b * c
        else:
            a = x[:, :, 0:n_rot:2]
            b = x[:, :, 1:n_rot:2]
            out[:, :, 0:n_rot:2] = a * c - b * s
            out[:, :, 1:n_rot:2] = a * s + b * c
        return out

    # --- forward ----------------------------------------------------------

    def forward(self, tokens, cache=None, all_logits=True):
        """Run tokens at positions cache.n_past, cache.n_past+1, ...
        Returns float64 logits (T, n_vocab) (or (1, n_vocab) for the last
        position when all_logits is False).  Appends to cache if given."""
        hp = self.hp
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 1 or tokens.size == 0:
            raise ModelError("need a non-empty 1-D token list")
        if tokens.min() < 0 or tokens.max() >= hp.n_vocab:
            raise ModelError("token id out of range [0, %d)" % hp.n_vocab)
        if cache is None:
            cache = KVCache(hp.n_layer)
        T = tokens.size
        n_past = cache.n_past
        positions = np.arange(n_past, n_past + T)
        cos, sin = self.rope_cos_sin(positions)
        hd = hp.head_dim
        kq_scale = 1.0 / np.sqrt(float(hd))

        x = self.w("token_embd.weight")[tokens].astype(np.float64)   # (T, d)

        for il in range(hp.n_layer):
            p = "blk.%d." % il
            H, Hkv = hp.n_head[il], hp.n_head_kv[il]
            nq, nkv = H * hd, Hkv * hd
            h = self.rmsnorm(x, self.w(p + "attn_norm.weight"))
            if self.has(p + "attn_qkv.weight"):
                qkv = self.linear(h, self.w(p + "attn_qkv.weight"), self.opt_w(p + "attn_qkv.bias", (nq + 2 * nkv,)))
                q, k, v = qkv[:, :nq], qkv[:, nq:nq + nkv], qkv[:, nq + nkv:]
            else:
                q = self.linear(h, self.w(p + "attn_q.weight"), self.opt_w(p + "attn_q.bias", (nq,)))
                k = self.linear(h, self.w(p + "attn_k.weight"), self.opt_w(p + "attn_k.bias", (nkv,)))
                v = self.linear(h, self.w(p + "attn_v.weight"), self.opt_w(p + "attn_v.bias", (nkv,)))
            q = self.apply_rope(q.reshape(T, H, hd), cos, sin)
            k = self.apply_rope(k.reshape(T, Hkv, hd), cos, sin)
            v = v.reshape(T, Hkv, hd)

            k_new = k.transpose(1, 0, 2)                   # (Hkv, T, hd)
            v_new = v.transpose(1, 0, 2)
            if cache.k[il] is None:
                K, V = k_new, v_new
            else:
                K = np.concatenate([cache.k[il], k_new], axis=1)
                V = np.concatenate([cache.v[il], v_new], axis=1)
            cache.k[il], cache.v[il] = K, V
            S = K.shape[1]                                 # n_past + T

            g = H // Hkv                                   # query heads per kv head
            # query head j = kvh * g + r uses kv head kvh = j // g
            qh = q.transpose(1, 0, 2).reshape(Hkv, g * T, hd)
            scores = np.matmul(qh, K.transpose(0, 2, 1)) * kq_scale      # (Hkv, g*T, S)
            scores = scores.reshape(Hkv, g, T, S)
            allowed = np.arange(S)[None, :] <= positions[:, None]         # (T, S)
            scores = np.where(allowed[None, None], scores, -np.inf)
            scores = scores - scores.max(axis=-1, keepdims=True)
            pr = np.exp(scores)
            pr = pr / pr.sum(axis=-1, keepdims=True)
            att = np.matmul(pr.reshape(Hkv, g * T, S), V)                # (Hkv, g*T, hd)
            att = att.reshape(H, T, hd).transpose(1, 0, 2).reshape(T, nq)
            x = x + self.linear(att, self.w(p + "attn_output.weight"), self.opt_w(p + "attn_output.bias"))

            h = self.rmsnorm(x, self.w(p + "ffn_norm.weight"))
            gate = self.linear(h, self.w(p + "ffn_gate.weight"), self.opt_w(p + "ffn_gate.bias"))
            up = self.linear(h, self.w(p + "ffn_up.weight"), self.opt_w(p + "ffn_up.bias"))
            act = gate / (1.0 + np.exp(-gate)) * up
            x = x + self.linear(act, self.w(p + "ffn_down.weight"), self.opt_w(p + "ffn_down.bias"))

        cache.n_past += T
        if not all_logits:
            x = x[-1:]
        h = self.rmsnorm(x, self.w("output_norm.weight"))
        return self.linear(h, self.w(self.output_name), self.opt_w("output.bias"))

    def generate(self, prompt, n_gen, prompt_logits_out=None):
        """Greedy generation.  Returns (prompt_logits (T, V) float64,
        generated token list, list of top1-top2 logit margins)."""
        cache = KVCache(self.hp.n_layer)
        logits = self.forward(prompt, cache, all_logits=True)
        gen, margins = [], []
        last = logits[-1]
        for step in range(n_gen):
            tok = int(np.argmax(last))          # first maximum = lowest token id
            gen.append(tok)
            margins.append(_margin(last))
            if step + 1 < n_gen:
                last = self.forward([tok], cache, all_logits=False)[0]
        return logits, gen, margins


def _margin(logits):
    if logits.size < 2:
        return float("inf")
    top2 = np.partition(logits, -2)[-2:]
    return float(top2[1] - top2[0])


def parse_tokens(s):
    try:
        toks = [int(t) for t in s.replace(" ", "").split(",") if t != ""]
    except ValueError:
        raise ModelError("--tokens must be a comma-separated list of integers, got %r" % s)
    if not toks:
        raise ModelError("--tokens is empty")
    return toks


def main(argv=None):
    ap = argparse.ArgumentParser(description="float64 reference forward pass for llama/qwen2 GGUF models")
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--tokens", required=True, help="comma-separated prompt token ids")
    ap.add_argument("--n-gen", type=int, default=0, help="number of greedy tokens to generate")
    ap.add_argument("--logits-out", help="write prompt logits as little-endian float32 [n_prompt, n_vocab]")
    ap.add_argument("--gen-out", help='write {"tokens": [...]} JSON of generated tokens')
    ap.add_argument("--storage", choices=("f32", "f64"), default="f32",
                    help="how dequantized weights are kept in memory; results are identical "
                         "(f32: weights exactly representable in float32 kept as float32, half the memory)")
    ap.add_argument("--quiet", action="store_true", help="no summary on stdout")
    args = ap.parse_args(argv)

    try:
        if args.n_gen < 0:
            raise ModelError("--n-gen must be >= 0")
        prompt = parse_tokens(args.tokens)
        t0 = time.time()
        model = Model(args.model, storage=args.storage)
        hp = model.hp
        if len(prompt) + args.n_gen > hp.n_ctx_train:
            print("warning: %d positions exceed context_length %d"
                  % (len(prompt) + args.n_gen, hp.n_ctx_train), file=sys.stderr)
        logits, gen, margins = model.generate(prompt, args.n_gen)
        t1 = time.time()
        if args.logits_out:
            np.ascontiguousarray(logits).astype("<f4").tofile(args.logits_out)
        if args.gen_out:
            with open(args.gen_out, "w") as f:
                json.dump({"tokens": gen}, f)
        if not args.quiet:
            print("arch=%s d=%d layers=%d heads=%d/%d head_dim=%d ff=%d vocab=%d n_rot=%d rope=%s "
                  "freq_base=%g freq_scale=%g eps=%g tied=%s"
                  % (hp.arch, hp.n_embd, hp.n_layer, hp.n_head[0], hp.n_head_kv[0], hp.head_dim,
                     hp.n_ff[0], hp.n_vocab, hp.n_rot, "neox" if hp.rope_neox else "normal",
                     hp.freq_base, hp.freq_scale, hp.eps, model.output_name == "token_embd.weight"))
            print("prompt %d tokens, generated %d in %.2f s (weights kept as %s)"
                  % (len(prompt), len(gen), t1 - t0, model.storage))
            if gen:
                print("generated: %s" % ",".join(str(t) for t in gen))
                print("smallest top1-top2 logit margin over generation: %.3g" % min(margins))
    except (ModelError, GGUFError, OSError, MemoryError) as e:
        print("llama_ref: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
