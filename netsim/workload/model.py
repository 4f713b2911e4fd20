"""Size-only transformer models: shapes, parameter counts, FLOPs and activation sizes.

A :class:`Transformer` is a decoder-only transformer described by its shape; every size
the LLM workload needs follows from it by the formulas below (no real arrays). Counts
include the weight matrices and the embeddings; biases and normalisation weights (under
0.1 % of the parameters of these models) are left out.

Per layer (``h`` = hidden, ``f`` = ffn_hidden, ``kv = h·kv_heads/heads``):

- attention: ``2h² + 2h·kv`` (Q and output projections, K and V projections);
- MLP: ``2h·f`` (``3h·f`` with a gated MLP such as SwiGLU);
- mixture-of-experts layer (every ``moe_every``-th layer when ``experts > 1``): the
  attention, ``experts`` MLPs and a router of ``h·experts``.

Embeddings: ``vocab·h`` (plus ``seq_len·h`` learned positions); the output projection
(LM head) adds ``vocab·h`` unless ``tied_embeddings``.

Forward FLOPs per token (a multiply-add is 2 FLOPs): 2 per weight of a dense layer,
``4·seq_len·h`` per layer for the attention scores and their weighted sum (no causal
saving), ``2·top_k`` MLP weights plus ``2h·experts`` for the router of a MoE layer, and
``2·vocab·h`` for the LM head. Training = 3 × forward (the backward pass costs twice the
forward). This is Megatron-LM's count: ``72·L·h²·(1 + s/(6h) + V/(12·h·L))`` per token for
a 4h-MLP model (Narayanan et al., 2021).

Examples
--------
>>> gpt3 = PRESETS["gpt3_175b"]
>>> round(gpt3.parameters() / 1e9, 1)
174.6
>>> round(PRESETS["llama2_7b"].parameters() / 1e9, 2)
6.74
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

__all__ = ["Transformer", "PRESETS", "PRESET_NOTES"]


@dataclass(frozen=True)
class Transformer:
    """Shape of a decoder-only transformer (sizes only).

    Attributes
    ----------
    layers : int
        Transformer layers.
    hidden : int
        Hidden size ``h``.
    seq_len : int
        Tokens per sequence ``s``.
    vocab : int
        Vocabulary size ``V`` (0: no embedding and no LM head).
    heads : int or None
        Attention heads (``None``: only the ratio ``kv_heads/heads`` matters, taken as 1).
    kv_heads : int or None
        Key/value heads (grouped-query attention); default ``heads``.
    ffn_hidden : int or None
        MLP inner size ``f``; default ``4h``.
    gated_mlp : bool
        Gated MLP (SwiGLU): three matrices instead of two.
    tied_embeddings : bool
        The LM head reuses the input embedding.
    learned_positions : bool
        Learned position embeddings (``seq_len·h`` parameters).
    experts : int
        Experts per MoE layer (1: a dense model).
    top_k : int
        Experts each token is routed to.
    moe_every : int
        Every ``moe_every``-th layer (the last of each run) is a MoE layer.
    capacity_factor : float
        Expert capacity over the balanced share: scales the tokens an expert computes and
        the all-to-all bytes (padding), not the model FLOPs.
    """

    layers: int
    hidden: int
    seq_len: int
    vocab: int
    heads: int | None = None
    kv_heads: int | None = None
    ffn_hidden: int | None = None
    gated_mlp: bool = False
    tied_embeddings: bool = False
    learned_positions: bool = False
    experts: int = 1
    top_k: int = 1
    moe_every: int = 1
    capacity_factor: float = 1.0

    # ------------------------------------------------------------------ shape
    @property
    def ffn(self) -> int:
        """MLP inner size ``f`` (``4h`` unless given)."""
        return self.ffn_hidden if self.ffn_hidden is not None else 4 * self.hidden

    @property
    def kv_dim(self) -> float:
        """Width of the K and V projections, ``h·kv_heads/heads``."""
        if self.heads is None or self.kv_heads is None:
            return float(self.hidden)
        return self.hidden * self.kv_heads / self.heads

    @property
    def is_moe(self) -> bool:
        """Whether some layers are mixture-of-experts layers."""
        return self.experts > 1

    def is_moe_layer(self, layer: int) -> bool:
        """Whether layer ``layer`` (0-based) is a MoE layer."""
        return self.is_moe and (layer + 1) % self.moe_every == 0

    @property
    def moe_layers(self) -> int:
        """Number of MoE layers."""
        return sum(self.is_moe_layer(i) for i in range(self.layers))

    # ------------------------------------------------------------- parameters
    def attention_parameters(self) -> float:
        """Weights of one attention block: ``2h² + 2h·kv``."""
        h = self.hidden
        return 2.0 * h * h + 2.0 * h * self.kv_dim

    def mlp_parameters(self) -> float:
        """Weights of one MLP (one expert): ``2h·f``, or ``3h·f`` gated."""
        return (3.0 if self.gated_mlp else 2.0) * self.hidden * self.ffn

    def router_parameters(self) -> float:
        """Weights of the router of a MoE layer: ``h·experts``."""
        return float(self.hidden * self.experts)

    def layer_parameters(self, layer: int) -> float:
        """All weights of layer ``layer``."""
        if self.is_moe_layer(layer):
            return self.attention_parameters() + self.experts * self.mlp_parameters() + self.router_parameters()
        return self.attention_parameters() + self.mlp_parameters()

    def embedding_parameters(self) -> float:
        """Input embedding (plus learned positions)."""
        positions = self.seq_len * self.hidden if self.learned_positions else 0
        return float(self.vocab * self.hidden + positions)

    def head_parameters(self) -> float:
        """LM head weights counted in the model (0 when tied to the embedding)."""
        return 0.0 if self.tied_embeddings else float(self.vocab * self.hidden)

    def parameters(self) -> float:
        """Total parameters (embeddings included)."""
        layers = sum(self.layer_parameters(i) for i in range(self.layers))
        return layers + self.embedding_parameters() + self.head_parameters()

    def active_parameters(self) -> float:
        """Parameters a token goes through (``top_k`` experts of each MoE layer)."""
        total = self.embedding_parameters() + self.head_parameters()
        for i in range(self.layers):
            if self.is_moe_layer(i):
                total += self.attention_parameters() + self.top_k * self.mlp_parameters() + self.router_parameters()
            else:
                total += self.attention_parameters() + self.mlp_parameters()
        return total

    # ------------------------------------------------------------------ FLOPs
    def attention_flops(self) -> float:
        """Forward FLOPs per token of one attention block: ``2(2h² + 2h·kv) + 4·s·h``."""
        return 2.0 * self.attention_parameters() + 4.0 * self.seq_len * self.hidden

    def mlp_flops(self, layer: int, capacity: bool = False) -> float:
        """Forward FLOPs per token of layer ``layer``'s MLP (experts and router of a MoE layer).

        ``capacity``: scale the expert FLOPs by the capacity factor (the padded work a
        device does) instead of counting only the model's FLOPs.
        """
        if not self.is_moe_layer(layer):
            return 2.0 * self.mlp_parameters()
        factor = self.capacity_factor if capacity else 1.0
        return 2.0 * self.top_k * factor * self.mlp_parameters() + 2.0 * self.router_parameters()

    def head_flops(self) -> float:
        """Forward FLOPs per token of the LM head: ``2·V·h``."""
        return 2.0 * self.vocab * self.hidden

    def forward_flops_per_token(self) -> float:
        """Model forward FLOPs per token."""
        layers = sum(self.attention_flops() + self.mlp_flops(i) for i in range(self.layers))
        return layers + self.head_flops()

    def training_flops_per_token(self) -> float:
        """Model training FLOPs per token (forward + backward = 3 × forward)."""
        return 3.0 * self.forward_flops_per_token()

    # ------------------------------------------------------------ activations
    def activation_bytes(self, tokens: int, bytes_per_value: float) -> float:
        """Bytes of one ``tokens × h`` activation (what pipeline stages send, what TP reduces)."""
        return float(tokens) * self.hidden * bytes_per_value

    def dispatch_bytes(self, tokens: int, bytes_per_value: float) -> float:
        """Bytes one rank sends into a MoE all-to-all: ``tokens·top_k·capacity·h`` values."""
        return float(tokens) * self.top_k * self.capacity_factor * self.hidden * bytes_per_value

    def with_changes(self, **changes) -> Transformer:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def field_names(cls) -> list[str]:
        """The shape keys (what a ``[workload]`` table may set)."""
        return [f.name for f in fields(cls)]


PRESETS: dict[str, Transformer] = {
    # GPT-2 XL (Radford et al., 2019): 48 layers, 1600 wide, 1024 context, 50257 tokens.
    "gpt2_1.5b": Transformer(
        layers=48, hidden=1600, heads=25, seq_len=1024, vocab=50257, tied_embeddings=True, learned_positions=True
    ),
    # LLaMA 2 7B / 13B / 70B (Touvron et al., 2023): SwiGLU, 32000 tokens, 4096 context; 70B uses 8 KV heads.
    "llama2_7b": Transformer(layers=32, hidden=4096, heads=32, ffn_hidden=11008, gated_mlp=True, seq_len=4096, vocab=32000),
    "llama2_13b": Transformer(layers=40, hidden=5120, heads=40, ffn_hidden=13824, gated_mlp=True, seq_len=4096, vocab=32000),
    "llama2_70b": Transformer(
        layers=80, hidden=8192, heads=64, kv_heads=8, ffn_hidden=28672, gated_mlp=True, seq_len=4096, vocab=32000
    ),
    # GPT-3 175B (Brown et al., 2020): 96 layers, 12288 wide, 96 heads, 2048 context.
    "gpt3_175b": Transformer(
        layers=96, hidden=12288, heads=96, seq_len=2048, vocab=50257, tied_embeddings=True, learned_positions=True
    ),
    # Mixtral 8x7B (Jiang et al., 2024): every layer has 8 SwiGLU experts, top-2 routing.
    "mixtral_8x7b": Transformer(
        layers=32, hidden=4096, heads=32, kv_heads=8, ffn_hidden=14336, gated_mlp=True, seq_len=4096, vocab=32000,
        experts=8, top_k=2,
    ),
}
"""Bundled model shapes, by name (``workload.preset``)."""

PRESET_NOTES: dict[str, str] = {
    "gpt2_1.5b": "GPT-2 XL, 1.56B parameters, tied embeddings",
    "llama2_7b": "LLaMA-2 7B shape, 6.74B parameters, SwiGLU",
    "llama2_13b": "LLaMA-2 13B shape, 13.0B parameters, SwiGLU",
    "llama2_70b": "LLaMA-2 70B shape, 69.0B parameters, SwiGLU, grouped-query attention",
    "gpt3_175b": "GPT-3 175B, 174.6B parameters, tied embeddings",
    "mixtral_8x7b": "Mixtral 8x7B mixture of experts, 46.7B parameters (12.9B active), top-2 of 8",
}
"""One line per preset (``netsim list``-style descriptions)."""
