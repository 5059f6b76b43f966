"""bge-reranker-v2-minicpm-layerwise: our remote-code-free loader (a Granite decoder with the
checkpoint's MiniCPM scalings and its per-layer score heads) equals FlagEmbedding 1.4.2's own
``LayerWiseLLMReranker`` and ``LayerWiseMiniCPMForCausalLM`` on a tiny random checkpoint built
with that class (SmolLM2's tokenizer), for every cut-off layer: scores within 1e-5 in fp32.

FlagEmbedding's model file was written for transformers 4; to run it under transformers 5 the
test supplies three API shims and nothing else: the removed
``transformers.modeling_attn_mask_utils._prepare_4d_causal_attention_mask`` (an additive causal
+ padding mask, the eager path's only use of that module), ``rope_scaling = None`` on its config
(transformers 5 fills in a default rope dict that the file reads as a v4 scaling spec), and
``_tied_weights_keys = None`` (transformers 5 wants a mapping; the checkpoint ties nothing).
And its ``from_pretrained`` hands back the model object the test built with the same class and
saved: transformers 5 builds models on the meta device, which leaves that class's non-persistent
rotary buffers uninitialised (NaN). Our side loads the saved folder.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers.reference_import import isolated_modules  # noqa: E402
from helpers.tiny import SMOLLM2, cached_or_skip  # noqa: E402

from rankify_lite import load_reranker  # noqa: E402
from rankify_lite.errors import InputError  # noqa: E402

MODELS = "FlagEmbedding.inference.reranker.decoder_only.models"
PACKAGES = ("FlagEmbedding", "FlagEmbedding.inference", "FlagEmbedding.inference.reranker",
            "FlagEmbedding.inference.reranker.decoder_only", MODELS, "FlagEmbedding.utils")


def _mask_shim() -> types.ModuleType:
    def causal_4d(attention_mask, shape, inputs_embeds, past_len, sliding_window=None):
        b, n = shape
        neg = torch.finfo(inputs_embeds.dtype).min
        mask = torch.full((n, n), neg, dtype=inputs_embeds.dtype).triu(1)[None, None]
        mask = mask.expand(b, 1, n, n).clone()
        if attention_mask is not None:
            pad = (1.0 - attention_mask[:, None, None, :].to(inputs_embeds.dtype)) * neg
            mask = (mask + pad).clamp(min=neg)
        return mask

    shim = types.ModuleType("transformers.modeling_attn_mask_utils")
    shim._prepare_4d_causal_attention_mask = causal_4d
    shim._prepare_4d_causal_attention_mask_for_sdpa = causal_4d
    shim._prepare_4d_attention_mask = None
    shim.AttentionMaskConverter = object
    return shim


@pytest.fixture(scope="module")
def flag(tmp_path_factory):
    """(FlagEmbedding's LayerWiseLLMReranker class, a tiny layerwise checkpoint folder)."""
    if importlib.util.find_spec("FlagEmbedding") is None or \
            importlib.util.find_spec("peft") is None:
        pytest.skip("pip install --no-deps FlagEmbedding==1.4.2 (and peft) to run this test")
    tok = transformers.AutoTokenizer.from_pretrained(cached_or_skip(SMOLLM2))
    name = "transformers.modeling_attn_mask_utils"
    saved = sys.modules.get(name)
    sys.modules[name] = _mask_shim()
    try:
        with isolated_modules("FlagEmbedding", PACKAGES, [
                f"{MODELS}.modeling_minicpm_reranker", f"{MODELS}.configuration_minicpm_reranker",
                "FlagEmbedding.inference.reranker.decoder_only.layerwise"]) as (mod, cfgmod, lw):
            config_init = cfgmod.LayerWiseMiniCPMConfig.__init__

            def init(self, *a, **k):
                config_init(self, *a, **k)
                self.rope_scaling = None
            cfgmod.LayerWiseMiniCPMConfig.__init__ = init
            mod.LayerWiseMiniCPMForCausalLM._tied_weights_keys = None
            cfg = cfgmod.LayerWiseMiniCPMConfig(
                vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                scale_emb=12, dim_model_base=8, scale_depth=1.4, start_layer=2,
                head_multi=True, head_type="simple", attn_implementation="eager",
                use_cache=False, tie_word_embeddings=False, bos_token_id=tok.bos_token_id,
                eos_token_id=tok.eos_token_id, initializer_range=0.2)
            torch.manual_seed(0)
            folder = tmp_path_factory.mktemp("minicpm_layerwise")
            built = mod.LayerWiseMiniCPMForCausalLM(cfg).eval()
            built.save_pretrained(folder)
            tok.save_pretrained(folder)
            # the reference's from_pretrained gives this very object back: transformers 5
            # loads on the meta device, which leaves the class's non-persistent rotary
            # buffers (inv_freq, cos/sin caches) uninitialised (NaN scores)
            mod.LayerWiseMiniCPMForCausalLM.from_pretrained = classmethod(
                lambda cls, *a, **k: built)
            lw.LayerWiseMiniCPMForCausalLM = mod.LayerWiseMiniCPMForCausalLM
            yield lw.LayerWiseLLMReranker, str(folder)
    finally:
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved


@pytest.fixture(scope="module")
def pairs(scifact):
    docs = list(scifact.corpus.values())[:4]
    return [(scifact.queries[q].text, d.full_text()) for q in list(scifact.queries)[:2]
            for d in docs]


@pytest.mark.parametrize("cutoff", [2, 3, 4, None])
def test_layerwise_equals_flag_embedding(flag, pairs, cutoff):
    cls, folder = flag
    ref = cls(folder, devices="cpu", batch_size=4, cutoff_layers=[cutoff or 4])
    want = ref.compute_score(pairs)
    ours = load_reranker("causal-lm", model=folder, device="cpu", cutoff_layers=cutoff,
                         batch_size=4)
    from rankify_lite.types import Document, Query

    ids = [ours.input_ids(Query("q", q), Document("d", d)) for q, d in pairs]
    got = ours.score_ids(ids).tolist()
    assert got == pytest.approx(want, abs=1e-5, rel=1e-5)
    assert len({round(w, 6) for w in want}) > 3
    assert ours.config()["cutoff_layers"] == (cutoff or 4)
    assert all(i[0] == ours.backend.tokenizer.bos_token_id for i in ids)


def test_cutoff_below_the_first_head_is_refused(flag):
    _, folder = flag
    with pytest.raises(InputError, match="outside this model's 2..4 layers"):
        load_reranker("causal-lm", model=folder, device="cpu", cutoff_layers=1)
