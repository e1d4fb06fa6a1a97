"""The ``knowledge`` backend: FACS tables + lexicons + MiniLM sentence embeddings, offline.

Chain of thought (DESIGN.md, THINK):
  1. understand the text: emotions, mixture weights, intensity (lexicon with negation, degree
     words and masking phrases; sentence-embedding match against each emotion's description and
     example situations for free English text);
  2. map each emotion to its muscles (EMFACS / Du et al. 2014 / Cordaro et al. 2018 prototypes);
  3. resolve conflicts between antagonist AUs and apply masking (rules.yaml);
  4. write the plan region by region (brows, eyes, cheeks, nose, mouth, jaw);
  5. timing.
Deterministic: the same text gives the same plan.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from thinkdraw import facs
from thinkdraw.think import text as T
from thinkdraw.think.plan import AUTarget, EmotionPlan, EmotionWeight, Keyframe, Timing, TraceStep
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)


@dataclass
class KnowledgeConfig:
    """Knobs of the knowledge backend (defaults are the tested ones)."""

    use_embeddings: bool = True  # MiniLM matching for free English text
    embed_temperature: float = 0.04  # softmax temperature over per-emotion cosine similarities
    embed_min_similarity: float = 0.30  # below: no emotion recognised (neutral + warning)
    max_fragmentation: float = 2.2  # WordPiece pieces per word above which text is not English
    embed_margin: float = 0.06  # emotions within this similarity of the best one are kept
    embed_blend: float = 0.25  # weight of the embedding mixture when the lexicon also found words
    embed_blend_min_words: int = 5  # blend embeddings with lexicon hits only in texts this long
    default_intensity: float = 0.6  # intensity when nothing in the text says how strong
    cache_dir: str | None = None  # where anchor embeddings are cached (None: ~/.cache/thinkdraw)


# ---------------------------------------------------------------------------------------------
# Knowledge loaded once per process
# ---------------------------------------------------------------------------------------------


@dataclass
class _Lexicon:
    """A lexicon compiled for matching: phrase (tuple of tokens, or string for zh) -> entries."""

    lang: str
    entries: dict[Any, list[tuple[str, Any]]]  # key -> [(kind, payload)]
    max_len: int
    window_int: int
    window_neg: int
    masking: list[tuple[re.Pattern, str]]
    emoji: dict[str, dict[str, float]]
    chars: dict[str, dict[str, float]]
    raw: dict
    stems: dict[str, str] = field(default_factory=dict)  # crude stem -> single lexicon word (en)
    phrase_stems: dict[tuple, tuple] = field(default_factory=dict)  # stemmed phrase -> phrase (en)


def _compile_lexicon(lang: str) -> _Lexicon:
    raw = facs.lexicon(lang)
    entries: dict[Any, list[tuple[str, Any]]] = {}

    def key_of(phrase: str) -> Any:
        return tuple(T.en_tokens(phrase)) if lang == "en" else T.normalise(phrase)

    def add(phrase: str, kind: str, payload: Any) -> None:
        k = key_of(str(phrase))
        if k:
            entries.setdefault(k, []).append((kind, payload))

    for emo, words in (raw.get("words") or {}).items():
        for w, strength in words.items():
            add(w, "emotion", ({emo: 1.0}, float(strength)))
    for emo, words in (raw.get("events") or {}).items():
        for w, strength in words.items():
            add(w, "emotion", ({emo: 1.0}, float(strength), "event"))
    for w, spec in (raw.get("mixtures") or {}).items():
        add(w, "emotion", (dict(spec["emotions"]), float(spec["intensity"])))
    ints = raw.get("intensifiers") or {}
    for w, f in (ints.get("before") or {}).items():
        add(w, "int_before", float(f))
    for w, f in (ints.get("after") or {}).items():
        add(w, "int_after", float(f))
    neg = raw.get("negation") or {}
    for w in neg.get("words") or []:
        add(w, "negation", None)
    for w in neg.get("strong_after") or []:
        add(w, "neg_strong", None)
    for w in neg.get("not_negations") or []:
        add(w, "not_negation", None)
    masking = [(re.compile(m["pattern"], re.IGNORECASE), m["profile"]) for m in raw.get("masking") or []]
    max_len = max(len(k) for k in entries)
    stems: dict[str, str] = {}
    phrase_stems: dict[tuple, tuple] = {}
    if lang == "en":
        for k, ents in entries.items():
            if not any(kind == "emotion" for kind, _ in ents):
                continue
            if len(k) == 1:
                stems.setdefault(crude_stem(k[0]), k[0])
            else:
                phrase_stems.setdefault(tuple(crude_stem(t) for t in k), k)
    return _Lexicon(stems=stems, phrase_stems=phrase_stems,
        lang=lang, entries=entries, max_len=max_len,
        window_int=int(ints.get("window", 3)), window_neg=int(neg.get("window", 3)),
        masking=masking, emoji=dict(raw.get("emoji") or {}),
        chars=dict(raw.get("chars") or {}), raw=raw,
    )


@dataclass
class _Anchors:
    """Sentence embeddings of each emotion's description and situations."""

    names: list[str]  # emotion of each anchor row
    texts: list[str]
    vectors: np.ndarray  # (N, 384) unit rows


def _anchor_texts() -> tuple[list[str], list[str]]:
    names, texts = [], []
    for name, e in facs.emotions().items():
        label = name.replace("_", " ")
        for s in [f"feeling {label}", e["description"], *e.get("situations", [])]:
            names.append(name)
            texts.append(s)
    return names, texts


SHIPPED_DIR = Path(__file__).resolve().parent / "data"
"""Precomputed anchor embeddings shipped with the package (regenerate: ``python -m
thinkdraw.think.knowledge --write-anchors`` after editing descriptions or situations)."""


def anchors_digest(texts: list[str]) -> str:
    """Identifies one set of anchor texts (and the model): stale files are never used."""
    return hashlib.sha256(("all-MiniLM-L6-v2\n" + "\n".join(texts)).encode("utf-8")).hexdigest()[:16]


def _cache_path(cache_dir: str | None, digest: str) -> Path:
    base = Path(cache_dir or os.environ.get("THINKDRAW_CACHE")
                or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "thinkdraw")
    return base / f"think-anchors-minilm-{digest}.npy"


def _read_vectors(path: Path, n: int, dim: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.debug("anchor file %s unreadable (%s)", path, exc)
        return None
    return arr.astype(np.float32) if arr.shape == (n, dim) else None


def _load_anchors(encoder: Any, cache_dir: str | None) -> _Anchors:
    """Anchor embeddings: shipped file, else user cache, else computed (~2 s) and cached."""
    names, texts = _anchor_texts()
    digest = anchors_digest(texts)
    shipped = SHIPPED_DIR / f"anchors-minilm-{digest}.npy"
    cached = _cache_path(cache_dir, digest)
    vecs = _read_vectors(shipped, len(texts), encoder.dim)
    if vecs is None:
        vecs = _read_vectors(cached, len(texts), encoder.dim)
    if vecs is None:
        log.info("embedding %d emotion descriptions (once; cached in %s)", len(texts), cached.parent)
        vecs = encoder.encode(texts)
        try:
            from thinkdraw.utils.atomic import atomic_path

            with atomic_path(cached) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, vecs)
        except OSError as exc:  # read-only home: keep it in memory only
            log.debug("could not cache anchor embeddings: %s", exc)
    return _Anchors(names=names, texts=texts, vectors=vecs)


def write_shipped_anchors() -> Path:
    """Compute the anchor embeddings and store them in thinkdraw/think/data (stale ones removed)."""
    from thinkdraw.think.embed import get_minilm
    from thinkdraw.utils.atomic import atomic_path

    names, texts = _anchor_texts()
    target = SHIPPED_DIR / f"anchors-minilm-{anchors_digest(texts)}.npy"
    vecs = get_minilm().encode(texts)
    for old in SHIPPED_DIR.glob("anchors-minilm-*.npy"):
        if old != target:
            old.unlink()
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, vecs.astype(np.float32))
    target.chmod(0o644)
    return target


# ---------------------------------------------------------------------------------------------
# Step 1: understanding the text
# ---------------------------------------------------------------------------------------------


@dataclass
class Hit:
    """One emotion word found in the text, with its modifiers."""

    phrase: str
    emotions: dict[str, float]  # emotion -> share (1.0 for a plain word)
    strength: float  # base intensity of the word
    pos: int
    factor: float = 1.0  # product of degree words
    modifiers: list[str] = field(default_factory=list)
    negated: bool = False
    strong_negation: bool = False
    event: bool = False  # an eliciting event, not an emotion word: says what, not how strongly

    @property
    def intensity(self) -> float:
        return float(min(1.0, max(0.05, self.strength * self.factor)))


@dataclass
class Understanding:
    """Result of step 1."""

    mixture: dict[str, float]  # emotion (any kind) -> weight, sums to 1
    intensity: float
    masking: list[tuple[str, str, list[str]]]  # (profile, matched text, felt emotions)
    notes: list[str]
    warnings: list[str]
    felt_from_text: dict[str, float] = field(default_factory=dict)


def _scan(lex: _Lexicon, text: str) -> list[tuple[str, Any, int, str]]:
    """Longest-first matching. Returns items (kind, payload, position, phrase) in text order;
    positions are token (en) or character (zh) indices; boundaries are kind 'boundary'."""
    items: list[tuple[str, Any, int, str]] = []
    if lex.lang == "en":
        seq: Any = T.en_tokens(text)
    else:
        seq = T.normalise(text)
    seq_stems = [crude_stem(t) for t in seq] if lex.lang == "en" else []
    i, n = 0, len(seq)
    while i < n:
        tok = seq[i]
        if tok in T.BOUNDARIES:
            items.append(("boundary", None, i, tok))
            i += 1
            continue
        matched = False
        for L in range(min(lex.max_len, n - i), 0, -1):
            key = tuple(seq[i : i + L]) if lex.lang == "en" else seq[i : i + L]
            if key in lex.entries:
                phrase = " ".join(key) if lex.lang == "en" else key
                for kind, payload in lex.entries[key]:
                    items.append((kind, payload, i, phrase))
                i += L
                matched = True
                break
        if matched:
            continue
        if lex.lang == "en" and lex.phrase_stems:  # inflected phrases: "rolled his eyes"
            for L in range(min(lex.max_len, n - i), 1, -1):
                key = lex.phrase_stems.get(tuple(seq_stems[i : i + L]))
                if key is not None:
                    for kind, payload in lex.entries[key]:
                        if kind == "emotion":
                            items.append((kind, payload, i, " ".join(seq[i : i + L])))
                    i += L
                    matched = True
                    break
            if matched:
                continue
        if lex.lang == "en":
            stem = _stem_lookup(lex, tok)
            if stem is not None:
                for kind, payload in lex.entries[(stem,)]:
                    if kind == "emotion":
                        items.append((kind, payload, i, tok))
        i += 1
    return items


_SUFFIXES = ("ingly", "edly", "ness", "ing", "ers", "er", "ed", "es", "ly", "s")


def crude_stem(word: str) -> str:
    """A crude English stem so inflections meet: yelled/yelling -> 'yel', angry/angrily -> 'angri'."""
    w = word
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: -len(suf)]
            break
    if w.endswith("y"):
        w = w[:-1] + "i"
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w


def _stem_lookup(lex: _Lexicon, tok: str) -> str | None:
    """The lexicon word sharing ``tok``'s crude stem, if any."""
    if "-" in tok or "'" in tok or len(tok) < 4:
        return None
    stem = crude_stem(tok)
    return lex.stems.get(stem) if len(stem) >= 4 else None


def _attach_modifiers(lex: _Lexicon, items: list[tuple[str, Any, int, str]]) -> list[Hit]:
    """Turn scanned items into emotion hits with degree words and negation attached."""
    hits: list[Hit] = []
    pending_int: list[tuple[float, int, str]] = []
    pending_neg: list[tuple[int, str]] = []
    blocked_neg_pos: set[int] = set()
    for kind, _payload, pos, _phrase in items:
        if kind == "not_negation":
            blocked_neg_pos.add(pos)
    for kind, payload, pos, phrase in items:
        if kind == "boundary":
            pending_int.clear()
            pending_neg.clear()
        elif kind == "int_before":
            pending_int.append((payload, pos, phrase))
        elif kind == "negation" and pos not in blocked_neg_pos:
            pending_neg.append((pos, phrase))
        elif kind == "emotion":
            emos, strength = payload[0], payload[1]
            h = Hit(phrase=phrase, emotions=dict(emos), strength=float(strength), pos=pos,
                    event=len(payload) > 2)
            for f, p, ph in pending_int:
                if pos - p <= lex.window_int + (len(ph.split()) if lex.lang == "en" else len(ph)):
                    h.factor *= f
                    h.modifiers.append(ph)
            for p, ph in pending_neg:
                if pos - p <= lex.window_neg + (len(ph.split()) if lex.lang == "en" else len(ph)):
                    h.negated = not h.negated
                    h.modifiers.append(ph)
            pending_int.clear()
            pending_neg.clear()
            hits.append(h)
        elif kind == "int_after" and hits and not _too_far_after(hits[-1], pos, lex):
            hits[-1].factor *= payload
            hits[-1].modifiers.append(phrase)
        elif kind == "neg_strong" and hits and hits[-1].negated:
            hits[-1].strong_negation = True
            hits[-1].modifiers.append(phrase)
    return hits


def _too_far_after(hit: Hit, pos: int, lex: _Lexicon) -> bool:
    """True when an after-degree word at ``pos`` is too far from the last hit to modify it."""
    span = len(hit.phrase.split()) if lex.lang == "en" else len(hit.phrase)
    return pos - (hit.pos + span) > lex.window_int


def _valence_class(name: str) -> str:
    v = float(facs.emotions()[name].get("valence", 0.0))
    return "positive" if v > 0.2 else "negative" if v < -0.2 else "other"


def _negate(h: Hit) -> tuple[dict[str, float], float, str]:
    """Mixture, intensity and a note for a negated hit (rules.yaml `negation`)."""
    neg_rules = facs.rules()["negation"]
    out: dict[str, float] = {}
    parts = []
    for emo, share in h.emotions.items():
        rule = neg_rules[_valence_class(emo)]
        for tgt, w in rule["targets"].items():
            out[tgt] = out.get(tgt, 0.0) + share * float(w)
        parts.append(f"{emo} -> {', '.join(rule['targets'])}")
    rule = neg_rules[_valence_class(next(iter(h.emotions)))]
    factor = float(rule["factor"]) * (1.5 if h.strong_negation else 1.0)
    inten = float(min(1.0, max(0.1, h.strength * factor * (1.4 if h.strong_negation else 1.0))))
    return out, inten, "; ".join(parts)


def _band(x: float) -> str:
    b = facs.rules()["intensity_bands"]
    return "low" if x < b["low"] else "high" if x > b["high"] else "moderate"


def _normalise(m: dict[str, float]) -> dict[str, float]:
    tot = sum(m.values())
    return {k: v / tot for k, v in m.items()} if tot > 0 else {"neutral": 1.0}


def _prune(m: dict[str, float], min_w: float) -> dict[str, float]:
    m = _normalise(m)
    kept = {k: v for k, v in m.items() if v >= min_w}
    if not kept:
        kept = {max(m, key=m.get): 1.0}
    return _normalise(kept)


# ---------------------------------------------------------------------------------------------
# The planner
# ---------------------------------------------------------------------------------------------


class KnowledgeBackend:
    """Loads lexicons, prototypes and MiniLM once; ``plan(text)`` is then a few milliseconds."""

    name = "knowledge"

    def __init__(self, config: KnowledgeConfig | None = None) -> None:
        self.config = config or KnowledgeConfig()
        self.emotions = facs.emotions()
        self.rules = facs.rules()
        self.catalog = facs.au_catalog()
        self.lex = {"en": _compile_lexicon("en"), "zh": _compile_lexicon("zh")}
        self.encoder = None
        self.anchors: _Anchors | None = None
        if self.config.use_embeddings:
            from thinkdraw.think.embed import get_minilm

            self.encoder = get_minilm()
            self.anchors = _load_anchors(self.encoder, self.config.cache_dir)
            # compounds are reached through words or through two basics merging, not by
            # sentence similarity: their descriptions are too alike to separate by embedding
            self._anchor_idx = {n: [i for i, a in enumerate(self.anchors.names) if a == n]
                                for n, e in self.emotions.items() if e["kind"] != "compound"}
        self._compound_of_pair = {
            frozenset(e["components"]): name
            for name, e in self.emotions.items()
            if e["kind"] == "compound" and len(e["components"]) == 2
            and all(v == 0.5 for v in e["components"].values())
        }

    # ---- public ---------------------------------------------------------------------------
    def plan(self, text: str, keyframes: list[dict] | None = None) -> EmotionPlan:
        """Plan ``text`` (already validated). ``keyframes``: explicit timeline, see planner.py."""
        if keyframes:
            return self._plan_keyframes(text, keyframes)
        lang = T.language(text)
        lex = self.lex["zh" if lang == "zh" else "en"]
        phases = T.split_timeline(text, lex.raw)
        if len(phases) > 1:
            specs = [{"t": p.t, "text": p.text} for p in phases]
            return self._plan_keyframes(text, specs, from_text=True)
        return self._plan_single(text)

    # ---- one phase ------------------------------------------------------------------------
    def _plan_single(self, text: str, quiet_unknown: bool = False) -> EmotionPlan:
        und = self.understand(text, quiet_unknown=quiet_unknown)
        aus, muscle_notes, conflict_notes, sources = self.compose(und)
        timing, timing_note = self.timing(und)
        valence, arousal = self.affect(und)
        emotions = self.output_emotions(und.mixture)
        trace = [
            TraceStep(title="1. Understand the text", text=" ".join(und.notes)),
            TraceStep(title="2. Muscles per emotion", text=" ".join(muscle_notes)),
            TraceStep(title="3. Conflicts and masking", text=" ".join(conflict_notes)),
            TraceStep(title="4. Plan per region", text=self.region_text(aus, sources)),
            TraceStep(title="5. Timing", text=timing_note),
        ]
        return EmotionPlan(
            text=text, trace=trace, emotions=emotions, intensity=round(und.intensity, 3),
            valence=valence, arousal=arousal, aus=aus, timing=timing, backend=self.name,
            warnings=list(und.warnings),
        )

    def understand(self, text: str, quiet_unknown: bool = False) -> Understanding:
        """Step 1: emotions, weights, intensity, masking."""
        cfg = self.config
        notes: list[str] = []
        warnings: list[str] = []
        lang = T.language(text)
        lex = self.lex["zh" if lang == "zh" else "en"]
        lang_name = {"zh": "Chinese", "en": "English", "unknown": "no recognised language"}[lang]
        notes.append(f"Language: {lang_name}.")

        # masking phrases first; the words they contain are consumed
        norm = T.normalise(text)
        masking: list[tuple[str, str]] = []
        for pat, profile in lex.masking:
            m = pat.search(norm)
            if m and profile not in [p for p, _ in masking]:
                masking.append((profile, m.group(0)))
                norm = norm[: m.start()] + " , " + norm[m.end():]
        items = _scan(lex, norm)
        hits = _attach_modifiers(lex, items)
        emoji = self.lex["en"].emoji  # emoji carry an emotion in any language
        for i, ch in enumerate(norm):
            if ch in emoji:
                hits.append(Hit(phrase=ch, emotions=dict(emoji[ch]), strength=max(emoji[ch].values()), pos=i))
        if lang == "zh" and not hits and not masking:
            for i, ch in enumerate(norm):
                if ch in lex.chars:
                    hits.append(Hit(phrase=ch, emotions=dict(lex.chars[ch]), strength=max(lex.chars[ch].values()), pos=i))
            if hits:
                notes.append("No emotion word matched; single characters used: "
                             + ", ".join(f"'{h.phrase}'" for h in hits) + ".")
        # global degree words not attached to an emotion word (for embedding-only texts)
        global_factor = 1.0
        for kind, payload, _, _phrase in items:
            if kind in ("int_before", "int_after"):
                global_factor *= payload
        excl = min(text.count("!") + text.count("！"), 3)
        caps = lang == "en" and sum(1 for w in re.findall(r"[A-Za-z]{3,}", text) if w.isupper()) > 0

        mixture: dict[str, float] = {}
        weighted_int: list[tuple[float, float]] = []
        described = []
        for h in hits:
            if h.negated:
                emos, inten, how = _negate(h)
                described.append(f"'{h.phrase}' negated by {', '.join(m for m in h.modifiers)} ({how}, intensity {inten:.2f})")
            else:
                emos, inten = h.emotions, h.intensity
                mods = f" with {', '.join(h.modifiers)} (x{h.factor:.2f})" if h.modifiers else ""
                described.append(f"'{h.phrase}' -> {', '.join(emos)} (strength {h.strength:.2f}{mods})")
            for e, share in emos.items():
                mixture[e] = mixture.get(e, 0.0) + share * h.strength
            if not h.event or all(x.event for x in hits):
                weighted_int.append((h.strength, inten))
        if described:
            notes.append("Emotion words: " + "; ".join(described) + ".")

        felt_from_text = dict(mixture)
        n_words = len([t for t in T.en_tokens(norm) if t not in T.BOUNDARIES]) if lang == "en" else 0
        # embeddings read free text; they do not understand negation, so a negated text keeps its words
        use_embed = (
            cfg.use_embeddings and lang == "en" and not masking and not any(h.negated for h in hits)
            and (not hits or n_words >= cfg.embed_blend_min_words)
        )
        embed_mix: dict[str, float] = {}
        if use_embed:
            embed_mix, sim_note, best = self._embed_match(text)
            frag = self._fragmentation(text)
            if not hits and frag > cfg.max_fragmentation:
                embed_mix = {}
                notes.append(f"The words are not English ({frag:.1f} word pieces per word): no sentence matching.")
            elif not hits:
                if best < cfg.embed_min_similarity:
                    embed_mix = {}
                    notes.append(f"Sentence embedding: nothing close to any known emotion (best similarity {best:.2f} < {cfg.embed_min_similarity:.2f}).")
                else:
                    notes.append(sim_note)
                    mixture = dict(embed_mix)
            else:
                notes.append(sim_note + f" Blended at {cfg.embed_blend:.0%} with the words found.")
                lexn = _normalise(mixture)
                mixture = {k: (1 - cfg.embed_blend) * lexn.get(k, 0.0) + cfg.embed_blend * embed_mix.get(k, 0.0)
                           for k in set(lexn) | set(embed_mix)}

        # masking profiles add felt / shown emotions
        resolved_masking: list[tuple[str, str, list[str]]] = []
        for profile, matched in masking:
            prof = self.rules["masking"][profile]
            felt = prof.get("felt")
            shown = prof.get("shown")
            if felt:
                mixture[felt] = mixture.get(felt, 0.0) + 0.6
                felt_names = [felt]
            elif felt_from_text:
                felt_names = [e for e in felt_from_text if e != shown]
            else:
                mixture[prof["felt_default"]] = mixture.get(prof["felt_default"], 0.0) + float(prof["felt_weight"])
                felt_names = [prof["felt_default"]]
            resolved_masking.append((profile, matched, felt_names))
            felt = ", ".join(felt_names)
            if shown and shown != "neutral":
                mixture[shown] = mixture.get(shown, 0.0) + 1.0 - float(prof.get("felt_weight", 0.5))
            notes.append(f"Masking phrase '{matched}': {prof['description']}"
                         + (f"; felt {felt}" if felt else "") + (f", shown {shown}" if shown else "") + ".")
            weighted_int.append((0.6, cfg.default_intensity))

        if not mixture:
            mixture = {"neutral": 1.0}
            if not quiet_unknown:
                reason = ("no words of English or Chinese" if lang == "unknown"
                          else "no emotion words or situations recognised")
                warnings.append(f"could not recognise an emotion in the text ({reason}); planned a neutral face")
                notes.append("Nothing recognisable as an emotion: planning a neutral face (see warnings).")

        mixture = self._merge_compounds(_prune(mixture, float(self.rules["min_weight"])), notes)

        if weighted_int:
            inten = sum(w * x for w, x in weighted_int) / sum(w for w, _ in weighted_int)
        else:
            typ = sum(w * float(self.emotions[e].get("typical_intensity", 0.6)) for e, w in mixture.items())
            inten = typ * global_factor
            if global_factor != 1.0:
                notes.append(f"Degree words scale the intensity by {global_factor:.2f}.")
        if excl:
            inten *= 1.0 + 0.08 * excl
        if caps:
            inten *= 1.15
        if mixture == {"neutral": 1.0}:
            inten = 0.0
        inten = float(min(1.0, max(0.0, inten)))
        mix_txt = ", ".join(f"{k} {v:.2f}" for k, v in sorted(mixture.items(), key=lambda kv: -kv[1]))
        notes.append(f"Mixture: {mix_txt}; intensity {inten:.2f} ({_band(inten)}).")
        return Understanding(mixture=mixture, intensity=inten, masking=resolved_masking, notes=notes,
                             warnings=warnings, felt_from_text=felt_from_text)

    def _fragmentation(self, text: str) -> float:
        """Word pieces per whitespace word: ~1 for English, 2-4 for gibberish or other languages."""
        assert self.encoder is not None
        words = [w for w in text.split() if any(c.isalpha() for c in w)]
        return (len(self.encoder.tokens(text)) - 2) / max(1, len(words))

    def _embed_match(self, text: str) -> tuple[dict[str, float], str, float]:
        """Cosine similarity of the text to each emotion's anchors (best anchor per emotion)."""
        assert self.encoder is not None and self.anchors is not None
        q = self.encoder.encode([text])[0]
        sims_all = self.anchors.vectors @ q
        names = list(self._anchor_idx)
        # per emotion: mean of its best two anchors (one stray anchor cannot decide alone)
        sims = np.array([np.sort(sims_all[self._anchor_idx[n]])[-2:].mean() for n in names])
        order = np.argsort(-sims, kind="stable")
        best = float(sims[order[0]])
        keep = [i for i in order[:4] if sims[i] >= best - self.config.embed_margin]
        z = np.exp((sims[keep] - best) / self.config.embed_temperature)
        z /= z.sum()
        mix = {names[i]: float(p) for i, p in zip(keep, z)}
        top = "; ".join(
            f"{names[i]} {sims[i]:.2f} (\"{self.anchors.texts[self._anchor_idx[names[i]][int(np.argmax(sims_all[self._anchor_idx[names[i]]]))]]}\")"
            for i in order[:3]
        )
        return mix, f"Sentence embedding (MiniLM) closest emotions: {top}.", best

    def _merge_compounds(self, mixture: dict[str, float], notes: list[str]) -> dict[str, float]:
        """Two basic emotions of similar weight that form a Du et al. compound become it."""
        basics = [(e, w) for e, w in mixture.items() if self.emotions[e]["kind"] == "basic" and e != "neutral"]
        basics.sort(key=lambda kv: -kv[1])
        if len(basics) >= 2:
            (a, wa), (b, wb) = basics[0], basics[1]
            comp = self._compound_of_pair.get(frozenset((a, b)))
            if comp and wb >= 0.25 and wb / wa >= 0.5:
                out = {k: v for k, v in mixture.items() if k not in (a, b)}
                out[comp] = wa + wb
                au_list = "+".join(x[2:] for x in self.emotions[comp]["aus"])
                notes.append(f"{a} and {b} together form the compound '{comp.replace('_', ' ')}' "
                             f"(Du, Tao & Martinez 2014), whose own prototype AU {au_list} replaces the union.")
                return out
        return mixture

    # ---- step 2 + 3 -----------------------------------------------------------------------
    def compose(self, und: Understanding) -> tuple[list[AUTarget], list[str], list[str], dict[str, str]]:
        """AU targets from the mixture: prototypes scaled by weight and intensity, then masking
        and conflict rules. Returns (targets, muscle notes, conflict notes, AU -> source)."""
        rules = self.rules
        wmax = max(und.mixture.values())
        contrib: dict[str, dict[str, float]] = {}  # AU -> {source: value}
        sides: dict[str, set[str]] = {}
        muscle_notes: list[str] = []
        felt_profiles = {e: p for p, _, felt in und.masking for e in felt}
        shown_profiles = {self.rules["masking"][p].get("shown"): p for p, _, _ in und.masking}
        upper = set(rules["upper_face"])
        for emo, w in sorted(und.mixture.items(), key=lambda kv: -kv[1]):
            proto = self.emotions[emo]
            if not proto["aus"]:
                muscle_notes.append(f"{emo} ({w:.2f}): no muscles (relaxed face).")
                continue
            g = (w / wmax) ** float(rules["blend_power"])
            typ = float(proto.get("typical_intensity", 0.6)) or 0.6
            scale = min(1.6, max(0.25, und.intensity / typ)) if und.intensity > 0 else 0.0
            src_kind = {"basic": "EMFACS prototype", "compound": "Du et al. 2014 prototype",
                        "extended": "extended prototype"}[proto["kind"]]
            parts = []
            prof_felt = rules["masking"].get(felt_profiles.get(emo, ""), None)
            prof_shown = rules["masking"].get(shown_profiles.get(emo, ""), None)
            for au, base in proto["aus"].items():
                v = float(base) * g * scale
                how = ""
                if prof_felt is not None:
                    leak = prof_felt["leak"] if au in upper else prof_felt["mouth_leak"]
                    v *= float(leak)
                    how = f" x{leak} leak"
                if prof_shown is not None:
                    if au in (prof_shown.get("drop_from_shown") or []):
                        parts.append(f"{au} dropped (false display)")
                        continue
                    v *= float(prof_shown.get("shown_scale", 1.0))
                v = min(1.0, v)
                if v < 0.03:
                    continue
                contrib.setdefault(au, {})[emo] = v
                sides.setdefault(au, set()).add((proto.get("sides") or {}).get(au, "both"))
                parts.append(f"{au} {self.catalog[au]['name'].lower()} {v:.2f}{how}")
            # Strong displays recruit more muscles (Du et al. 2014, Table 1: the broad happy face is
            # 12+25+6, the strong sad face adds 17): ``intense_aus`` join above ``intense_from``.
            ramp = min(1.0, (und.intensity - float(rules["intense_from"])) / 0.2)
            masked = prof_felt is not None or prof_shown is not None
            extra = (proto.get("intense_aus") or {}) if ramp > 0 and not masked else {}
            for au, base in extra.items():
                v = min(1.0, float(base) * g * ramp)
                if v < 0.03:
                    continue
                if v > contrib.get(au, {}).get(emo, 0.0):
                    contrib.setdefault(au, {})[emo] = v
                    sides.setdefault(au, set()).add("both")
                    parts.append(f"{au} {self.catalog[au]['name'].lower()} {v:.2f} (strong display)")
            muscle_notes.append(f"{emo} ({w:.2f}, {src_kind}): " + ", ".join(parts) + ".")
        for profile, _, _ in und.masking:
            prof = rules["masking"][profile]
            ctl = []
            for au, base in prof["control"].items():
                v = min(1.0, float(base) * (0.6 + 0.6 * und.intensity))
                contrib.setdefault(au, {})[f"masking:{profile}"] = v
                sides.setdefault(au, set()).add("both")
                ctl.append(f"{au} {self.catalog[au]['name'].lower()} {v:.2f}")
            muscle_notes.append(f"control muscles for {prof['description']}: " + ", ".join(ctl) + ".")

        values = {au: max(c.values()) for au, c in contrib.items()}
        source = {au: max(c, key=c.get) for au, c in contrib.items()}
        conflict_notes = self._resolve_conflicts(values, contrib, source)
        if und.masking:
            conflict_notes.insert(0, "Masking: " + "; ".join(
                f"{rules['masking'][p]['description']} - upper face leaks at "
                f"{rules['masking'][p]['leak']:.0%}, mouth at {rules['masking'][p]['mouth_leak']:.0%}, "
                f"control AUs {'+'.join(a[2:] for a in rules['masking'][p]['control'])} added"
                for p, _, _ in und.masking) + ".")
        if not conflict_notes:
            conflict_notes = ["No antagonist AUs between the emotions and no masking: nothing to resolve."]

        order = {r: i for i, r in enumerate(facs.REGIONS)}
        targets = []
        for au, v in values.items():
            if v < 0.06:  # below this a rig cannot show it; conflicts leave such remainders
                continue
            s = sides[au]
            side = "both" if "both" in s or len(s) > 1 else next(iter(s))
            info = self.catalog[au]
            targets.append(AUTarget(au=au, intensity=round(float(v), 3), side=side, region=info["region"],
                                    muscle=", ".join(info["muscles"]), description=info["description"]))
        targets.sort(key=lambda a: (order[a.region], int(a.au[2:])))
        return targets, muscle_notes, conflict_notes, source

    def _resolve_conflicts(self, values: dict[str, float], contrib: dict[str, dict[str, float]],
                           source: dict[str, str]) -> list[str]:
        notes = []
        for rule in self.rules["conflicts"]:
            a, b = rule["aus"]
            if values.get(a, 0) <= 0 or values.get(b, 0) <= 0:
                continue
            if set(contrib[a]) & set(contrib[b]):
                continue  # one prototype has both: an attested configuration, keep it
            strong, weak = (a, b) if values[a] >= values[b] else (b, a)
            before = values[weak]
            values[weak] = before * float(rule["factor"])
            fate = f"attenuated {before:.2f} -> {values[weak]:.2f}" if values[weak] >= 0.06 else "dropped"
            notes.append(
                f"{a} vs {b} on the {rule['feature']}: {rule['why']}. {strong} ({source[strong]}, "
                f"{values[strong]:.2f}) is stronger and kept; {weak} ({source[weak]}) {fate}."
            )
        return notes

    # ---- step 4 ---------------------------------------------------------------------------
    def region_text(self, aus: list[AUTarget], sources: dict[str, str]) -> str:
        lines = []
        for region in facs.REGIONS:
            here = [a for a in aus if a.region == region]
            if not here:
                lines.append(f"{region}: relaxed.")
                continue
            parts = []
            for a in here:
                side = "" if a.side == "both" else f" ({a.side} side)"
                src = sources.get(a.au, "").replace("masking:", "control for ")
                parts.append(f"{a.au} {self.catalog[a.au]['name'].lower()} {a.intensity:.2f}{side} [{src}] - {a.description}")
            lines.append(f"{region}: " + "; ".join(parts) + ".")
        return " ".join(lines)

    # ---- step 5 ---------------------------------------------------------------------------
    def timing(self, und: Understanding) -> tuple[Timing, str]:
        keys = ("onset", "apex", "offset")
        tm = {k: sum(w * float(self.emotions[e]["timing"][k]) for e, w in und.mixture.items()) for k in keys}
        why = "weighted typical timing of " + ", ".join(und.mixture)
        if und.masking:
            prof = self.rules["masking"][und.masking[0][0]]
            tm = {k: float(prof["timing"][k]) for k in keys}
            why = f"masking: {prof['description']}; controlled expressions are cut short"
        tm = {k: round(v, 2) for k, v in tm.items()}
        text = (f"Onset {tm['onset']:.2f} s, apex held {tm['apex']:.2f} s, offset {tm['offset']:.2f} s ({why}).")
        return Timing(**tm), text

    def affect(self, und: Understanding) -> tuple[float, float]:
        v = sum(w * float(self.emotions[e]["valence"]) for e, w in und.mixture.items())
        a = sum(w * float(self.emotions[e]["arousal"]) for e, w in und.mixture.items())
        s = 0.5 + 0.5 * min(1.6, und.intensity / 0.6)
        return round(float(np.clip(v * s, -1, 1)), 3), round(float(np.clip(a * s if a > 0 else a, -1, 1)), 3)

    def output_emotions(self, mixture: dict[str, float]) -> list[EmotionWeight]:
        """Compounds are written as their basic components; weights rounded, summing to 1."""
        out: dict[str, float] = {}
        for e, w in mixture.items():
            comps = self.emotions[e].get("components") if self.emotions[e]["kind"] == "compound" else None
            for c, cw in (comps or {e: 1.0}).items():
                out[c] = out.get(c, 0.0) + w * float(cw)
        out = _normalise(out)
        items = sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))
        rounded = [[k, round(v, 4)] for k, v in items]
        rounded[0][1] = round(rounded[0][1] + 1.0 - sum(v for _, v in rounded), 4)
        return [EmotionWeight(name=k, weight=v) for k, v in rounded if v > 0]

    # ---- timelines ------------------------------------------------------------------------
    def _plan_keyframes(self, text: str, specs: list[dict], from_text: bool = False) -> EmotionPlan:
        """Plan each phase, then build keyframes. specs: [{t, text} | {t, emotion, intensity} |
        {t, aus: {AU: x}}]; a phase without t starts ``default_phase`` s after the previous one."""
        from thinkdraw.think.planner import keyframe_phase_text

        default_phase = float(facs.lexicon("en")["timeline"].get("default_phase", 2.5))
        phases: list[tuple[float, EmotionPlan]] = []
        t_prev = None
        for spec in specs:
            t = spec.get("t")
            t = (0.0 if t_prev is None else t_prev + default_phase) if t is None else float(t)
            if t_prev is not None and t < t_prev:
                t = t_prev
            phase_text = keyframe_phase_text(spec)
            sub = self._plan_single(phase_text, quiet_unknown=True)
            if "aus" in spec and spec["aus"]:
                sub = _override_aus(sub, spec["aus"], self.catalog)
            phases.append((t, sub))
            t_prev = t
        kfs = [
            Keyframe(t=t, ramp=p.timing.onset, label=p.text, emotions=p.emotions, intensity=p.intensity, aus=p.aus)
            for t, p in phases
        ]
        main_t, main = max(phases, key=lambda tp: (tp[1].intensity, tp[0]))
        timing = Timing(onset=main.timing.onset, apex=main.timing.apex, offset=main.timing.offset,
                        start=main_t, keyframes=kfs)
        how = "from the text" if from_text else "given as keyframes"
        listing = "; ".join(f"{t:.1f} s: '{p.text}' -> {p.dominant} ({p.intensity:.2f}), ramp {p.timing.onset:.2f} s"
                            for t, p in phases)
        trace = [
            TraceStep(title="1. Understand the text",
                      text=f"The emotion changes within the clip ({how}): {len(phases)} phases. "
                           + " | ".join(f"[{p.text}] {p.trace[0].text}" for _, p in phases)),
            TraceStep(title="2. Muscles per emotion", text=" | ".join(f"[{p.text}] {p.trace[1].text}" for _, p in phases)),
            TraceStep(title="3. Conflicts and masking", text=" | ".join(f"[{p.text}] {p.trace[2].text}" for _, p in phases)),
            TraceStep(title="4. Plan per region",
                      text=f"Summary AUs are those of the most intense phase ('{main.text}'). " + main.trace[3].text),
            TraceStep(title="5. Timing",
                      text=f"Keyframes: {listing}. Each phase moves from the face of the previous one to its own "
                           f"targets over its onset time and holds them until the next phase."),
        ]
        warnings = [w for _, p in phases for w in p.warnings]
        if all(p.emotions[0].name == "neutral" for _, p in phases):
            warnings.append("could not recognise an emotion in any phase; planned a neutral face")
        return EmotionPlan(text=text, trace=trace, emotions=main.emotions, intensity=main.intensity,
                           valence=main.valence, arousal=main.arousal, aus=main.aus, timing=timing,
                           backend=self.name, warnings=warnings)


def _override_aus(plan: EmotionPlan, aus: dict[str, float], catalog: dict) -> EmotionPlan:
    """Replace a phase's AU targets with explicit {AU: intensity} (unknown AUs raise InputError)."""
    from thinkdraw.errors import InputError

    targets = []
    for code, x in aus.items():
        au = facs.normalise_au(code)
        if au not in catalog:
            raise InputError(f"unknown action unit {code!r} in keyframes")
        info = catalog[au]
        targets.append(AUTarget(au=au, intensity=float(min(1.0, max(0.0, float(x)))), side="both",
                                region=info["region"], muscle=", ".join(info["muscles"]),
                                description=info["description"]))
    return plan.model_copy(update={"aus": targets})


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import sys

    if sys.argv[1:] == ["--write-anchors"]:
        print(write_shipped_anchors())
    else:
        print("usage: python -m thinkdraw.think.knowledge --write-anchors", file=sys.stderr)
        sys.exit(2)
